"""Pure plotly figure builders (no Streamlit): every figure the app shows, callable from tests.

Inputs are plain Python/torch values as returned by ``rcm_demo.lab`` and ``rcm_demo.probe``.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .data import CLASSES
from .probe import PROFILE

# Okabe–Ito: distinguishable with the common colour-vision deficiencies; lines also differ in dash
# and marker so overlapping curves stay visible (and readable in black and white on a projector).
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


def topk_bars(p_clean, p_adv, k=5, true_label=None) -> go.Figure:
    """Top-k class probabilities before (clean) and after the attack, side by side."""
    idx = sorted(
        set(np.argsort(-np.asarray(p_clean))[:k]) | set(np.argsort(-np.asarray(p_adv))[:k]),
        key=lambda i: -float(p_clean[i]) - float(p_adv[i]),
    )[: k + 2]
    names = [CLASSES[i] + (" ✓" if i == true_label else "") for i in idx]
    fig = go.Figure(
        [
            go.Bar(name="clean", y=names, x=[float(p_clean[i]) for i in idx], orientation="h", marker_color=PALETTE[0]),
            go.Bar(
                name="adversarial",
                y=names,
                x=[float(p_adv[i]) for i in idx],
                orientation="h",
                marker_color=PALETTE[1],
                marker_pattern_shape="/",
            ),
        ]
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 1], title="probability")
    _layout(fig, "Top classes before / after", height=320, barmode="group")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0), margin=dict(t=80))
    return fig


def _label(name, labels):
    return (labels or {}).get(name, name)


def energy_profile(profiles: dict[str, dict], key="relative", labels=None) -> go.Figure:
    """One line per model: ||f_l(x+δ) − f_l(x)|| / ||f_l(x)|| along the network."""
    layers = ["input", *PROFILE]
    fig = go.Figure()
    for i, (name, e) in enumerate(profiles.items()):
        fig.add_trace(
            go.Scatter(
                x=[LAYER_LABELS[k] for k in layers],
                y=[e[k][key] for k in layers],
                mode="lines+markers",
                name=_label(name, labels),
                **_style(i),
            )
        )
    ytitle = "relative change ‖Δf‖/‖f‖" if key == "relative" else "absolute change ‖Δf‖"
    _log_axis(fig.update_yaxes, ytitle)
    fig.update_xaxes(title="stage (input → logits)")
    return _layout(fig, "Perturbation energy per layer", height=420)


def spatial_maps(maps_by_model: dict[str, dict], layers=("layer2", "layer3", "layer4"), labels=None) -> go.Figure:
    """Heatmaps of ||ΔZ|| per position at each layer's native resolution (4×4 stays 4×4). One shared
    colour scale from 0 (darkest: no change) to the largest value."""
    names = list(maps_by_model)
    titles = [
        f"{_label(n, labels)}<br>{layer} ({'×'.join(map(str, maps_by_model[n][layer].shape))})"
        for n in names
        for layer in layers
    ]
    fig = make_subplots(
        rows=len(names), cols=len(layers), horizontal_spacing=0.05, vertical_spacing=0.12, subplot_titles=titles
    )
    zmax = max(float(maps_by_model[n][layer].max()) for n in names for layer in layers) or 1.0
    for r, n in enumerate(names, 1):
        for c, layer in enumerate(layers, 1):
            fig.add_trace(
                go.Heatmap(
                    z=maps_by_model[n][layer].numpy(),
                    zmin=0,
                    zmax=zmax,
                    colorscale=HEATMAP_SCALE,
                    showscale=(r == 1 and c == len(layers)),
                    colorbar=dict(title="rel. ‖ΔZ‖", len=0.5, y=1, yanchor="top"),
                ),
                row=r,
                col=c,
            )
            fig.update_yaxes(
                autorange="reversed", showticklabels=False, scaleanchor=f"x{(r - 1) * len(layers) + c}", row=r, col=c
            )
            fig.update_xaxes(showticklabels=False, row=r, col=c)
    fig.update_annotations(font_size=FONT)
    return _layout(fig, "Where the perturbation lives (relative ‖ΔZ‖ per position)", height=280 * len(names) + 80)


def eps_layer_heatmap(m: dict) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=np.log10(np.maximum(np.asarray(m["values"]), 1e-6)),
            x=m["layers"],
            y=[f"{e:g}/255" for e in m["eps255"]],
            colorscale="Viridis",
            colorbar=dict(title="log10 rel."),
            text=[[f"{v:.3f}" for v in row] for row in m["values"]],
            texttemplate="%{text}",
        )
    )
    fig.update_yaxes(title="ε (L∞, ×1/255)")
    fig.update_xaxes(title="stage")
    return _layout(fig, "Relative energy ‖Δf‖/‖f‖ by budget and layer", height=400)


def pooling_bars(report: dict) -> go.Figure:
    """Avg vs max pooling of the same pre-pool maps: measured ratio ‖Δpooled‖/‖ΔZ‖ beside the bound."""
    labels = ["average pooling", "max pooling", "bound 1/√(HW) (avg)"]
    vals = [report["ratio_avg"], report["ratio_max"], report["bound_avg"]]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=vals,
            marker_color=[PALETTE[0], PALETTE[1], GREY],
            text=[f"{v:.3f}" for v in vals],
            textposition="outside",
        )
    )
    fig.update_yaxes(title="‖Δ pooled‖ / ‖ΔZ‖_F", range=[0, max(vals) * 1.25])
    return _layout(fig, f"Pre-pool map {report['H']}×{report['W']}: how much of ΔZ survives pooling", height=380)


def synthetic_pooling(rows: list[dict], current: dict | None = None, normalised: bool = False) -> go.Figure:
    """Synthetic maps, pooled change vs map size. Default (the argument's scale): ‖Δ pooled‖ per unit
    of the per-position change, with the 1/√(HW) reference. ``normalised``: divided by ‖ΔZ‖_F instead
    (both poolings fall there — a correct number that tells the opposite story)."""
    hw = [r["H"] * r["W"] for r in rows]
    keys = ("ratio_avg", "ratio_max") if normalised else ("pooled_avg", "pooled_max")
    fig = go.Figure()
    grid = np.geomspace(1, max(hw) * 1.3, 60)
    fig.add_trace(
        go.Scatter(
            x=grid, y=1 / np.sqrt(grid), mode="lines", name="1/√(HW)", line=dict(color=GREY, dash="dash", width=2)
        )
    )
    for i, (key, label) in enumerate(zip(keys, ("average pooling", "max pooling"))):
        fig.add_trace(go.Scatter(x=hw, y=[r[key] for r in rows], mode="lines+markers", name=label, **_style(i)))
    if current is not None:
        chw = current["H"] * current["W"]
        fig.add_trace(
            go.Scatter(
                x=[chw, chw],
                y=[current[keys[0]], current[keys[1]]],
                mode="markers",
                name=f"your map {current['H']}×{current['W']}",
                marker=dict(size=18, color="rgba(0,0,0,0)", line=dict(color="#000000", width=3)),
            )
        )
    _log_axis(fig.update_xaxes, "H·W (positions in the pre-pool map)")
    ytitle = "‖Δ pooled‖ / ‖ΔZ‖_F" if normalised else "‖Δ pooled‖ / ‖ΔZ per position‖"
    _log_axis(fig.update_yaxes, ytitle)
    title = (
        "Normalised view: divided by the whole map's change"
        if normalised
        else "Fixed change per position: what pooling lets through"
    )
    return _layout(fig, title, height=420)


def pooling_vs_bound(points: list[dict], labels=None) -> go.Figure:
    """Per model: ‖Δ pooled‖/‖ΔZ‖_F of average pooling, its bound 1/√(HW), and max pooling of the same maps."""
    names = [f"{_label(p['checkpoint'], labels)} ({p['H']}×{p['W']})" for p in points]
    series = (
        ("ratio_avg", "average pooling (measured)", PALETTE[0], ""),
        ("bound_avg", "bound 1/√(HW)", GREY, "/"),
        ("ratio_max", "max pooling (measured)", PALETTE[1], "x"),
    )
    fig = go.Figure(
        [
            go.Bar(
                name=label,
                x=names,
                y=[p[key] for p in points],
                marker_color=color,
                marker_pattern_shape=shape,
                text=[f"{p[key]:.3f}" for p in points],
                textposition="outside",
            )
            for key, label, color, shape in series
        ]
    )
    fig.update_yaxes(title="‖Δ pooled‖ / ‖ΔZ‖_F", range=[0, 1.2 * max(p["ratio_max"] for p in points)])
    return _layout(fig, "Real pre-pool maps: measured beside the bound", height=420, barmode="group")


def cost_bars(rows: list[dict]) -> go.Figure:
    """Multiply-adds per image (from the cards), with parameters and the ratio to the first row as text."""
    base = rows[0]["macs"]
    fig = go.Figure(
        go.Bar(
            x=[r["label"] for r in rows],
            y=[r["macs"] / 1e6 for r in rows],
            marker_color=PALETTE[0],
            text=[f"×{r['macs'] / base:.1f} · {r['params'] / 1e6:.3f} M params" for r in rows],
            textposition="outside",
        )
    )
    fig.update_yaxes(title="multiply-adds per image (millions)", range=[0, 1.25 * max(r["macs"] for r in rows) / 1e6])
    return _layout(fig, "What the larger map costs (from the cards)", height=400)


def ratio_vs_size(points: list[dict], labels=None) -> go.Figure:
    """Across checkpoints: measured ratio ‖Δ pooled‖/‖ΔZ‖_F vs H·W of each model's own pre-pool maps,
    with the 1/√(HW) bound. Points at the same map size are spread slightly sideways to stay visible."""
    fig = go.Figure()
    hw = [p["H"] * p["W"] for p in points]
    grid = np.geomspace(8, max(hw + [64]) * 1.5, 50)
    fig.add_trace(
        go.Scatter(
            x=grid,
            y=1 / np.sqrt(grid),
            mode="lines",
            name="bound 1/√(HW) (avg)",
            line=dict(color=GREY, dash="dash", width=2),
        )
    )
    seen: dict[int, int] = {}
    jitter = []
    for v in hw:
        jitter.append(v * 1.06 ** seen.get(v, 0))
        seen[v] = seen.get(v, 0) + 1
    names = [_label(p["checkpoint"], labels) for p in points]
    for i, (key, label) in enumerate(
        (("ratio_avg", "average pooling of the maps"), ("ratio_max", "max pooling of the same maps"))
    ):
        fig.add_trace(
            go.Scatter(
                x=jitter,
                y=[p[key] for p in points],
                mode="markers",
                name=label,
                text=names,
                hovertemplate="%{text}<br>H·W=%{x:.0f}<br>ratio=%{y:.3f}<extra></extra>",
                marker=dict(symbol=SYMBOLS[i], size=12, color=PALETTE[i]),
            )
        )
    _log_axis(fig.update_xaxes, "H·W of the model's pre-pool map")
    _log_axis(fig.update_yaxes, "‖Δ pooled‖ / ‖ΔZ‖_F")
    return _layout(fig, "Each checkpoint's own maps, pooled both ways", height=420)


def robustness_curves(curves: dict, labels=None) -> go.Figure:
    """Accuracy vs budget with 95% binomial (Wilson) intervals as error bars."""
    n = curves.get("n")
    fig = go.Figure()
    for i, (name, acc) in enumerate(curves["accuracy"].items()):
        lo, hi = zip(*(wilson_interval(a, n) for a in acc)) if n else ([None] * len(acc), [None] * len(acc))
        err = (
            dict(
                type="data",
                symmetric=False,
                array=[100 * (h - a) for a, h in zip(acc, hi)],
                arrayminus=[100 * (a - l_) for a, l_ in zip(acc, lo)],
                thickness=1.5,
            )
            if n
            else None
        )
        fig.add_trace(
            go.Scatter(
                x=curves["eps255"],
                y=[100 * a for a in acc],
                mode="lines+markers",
                name=_label(name, labels),
                error_y=err,
                **_style(i),
            )
        )
    fig.update_xaxes(title="ε (L∞, ×1/255)")
    fig.update_yaxes(title="accuracy (%)", range=[0, 100])
    return _layout(fig, f"Accuracy vs budget (live, {n} bundled images, 95% intervals)", height=440)


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion p measured on n trials."""
    if not n:
        return (0.0, 1.0)
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def transfer_heatmap(t: dict, labels=None) -> go.Figure:
    short = [_label(n, labels) for n in t["names"]]
    z = [[100 * v for v in row] for row in t["accuracy"]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=short,
            y=short,
            colorscale="Cividis",
            zmin=0,
            zmax=100,
            text=[[f"{v:.0f}%" for v in row] for row in z],
            texttemplate="%{text}",
            colorbar=dict(title="acc %"),
        )
    )
    fig.update_xaxes(title="evaluated on", tickangle=-25, automargin=True)
    fig.update_yaxes(title="δ crafted on", autorange="reversed")
    return _layout(fig, f"Transfer at ε = {t['eps255']:g}/255", height=440)


def paired_differences(rows: list[dict]) -> go.Figure:
    """Enlarged minus baseline, in points, with 95% intervals: one panel per pooling."""
    pools = sorted({r["pool"] for r in rows}) or ["avg"]
    # Each panel lists only its own pairs (no shared category axis, so no empty rows).
    fig = make_subplots(rows=1, cols=len(pools), horizontal_spacing=0.3, subplot_titles=[f"{p} pooling" for p in pools])
    metrics = list(dict.fromkeys(r["metric_label"] for r in rows))
    for c, pool in enumerate(pools, 1):
        for i, m in enumerate(metrics):
            sel = [r for r in rows if r["pool"] == pool and r["metric_label"] == m]
            fig.add_trace(
                go.Scatter(
                    x=[100 * r["diff"] for r in sel],
                    y=[f"{r['enlarged'].replace(' · ' + pool, '')} − 4×4" for r in sel],
                    mode="markers",
                    name=m,
                    legendgroup=m,
                    showlegend=c == 1,
                    marker=dict(symbol=SYMBOLS[i], size=11, color=PALETTE[i]),
                    error_x=dict(
                        type="data",
                        symmetric=False,
                        array=[100 * (r["hi"] - r["diff"]) for r in sel],
                        arrayminus=[100 * (r["diff"] - r["lo"]) for r in sel],
                    ),
                ),
                row=1,
                col=c,
            )
        fig.add_vline(x=0, line=dict(color=GREY, dash="dash"), row=1, col=c)
        fig.update_xaxes(title="difference (accuracy points)", row=1, col=c)
    _layout(
        fig,
        "Enlarged map minus its 4×4 baseline (paired on the same images, 95% CI)",
        height=240 + 55 * max(len({r["enlarged"] for r in rows if r["pool"] == p}) for p in pools),
    )
    # Below the panels: clear of the panel titles.
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.25, x=0, xanchor="left"), margin=dict(b=110))
    return fig


def heldout_history(history: list[dict]) -> go.Figure:
    ep = [h["epoch"] for h in history]
    fig = go.Figure(
        [
            go.Scatter(x=ep, y=[100 * h["clean"] for h in history], name="clean", mode="lines+markers", **_style(0)),
            go.Scatter(x=ep, y=[100 * h["pgd10"] for h in history], name="PGD-10", mode="lines+markers", **_style(1)),
        ]
    )
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="held-out accuracy (%)")
    return _layout(fig, "Training monitor (fixed held-out batch)", height=320)


def fmt_eps(eps255: float, hi255: float = 32.0) -> str:
    """A minimal-budget upper bound as text."""
    if eps255 == 0:
        return "0 (already wrong)"
    return f"not flipped up to {hi255:g}/255" if math.isinf(eps255) else f"≤ {eps255:.1f}/255"
