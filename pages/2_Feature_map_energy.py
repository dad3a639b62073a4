"""Feature-map energy: how a perturbation grows or shrinks from layer to layer, and where it lives."""
import streamlit as st

from rcm_demo import ui, viz

ui.page_header("Feature-map energy", "Follow one perturbation through each network: the relative change "
               "‖f(x+δ) − f(x)‖/‖f(x)‖ after every stage, and its spatial layout at each map's own resolution.", "📈")
ui.url_state({"models": ui.default_models(), "sample_id": 0, "shared": False, **ui.ATTACK_DEFAULTS})

with st.sidebar:
    names = ui.models_ui()
    x, y, image_label, image_key = ui.image_ui()
s = ui.attack_ui()
shared = st.toggle("Apply one perturbation, crafted on the first model, to all models", key="shared",
                   help="Separates 'the architecture damps this δ' from 'the attacker finds another δ'.")
ui.write_url(["models", "sample_id", "shared", *ui.ATTACK_DEFAULTS])
if x is None:
    st.stop()
models = ui.models(names)
with st.spinner("Attacking and probing…"), ui.user_errors():
    results = ui.attack_results(tuple(models), image_key, s, ui.device(), names[0] if shared else None,
                                _x=x, _y=y)

st.caption(("One δ crafted on " + names[0] if shared else "Each model attacked on its own")
           + f" · {s.attack}, ε = {s.eps_input:g} · {image_label} · computed live")
scale = st.radio("Scale", ["relative", "absolute"], horizontal=True, key="energy_scale")
st.plotly_chart(viz.energy_profile({n: r["energy"] for n, r in results.items()}, scale), key="profile")
st.plotly_chart(viz.spatial_maps({n: r["spatial"] for n, r in results.items()}), key="spatial")

st.subheader("Budget × layer")
which = st.selectbox("Model", list(models), key="eps_layer_model")
with st.spinner("Sweeping ε…"), ui.user_errors():
    m = ui.eps_layer(which, image_key, s, ui.device(), _x=x, _y=y)
st.plotly_chart(viz.eps_layer_heatmap(m), key="eps_layer")
st.caption("Each row is a fresh PGD attack at that budget (L∞; L2 settings fall back to PGD-L∞ here).")
