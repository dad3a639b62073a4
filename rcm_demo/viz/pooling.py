"""Figures of the pooling argument, of the zoo's paired differences and of the cost."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .base import GREY, PALETTE, SYMBOLS, _label, _layout, _log_axis, _style, axis_name, grid, layout, log_axis


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
    grid_ = np.geomspace(1, max(hw) * 1.3, 60)
    lines = [
        dict(type="scatter", x=grid_, y=1 / np.sqrt(grid_), mode="lines", name="1/√(HW)",
             line=dict(color=GREY, dash="dash", width=2)),
        *(
            dict(type="scatter", x=hw, y=[r[key] for r in rows], mode="lines+markers", name=label, **_style(i))
            for i, (key, label) in enumerate(zip(keys, ("average pooling", "max pooling")))
        ),
    ]  # fmt: skip
    if current is not None:
        chw = current["H"] * current["W"]
        lines.append(
            dict(
                type="scatter",
                x=[chw, chw],
                y=[current[keys[0]], current[keys[1]]],
                mode="markers",
                name=f"your map {current['H']}×{current['W']}",
                marker=dict(size=18, color="rgba(0,0,0,0)", line=dict(color="#000000", width=3)),
            )
        )
    ytitle = "‖Δ pooled‖ / ‖ΔZ‖_F" if normalised else "‖Δ pooled‖ / ‖ΔZ per position‖"
    title = (
        "Normalised view: divided by the whole map's change"
        if normalised
        else "Fixed change per position: what pooling lets through"
    )
    return go.Figure(
        lines,
        layout(title, height=420, xaxis=log_axis("H·W (positions in the pre-pool map)"), yaxis=log_axis(ytitle)),
    )


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


def paired_differences(rows: list[dict]) -> go.Figure:
    """Enlarged minus baseline, in points, with 95% intervals: one panel per pooling."""
    pools = sorted({r["pool"] for r in rows}) or ["avg"]
    # Each panel lists only its own pairs (no shared category axis, so no empty rows).
    axes, refs = grid(1, len(pools), hspace=0.3, titles=[f"{p} pooling" for p in pools])
    metrics = list(dict.fromkeys(r["metric_label"] for r in rows))
    points, zero_lines = [], []
    for c, (pool, (xref, yref)) in enumerate(zip(pools, refs)):
        for i, m in enumerate(metrics):
            sel = [r for r in rows if r["pool"] == pool and r["metric_label"] == m]
            points.append(
                dict(
                    type="scatter",
                    x=[100 * r["diff"] for r in sel],
                    y=[f"{r['enlarged'].replace(' · ' + pool, '')} − {r['baseline'].split(' ')[0]}" for r in sel],
                    mode="markers",
                    name=m,
                    legendgroup=m,
                    showlegend=c == 0,
                    marker=dict(symbol=SYMBOLS[i], size=11, color=PALETTE[i]),
                    error_x=dict(
                        type="data",
                        symmetric=False,
                        array=[100 * (r["hi"] - r["diff"]) for r in sel],
                        arrayminus=[100 * (r["diff"] - r["lo"]) for r in sel],
                    ),
                    xaxis=xref,
                    yaxis=yref,
                )
            )
        zero_lines.append(
            dict(type="line", x0=0, x1=0, y0=0, y1=1, xref=xref, yref=f"{yref} domain",
                 line=dict(color=GREY, dash="dash"))
        )  # fmt: skip
        axes[axis_name(xref)]["title"] = dict(text="difference (accuracy points)")
    return go.Figure(
        points,
        layout(
            "Enlarged map minus its baseline (paired on the same images, 95% CI)",
            height=240 + 55 * max(len({r["enlarged"] for r in rows if r["pool"] == p}) for p in pools),
            # Below the panels: clear of the panel titles.
            legend=dict(orientation="h", yanchor="top", y=-0.25, x=0, xanchor="left"),
            margin=dict(b=110),
            shapes=zero_lines,
            **axes,
        ),
    )
