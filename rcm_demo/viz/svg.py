"""Static SVG versions of the figures in the pages' default views (no chart library in the browser).

Measured in headless Chromium on 2 cores (a new tab of the same browser, median of 5): a Streamlit page
with one title took 0.72 s, the same page with one three-point plotly chart 1.65 s, with an SVG of the same
line 0.80 s. So a default view draws SVG, and the interactive plotly figure is one toggle away
(``ui.chart``). Same data, same palette, dashes and markers as the plotly builders.

    scatter_svg(viz.energy_profile(...))      # any single-panel scatter figure of this package
    forest_svg(rows)                          # paired differences with their 95% intervals
    heatmaps_svg(maps_by_model, labels=...)   # spatial energy maps on one colour scale
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np

from .base import GREY, HEATMAP_SCALE, PALETTE, _label

_DASH = {"solid": "", "dash": "8,5", "dot": "2,4", "dashdot": "8,4,2,4", "longdash": "14,6", "longdashdot": "14,5,2,5"}


def _esc(s) -> str:
    return html.escape(str(s).replace("<br>", " · "))


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        vals = [m * 10.0**e for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                for m in (1, 2, 5)]  # fmt: skip
        vals = [v for v in vals if lo <= v <= hi]
        return vals if len(vals) <= 9 else vals[:: math.ceil(len(vals) / 9)]
    step = 10 ** math.floor(math.log10((hi - lo) / 5 or 1))
    step *= next(k for k in (1, 2, 5, 10) if (hi - lo) / (step * k) <= 6)
    return [i * step for i in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def _marker(shape: str, x: float, y: float, color: str, r: float = 4.5) -> str:
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" fill="{color}"/>'
    if shape == "diamond":
        pts = f"{x},{y - r * 1.3} {x + r * 1.3},{y} {x},{y + r * 1.3} {x - r * 1.3},{y}"
        return f'<polygon points="{pts}" fill="{color}"/>'
    if shape == "triangle-up":
        return f'<polygon points="{x},{y - r * 1.2} {x + r * 1.2},{y + r} {x - r * 1.2},{y + r}" fill="{color}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>'


def _frame(width, height, title, body, legend) -> str:
    """One self-contained SVG (title above, legend below the plot) in an <img>: Streamlit's HTML sanitiser
    drops inline <svg>, an image with a data URI passes (and can be saved with the browser's menu)."""
    legend_h = 24 if legend else 0
    items, x = [], 10
    for name, color, dash in legend:
        items.append(
            f'<line x1="{x}" y1="{height + 46}" x2="{x + 26}" y2="{height + 46}" stroke="{color}" stroke-width="3" '
            f'stroke-dasharray="{_DASH.get(dash, "")}"/><text x="{x + 32}" y="{height + 50}" font-size="13">'
            f"{_esc(name)}</text>"
        )
        x += 46 + 7 * len(str(name))
    total_w = max(width, x)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w} {height + 34 + legend_h}" '
        f'width="{total_w}" height="{height + 34 + legend_h}" font-family="sans-serif" fill="#2a3f5f">'
        f'<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="17">{_esc(title)}</text>'
        f'<g transform="translate(0,30)">{body}</g>{"".join(items)}</svg>'
    )
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return f'<img src="{uri}" alt="{_esc(title)}" style="width:100%;max-width:{total_w}px;margin:0.3em 0 1em 0"/>'


def scatter_svg(fig, width: int = 760, height: int = 360) -> str:
    """A single-panel figure of scatter traces (lines and/or markers; categorical, linear or log axes)."""
    traces = [t for t in fig.data if t.type == "scatter"]
    xlog, ylog = fig.layout.xaxis.type == "log", fig.layout.yaxis.type == "log"
    cats = next((list(t.x) for t in traces if len(t.x) and isinstance(t.x[0], str)), None)
    ml, mr, mt, mb = 70, 20, 10, 50
    pw, ph = width - ml - mr, height - mt - mb

    def xs(t):
        return [cats.index(v) for v in t.x] if cats else [float(v) for v in t.x]

    allx = [v for t in traces for v in xs(t)]
    ally = [float(v) for t in traces for v in t.y if v is not None and (not ylog or v > 0)]
    x0, x1 = (min(allx), max(allx)) if allx else (0, 1)
    y0, y1 = (min(ally), max(ally)) if ally else (0, 1)
    if ylog:
        y0, y1 = y0 / 1.3, y1 * 1.3
    else:
        pad = (y1 - y0) * 0.08 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    if cats:
        x0, x1 = -0.3, len(cats) - 0.7
    elif xlog:
        x0, x1 = x0 / 1.2, x1 * 1.2

    def fx(v):
        a, b, v = (math.log10(x0), math.log10(x1), math.log10(v)) if xlog and not cats else (x0, x1, v)
        return ml + (v - a) / ((b - a) or 1) * pw

    def fy(v):
        a, b, v = (math.log10(y0), math.log10(y1), math.log10(v)) if ylog else (y0, y1, v)
        return mt + ph - (v - a) / ((b - a) or 1) * ph

    body = [f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="white" stroke="#dde3ee"/>']
    for v in _ticks(y0, y1, ylog):
        body.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{fy(v):.1f}" y2="{fy(v):.1f}" stroke="#EBF0F8"/>')
        body.append(f'<text x="{ml - 6}" y="{fy(v) + 4:.1f}" font-size="12" text-anchor="end">{v:g}</text>')
    dtick = fig.layout.xaxis.dtick
    if cats:
        xt = list(range(len(cats)))
    elif dtick and not xlog:  # e.g. whole epochs
        xt = [v for v in np.arange(math.ceil(x0), x1 + 1e-9, float(dtick)) if v >= x0]
    else:
        xt = _ticks(x0, x1, xlog)
    for v in xt:
        label = cats[v] if cats else f"{v:g}"
        body.append(
            f'<text x="{fx(v):.1f}" y="{mt + ph + 18}" font-size="12" text-anchor="middle">{_esc(label)}</text>'
        )
    xtitle, ytitle = fig.layout.xaxis.title.text or "", fig.layout.yaxis.title.text or ""
    body.append(f'<text x="{ml + pw / 2}" y="{height - 8}" font-size="13" text-anchor="middle">{_esc(xtitle)}</text>')
    body.append(
        f'<text transform="translate(16,{mt + ph / 2}) rotate(-90)" font-size="13" text-anchor="middle">'
        f"{_esc(ytitle)}</text>"
    )
    legend = []
    for i, t in enumerate(traces):
        color = (t.line.color if "lines" in (t.mode or "lines") else None) or t.marker.color or PALETTE[i % 8]
        pts = [(fx(x), fy(float(y))) for x, y in zip(xs(t), t.y) if y is not None and (not ylog or y > 0)]
        if "lines" in (t.mode or "lines") and len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5" '
                f'stroke-dasharray="{_DASH.get(t.line.dash or "solid", "")}"/>'
            )
        if "markers" in (t.mode or ""):
            hollow = t.marker.color == "rgba(0,0,0,0)"
            for x, y in pts:
                if hollow:  # the "you are here" ring of the synthetic pooling view
                    body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="none" stroke="#000" stroke-width="3"/>')
                else:
                    body.append(_marker(t.marker.symbol or "circle", x, y, color))
        legend.append((t.name, "#000" if t.marker.color == "rgba(0,0,0,0)" else color, t.line.dash or "solid"))
    return _frame(width, height, fig.layout.title.text or "", "".join(body), legend)


def _forest_name(rows, pool, label) -> str:
    base = next(r["baseline"] for r in rows if (r["pool"], r["enlarged"]) == (pool, label)).split(" ")[0]
    return f"{label.replace(' · ' + pool, '')} − {base} ({pool})"


def forest_svg(
    rows: list[dict],
    width: int = 760,
    title: str = "Enlarged map minus its baseline (paired on the same images, 95% CI)",
) -> str:
    """Paired differences (points) with their 95% intervals, one row per enlarged model and metric,
    grouped by pooling, a dashed line at 0."""
    metrics = list(dict.fromkeys(r["metric_label"] for r in rows))
    groups = list(dict.fromkeys((r["pool"], r["enlarged"]) for r in rows))
    lo = min([100 * r["lo"] for r in rows] + [0.0])
    hi = max([100 * r["hi"] for r in rows] + [0.0])
    pad = (hi - lo) * 0.06 or 1.0
    lo, hi = lo - pad, hi + pad
    names = [_forest_name(rows, pool, label) for pool, label in groups]
    # The left margin fits the longest row name (about 6.6 px per character at 12 px), the plot keeps 400 px.
    ml, mr, row_h = max(330, int(6.6 * max(map(len, names), default=0)) + 20), 20, 14 * max(len(metrics), 1) + 14
    width = max(width, ml + mr + 400)
    height = 40 + row_h * len(groups) + 40
    pw = width - ml - mr

    def fx(v):
        return ml + (v - lo) / (hi - lo) * pw

    body = []
    for v in _ticks(lo, hi, False):
        body.append(f'<line x1="{fx(v):.1f}" x2="{fx(v):.1f}" y1="30" y2="{height - 40}" stroke="#EBF0F8"/>')
        body.append(f'<text x="{fx(v):.1f}" y="{height - 24}" font-size="12" text-anchor="middle">{v:+g}</text>')
    body.append(
        f'<line x1="{fx(0):.1f}" x2="{fx(0):.1f}" y1="30" y2="{height - 40}" stroke="{GREY}" stroke-dasharray="6,4"/>'
    )
    body.append(
        f'<text x="{ml + pw / 2}" y="{height - 6}" font-size="13" text-anchor="middle">difference (accuracy points, '
        "95% interval)</text>"
    )
    keyed = {(r["pool"], r["enlarged"], r["metric_label"]): r for r in rows}
    for g, (pool, label) in enumerate(groups):
        top = 36 + g * row_h
        name = names[g]
        body.append(f'<text x="{ml - 10}" y="{top + row_h / 2}" font-size="12" text-anchor="end">{_esc(name)}</text>')
        if g:
            body.append(f'<line x1="10" x2="{width - mr}" y1="{top - 2}" y2="{top - 2}" stroke="#f0f2f6"/>')
        for i, m in enumerate(metrics):
            r = keyed.get((pool, label, m))
            if r is None:
                continue
            y, c = top + 7 + 14 * i, PALETTE[i % 8]
            body.append(f'<line x1="{fx(100 * r["lo"]):.1f}" x2="{fx(100 * r["hi"]):.1f}" y1="{y}" y2="{y}" '
                        f'stroke="{c}" stroke-width="2"/>')  # fmt: skip
            body.append(_marker(("circle", "square", "diamond", "triangle-up")[i % 4], fx(100 * r["diff"]), y, c))
    legend = [(m, PALETTE[i % 8], "solid") for i, m in enumerate(metrics)]
    return _frame(width, height, title, "".join(body), legend)


def _magma(v: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB uint8 on the heatmaps' Magma stops (dark = no change)."""
    stops = np.array([[int(c) for c in s[4:-1].split(",")] for _, s in HEATMAP_SCALE], dtype=float)
    pos = np.array([p for p, _ in HEATMAP_SCALE])
    rgb = np.stack([np.interp(v, pos, stops[:, k]) for k in range(3)], -1)
    return rgb.round().astype(np.uint8)


def _png(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def heatmaps_svg(maps_by_model: dict[str, dict], layers=("layer2", "layer3", "layer4"), labels=None) -> str:
    """One row per model, one panel per layer at its native resolution, one shared colour scale."""
    names = list(maps_by_model)
    zmax = max(float(maps_by_model[n][layer].max()) for n in names for layer in layers) or 1.0
    cell, gap, left, top = 150, 24, 10, 10
    width = left + len(layers) * (cell + gap) + 70
    height = top + len(names) * (cell + 44)
    body = []
    for r, n in enumerate(names):
        y = top + r * (cell + 44)
        body.append(f'<text x="{left}" y="{y + 14}" font-size="13">{_esc(_label(n, labels))}</text>')
        for c, layer in enumerate(layers):
            z = maps_by_model[n][layer].float().numpy()
            x = left + c * (cell + gap)
            body.append(
                f'<image x="{x}" y="{y + 20}" width="{cell}" height="{cell}" preserveAspectRatio="none" '
                f'style="image-rendering:pixelated" href="data:image/png;base64,{_png(_magma(z / zmax))}"/>'
            )
            body.append(f'<text x="{x + cell / 2}" y="{y + cell + 36}" font-size="12" text-anchor="middle">'
                        f"{layer} ({z.shape[0]}×{z.shape[1]})</text>")  # fmt: skip
    bar = _png(_magma(np.linspace(1, 0, 64)[:, None].repeat(4, 1)))
    bx = left + len(layers) * (cell + gap)
    body.append(f'<image x="{bx}" y="{top + 20}" width="14" height="{cell}" preserveAspectRatio="none" '
                f'href="data:image/png;base64,{bar}"/>')  # fmt: skip
    body.append(f'<text x="{bx + 18}" y="{top + 30}" font-size="11">{zmax:.3g}</text>')
    body.append(f'<text x="{bx + 18}" y="{top + 20 + cell}" font-size="11">0</text>')
    title = "Where the perturbation lives (relative ‖ΔZ‖ per position; dark = no change)"
    return _frame(width, height, title, "".join(body), [])
