"""Pooling lab: average vs max pooling of the same pre-pool maps, on real models and on synthetic maps."""
import streamlit as st

from rcm_demo import lab, probe, ui, viz

ui.page_header("Pooling lab", "Take a model's real pre-pool maps Z and their change ΔZ under an attack, and pool "
               "the *same* maps both ways: how much of ΔZ survives average pooling, and how much max pooling?", "🧮")
ui.url_state({"pool_model": (ui.default_models(1) or [""])[0], "pool_n": 32, "pool_eps": 8.0, "syn_kind": "noise",
              "syn_side": 8})

tab_real, tab_zoo, tab_syn = st.tabs(["One model", "Across the zoo", "Synthetic maps"])
with tab_real:
    names = ui.checkpoints()
    if not names:
        st.warning("No checkpoints in pretrained/.")
        st.stop()
    c1, c2, c3 = st.columns(3)
    name = c1.selectbox("Checkpoint", names, key="pool_model")
    n = c2.slider("Bundled test images", 1, 128, key="pool_n")
    eps = c3.slider("PGD-10 ε (×1/255)", 0.5, 16.0, key="pool_eps", step=0.5)
    ui.write_url(["pool_model", "pool_n", "pool_eps", "syn_kind", "syn_side"])
    x, y = ui.sample_batch(n)
    with st.spinner("Attacking and pooling…"), ui.user_errors():
        rep = lab.zoo_pooling(ui.models([name]), x, y, eps255=eps)[0]
    a, b, c, d = st.columns(4)
    a.metric("pre-pool map", f"{rep['H']}×{rep['W']}")
    b.metric("avg: ‖Δa‖/‖ΔZ‖", f"{rep['ratio_avg']:.3f}", f"bound {rep['bound_avg']:.3f}", delta_color="off")
    c.metric("max: ‖Δm‖/‖ΔZ‖", f"{rep['ratio_max']:.3f}")
    d.metric("arg-max flip rate", f"{100 * rep['argmax_flip_rate']:.1f}%",
             help="Share of channels whose maximal position moved: max pooling switches which location it reads.")
    st.plotly_chart(viz.pooling_bars(rep), key="bars")
    st.caption(f"Measured live on {n} bundled images, each attacked on this model. The model itself uses "
               f"{ui.card(name)['spec']['pool']} pooling; both poolings are applied to its same layer4 output.")

with tab_zoo:
    st.caption("Each checkpoint, its own PGD-10 perturbations at the ε above, on the same images.")
    if st.button("Measure every checkpoint", key="zoo_go"):
        bar = ui.progress_bar("Measuring")
        points = []
        for i, nm in enumerate(names[: 4 * lab.LIMITS["models"]]):
            with ui.user_errors():
                points += lab.zoo_pooling(ui.models([nm]), x, y, eps255=eps)
            bar((i + 1) / len(names))
        st.plotly_chart(viz.ratio_vs_size(points), key="zoo_ratio")
        st.dataframe(points, hide_index=True)

with tab_syn:
    st.caption("ReLU'd Gaussian maps (64 channels, 32 samples) plus a perturbation of fixed relative size.")
    k1, k2 = st.columns(2)
    kind = k1.radio("Perturbation", ["noise", "uniform", "blob"], key="syn_kind", horizontal=True,
                    help="noise: i.i.d. per position; uniform: same at every position (the bound is tight); "
                         "blob: all energy at one position.")
    side = k2.slider("Map side (H = W)", 1, 32, key="syn_side")
    rows = [probe.synthetic_pooling(s_, s_, kind) for s_ in (1, 2, 4, 8, 16, 32)]
    cur = probe.synthetic_pooling(side, side, kind)
    m1, m2, m3 = st.columns(3)
    m1.metric("avg ratio", f"{cur['ratio_avg']:.4f}")
    m2.metric("max ratio", f"{cur['ratio_max']:.4f}")
    m3.metric("bound 1/√(HW)", f"{cur['bound_avg']:.4f}")
    st.plotly_chart(viz.ratio_vs_size(rows), key="syn")
