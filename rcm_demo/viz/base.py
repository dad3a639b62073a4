"""Shared style of every figure: palette (colour-blind safe), dashes and markers, layout, log axes, images."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

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

# The look of plotly's "plotly_white", written out small. Assigning the full named template costs about
# 10 ms per figure in plotly's validation (again when Streamlit re-validates it) and 7 KB of JSON per
# chart for the browser; this one costs about 3 ms and 0.5 KB. Registered once at import.
_AXIS = dict(
    gridcolor="#EBF0F8",
    linecolor="#EBF0F8",
    zerolinecolor="#EBF0F8",
    zerolinewidth=2,
    automargin=True,
    ticks="",
    title=dict(standoff=15),
)
_COLORBAR = dict(outlinewidth=0, ticks="")
TEMPLATE = "rcm"
pio.templates[TEMPLATE] = go.layout.Template(
    layout=dict(
        colorway=PALETTE,
        font=dict(color="#2a3f5f"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        hovermode="closest",
        hoverlabel=dict(align="left"),
        title=dict(x=0.05),
        xaxis=_AXIS,
        yaxis=_AXIS,
        coloraxis=dict(colorbar=_COLORBAR),
        annotationdefaults=dict(arrowcolor="#2a3f5f", arrowhead=0, arrowwidth=1),
        shapedefaults=dict(line=dict(color="#2a3f5f")),
    ),
    data=dict(
        bar=[go.Bar(marker=dict(line=dict(color="white", width=0.5)))],
        heatmap=[go.Heatmap(colorbar=_COLORBAR)],
    ),
)


def layout(title: str, height: int = 320, **kw) -> dict:
    """The shared layout as one dict, for figures built in one constructor call (each of plotly's
    ``update_*`` calls costs 5–10 ms of validation; a figure built in one call costs 1–3 ms). Keyword
    dicts are merged into the defaults (``legend=dict(x=0)`` keeps the other legend settings)."""
    out = dict(
        title=dict(text=title, font=dict(size=FONT + 3)),
        height=height,
        font=dict(size=FONT),
        margin=dict(l=60, r=20, t=70, b=50),
        template=TEMPLATE,
        # Legend to the right of the plot: it never collides with the title or an axis title, however
        # many (long) model labels it holds.
        legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02, title=None),
    )
    for k, v in kw.items():
        out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _layout(fig, title, height=320, **kw):
    return fig.update_layout(**layout(title, height, **kw))


def axis_name(ref: str) -> str:
    """Layout key of an axis reference: "x" -> "xaxis", "y3" -> "yaxis3"."""
    return f"{ref[0]}axis{ref[1:]}"


def _unit(v: float) -> float:
    return min(max(v, 0.0), 1.0)  # rounding must not leave [0, 1]


def grid(rows: int, cols: int, hspace: float, vspace: float = 0.0, titles=()) -> tuple[dict, list[tuple[str, str]]]:
    """A grid of subplots as plain layout entries (what ``make_subplots`` builds, without its ~50 ms of
    validation): returns the layout entries (axes with their domains, panel titles as annotations) and,
    row by row, each cell's (x, y) axis references for its traces."""
    w, h = (1 - (cols - 1) * hspace) / cols, (1 - (rows - 1) * vspace) / max(rows, 1)
    entries, refs, notes = {}, [], []
    for r in range(rows):
        for c in range(cols):
            k = r * cols + c + 1
            x0, top = c * (w + hspace), 1 - r * (h + vspace)
            suffix = "" if k == 1 else str(k)
            entries[f"xaxis{suffix}"] = dict(domain=[_unit(x0), _unit(x0 + w)], anchor=f"y{suffix}")
            entries[f"yaxis{suffix}"] = dict(domain=[_unit(top - h), _unit(top)], anchor=f"x{suffix}")
            refs.append((f"x{suffix}", f"y{suffix}"))
            if k <= len(titles):
                notes.append(
                    dict(
                        text=titles[k - 1],
                        x=x0 + w / 2,
                        y=top,
                        xref="paper",
                        yref="paper",
                        xanchor="center",
                        yanchor="bottom",
                        showarrow=False,
                        font=dict(size=FONT),
                    )
                )
    entries["annotations"] = notes
    return entries, refs


def _style(i: int) -> dict:
    """Colour, dash and marker of the i-th series."""
    return {
        "line": dict(color=PALETTE[i % len(PALETTE)], dash=DASHES[i % len(DASHES)], width=2.5),
        "marker": dict(symbol=SYMBOLS[i % len(SYMBOLS)], size=9, color=PALETTE[i % len(PALETTE)]),
    }


LOG_TICKS = [m * 10.0**e for e in range(-6, 6) for m in (1, 2, 5)]


def log_axis(title: str) -> dict:
    """Log axis with ticks at 1, 2, 5 × 10^k written in full (0.02, 0.05, 0.1 — never a bare '2' or '5')."""
    return dict(
        type="log",
        title=dict(text=title),
        tickvals=LOG_TICKS,
        ticktext=[f"{v:g}" for v in LOG_TICKS],
        minor=dict(showgrid=True),
    )


def _log_axis(axis_update, title):
    axis_update(**log_axis(title))


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


def images_html(items, width: int | None = None) -> str:
    """Images with captions as one HTML block of PNG data URIs: no media request per image (a new browser
    tab fetched the Attack lab's 21 images one by one). ``items``: (uint8 (H, W, 3) array or PNG bytes,
    caption); ``width`` in pixels, or None to share the row."""
    import base64
    import html
    import io

    from PIL import Image

    cells = []
    for img, caption in items:
        if not isinstance(img, bytes):
            buf = io.BytesIO()
            Image.fromarray(np.asarray(img)).save(buf, format="PNG")
            img = buf.getvalue()
        size = f"width:{width}px" if width else "width:100%"
        cells.append(
            f'<figure style="margin:0;flex:{"0 0 auto" if width else "1 1 0"};text-align:center;min-width:0">'
            f'<img src="data:image/png;base64,{base64.b64encode(img).decode()}" alt="{html.escape(caption)}" '
            f'style="{size};image-rendering:pixelated;border-radius:2px"/><figcaption style="font-size:0.8rem;'
            f'color:rgba(49,51,63,0.6);white-space:nowrap">{html.escape(caption)}</figcaption></figure>'
        )
    return f'<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start">{"".join(cells)}</div>'


def amplify_delta(delta, eps=None) -> np.ndarray:
    """Perturbation made visible: 0.5 + delta / (2 max|delta|), as an image."""
    m = float(delta.abs().max()) if eps is None else eps
    return to_uint8_image(0.5 + delta / (2 * max(m, 1e-12)))


def _label(name, labels):
    return (labels or {}).get(name, name)
