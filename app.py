"""rcm-demo home: what the lab shows, the bound, the zoo, the device. Run: streamlit run app.py"""

import streamlit as st

from rcm_demo import ui, viz
from rcm_demo.zoo import control, findings, tables

ui.page_header(
    "rcm-demo: feature-map size and adversarial robustness",
    "An interactive lab for Xu, Wang, Yang & Zhang, *Understanding Adversarial Robustness from Feature "
    "Maps of Convolutional Layers* (arXiv 2202.12435). Real models, real attacks, measured numbers.",
)

st.markdown(r"""
A CNN's last stage turns an image into maps $Z \in \mathbb{R}^{C\times H\times W}$; global pooling turns
them into a $C$-vector and a linear layer into logits. With **average pooling** the pooled change is a mean
over $H\cdot W$ positions, so by Cauchy–Schwarz

$$\|\Delta a\|_2 \;\le\; \frac{\|\Delta Z\|_F}{\sqrt{H\,W}}$$

(tight when $\Delta Z$ is the same at every position). A fixed input perturbation changes each position of
the final map by a roughly fixed amount, so $\|\Delta Z\|_F$ grows like $\sqrt{HW}$ and, for spread-out
changes, the averaged change shrinks like $1/\sqrt{HW}$ as the map grows. **Max pooling** has no such
factor: $|\Delta m_c| \le \|\Delta Z_c\|_\infty$ does not shrink with the map. Two parameter-free changes
enlarge the final map from 4×4 to 8×8 in a CIFAR ResNet18: **upsample the input** ×2 inside the model, or
**shrink a stride** ("1222" → "1122").

*Honest caveat:* the bound motivates, it does not prove. Real adversarial perturbations are partly spatially
coherent, so the measured damping sits between 1 and 1/√(HW). The pages show the measurement next to the bound.
""")

st.subheader("Pages")
for p in ui.pages():
    st.page_link(p["path"], label=f"{p['label']}: {p['description']}")

st.subheader("The bundled zoo")
names = ui.checkpoints()
for bad, why in ui.checkpoint_problems().items():
    st.warning(f"Card {bad} is not usable: {why}")
if names:
    st.dataframe(tables.zoo_rows(names, compact=True), hide_index=True, width="stretch")
    st.caption(
        "All numbers come from the model cards, written by `python -m rcm_demo.evaluate` "
        "(± is one binomial standard error)."
    )
    rows = ui.comparison_rows()
    if rows:
        ui.chart(viz.paired_differences(rows), "paired", light=viz.forest_svg(rows))
        st.caption(
            "Enlarged map minus its baseline, paired on the same test images, 95% intervals (from the cards; a "
            "pair measured with several seeds also shows the mean over seeds)."
        )
        st.markdown(findings.finding(rows))
        st.markdown(control.control_finding(ui.pooling_contrast()))
        ui.four_networks(rows)
else:
    st.warning("pretrained/ holds no checkpoints: see the README to train some.")

st.subheader("Device")
ui.device_ui()
st.caption(f"This session computes on **{ui.device()}**. Models are cached per device.")
