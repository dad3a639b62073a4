"""Accuracy against the attack budget, transfer between checkpoints, and what each costs."""

import csv
import io

import streamlit as st

from rcm_demo import limits as L
from rcm_demo import ui, viz

ui.page_header(
    "Robustness curves",
    "Accuracy against the L∞ budget for several checkpoints on the same "
    "bundled test images, how well perturbations transfer between them, and what each costs.",
    "📉",
)
STATE = {
    "models": ui.checkpoint_list(ui.default_models()),
    "curve_n": ui.in_range(L.IMAGES, multiple_of=8),
    "curve_steps": ui.in_range(L.STEPS),
    "curve_max": ui.in_range(L.Range(2.0, 16.0, 16.0, 1.0)),
    "seed": ui.in_range(L.SEED),
}
ui.url_state(STATE)

names = ui.models_ui()
c1, c2, c3, c4 = st.columns(4)
n = c1.slider("Images", 8, int(L.IMAGES.hi), key="curve_n", step=8)
steps = c2.slider("PGD steps", 1, int(L.STEPS.hi), key="curve_steps")
emax = c3.slider("Largest ε (×1/255)", 2.0, 16.0, key="curve_max", step=1.0)
seed = c4.number_input("Seed", 0, int(L.SEED.hi), key="seed")
ui.write_url(STATE)
eps_list = (0.0, *(round(emax * f, 2) for f in (0.125, 0.25, 0.5, 0.75, 1.0)))
models = ui.models(names)
labels = ui.labels(models)

st.subheader("Cost")
st.dataframe(
    [
        {
            "model": labels[k],
            "params (M)": round(ui.card(k)["params"] / 1e6, 3),
            "MMACs / image": round(ui.card(k)["macs"] / 1e6, 1),
            "pre-pool map": "×".join(map(str, ui.card(k)["pre_pool_hw"])),
        }
        for k in models
    ],
    hide_index=True,
)
if ui.on_demand("Measure latency on this machine", "lat_go", (tuple(models), ui.device())):
    lat = ui.latency(tuple(models))
    st.dataframe(
        [
            {
                "model": labels[k],
                "median ms / image": round(v["median_ms"], 2),
                "IQR ms": f"{v['q1_ms']:.2f}–{v['q3_ms']:.2f}",
            }
            for k, v in lat.items()
        ],
        hide_index=True,
    )
    st.caption(
        f"Measured live on {ui.device()}: {next(iter(lat.values()))['rounds']} rounds of one forward pass per "
        "model, interleaved so a busy moment hits all models alike. Indicative: other work on the machine "
        "shifts the numbers; the MACs above do not change."
    )
st.caption("Params, MACs and map size are read from the model cards.")

st.subheader("Curves and transfer")
cost = n * len(models) * (len(eps_list) + 1) * steps
if ui.on_demand(
    f"Compute ({len(models)} models × {len(eps_list)} budgets × {n} images, PGD-{steps})",
    "curve_go",
    (tuple(models), n, steps, eps_list, int(seed)),
    help=f"About {cost / 4000:.0f}–{cost / 1000:.0f} s on 2 CPU cores with the lite models.",
):
    with ui.user_errors():
        res = ui.curves(tuple(models), n, steps, eps_list, int(seed))
    if n < 100:
        st.warning(
            f"Only {n} images: each accuracy carries a 95% interval of about ±{100 / n**0.5:.0f} points. "
            "Differences smaller than the error bars are not evidence either way."
        )
    ui.chart(viz.robustness_curves(res, labels), "curves")
    ui.chart(viz.transfer_heatmap(res["transfer"], labels), "transfer")
    st.caption(
        f"Computed live on {n} bundled images, PGD-{steps} with step 2.5·ε/steps, seed {seed}; error bars "
        "are 95% Wilson intervals."
    )
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["checkpoint", "n", *[f"eps{e:g}/255" for e in res["eps255"]]])
    for k, acc in res["accuracy"].items():
        w.writerow([k, n, *[f"{a:.4f}" for a in acc]])
    st.download_button("Curves (CSV)", buf.getvalue(), file_name="robustness_curves.csv", mime="text/csv")
