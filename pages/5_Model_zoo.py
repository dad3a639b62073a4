"""Every model card: spec, map sizes, cost, metrics with their provenance, training budget."""

import html

import streamlit as st

from rcm_demo import ui, viz
from rcm_demo.zoo import tables

ui.page_header(
    "Model zoo",
    "Every bundled checkpoint with its card. Metrics come from the cards (written by "
    "`python -m rcm_demo.evaluate`); the map sizes per stage are computed live from the spec.",
    "🗂️",
)
names = ui.checkpoints()
for bad, why in ui.checkpoint_problems().items():
    st.warning(f"Card {bad} is not usable: {why}")
if not names:
    st.warning("pretrained/ holds no usable checkpoints: see the README to train some.")
    st.stop()
STATE = {"zoo_card": ui.checkpoint_key(names[0])}
ui.url_state(STATE)

rows = ui.comparison_rows()
if rows:
    st.subheader("What the enlarged map buys")
    ui.at_a_glance(rows)
    ui.zoo_details(rows, ui.pooling_contrast(), "paired", control_figure=True)
st.subheader("Comparison (from the cards)")
st.dataframe(tables.zoo_rows(names), hide_index=True, width="stretch")

name = ui.checkpoint_ui("zoo_card", "Card")
ui.write_url(STATE)
meta = ui.card(name)
st.markdown(f"### {ui.label(name)}\n`{name}` · tier **{meta.get('tier', 'lite')}**")
c1, c2, c3, c4 = st.columns(4)
c1.metric("pre-pool map", "×".join(map(str, meta["pre_pool_hw"])))
c2.metric("parameters", f"{meta['params']:,}")
c3.metric("MACs / image", f"{meta['macs'] / 1e6:.1f} M")
c4.metric(
    "training",
    f"{meta['train'].get('epochs')} epochs",
    f"{meta['train'].get('seconds', 0) / 60:.0f} min (hardware below)",
    delta_color="off",
    delta_arrow="off",
)

left, right = st.columns(2)
with left:
    st.markdown("**Spec**")
    st.markdown(" · ".join(f"`{k}` {v}" for k, v in meta["spec"].items()))
    st.markdown("**Map size per stage** (live, from the spec)")
    with ui.user_errors():
        ui.models([name])  # a broken checkpoint is reported here
        shapes = ui.stage_shapes(name)
    # Small tables as plain HTML (st.table): the data-grid component costs a new tab its own load time.
    st.table({"shape": {k: " × ".join(map(str, v)) for k, v in shapes.items()}})
with right:
    st.markdown("**Metrics** (from the card)")
    mets = tables.card_metrics(meta)
    if mets:
        st.table(mets["table"])
        st.caption("Data: " + "; ".join(mets["datasets"]))
    else:
        st.info("Not evaluated yet.")
    hist = meta["train"].get("heldout_monitor", {}).get("history")
    if hist:
        fig = viz.heldout_history(hist)
        ui.chart(fig, "hist", light=viz.scatter_svg(fig, height=300))

st.markdown("**Training**")
t = meta["train"]
# Plain <pre>: st.code loads a syntax highlighter into a new tab for this one line.
PRE = "white-space:pre-wrap;background:#f6f7f9;padding:0.8em;border-radius:6px"
st.html(f"<pre style='{PRE}'>{html.escape(t.get('command', 'unknown'))}</pre>")
st.caption(
    f"{tables.hardware_text(t.get('hardware'))} · "
    f"{', '.join(t.get('arithmetic', ['arithmetic not recorded']))} · torch {t.get('torch')} · "
    f"{t.get('date')} · seed {t.get('seed')} · "
    f"data: {t.get('dataset')} · sha256 {meta['sha256'][:16]}…"
)
