"""The reference for bench/page_views.py: the smallest Streamlit page (a title), served and timed the
same way as the app's pages, so the page times can be read as ratios to what Streamlit itself costs."""

import streamlit as st

st.set_page_config(page_title="reference", layout="wide")
st.title("Reference page")
st.caption("One title and one caption: what any Streamlit page costs to open.")
