"""The zoo's shared views, answer first: the headline and the one figure (``at_a_glance``), then the evidence
one click below (``zoo_details``: the forest plot with one row per pair or per seed, the long sentences, the
four networks side by side). Home, the Model zoo page and lesson step 5 show the same things."""

from __future__ import annotations

import streamlit as st

from .. import viz
from ..zoo import control, findings, glance, tables
from .compute import variants_finding
from .frame import chart

SEEDS_HELP = (
    "Off: one row per enlarged/baseline pair, the mean over its seeds where it has several (its interval holds "
    "the seed-to-seed spread too). On: every seed's own difference as well."
)


def at_a_glance(rows: list[dict]) -> None:
    """The headline sentences (one per question) and the figure that carries the claim, from the cards."""
    for sentence in glance.headline(rows):
        st.markdown(sentence)
    if (figure := glance.claim(rows)) is None:
        return
    st.html(viz.claim_svg(*figure))
    st.caption(
        f"{glance.headline_note(rows)} From the model cards: enlarged map minus its baseline, paired on the same "
        "test images; seed means where a pair has several seeds."
    )


def pair_forest(rows: list[dict], key: str, big: bool = False) -> None:
    """The paired differences per attack: one row per pair by default, each seed behind a toggle."""
    every = st.toggle("Each seed on its own", key=f"{key}_seeds", help=SEEDS_HELP)
    shown = rows if every else glance.pair_means(rows)
    chart(viz.paired_differences(shown), key, big=big, light=None if big else viz.forest_svg(shown))


def four_networks(rows: list[dict]) -> None:
    """The paper's four networks side by side (``tables.architecture_rows``; TRADES and width-64 pairs on
    rows beside their network): a plain markdown table, light for a new tab, and the sentences generated
    from it."""
    st.markdown(
        "**The paper's four networks**: each reference-default stride setting against its enlarged-map "
        "twin (AT, average pooling), paired on the same test images, Δ in points with 95% intervals."
    )
    st.markdown(tables.architectures_markdown(rows))
    st.caption(findings.architectures_finding(rows))
    if more := variants_finding():
        st.caption(more)


def zoo_details(rows: list[dict], contrast: list[dict], key: str, control_figure: bool = False) -> None:
    """Everything behind the headline, in an expander: per pair and attack, per seed on demand, the main
    finding and the max-pooling control in words, the four networks."""
    with st.expander("Details: every pair, seed and attack, the control, the four networks"):
        pair_forest(rows, key)
        st.caption(
            "Paired on the same test images (from the cards' per-image correctness bits); bars are 95% "
            "intervals. An interval that crosses 0 does not show a difference either way."
        )
        st.markdown(findings.finding(rows))
        if control_figure and contrast:
            st.html(viz.forest_svg(control.control_rows(contrast), title=control.CONTROL_TITLE))
        st.markdown(control.control_finding(contrast))
        four_networks(rows)
