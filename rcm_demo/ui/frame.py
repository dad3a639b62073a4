"""Page frame: header and navigation, error display, charts, presentation mode, device, buttons for
expensive panels."""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import sys
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
import torch
from streamlit.errors import StreamlitPageNotFoundError

from ..serve.worker import Busy, torch_threads
from ..zoo import CheckpointError

# Every model computation of the app runs outside the main thread (worker lanes or session threads),
# where one torch thread per op is fastest on a small CPU (worker.torch_threads explains the measurement).
if torch.get_num_threads() != torch_threads():
    torch.set_num_threads(torch_threads())

ROOT = Path(__file__).resolve().parent.parent.parent
DEVICE_KEY = "device"


def pages() -> list[dict]:
    """The app's pages from the ``pages/`` folder: path, label (from the file name) and the first line
    of the page's docstring (its description). Read again only when a page file changes."""
    files = sorted((ROOT / "pages").glob("*.py"))
    return _pages(tuple((str(p), p.stat().st_mtime_ns) for p in files))


@functools.lru_cache(maxsize=4)
def _pages(stamp: tuple) -> list[dict]:
    out = []
    for p in (Path(f) for f, _ in stamp):
        doc = ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or ""
        label = p.stem.split("_", 1)[-1].replace("_", " ")
        out.append({"path": f"pages/{p.name}", "label": label, "description": doc.split("\n")[0].rstrip(".")})
    return out


# The settings that decide how fast the server answers (.streamlit/config.toml sets them; docs/decisions.md
# has the measurements).
SPEED_SETTINGS = (
    "server.fileWatcherType",
    "server.runOnSave",
    "runner.magicEnabled",
    "runner.postScriptGC",
    "server.maxUploadSize",
)


@functools.cache
def report_settings() -> dict:
    """Once per server process: the effective values of ``SPEED_SETTINGS``, read through Streamlit's own
    config API, as one line in the server log (tests/test_server_config.py reads it back)."""
    values = {k: st.get_option(k) for k in SPEED_SETTINGS}
    print("rcm-demo server settings: " + json.dumps(values), file=sys.stderr, flush=True)
    if values["server.fileWatcherType"] != "none":
        print("rcm-demo: the file watcher is on; every page view pays for it (docs/decisions.md)", file=sys.stderr)
    return values


def page_header(title: str, intro: str, icon: str = "🔬"):
    st.set_page_config(page_title=f"{title} · rcm-demo", page_icon=icon, layout="wide")
    report_settings()
    with st.sidebar:  # our own navigation: readable labels, "Home" instead of the file name "app"
        try:
            st.page_link("app.py", label="Home")
            for p in pages():
                st.page_link(p["path"], label=p["label"], help=p["description"])
            st.divider()
        except StreamlitPageNotFoundError:
            pass  # a page run on its own (``streamlit run pages/…``, AppTest): no multipage app to navigate
    st.title(title)
    st.caption(intro)


@contextlib.contextmanager
def user_errors():
    """Show library refusals (bad input, limits, broken checkpoints) as messages, not tracebacks."""
    try:
        yield
    except Busy:
        st.warning("The lab is busy: many requests are waiting. Retry in a few seconds.")
        st.stop()
    except (ValueError, CheckpointError) as e:
        st.error(str(e))
        st.stop()


INTERACTIVE_HELP = "Hover for values, zoom, and save a PNG with the camera button (loads the chart library)."


def chart(fig, key: str, big: bool = False, light: str | None = None):
    """Every figure goes through here: ``theme=None`` keeps the figure's own colour scales (Streamlit's
    chart theme would otherwise replace them, e.g. start a heatmap at light pink instead of black). The
    modebar's camera button downloads the figure as a PNG (2× scale), in the browser, offline. ``big``:
    projector sizes (presentation mode). ``light``: a static SVG of the same figure (``viz.svg``), shown
    instead until the reader asks for the interactive chart: one plotly chart costs a new tab about 0.9 s
    of the browser's time, an SVG 0.1 s (docs/decisions.md)."""
    if light is not None and not st.toggle("Interactive chart", key=f"{key}_interactive", help=INTERACTIVE_HELP):
        st.html(light)
        return
    if big:
        fig = go.Figure(fig).update_layout(
            font_size=20, title_font_size=24, height=int((fig.layout.height or 400) * 1.25)
        )
    st.plotly_chart(
        fig,
        key=key,
        theme=None,
        width="stretch",
        config={
            "toImageButtonOptions": {"format": "png", "scale": 2, "filename": f"rcm-demo_{key}"},
            "displaylogo": False,
        },
    )


PRESENTATION_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stToolbar"] {display: none;}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stAlertContentInfo"] p {
  font-size: 1.5rem !important; line-height: 1.5;}
[data-testid="stHeading"] h1 {font-size: 3rem !important;}
[data-testid="stHeading"] h2 {font-size: 2.4rem !important;}
</style>"""


def presentation_mode(on: bool):
    """Larger text, no sidebar: for a projector."""
    if on:
        st.html(PRESENTATION_CSS)


def page_link(path: str, label: str, icon: str | None = ":material/arrow_forward:"):
    """A link to another page of the app (a caption when the page runs on its own, e.g. under AppTest)."""
    try:
        st.page_link(path, label=label, icon=icon)
    except StreamlitPageNotFoundError:
        st.caption(f"Explore further: {label}")


# ----------------------------------------------------------------------------- device
def devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def device() -> str:
    if st.session_state.get(DEVICE_KEY) not in devices():
        st.session_state[DEVICE_KEY] = devices()[-1]
    return st.session_state[DEVICE_KEY]


def backend_text() -> str:
    """Which backend computes this session's model work (``serve.backend``), in words."""
    from ..serve.backend import describe

    return describe(device())


def device_ui():
    st.radio(
        "Compute device",
        devices(),
        key=DEVICE_KEY,
        horizontal=True,
        help="CUDA is offered when a GPU is present; the choice applies to every page of this session.",
    )


def on_demand(text: str, key: str, signature: tuple, help: str | None = None) -> bool:
    """A button for an expensive panel whose result stays shown while its inputs (``signature``) are
    unchanged: True when clicked now, or clicked earlier with the same inputs (then served from cache)."""
    if st.button(text, key=key, help=help):
        st.session_state[f"_{key}_signature"] = signature
        return True
    return st.session_state.get(f"_{key}_signature") == signature


def progress_bar(text: str):
    bar = st.progress(0.0, text=text)
    return lambda frac: bar.progress(min(float(frac), 1.0), text=f"{text} {100 * frac:.0f}%")
