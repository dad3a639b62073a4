"""How a perturbation grows or shrinks from layer to layer, and where in each map it lives."""

import streamlit as st

from rcm_demo import ui, viz

ui.page_header(
    "Feature-map energy",
    "Follow one perturbation through each network: the relative change "
    "‖f(x+δ) − f(x)‖/‖f(x)‖ after every stage, and its spatial layout at each map's own resolution.",
    "📈",
)
DEFAULT_MODELS = ui.default_models()
STATE = {
    "models": ui.checkpoint_list(DEFAULT_MODELS),
    **ui.image_state(DEFAULT_MODELS),
    **ui.ATTACK_STATE,
    "shared": ui.flag(False),
    "energy_scale": ui.one_of(("relative", "absolute"), "relative"),
    "eps_layer_model": ui.checkpoint_key(DEFAULT_MODELS[0] if DEFAULT_MODELS else ""),
}
ui.url_state(STATE)

names = ui.models_ui()  # full width: the checkpoint labels are read whole, not cut at the sidebar's width
with st.sidebar:
    x, y, image_label, image_key = ui.image_ui(names)
s = ui.attack_ui()
shared = st.toggle(
    "Apply one perturbation, crafted on the first model, to all models",
    key="shared",
    help="Separates 'the architecture damps this δ' from 'the attacker finds another δ'.",
)
scale = st.radio("Scale", ["relative", "absolute"], horizontal=True, key="energy_scale")
if x is None:
    ui.write_url(STATE)
    st.stop()
models = ui.models(names)
labels = ui.labels(models)
with st.spinner("Attacking and probing…"), ui.user_errors():
    results = ui.attack_results(tuple(models), image_key, s, names[0] if shared else None, _x=x, _y=y)

st.caption(
    ("One δ crafted on " + labels[names[0]] if shared else "Each model attacked on its own")
    + f" · {s.describe()} · {image_label} · computed live"
)
fig = viz.energy_profile({n: r["energy"] for n, r in results.items()}, scale, labels)
ui.chart(fig, "profile", light=viz.scatter_svg(fig))
spatial = {n: r["spatial"] for n, r in results.items()}
ui.chart(viz.spatial_maps(spatial, labels=labels), "spatial", light=viz.heatmaps_svg(spatial, labels=labels))
st.caption("Darkest = no change. One colour scale for all panels, so the maps compare across models and layers.")
with st.expander("What each stage is in these networks"):
    st.markdown(ui.tap_notes_markdown(models))

st.subheader("Budget × layer")
if st.session_state.get("eps_layer_model") not in models:
    st.session_state["eps_layer_model"] = next(iter(models))
which = st.selectbox("Model", list(models), key="eps_layer_model", format_func=ui.label)
ui.write_url(STATE)
if ui.on_demand("Sweep ε (six PGD-10 attacks, a few seconds on CPU)", "eps_layer_go", (which, image_key, s)):
    with st.spinner("Sweeping ε…"), ui.user_errors():
        m = ui.eps_layer(which, image_key, s, _x=x, _y=y)
    ui.chart(viz.eps_layer_heatmap(m), "eps_layer")
    st.caption("Each row is a fresh PGD-10 L∞ attack at that budget (L2 and one-step settings use PGD-L∞ here).")
