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

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
LAYER_LABELS = {"input": "input", "stem": "stem", "layer1": "layer1", "layer2": "layer2", "layer3": "layer3",
                "layer4": "layer4", "pool": "pool", "logits": "logits"}


def _layout(fig, title, height=320, **kw):
    fig.update_layout(title=title, height=height, margin=dict(l=40, r=20, t=50, b=40), template="plotly_white",
                      legend=dict(orientation="h", y=-0.25), **kw)
    return fig


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
    idx = sorted(set(np.argsort(-np.asarray(p_clean))[:k]) | set(np.argsort(-np.asarray(p_adv))[:k]),
                 key=lambda i: -float(p_clean[i]) - float(p_adv[i]))[: k + 2]
    names = [CLASSES[i] + (" ✓" if i == true_label else "") for i in idx]
    fig = go.Figure([go.Bar(name="clean", y=names, x=[float(p_clean[i]) for i in idx], orientation="h",
                            marker_color=PALETTE[0]),
                     go.Bar(name="adversarial", y=names, x=[float(p_adv[i]) for i in idx], orientation="h",
                            marker_color=PALETTE[1])])
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 1], title="probability")
    return _layout(fig, "Top classes before / after", height=280, barmode="group")


def energy_profile(profiles: dict[str, dict], key="relative") -> go.Figure:
    """One line per model: ||f_l(x+δ) − f_l(x)|| / ||f_l(x)|| along the network."""
    layers = ["input", *PROFILE]
    fig = go.Figure()
    for i, (name, e) in enumerate(profiles.items()):
        fig.add_trace(go.Scatter(x=[LAYER_LABELS[k] for k in layers], y=[e[k][key] for k in layers],
                                 mode="lines+markers", name=name, line=dict(color=PALETTE[i % len(PALETTE)])))
    ytitle = "relative change ‖Δf‖/‖f‖" if key == "relative" else "absolute change ‖Δf‖"
    fig.update_yaxes(title=ytitle, type="log")
    return _layout(fig, "Perturbation energy per layer", height=360)


def spatial_maps(maps_by_model: dict[str, dict], layers=("layer2", "layer3", "layer4")) -> go.Figure:
    """Heatmaps of ||ΔZ|| per position at each layer's native resolution (4×4 stays 4×4)."""
    names = list(maps_by_model)
    fig = make_subplots(rows=len(names), cols=len(layers), horizontal_spacing=0.04, vertical_spacing=0.08,
                        subplot_titles=[f"{n.split('.')[0][-12:]} · {layer} "
                                        f"{tuple(maps_by_model[n][layer].shape)}" for n in names for layer in layers])
    zmax = max(float(maps_by_model[n][layer].max()) for n in names for layer in layers) or 1.0
    for r, n in enumerate(names, 1):
        for c, layer in enumerate(layers, 1):
            fig.add_trace(go.Heatmap(z=maps_by_model[n][layer].numpy(), zmin=0, zmax=zmax, colorscale="Magma",
                                     showscale=(r == 1 and c == len(layers))), row=r, col=c)
            fig.update_yaxes(autorange="reversed", showticklabels=False, row=r, col=c)
            fig.update_xaxes(showticklabels=False, row=r, col=c)
    fig.update_annotations(font_size=10)
    return _layout(fig, "Where the perturbation lives (relative ‖ΔZ‖ per position)", height=230 * len(names) + 60)


def eps_layer_heatmap(m: dict) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=np.log10(np.maximum(np.asarray(m["values"]), 1e-6)),
                               x=m["layers"], y=[f"{e:g}/255" for e in m["eps255"]], colorscale="Viridis",
                               colorbar=dict(title="log10 rel."),
                               text=[[f"{v:.3f}" for v in row] for row in m["values"]], texttemplate="%{text}"))
    fig.update_yaxes(title="ε")
    return _layout(fig, "Relative energy by budget and layer", height=360)


def pooling_bars(report: dict) -> go.Figure:
    """Avg vs max pooling of the same pre-pool maps: measured ratio ‖Δpooled‖/‖ΔZ‖ beside the bound."""
    labels = ["average pooling", "max pooling", "bound 1/√(HW) (avg)"]
    vals = [report["ratio_avg"], report["ratio_max"], report["bound_avg"]]
    fig = go.Figure(go.Bar(x=labels, y=vals, marker_color=[PALETTE[0], PALETTE[1], "#999999"],
                           text=[f"{v:.3f}" for v in vals], textposition="outside"))
    fig.update_yaxes(title="‖Δ pooled‖ / ‖ΔZ‖_F")
    return _layout(fig, f"Pre-pool map {report['H']}×{report['W']}: how much of ΔZ survives pooling", height=340)


def ratio_vs_size(points: list[dict]) -> go.Figure:
    """Across checkpoints (or synthetic maps): measured ratio vs H·W, with the 1/√(HW) bound."""
    fig = go.Figure()
    hw = [p["H"] * p["W"] for p in points]
    grid = np.geomspace(1, max(hw + [64]) * 1.2, 50)
    fig.add_trace(go.Scatter(x=grid, y=1 / np.sqrt(grid), mode="lines", name="bound 1/√(HW)",
                             line=dict(color="#999999", dash="dash")))
    for key, color, label in (("ratio_avg", PALETTE[0], "average pooling"), ("ratio_max", PALETTE[1], "max pooling")):
        fig.add_trace(go.Scatter(x=hw, y=[p[key] for p in points], mode="markers+lines" if "checkpoint" not in
                                 points[0] else "markers", name=label, marker=dict(color=color, size=10),
                                 text=[p.get("checkpoint", "") for p in points]))
    fig.update_xaxes(type="log", title="H·W of the pre-pool map")
    fig.update_yaxes(type="log", title="‖Δ pooled‖ / ‖ΔZ‖_F")
    return _layout(fig, "Pooled change vs map size", height=380)


def robustness_curves(curves: dict) -> go.Figure:
    fig = go.Figure()
    for i, (name, acc) in enumerate(curves["accuracy"].items()):
        fig.add_trace(go.Scatter(x=curves["eps255"], y=[100 * a for a in acc], mode="lines+markers", name=name,
                                 line=dict(color=PALETTE[i % len(PALETTE)])))
    fig.update_xaxes(title="ε (×1/255, L∞)")
    fig.update_yaxes(title="accuracy (%)", range=[0, 100])
    return _layout(fig, "Accuracy vs budget (live, on the bundled sample)", height=380)


def transfer_heatmap(t: dict) -> go.Figure:
    short = [n.replace("resnet18", "r18").replace(".at", "·at").replace(".std", "·std") for n in t["names"]]
    z = [[100 * v for v in row] for row in t["accuracy"]]
    fig = go.Figure(go.Heatmap(z=z, x=short, y=short, colorscale="RdYlGn", zmin=0, zmax=100,
                               text=[[f"{v:.0f}%" for v in row] for row in z], texttemplate="%{text}",
                               colorbar=dict(title="acc %")))
    fig.update_xaxes(title="evaluated on")
    fig.update_yaxes(title="δ crafted on", autorange="reversed")
    return _layout(fig, f"Transfer at ε = {t['eps255']:g}/255", height=360)


def heldout_history(history: list[dict]) -> go.Figure:
    ep = [h["epoch"] for h in history]
    fig = go.Figure([go.Scatter(x=ep, y=[100 * h["clean"] for h in history], name="clean", mode="lines+markers"),
                     go.Scatter(x=ep, y=[100 * h["pgd10"] for h in history], name="PGD-10", mode="lines+markers")])
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="held-out accuracy (%)")
    return _layout(fig, "Training monitor (fixed held-out batch)", height=280)


def fmt_eps(eps255: float) -> str:
    if eps255 == 0:
        return "0 (already wrong)"
    return "> 32/255" if math.isinf(eps255) else f"{eps255:.1f}/255"
