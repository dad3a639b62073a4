"""rcm-demo home: what the zoo shows (answer first), why, the pages, the zoo, the device. Run: streamlit run app.py"""

import streamlit as st

from rcm_demo import ui
from rcm_demo.zoo import tables

ui.page_header(
    "rcm-demo: feature-map size and adversarial robustness",
    "An interactive lab for Xu, Wang, Yang & Zhang, *Understanding Adversarial Robustness from Feature "
    "Maps of Convolutional Layers* (arXiv 2202.12435). Real models, real attacks, measured numbers.",
)

st.subheader("What the zoo shows")
names = ui.checkpoints()
for bad, why in ui.checkpoint_problems().items():
    st.warning(f"Card {bad} is not usable: {why}")
rows = ui.comparison_rows() if names else []
if rows:
    ui.at_a_glance(rows)
    ui.zoo_details(rows, ui.pooling_contrast(), "paired")
else:
    st.info("The cards hold no enlarged/baseline pair measured on the same images yet: nothing to compare.")
st.subheader("Why the map size could matter")
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

if names:
    st.subheader("The bundled zoo")
    st.dataframe(tables.zoo_rows(names, compact=True), hide_index=True, width="stretch")
    st.caption(
        "All numbers come from the model cards, written by `python -m rcm_demo.evaluate` "
        "(± is one binomial standard error)."
    )
else:
    st.warning("pretrained/ holds no checkpoints: see the README to train some.")

st.subheader("Device")
ui.device_ui()
st.caption(f"This session computes on **{ui.device()}**, in {ui.backend_text()}. Models are cached per device.")
