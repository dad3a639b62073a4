"""Figures of one attack: class probabilities, energy per layer, spatial maps, budget × layer; curves,
transfer and the training monitor."""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go

from ..analysis.probe import PROFILE
from ..data import CLASSES
from .base import HEATMAP_SCALE, LAYER_LABELS, PALETTE, _label, _layout, _style, axis_name, grid, layout, log_axis


def _topk(p_clean, p_adv, k):
    """The classes worth showing: the top k before or after the attack (≤ k + 2), ordered by clean plus
    adversarial probability."""
    return sorted(
        set(np.argsort(-np.asarray(p_clean))[:k]) | set(np.argsort(-np.asarray(p_adv))[:k]),
        key=lambda i: -float(p_clean[i]) - float(p_adv[i]),
    )[: k + 2]


def topk_html(p_clean, p_adv, k=5, true_label=None) -> str:
    """The top-k probabilities before / after the attack as plain HTML (a bar is a styled ``div``; the
    numbers are written out). No chart library runs in the browser: the Attack lab shows one of these
    per model, and in a new tab its default view draws in about 1.7 s instead of 2.8 s with three plotly
    charts (measured with bench/page_views.py --new-tab)."""
    hatch = f"repeating-linear-gradient(135deg,{PALETTE[1]} 0 3px,#f6c9a8 3px 5px)"
    rows = []
    for i in _topk(p_clean, p_adv, k):
        a, b = float(p_clean[i]), float(p_adv[i])
        name = html.escape(CLASSES[i]) + (" ✓" if i == true_label else "")
        rows.append(
            f'<div style="white-space:nowrap">{name}</div>'
            '<div style="background:#EBF0F8;padding:1px 0">'
            f'<div title="clean {a:.1%}" style="height:8px;width:{100 * a:.1f}%;background:{PALETTE[0]}"></div>'
            f'<div title="adversarial {b:.1%}" style="height:8px;margin-top:2px;width:{100 * b:.1f}%;'
            f'background:{hatch}"></div></div>'
            f'<div style="font-variant-numeric:tabular-nums;white-space:nowrap">{a:.0%} → {b:.0%}</div>'
        )
    legend = (
        f'<span style="display:inline-block;width:10px;height:10px;background:{PALETTE[0]}"></span> clean '
        f'<span style="display:inline-block;width:10px;height:10px;margin-left:8px;background:{hatch}"></span>'
        " adversarial"
    )
    return (
        '<div style="font-size:0.85rem;line-height:1.3">'
        f'<div style="font-weight:600">Top classes before → after</div><div style="margin:2px 0 6px">{legend}</div>'
        '<div style="display:grid;grid-template-columns:max-content 1fr max-content;gap:5px 8px;align-items:center">'
        + "".join(rows)
        + "</div></div>"
    )


def topk_bars(p_clean, p_adv, k=5, true_label=None) -> go.Figure:
    """Top-k class probabilities before (clean) and after the attack, side by side."""
    idx = _topk(p_clean, p_adv, k)
    names = [CLASSES[i] + (" ✓" if i == true_label else "") for i in idx]
    bars = [
        dict(type="bar", name="clean", y=names, x=[float(p_clean[i]) for i in idx], orientation="h",
             marker=dict(color=PALETTE[0])),
        dict(type="bar", name="adversarial", y=names, x=[float(p_adv[i]) for i in idx], orientation="h",
             marker=dict(color=PALETTE[1], pattern=dict(shape="/"))),
    ]  # fmt: skip
    return go.Figure(
        bars,
        layout(
            "Top classes before / after",
            height=320,
            barmode="group",
            yaxis=dict(autorange="reversed"),
            xaxis=dict(range=[0, 1], title=dict(text="probability")),
            legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
            margin=dict(t=80),
        ),
    )


def energy_profile(profiles: dict[str, dict], key="relative", labels=None) -> go.Figure:
    """One line per model: ||f_l(x+δ) − f_l(x)|| / ||f_l(x)|| along the network."""
    layers = ["input", *PROFILE]
    lines = [
        dict(
            type="scatter",
            x=[LAYER_LABELS[k] for k in layers],
            y=[e[k][key] for k in layers],
            mode="lines+markers",
            name=_label(name, labels),
            **_style(i),
        )
        for i, (name, e) in enumerate(profiles.items())
    ]
    ytitle = "relative change ‖Δf‖/‖f‖" if key == "relative" else "absolute change ‖Δf‖"
    return go.Figure(
        lines,
        layout(
            "Perturbation energy per layer",
            height=420,
            yaxis=log_axis(ytitle),
            xaxis=dict(title=dict(text="stage (input → logits)")),
        ),
    )


def spatial_maps(maps_by_model: dict[str, dict], layers=("layer2", "layer3", "layer4"), labels=None) -> go.Figure:
    """Heatmaps of ||ΔZ|| per position at each layer's native resolution (4×4 stays 4×4). One shared
    colour scale from 0 (darkest: no change) to the largest value."""
    names = list(maps_by_model)
    titles = [
        f"{_label(n, labels)}<br>{layer} ({'×'.join(map(str, maps_by_model[n][layer].shape))})"
        for n in names
        for layer in layers
    ]
    axes, refs = grid(len(names), len(layers), hspace=0.05, vspace=0.12, titles=titles)
    zmax = max(float(maps_by_model[n][layer].max()) for n in names for layer in layers) or 1.0
    maps = []
    for r, n in enumerate(names):
        for c, layer in enumerate(layers):
            xref, yref = refs[r * len(layers) + c]
            maps.append(
                dict(
                    type="heatmap",
                    z=maps_by_model[n][layer].numpy(),
                    zmin=0,
                    zmax=zmax,
                    colorscale=HEATMAP_SCALE,
                    showscale=(r == 0 and c == len(layers) - 1),
                    colorbar=dict(title=dict(text="rel. ‖ΔZ‖"), len=0.5, y=1, yanchor="top"),
                    xaxis=xref,
                    yaxis=yref,
                )
            )
            axes[axis_name(xref)].update(showticklabels=False)
            axes[axis_name(yref)].update(autorange="reversed", showticklabels=False, scaleanchor=xref)
    return go.Figure(
        maps,
        layout(
            "Where the perturbation lives (relative ‖ΔZ‖ per position)",
            height=280 * len(names) + 110,
            margin=dict(t=110),  # room for the title above the two-line panel titles
            **axes,
        ),
    )


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


def heldout_history(history: list[dict]) -> go.Figure:
    """The training monitor of a card: clean, FGSM and PGD-10 accuracy per epoch on the held-out batch, with
    the epochs flagged as catastrophic overfitting marked (built in one constructor call)."""
    ep = [h["epoch"] for h in history]
    series = [(label, key) for label, key in (("clean", "clean"), ("FGSM", "fgsm"), ("PGD-10", "pgd10"))]
    traces = [
        dict(type="scatter", x=ep, y=[100 * h[key] for h in history], name=label, mode="lines+markers", **_style(i))
        for i, (label, key) in enumerate(series)
        if history and all(key in h for h in history)
    ]
    flagged = [h for h in history if h.get("co_flag")]
    if flagged:
        traces.append(
            dict(type="scatter", x=[h["epoch"] for h in flagged], y=[100 * h["pgd10"] for h in flagged],
                 mode="markers", name="catastrophic overfitting?", marker=dict(symbol="x", size=15, color=PALETTE[5]))
        )  # fmt: skip
    axes = dict(xaxis=dict(title=dict(text="epoch"), dtick=1), yaxis=dict(title=dict(text="held-out accuracy (%)")))
    return go.Figure(traces, layout("Training monitor (fixed held-out test images)", height=320, **axes))


def fmt_eps(eps255: float, hi255: float = 32.0) -> str:
    """A minimal-budget upper bound as text."""
    if eps255 == 0:
        return "0 (already wrong)"
    return f"not flipped up to {hi255:g}/255" if math.isinf(eps255) else f"≤ {eps255:.1f}/255"
