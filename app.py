"""rcm-demo home: what the lab shows, the bound, the zoo, the device. Run: streamlit run app.py"""
import streamlit as st

from rcm_demo import ui, zoo_table

ui.page_header("rcm-demo: feature-map size and adversarial robustness",
               "An interactive lab for Xu, Wang, Yang & Zhang, *Understanding Adversarial Robustness from Feature "
               "Maps of Convolutional Layers* (arXiv 2202.12435). Real models, real attacks, measured numbers.")

st.markdown(r"""
A CNN's last stage turns an image into maps $Z \in \mathbb{R}^{C\times H\times W}$; global pooling turns
them into a $C$-vector and a linear layer into logits. With **average pooling** the pooled change is a mean
over $H\cdot W$ positions, so by Cauchy–Schwarz

$$\|\Delta a\|_2 \;\le\; \frac{\|\Delta Z\|_F}{\sqrt{H\,W}}$$

(tight when $\Delta Z$ is the same at every position). With **max pooling** there is no such factor:
$|\Delta m_c| \le \|\Delta Z_c\|_\infty$. Two parameter-free changes enlarge the final map from 4×4 to 8×8 in a
CIFAR ResNet18: **upsample the input** ×2 inside the model, or **shrink a stride** ("1222" → "1122").

*Honest caveat:* the bound motivates, it does not prove. Real adversarial perturbations are partly spatially
coherent, so the measured damping sits between 1 and 1/√(HW), and the robust gain of our small CPU-trained
zoo is small next to its sampling error. The pages show the measurement next to the bound.
""")

st.subheader("Pages")
st.page_link("pages/1_Attack_lab.py", label="Attack lab: one image, up to four models, side by side", icon="⚔️")
st.page_link("pages/2_Feature_map_energy.py", label="Feature-map energy: where the perturbation is damped", icon="📈")
st.page_link("pages/3_Pooling_lab.py", label="Pooling lab: average vs max pooling of the same maps", icon="🧮")
st.page_link("pages/4_Robustness_curves.py", label="Robustness curves, transfer and cost", icon="📉")
st.page_link("pages/5_Model_zoo.py", label="Model zoo: every model card", icon="🗂️")

st.subheader("The bundled zoo")
names = ui.checkpoints()
if names:
    st.dataframe(zoo_table.zoo_rows(names), hide_index=True, width="stretch")
    st.caption("All numbers come from the model cards, written by `python -m rcm_demo.evaluate` "
               "(± is one binomial standard error).")
else:
    st.warning("pretrained/ holds no checkpoints: see the README to train some.")

st.subheader("Device")
ui.device_ui()
st.caption(f"This session computes on **{ui.device()}**. Models are cached per device.")
