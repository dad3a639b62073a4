"""Attack lab: one image, 1–4 checkpoints side by side, any attack; downloads of the result."""
import json

import streamlit as st

from rcm_demo import ui, viz
from rcm_demo.data import CLASSES

ui.page_header("Attack lab", "Attack the same image on up to four checkpoints side by side. Compare a 4×4 "
               "baseline with its enlarged-map twins: who is fooled, at what budget, and how confidently.", "⚔️")
ui.url_state({"models": ui.default_models(), "sample_id": 0, **ui.ATTACK_DEFAULTS})

with st.sidebar:
    names = ui.models_ui()
    x, y, image_label, image_key = ui.image_ui()
s = ui.attack_ui()
ui.write_url(["models", "sample_id", *ui.ATTACK_DEFAULTS])
if x is None:
    st.stop()
models = ui.models(names)

slow = " (AutoAttack and Square take ~10–60 s per model on CPU)" if s.attack in ("AutoAttack", "Square") else ""
with st.spinner(f"Running {s.attack} on {len(models)} model(s)…{slow}"), ui.user_errors():
    results = ui.attack_results(tuple(models), image_key, s, ui.device(), None, _x=x, _y=y)

st.caption(f"{image_label} · {s.attack}, ε = {s.eps_input:g}{'/255' if s.norm == 'linf' else ' (L2)'}"
           + (f", {s.steps} steps" if ui.ATTACKS[s.attack][2] else "")
           + (f", target {CLASSES[s.target]}" if s.targeted else "") + f", seed {s.seed} · computed live")
cols = st.columns(len(results))
for col, (name, r) in zip(cols, results.items()):
    with col:
        st.markdown(f"**{name}**")
        st.metric("Attack", ui.lab.verdict(r), f"{CLASSES[r['pred_clean']]} → {CLASSES[r['pred_adv']]}",
                  delta_color="off", delta_arrow="off")
        a, b, c = st.columns(3)
        a.image(viz.to_uint8_image(x[0]), caption="clean", width="stretch")
        b.image(viz.to_uint8_image(r["x_adv"]), caption="adversarial", width="stretch")
        c.image(viz.amplify_delta(r["delta"]), caption="δ (amplified)", width="stretch")
        st.plotly_chart(viz.topk_bars(r["p_clean"], r["p_adv"], true_label=None if y is None else int(y[0])),
                        key=f"top_{name}")
        st.caption(f"‖δ‖∞ = {r['linf255']:.2f}/255 · ‖δ‖₂ = {r['l2']:.3f} · pooled-change ratio "
                   f"avg {r['pooling']['ratio_avg']:.3f} vs bound {r['pooling']['bound_avg']:.3f}")
        st.download_button("Adversarial image (PNG)", viz.png_bytes(r["x_adv"]), file_name=f"adv_{name}.png",
                           mime="image/png", key=f"png_{name}")


@st.fragment
def minimal_eps_panel():
    st.subheader("Minimal ε that flips this image")
    st.caption("Bisection over the L∞ budget with PGD-10 (resolution 1/255 up to 32/255; ‘> 32/255’ = not flipped), computed live.")
    if st.toggle("Compute (≈ 1–3 s per model on CPU)", key="min_eps_on", value=True):
        with st.spinner("Bisecting…"), ui.user_errors():
            eps = ui.minimal_eps(tuple(models), image_key, s.seed, ui.device(), _x=x, _y=y)
        for col, (name, e) in zip(st.columns(len(eps)), eps.items()):
            col.metric(name, viz.fmt_eps(e))


minimal_eps_panel()

card = ui.lab.run_card(s, list(models), image_label, x, results, ui.device())
st.download_button("Run card (JSON)", json.dumps(card, indent=2), file_name="run_card.json",
                   mime="application/json")
