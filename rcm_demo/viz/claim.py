"""The one figure that carries the claim, drawn to be read from the back of a lecture hall: per network,
what the enlarged final map adds to robust accuracy (seed means, 95% intervals), average vs max pooling
and AT vs TRADES told apart, each value written beside its bar.

    svg = claim_svg_text(glance.claim_rows(rows, "cw30"), "CW-30")   # a standalone SVG (docs/claim.svg)
    html = claim_svg(...)                                             # the same in an <img> for a page
"""

from __future__ import annotations

import base64
import html

from .base import GREY, PALETTE
from .svg import _ticks

POOL_COLOR = {"avg": PALETTE[0], "max": PALETTE[1]}
ROW_H, LABEL_W, PLOT_W, VALUE_W = 58, 360, 420, 200


def _esc(s) -> str:
    return html.escape(str(s))


def _mark(recipe: str, x: float, y: float, color: str, filled: bool) -> str:
    """AT a circle, TRADES a diamond; hollow where the interval covers 0."""
    fill, stroke = (color, color) if filled else ("white", color)
    if recipe == "trades":
        r = 10
        pts = f"{x:.1f},{y - r} {x + r:.1f},{y} {x:.1f},{y + r} {x - r:.1f},{y}"
        return f'<polygon points="{pts}" fill="{fill}" stroke="{stroke}" stroke-width="3"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{fill}" stroke="{stroke}" stroke-width="3"/>'


def _fmt(v: float) -> str:
    return f"{100 * v:+.1f}" if round(100 * v, 1) != 0 or v == 0 else f"{100 * v:+.2f}"


def claim_svg_text(rows: list[dict], metric_label: str, title: str = "") -> str:
    """A standalone SVG: one row per ``glance.claim_rows`` entry, grouped by network (a rule between
    networks), the difference in points on a shared axis with 0 marked, the value and interval in words."""
    title = title or f"What the enlarged final map adds to {metric_label} accuracy (points, 95% interval)"
    lo = min([100 * r["lo"] for r in rows] + [-1.0])
    hi = max([100 * r["hi"] for r in rows] + [1.0])
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    width = LABEL_W + PLOT_W + VALUE_W
    top = 70
    height = top + ROW_H * max(len(rows), 1) + 120

    def fx(v: float) -> float:
        return LABEL_W + (v - lo) / (hi - lo) * PLOT_W

    body = [f'<text x="16" y="34" font-size="22" font-weight="bold">{_esc(title)}</text>']
    bottom = top + ROW_H * len(rows)
    for v in _ticks(lo, hi, False):
        body.append(f'<line x1="{fx(v):.1f}" x2="{fx(v):.1f}" y1="{top}" y2="{bottom}" stroke="#E4E9F2"/>')
        body.append(f'<text x="{fx(v):.1f}" y="{bottom + 26}" font-size="17" text-anchor="middle">{v:+g}</text>')
    body.append(
        f'<line x1="{fx(0):.1f}" x2="{fx(0):.1f}" y1="{top - 6}" y2="{bottom}" stroke="{GREY}" '
        'stroke-width="2" stroke-dasharray="7,5"/>'
    )
    body.append(
        f'<text x="{LABEL_W + PLOT_W / 2}" y="{bottom + 52}" font-size="17" text-anchor="middle">'
        f"enlarged map minus its baseline, {_esc(metric_label)} accuracy points (paired on the same images)</text>"
    )
    prev = None
    for i, r in enumerate(rows):
        y = top + ROW_H * i + ROW_H / 2
        if prev is not None and r["network"] != prev:
            body.append(f'<line x1="10" x2="{width - 10}" y1="{y - ROW_H / 2:.1f}" y2="{y - ROW_H / 2:.1f}" '
                        'stroke="#9AA5B8" stroke-width="1.5"/>')  # fmt: skip
        name = r["network"] + (f" · {r['variant']}" if r["variant"] else "")
        weight = "bold" if not r["variant"] else "normal"
        body.append(f'<text x="16" y="{y - 3:.1f}" font-size="20" font-weight="{weight}">{_esc(name)}</text>')
        body.append(f'<text x="16" y="{y + 19:.1f}" font-size="15" fill="#5b6b82">{_esc(r["detail"])}</text>')
        color = POOL_COLOR.get(r["pool"], PALETTE[2])
        body.append(f'<line x1="{fx(100 * r["lo"]):.1f}" x2="{fx(100 * r["hi"]):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{color}" stroke-width="5" stroke-linecap="round"/>')  # fmt: skip
        resolved = _resolved(r)
        body.append(_mark(r["recipe"], fx(100 * r["diff"]), y, color, resolved))
        words = f"{_fmt(r['diff'])} [{_fmt(r['lo'])}, {_fmt(r['hi'])}]" + ("" if resolved else " n.r.")
        body.append(f'<text x="{LABEL_W + PLOT_W + 14}" y="{y + 6:.1f}" font-size="18">{_esc(words)}</text>')
        prev = r["network"]
    ly = bottom + 84
    pools, recipes = {r["pool"] for r in rows}, {r["recipe"] for r in rows}
    unresolved = not all(_resolved(r) for r in rows)
    items = (  # only what the figure shows: a TRADES diamond in the legend of a figure without one misleads
        ("at", POOL_COLOR["avg"], True, "average pooling", True),
        ("at", POOL_COLOR["max"], True, "max pooling", "max" in pools),
        ("at", GREY, True, "AT", "trades" in recipes),
        ("trades", GREY, True, "TRADES", "trades" in recipes),
        ("at", GREY, False, "hollow, n.r.: interval covers 0 (not resolved)", unresolved),
    )
    legend, x = [], 26
    for recipe, color, filled, text, shown in items:
        if not shown:
            continue
        legend.append(
            _mark(recipe, x, ly, color, filled) + f'<text x="{x + 16}" y="{ly + 6}" font-size="16">{text}</text>'
        )
        x += 52 + 9 * len(text)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="sans-serif" fill="#1f2d44"><rect width="100%" height="100%" fill="white"/>'
        + "".join(body + legend)
        + "</svg>"
    )


def _resolved(r: dict) -> bool:
    return r["lo"] > 0 or r["hi"] < 0


def claim_svg(rows: list[dict], metric_label: str, title: str = "") -> str:
    """``claim_svg_text`` in an <img> (Streamlit's sanitiser drops inline <svg>; a data URI passes)."""
    svg = claim_svg_text(rows, metric_label, title)
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    alt = title or f"What the enlarged final map adds to {metric_label} accuracy"
    return f'<img src="{uri}" alt="{_esc(alt)}" style="width:100%;max-width:{LABEL_W + PLOT_W + VALUE_W}px"/>'
