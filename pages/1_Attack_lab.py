"""One image, up to four checkpoints side by side, any attack; downloads of the result."""

import json

import streamlit as st

from rcm_demo import ui, viz
from rcm_demo.analysis import lab
from rcm_demo.data import CLASSES
from rcm_demo.zoo import findings

ui.page_header(
    "Attack lab",
    "Attack the same image on up to four checkpoints side by side. Compare a 4×4 "
    "baseline with its enlarged-map twins: who is fooled, at what budget, and how confidently.",
    "⚔️",
)
DEFAULT_MODELS = ui.default_models()
STATE = {
    "models": ui.checkpoint_list(DEFAULT_MODELS),
    **ui.image_state(DEFAULT_MODELS),
    **ui.ATTACK_STATE,
    "min_attack": ui.one_of(lab.MIN_EPS_ATTACKS, lab.MIN_EPS_ATTACKS[0]),
    "min_steps": ui.one_of(lab.MIN_EPS_STEPS, lab.MIN_EPS_STEPS[0]),
}
ui.url_state(STATE)

names = ui.models_ui()  # full width: the checkpoint labels are read whole, not cut at the sidebar's width
with st.sidebar:
    x, y, image_label, image_key = ui.image_ui(names)
s = ui.attack_ui()
if x is None:
    ui.write_url(STATE)
    st.stop()
models = ui.models(names)
labels = ui.labels(models)

slow = " (a slow attack: about 10–60 s per model on CPU)" if s.entry.cost == "slow" else ""
with st.spinner(f"Running {s.attack} on {len(models)} model(s)…{slow}"), ui.user_errors():
    results = ui.attack_results(tuple(models), image_key, s, _x=x, _y=y)

st.caption(f"{image_label} · {s.describe()} · computed live")
for col, (name, r) in zip(st.columns(len(results)), results.items()):
    with col:
        st.markdown(f"**{labels[name]}**", help=name)
        st.metric(
            "Attack",
            lab.verdict(r),
            f"{CLASSES[r['pred_clean']]} → {CLASSES[r['pred_adv']]}",
            delta_color="off",
            delta_arrow="off",
        )
        images = [(viz.to_uint8_image(x[0]), "clean"), (viz.to_uint8_image(r["x_adv"]), "adversarial")]
        st.html(viz.images_html([*images, (viz.amplify_delta(r["delta"]), "δ (amplified)")]))
        st.html(viz.topk_html(r["p_clean"], r["p_adv"], true_label=None if y is None else int(y[0])))
        st.caption(
            f"‖δ‖∞ = {r['linf255']:.2f}/255 · ‖δ‖₂ = {r['l2']:.3f} · pooled change ‖Δa‖/‖ΔZ‖ "
            f"{r['pooling']['ratio_avg']:.3f} vs bound {r['pooling']['bound_avg']:.3f}"
        )
        st.download_button(
            "Adversarial image (PNG)",
            viz.png_bytes(r["x_adv"]),
            file_name=f"adv_{name}.png",
            mime="image/png",
            key=f"png_{name}",
        )

context = findings.one_image_context({n: ui.card(n) for n in results}, labels)
if context:
    st.caption(context)
    ui.page_link("pages/5_Model_zoo.py", "Paired differences with their 95% intervals: Model zoo")

if any(not r["clean_correct"] for r in results.values()):
    st.info(
        "“Already wrong” means the model misclassifies the clean image, so there is nothing left for the "
        "attack to do: the result says nothing about robustness."
    )
    if y is not None:
        ui.switch_to_correct_ui(list(models))

st.subheader("Upper bound on the minimal ε")
st.caption(
    "Bisection over the L∞ budget (resolution 1/255, up to 32/255): the smallest budget at which the "
    "chosen attack flips the image. A stronger attack can only lower it; a weak attack that fails "
    "shows the attack's weakness, not the model's robustness."
)
m1, m2 = st.columns(2)
min_attack = m1.segmented_control("Attack", lab.MIN_EPS_ATTACKS, key="min_attack")
min_steps = m2.segmented_control("Steps", lab.MIN_EPS_STEPS, key="min_steps")
ui.write_url(STATE)
if ui.on_demand(
    "Compute",
    "min_go",
    (tuple(models), image_key, s.seed, min_attack, min_steps),
    help="About 9 attacks per model: 1–10 s per model on CPU.",
):
    with st.spinner("Bisecting…"), ui.user_errors():
        eps = ui.minimal_eps(
            tuple(models),
            image_key,
            s.seed,
            min_attack or lab.MIN_EPS_ATTACKS[0],
            int(min_steps or lab.MIN_EPS_STEPS[0]),
            _x=x,
            _y=y,
        )
    for col, (name, e) in zip(st.columns(len(eps)), eps.items()):
        col.metric(labels[name], viz.fmt_eps(e), help=f"{name}: {min_attack}-{min_steps} bisection, computed live")

card = lab.run_card(s, list(models), image_label, x, results, ui.device())
st.download_button("Run card (JSON)", json.dumps(card, indent=2), file_name="run_card.json", mime="application/json")
