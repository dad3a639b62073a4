"""Average vs max pooling of the same pre-pool maps, on real models and on synthetic maps."""

import streamlit as st

from rcm_demo import limits as L
from rcm_demo import ui, viz
from rcm_demo.analysis import probe, sweeps

ui.page_header(
    "Pooling lab",
    "Take a model's real pre-pool maps Z and their change ΔZ under an attack, and pool "
    "the *same* maps both ways: how much of ΔZ survives average pooling, and how much max pooling?",
    "🧮",
)
VIEWS = ("Synthetic maps", "One model", "Across the zoo")
DEFAULT_MODELS = ui.default_models(1)
STATE = {
    "pool_view": ui.one_of(VIEWS, VIEWS[0]),
    "pool_model": ui.checkpoint_key((DEFAULT_MODELS or [""])[0]),
    "pool_n": ui.in_range(L.Range(1, 128, 16)),
    "pool_eps": ui.in_range(L.Range(0.5, 16.0, 8.0, 0.5)),
    "syn_kind": ui.one_of(probe.SYNTHETIC_KINDS, "noise"),
    "syn_side": ui.in_range(L.Range(1, 32, 8)),
    "syn_norm": ui.flag(False),
}
ui.url_state(STATE)
view = st.segmented_control("View", VIEWS, key="pool_view", label_visibility="collapsed") or VIEWS[0]

if view == "Synthetic maps":  # pure tensor arithmetic: a slider move costs milliseconds, no model runs
    st.markdown(
        "ReLU'd Gaussian maps (64 channels, 32 samples) plus a perturbation of **fixed size per position**, "
        "as a fixed input δ produces on a larger map. Pooled change ÷ the change of one position:"
    )
    rows, cur = ui.synthetic_ui("syn_kind", "syn_side")
    m1, m2, m3 = st.columns(3)
    m1.metric("average pooling", f"{cur['pooled_avg']:.4f}", help="‖Δ avg-pooled‖ / ‖ΔZ per position‖")
    m2.metric("max pooling", f"{cur['pooled_max']:.4f}", help="‖Δ max-pooled‖ / ‖ΔZ per position‖")
    m3.metric("1/√(HW)", f"{cur['bound_avg']:.4f}")
    fig = viz.synthetic_pooling(rows, cur)
    ui.chart(fig, "syn", light=viz.scatter_svg(fig))
    st.caption(
        "With independent noise, average pooling shrinks like 1/√(HW) and max pooling does not shrink. "
        "A perfectly coherent (uniform) change passes average pooling unchanged: the damping needs "
        "spatially spread-out perturbations. Computed live."
    )
    # A toggle, not an expander: a chart in a closed expander is still drawn (≈ 0.8 s of the first view).
    if st.toggle("Show the normalised view (÷ ‖ΔZ‖_F) — and why it is not the argument", key="syn_norm"):
        ui.chart(viz.synthetic_pooling(rows, cur, normalised=True), "syn_norm_chart")
        st.caption(
            "Dividing by the change of the whole map makes max pooling fall like 1/√(HW) too, because "
            "‖ΔZ‖_F itself grows like √(HW) when every position changes. It is a correct number that "
            "tells the opposite story: the bound ‖Δa‖ ≤ ‖ΔZ‖_F/√(HW) matters because ‖ΔZ‖_F per position "
            "stays fixed as the map grows."
        )
elif view == "One model":
    c1, c2, c3 = st.columns(3)
    name = ui.checkpoint_ui("pool_model", container=c1)
    n = c2.slider("Bundled test images", 1, 128, key="pool_n")
    eps = c3.slider("PGD-10 ε (×1/255)", 0.5, 16.0, key="pool_eps", step=0.5)
    with st.spinner("Attacking and pooling…"), ui.user_errors():
        ui.models([name])
        rep = ui.pooling([name], n, eps)[0]
    a, b, c, d = st.columns(4)
    a.metric("pre-pool map", f"{rep['H']}×{rep['W']}")
    b.metric(
        "avg: ‖Δa‖/‖ΔZ‖",
        f"{rep['ratio_avg']:.3f}",
        f"bound {rep['bound_avg']:.3f}",
        delta_color="off",
        delta_arrow="off",
    )
    c.metric("max: ‖Δm‖/‖ΔZ‖", f"{rep['ratio_max']:.3f}")
    d.metric(
        "arg-max flip rate",
        f"{100 * rep['argmax_flip_rate']:.1f}%",
        help="Share of channels whose maximal position moved: max pooling switches which location it reads.",
    )
    if note := sweeps.one_position_note(rep, ui.card(name)["spec"]):
        st.info(note)
    ui.chart(viz.pooling_bars(rep), "bars")
    st.caption(
        f"Measured live on {n} bundled images, each attacked (PGD-10) on this model. The model itself uses "
        f"{ui.card(name)['spec']['pool']} pooling; both poolings are applied to its same layer4 output. "
        "Divided by ‖ΔZ‖_F, average pooling lies between 1/(HW) (a change independent at every position) and "
        "the bound 1/√(HW) (the same change everywhere): where the measurement sits says how coherent real "
        "perturbations are. Max pooling of the same maps passes more."
    )
else:
    n = st.session_state.get("pool_n", 16)
    eps = st.session_state.get("pool_eps", 8.0)
    every = ui.checkpoints()
    names = every[: L.ZOO_SWEEP]
    st.caption(
        (f"The first {len(names)} of {len(every)} checkpoints. " if len(names) < len(every) else "")
        + f"Each checkpoint, its own PGD-10 perturbations at ε = {eps:g}/255, on the same {n} bundled images "
        "(change both on the “One model” view). Both ratios are divided by ‖ΔZ‖_F, which itself grows with the "
        "map, so max pooling falls with H·W here too: compare avg with max at the same size, and avg with its "
        "bound — the Synthetic maps view explains the scale."
    )
    if ui.on_demand(
        f"Measure {len(names)} checkpoints",
        "zoo_go",
        (tuple(names), n, eps),
        help="One PGD-10 attack per checkpoint: a few seconds each on CPU.",
    ):
        with ui.user_errors(), st.spinner(f"PGD-10 and pooling on {len(names)} checkpoints…"):
            names = list(ui.models(names, side_by_side=False))
            points = ui.pooling(names, n, eps)
        ui.chart(viz.ratio_vs_size(points, ui.labels(names)), "zoo_ratio")
        st.dataframe(sweeps.pooling_rows(points, ui.labels(names)), hide_index=True)
ui.write_url(STATE)
