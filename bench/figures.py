"""Figure-building benchmark (run by hand): the time to build each figure of the pages' default views,
and what Streamlit's ``st.plotly_chart`` adds when it re-validates the figure, against the same figures
built the way they were before (plotly's ``update_*`` calls, ``make_subplots`` and the full
"plotly_white" template) — measured in the same run. Every session pays this on the server for every
chart it shows.

    python bench/figures.py [--repeats 20]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotly.graph_objects as go  # noqa: E402
import torch  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

from rcm_demo import viz  # noqa: E402
from rcm_demo.analysis import probe  # noqa: E402
from rcm_demo.viz.base import FONT, HEATMAP_SCALE, PALETTE  # noqa: E402


def reference_topk(p_clean, p_adv):
    """topk_bars as it was built before: graph objects, then update_* calls, named template."""
    idx = list(range(7))
    fig = go.Figure(
        [
            go.Bar(name="clean", y=[str(i) for i in idx], x=[float(p_clean[i]) for i in idx], orientation="h",
                   marker_color=PALETTE[0]),
            go.Bar(name="adversarial", y=[str(i) for i in idx], x=[float(p_adv[i]) for i in idx], orientation="h",
                   marker_color=PALETTE[1], marker_pattern_shape="/"),
        ]
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 1], title="probability")
    fig.update_layout(title=dict(text="Top", font=dict(size=FONT + 3)), height=320, template="plotly_white")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0), margin=dict(t=80))
    return fig


def reference_spatial(maps):
    names, layers = list(maps), ("layer2", "layer3", "layer4")
    fig = make_subplots(rows=len(names), cols=3, horizontal_spacing=0.05, vertical_spacing=0.12,
                        subplot_titles=[f"{n} {la}" for n in names for la in layers])  # fmt: skip
    for r, n in enumerate(names, 1):
        for c, layer in enumerate(layers, 1):
            fig.add_trace(go.Heatmap(z=maps[n][layer].numpy(), zmin=0, colorscale=HEATMAP_SCALE), row=r, col=c)
            fig.update_yaxes(autorange="reversed", showticklabels=False, row=r, col=c)
            fig.update_xaxes(showticklabels=False, row=r, col=c)
    fig.update_layout(title="Where", height=900, template="plotly_white")
    return fig


def timed(fn, repeats):
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fig = fn()
        built = time.perf_counter() - t
        go.Figure(fig.to_dict())  # what st.plotly_chart does with every figure
        out.append((built, time.perf_counter() - t, len(fig.to_json())))
    return [statistics.median(v) for v in zip(*out)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    p, q = torch.softmax(torch.randn(10, generator=g), 0), torch.softmax(torch.randn(10, generator=g), 0)
    maps = {n: {la: torch.rand(s, s, generator=g) for la, s in (("layer2", 16), ("layer3", 8), ("layer4", 4))}
            for n in ("a", "b", "c")}  # fmt: skip
    rows = [probe.synthetic_pooling(s, s, "noise") for s in (1, 2, 4, 8, 16, 32)]
    cases = {
        "top-k bars (Attack lab, ×1 per model)": (lambda: viz.topk_bars(p, q), lambda: reference_topk(p, q)),
        "spatial maps, 3 models (Energy)": (lambda: viz.spatial_maps(maps), lambda: reference_spatial(maps)),
        "synthetic pooling (Pooling lab)": (lambda: viz.synthetic_pooling(rows, rows[3]), None),
    }
    print(
        "| figure | build (ms) | build + Streamlit's re-validation (ms) | JSON (KB) "
        "| before: build + re-validation (ms) | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for name, (shipped, before) in cases.items():
        b, total, size = timed(shipped, a.repeats)
        ref = timed(before, a.repeats)[1] if before else None
        was = f"{1000 * ref:.1f} | {ref / total:.1f}x" if ref else "(no reference) | —"
        print(f"| {name} | {1000 * b:.1f} | {1000 * total:.1f} | {size / 1024:.1f} | {was} |")


if __name__ == "__main__":
    main()
