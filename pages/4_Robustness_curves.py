"""Robustness curves, transfer matrix and cost panel, computed live on the bundled sample."""
import csv
import io

import streamlit as st

from rcm_demo import lab, metrics, ui, viz

ui.page_header("Robustness curves", "Accuracy against the L∞ budget for several checkpoints on the same "
               "bundled test images, how well perturbations transfer between them, and what each costs.", "📉")
ui.url_state({"models": ui.default_models(), "curve_n": 64, "curve_steps": 10, "curve_max": 16.0, "seed": 0})

names = ui.models_ui()
c1, c2, c3, c4 = st.columns(4)
n = c1.slider("Images", 8, lab.LIMITS["images"], key="curve_n", step=8)
steps = c2.slider("PGD steps", 1, 50, key="curve_steps")
emax = c3.slider("Largest ε (×1/255)", 2.0, 16.0, key="curve_max", step=1.0)
seed = c4.number_input("Seed", 0, lab.LIMITS["seed"], key="seed")
ui.write_url(["models", "curve_n", "curve_steps", "curve_max", "seed"])
eps_list = [0.0] + [round(emax * f, 2) for f in (0.125, 0.25, 0.5, 0.75, 1.0)]
models = ui.models(names)
x, y = ui.sample_batch(n, seed)


@st.cache_data(show_spinner=False, max_entries=32)
def curves(names: tuple, stamps: tuple, n: int, steps: int, eps: tuple, seed: int, dev: str):
    prog = ui.progress_bar(f"PGD-{steps} on {n} images")
    out = lab.robustness_curves({k: ui.cached_model(k, dev) for k in names}, x, y, eps, steps=steps, seed=seed,
                                progress=prog)
    out["transfer"] = lab.transfer_matrix({k: ui.cached_model(k, dev) for k in names}, x, y, eps255=8.0,
                                          steps=steps, seed=seed)
    return out


with ui.user_errors():
    res = curves(tuple(models), ui.stamps(models), n, steps, tuple(eps_list), int(seed), ui.device())
left, right = st.columns([3, 2])
left.plotly_chart(viz.robustness_curves(res), key="curves")
right.plotly_chart(viz.transfer_heatmap(res["transfer"]), key="transfer")

st.subheader("Cost")
cost = [{"checkpoint": k, "params (M)": round(ui.card(k)["params"] / 1e6, 3), "MMACs": round(ui.card(k)["macs"] / 1e6, 1),
         "pre-pool map": "×".join(map(str, ui.card(k)["pre_pool_hw"])),
         "latency, 1 image (ms, live)": round(metrics.latency_ms(m), 2)} for k, m in models.items()]
st.dataframe(cost, hide_index=True)
st.caption("Params, MACs and map size from the cards; latency measured live (median of 20 forward passes, "
           f"{ui.device()}). Curves: live, {n} bundled images, PGD-{steps} with step 2.5·ε/steps.")

buf = io.StringIO()
w = csv.writer(buf)
w.writerow(["checkpoint", *[f"eps{e:g}/255" for e in res["eps255"]]])
for k, acc in res["accuracy"].items():
    w.writerow([k, *[f"{a:.4f}" for a in acc]])
st.download_button("Curves (CSV)", buf.getvalue(), file_name="robustness_curves.csv", mime="text/csv")
