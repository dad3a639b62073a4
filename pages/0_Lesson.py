"""A guided lesson in six steps: from one adversarial example to what an enlarged feature map costs."""

import streamlit as st

from rcm_demo import limits as L
from rcm_demo import ui, viz
from rcm_demo.analysis import lesson
from rcm_demo.data import CLASSES

ui.page_header(
    "Lesson: feature-map size and robustness",
    "Six short steps, each with a live figure. Use the "
    "arrows (or the step buttons); the step is in the link, so you can send students to it.",
    "🎓",
)
N = len(lesson.STEPS)
STATE = {
    "step": ui.in_range(L.Range(1, N, 1)),
    "present": ui.flag(False),
    "lesson_eps": ui.in_range(L.Range(0.0, 16.0, 8.0, 0.5)),
    "lesson_kind": ui.one_of(lesson.SYNTHETIC, "noise"),
    "lesson_side": ui.in_range(L.Range(1, 32, 8)),
}
ui.url_state(STATE)
present = st.toggle("Presentation mode (large text, no sidebar)", key="present")
ui.presentation_mode(present)
ui.step_nav_ui(N, [s.short for s in lesson.STEPS])
k = int(st.session_state.get("step") or 1)
step = lesson.STEPS[k - 1]
trio = ui.default_models(3)
if not trio:
    st.warning("pretrained/ holds no checkpoints: the lesson needs the bundled zoo.")
    st.stop()
labels = ui.labels(trio)
i = ui.first_correct(trio)
xs, ys = ui.sample()
x, y = xs[i : i + 1].float() / 255, ys[i : i + 1]

st.header(f"{k}. {step.title}")
st.markdown(step.text)
points = cost = energy = held = None  # what steps 1, 2, 4 and 6 measure or read: their "what to notice" says it
with ui.user_errors():
    if k == 1:
        eps = st.slider("ε (L∞, ×1/255)", 0.0, 16.0, key="lesson_eps", step=0.5)
        r = ui.attack_results((trio[0],), f"sample:{i}", lesson.attack_settings(eps), _x=x, _y=y)[trio[0]]
        held = not r["success"]
        imgs, d = st.columns([3, 2])
        imgs.html(viz.images_html([(viz.to_uint8_image(x[0]), f"clean: {CLASSES[r['pred_clean']]}"),
                                   (viz.to_uint8_image(r["x_adv"]), f"adversarial: {CLASSES[r['pred_adv']]}"),
                                   (viz.amplify_delta(r["delta"]), "δ, amplified")]))  # fmt: skip
        d.metric(
            labels[trio[0]],
            "fooled" if r["success"] else "held",
            f"{CLASSES[r['pred_clean']]} → {CLASSES[r['pred_adv']]}",
            delta_color="off",
            delta_arrow="off",
        )
        if present:  # projector sizes: the plotly version
            ui.chart(viz.topk_bars(r["p_clean"], r["p_adv"], true_label=int(y[0])), "lesson_top", big=True)
        else:
            st.html(viz.topk_html(r["p_clean"], r["p_adv"], true_label=int(y[0])))
        st.caption(
            f"Live: PGD-10 on bundled image #{i} ({CLASSES[int(y[0])]}), which every model of this lesson "
            "classifies correctly."
        )
    elif k == 2:
        r = ui.attack_results((trio[0],), f"sample:{i}", lesson.attack_settings(8.0), _x=x, _y=y)[trio[0]]
        energy = (labels[trio[0]], r["energy"])
        fig = viz.energy_profile({trio[0]: r["energy"]}, labels=labels)
        ui.chart(fig, "lesson_energy", big=present, light=None if present else viz.scatter_svg(fig))
        st.caption(f"Live: PGD-10 at 8/255 on bundled image #{i}, {labels[trio[0]]}.")
    elif k == 3:
        rows, cur = ui.synthetic_ui("lesson_kind", "lesson_side", "Change per position")
        fig = viz.synthetic_pooling(rows, cur)
        ui.chart(fig, "lesson_syn", big=present, light=None if present else viz.scatter_svg(fig))
        st.caption("Live: synthetic ReLU'd maps, 64 channels, 32 samples.")
    elif k == 4:
        with st.spinner("PGD-10 on 16 bundled images for each model…"):
            points = ui.pooling(trio, 16, 8.0)
        ui.chart(viz.pooling_vs_bound(points, labels), "lesson_real", big=present)
        st.caption("Live: each model's own PGD-10 perturbations at 8/255 on the same 16 bundled images.")
    elif k == 5:
        if rows := ui.comparison_rows():
            ui.at_a_glance(rows)  # the answer first; the paper checks it on four networks, so does the zoo
            ui.zoo_details(rows, ui.pooling_contrast(), "lesson_diff")
        else:
            st.info("The cards hold no enlarged/baseline pairs measured on the same images.")
    else:
        ui.chart(viz.cost_bars(cost := ui.cost_rows(trio)), "lesson_cost", big=present)
        st.caption("Parameters and multiply-adds from the model cards.")
        if ui.on_demand("Measure the time per image on this machine", "lesson_lat", (tuple(trio), ui.device())):
            lat = ui.latency(tuple(trio))
            st.dataframe(
                [{"model": labels[n], "median ms / image": round(v["median_ms"], 2)} for n, v in lat.items()],
                hide_index=True,
            )
            st.caption(f"Live on {ui.device()}: interleaved rounds of one forward pass; indicative.")
attacked = (labels[trio[0]], ui.card(trio[0]))  # step 1's model: its card gives the share PGD-20 flips
what = lesson.notice(k - 1, ui.comparison_rows(), points, cost, ui.pooling_contrast(), attacked, energy, held)
st.info(f"**What to notice.** {what}")
ui.page_link(step.page, f"Explore further: {step.page_label}")
ui.write_url(STATE)

st.divider()
export = "Prepare the whole lesson as one HTML file (for teaching without a server)"
if ui.on_demand(export, "lesson_html", (tuple(trio), i)):
    with st.spinner("Computing every step…"), ui.user_errors():
        page = ui.lesson_html(trio, i)
    st.download_button("Download the lesson (HTML)", page, file_name="rcm-demo-lesson.html", mime="text/html")
st.caption(
    "An interactive chart (the “Interactive chart” toggle, or presentation mode) has a camera button, top right, "
    "that saves it as a PNG."
)
if k == 3:  # step 4 needs three attacks: compute them while step 3 is being read
    st.caption("Preparing step 4 in the background of this step…")
    ui.pooling(trio, 16, 8.0)
