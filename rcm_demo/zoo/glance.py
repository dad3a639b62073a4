"""The answer at a glance, generated from the cards: one sentence per question the lab answers (does
enlarging the final map help under average pooling, and under max pooling?) and the rows of the one figure
that carries the claim (per network, seed means only, at most ~10 rows). The per-seed and per-attack detail
stays in ``findings`` and ``tables``, one click away.

    m = headline_metric(rows)            # the strongest attack whose interval on the main pair excludes 0
    headline(rows)                       # ["**Average pooling:** …", "**Max pooling:** …"]
    claim_rows(rows, m)                  # rows for viz.claim_svg

``rows``: ``tables.comparison_rows``. Wording is conservative: an interval that covers 0 is "not resolved",
never "no effect".
"""

from __future__ import annotations

from ..models import ARCHS
from .intervals import points_text, row_seeds
from .tables import CARD_METRICS, best_per_metric

ROBUST = ("autoattack", "cw30", "pgd20")  # strongest first


def _pair(r: dict) -> tuple:
    return r["pair"]


def pair_means(rows: list[dict]) -> list[dict]:
    """One row per pair and metric: the mean over seeds where the pair has several, else its one seed
    (``best_per_metric`` per pair), networks in the paper's order. The forest plot's default view."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(_pair(r), []).append(r)
    return [r for sel in sorted(groups.values(), key=lambda sel: _order(sel[0])) for r in best_per_metric(sel)]


def _order(r: dict) -> tuple:
    """Networks in the paper's order; within one, the main pair, then the twins that differ in one thing."""
    arch = list(ARCHS).index(r["arch"]) if r["arch"] in ARCHS else len(ARCHS)
    recipe = ("at", "trades", "std").index(r["recipe"]) if r["recipe"] in ("at", "trades", "std") else 3
    return (arch, recipe, r["tier"] != "lite", r["scale"] != 1, r["pool"] != "avg")


def _first_tier(sel: list[dict]) -> list[dict]:
    return [r for r in sel if r["tier"] == sel[0]["tier"]] if sel else []


def _resnet_pair(rows: list[dict], pool: str) -> list[dict]:
    """Seed means of the lab's pair (ResNet18, AT, strides 1222 -> 1122, no upsampling) with ``pool``, first
    tier present, one row per metric."""
    sel = [
        r for r in rows
        if (r["arch"], r["recipe"], r["pool"], r["scale"], r["strides"]) == ("resnet18", "at", pool, 1, "1222 → 1122")
    ]  # fmt: skip
    return best_per_metric(_first_tier(sel))


def _resolved(r: dict) -> bool:
    return r["lo"] > 0 or r["hi"] < 0


def headline_metric(rows: list[dict]) -> str | None:
    """The strongest attack whose interval on the main pair (average pooling) excludes 0; where none does,
    the strongest one measured. None when the main pair has no robust metric on the cards."""
    by = {r["metric"]: r for r in _resnet_pair(rows, "avg")}
    measured = [m for m in ROBUST if m in by]
    return next((m for m in measured if _resolved(by[m])), measured[0] if measured else None)


def _seeds_text(r: dict) -> str:
    seeds = row_seeds(r)
    return f"mean of {len(seeds)} seeds" if len(seeds) > 1 else f"seed {seeds[0]}"


def _effect(r: dict, label: str) -> str:
    """'adds +1.1 points of CW-30 accuracy [+0.5, +1.7]', 'costs …', or 'changes … by …: not resolved'."""
    bounds = f"[{points_text(r['lo'])}, {points_text(r['hi'])}]"
    if r["lo"] > 0:
        return f"adds {points_text(r['diff'])} points of {label} accuracy {bounds}"
    if r["hi"] < 0:
        return f"costs {points_text(-r['diff']).lstrip('+')} points of {label} accuracy {bounds}"
    return f"changes {label} accuracy by {points_text(r['diff'])} points {bounds}: not resolved"


def headline(rows: list[dict]) -> list[str]:
    """Two sentences of at most ~30 words: the main pair under average pooling, then the same enlargement
    under max pooling (the control), on the same attack."""
    m = headline_metric(rows)
    if m is None:
        return ["The zoo holds no evaluated ResNet18 stride pair yet, so it does not answer the question yet."]
    label = CARD_METRICS[m]
    avg = {r["metric"]: r for r in _resnet_pair(rows, "avg")}[m]
    out = [
        f"**Average pooling:** enlarging ResNet18's final map {avg['map']} {_effect(avg, label)} "
        f"({_seeds_text(avg)}, {avg['n']:,} test images)."
    ]
    mx = {r["metric"]: r for r in _resnet_pair(rows, "max")}.get(m)
    if mx is None:
        out.append(f"**Max pooling:** the zoo holds no max-pooling twin evaluated under {label} yet.")
    else:
        out.append(f"**Max pooling:** the same enlargement {_effect(mx, label)} ({_seeds_text(mx)}).")
    return out


def headline_note(rows: list[dict]) -> str:
    """Why the headline names the attack it names, in one line."""
    m = headline_metric(rows)
    if m is None:
        return ""
    by = {r["metric"]: r for r in _resnet_pair(rows, "avg")}
    stronger = [k for k in ROBUST[: ROBUST.index(m)] if k in by]
    why = "the strongest attack whose interval excludes 0" if _resolved(by[m]) else "no attack's interval excludes 0"
    skipped = "; ".join(f"{CARD_METRICS[k]}: not resolved on {by[k]['n']:,} images" for k in stronger)
    return f"{CARD_METRICS[m]}: {why} on the main pair" + (f" ({skipped})" if skipped else "") + "."


def claim(rows: list[dict]) -> tuple[list[dict], str] | None:
    """The one figure's rows under the headline's attack, with that attack's label; None without one."""
    m = headline_metric(rows)
    return None if m is None else (claim_rows(rows, m), CARD_METRICS[m])


def _variant(r: dict) -> str:
    """What sets a pair apart from its network's main pair: '', 'max pooling', 'input ×2', 'TRADES', 'width 64'."""
    parts = []
    if r["pool"] == "max":
        parts.append("max pooling")
    if r["scale"] != 1:
        parts.append(f"input ×{r['scale']}")
    if r["recipe"] == "trades":
        parts.append("TRADES")
    if r["tier"] == "paper-width":
        parts.append("width 64")
    return ", ".join(parts)


def _how(r: dict, pair: str) -> str:
    """The detail line's middle: how the map was enlarged, or, for a paper-width pair (same strides as its
    network's main pair, and the figure's label column is narrow), the tier every label of it names."""
    if r["tier"] == "paper-width":
        return "paper-width tier"
    return f"input ×{r['scale']}" if r["scale"] != 1 else f"strides {pair}"


def claim_rows(rows: list[dict], metric: str) -> list[dict]:
    """The figure's rows under ``metric``: per network in the paper's order, its reference-default strides
    against the enlarged-map twin (average pooling, AT), then, for the same network, the twins that differ in
    one thing (max pooling, input ×2, TRADES, width 64); seed means only. Standard training is left out
    (no robustness to enlarge)."""
    means = [r for r in pair_means(rows) if r["metric"] == metric and r["recipe"] in ("at", "trades")]
    out = []
    for arch, cls in ARCHS.items():
        pair = f"{cls.BASELINE} → {cls.ENLARGED}"
        sel = [r for r in means if r["arch"] == arch and (r["strides"] == pair or r["scale"] != 1)]
        for r in sel:
            out.append(
                {
                    "network": cls.TITLE,
                    "variant": _variant(r),
                    "pool": r["pool"],
                    "recipe": r["recipe"],
                    "detail": f"{r['map']}, {_how(r, pair)}, {_seeds_text(r)}",
                    **{k: r[k] for k in ("diff", "lo", "hi", "n", "metric_label")},
                }
            )
    return out
