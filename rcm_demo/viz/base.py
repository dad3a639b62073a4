"""Shared style of every figure: palette (colour-blind safe), dashes and markers, layout, log axes, images."""

from __future__ import annotations

import numpy as np

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")
GREY = "#7f7f7f"
# Magma as explicit rgb() stops, dark = no change. Written out because Streamlit's plotly.js drew the
# hex stop "#000004" of the named scale as light violet (seen in a browser, theme=None or not).
HEATMAP_SCALE = [
    [i / 9, c]
    for i, c in enumerate(
        (
            "rgb(0,0,4)",
            "rgb(24,15,61)",
            "rgb(68,15,118)",
            "rgb(114,31,129)",
            "rgb(158,47,127)",
            "rgb(205,64,113)",
            "rgb(241,96,93)",
            "rgb(253,150,104)",
            "rgb(254,202,141)",
            "rgb(252,253,191)",
        )
    )
]
LAYER_LABELS = {
    "input": "input",
    "stem": "stem",
    "layer1": "layer1",
    "layer2": "layer2",
    "layer3": "layer3",
    "layer4": "layer4",
    "pool": "pool",
    "logits": "logits",
}
FONT = 14


def _layout(fig, title, height=320, **kw):
    fig.update_layout(
        title=dict(text=title, font=dict(size=FONT + 3)),
        height=height,
        font=dict(size=FONT),
        margin=dict(l=60, r=20, t=70, b=50),
        template="plotly_white",
        # Legend to the right of the plot: it never collides with the title or an axis title, however
        # many (long) model labels it holds.
        legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02, title=None),
        **kw,
    )
    return fig


def _style(i: int) -> dict:
    """Colour, dash and marker of the i-th series."""
    return {
        "line": dict(color=PALETTE[i % len(PALETTE)], dash=DASHES[i % len(DASHES)], width=2.5),
        "marker": dict(symbol=SYMBOLS[i % len(SYMBOLS)], size=9, color=PALETTE[i % len(PALETTE)]),
    }


LOG_TICKS = [m * 10.0**e for e in range(-6, 6) for m in (1, 2, 5)]


def _log_axis(axis_update, title):
    """Log axis with ticks at 1, 2, 5 × 10^k written in full (0.02, 0.05, 0.1 — never a bare '2' or '5')."""
    axis_update(
        type="log", title=title, tickvals=LOG_TICKS, ticktext=[f"{v:g}" for v in LOG_TICKS], minor=dict(showgrid=True)
    )


def to_uint8_image(x) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8 for st.image / PNG."""
    a = np.asarray(x.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5, dtype=np.float32)
    return a.astype(np.uint8)


def png_bytes(x) -> bytes:
    """(3, H, W) float in [0, 1] -> lossless PNG bytes (for downloads)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_uint8_image(x)).save(buf, format="PNG")
    return buf.getvalue()


def amplify_delta(delta, eps=None) -> np.ndarray:
    """Perturbation made visible: 0.5 + delta / (2 max|delta|), as an image."""
    m = float(delta.abs().max()) if eps is None else eps
    return to_uint8_image(0.5 + delta / (2 * max(m, 1e-12)))


def _label(name, labels):
    return (labels or {}).get(name, name)
