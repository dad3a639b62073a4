"""The reference for bench/page_views.py and bench/chart_cost.py: the smallest Streamlit page (a title),
served and timed the same way as the app's pages, so page times can be read as ratios to what Streamlit
itself costs. ``?chart=plotly`` adds one three-point plotly line chart, ``?chart=svg`` the same line as a
static SVG image (what rcm_demo.viz.svg draws), so the cost of a chart library can be measured alone."""

import sys
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rcm_demo.viz.svg import scatter_svg  # noqa: E402

st.set_page_config(page_title="reference", layout="wide")
st.title("Reference page")
st.caption("One title and one caption: what any Streamlit page costs to open.")
fig = go.Figure([dict(type="scatter", x=[1, 2, 3], y=[1, 3, 2], mode="lines", name="a line")])
if st.query_params.get("chart") == "plotly":
    st.plotly_chart(fig, theme=None)
elif st.query_params.get("chart") == "svg":
    st.html(scatter_svg(fig))
