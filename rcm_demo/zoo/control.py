"""The max-pooling control, from the cards: the paper predicts that a larger final map damps a
perturbation under global *average* pooling and not under max pooling, so the strides-1122 enlargement
should buy more robustness with average pooling than with max pooling.

The zoo holds both pairs (8×8 minus 4×4, AT, ResNet18) with the same budget and seed, all four models
measured on the same test images, so the contrast is paired per image: for each image, (avg 8×8 − avg 4×4)
− (max 8×8 − max 4×4), from the cards' correctness bits. Nothing is run here.
"""

from __future__ import annotations

from .checkpoints import get_checkpoint
from .intervals import interval_text, mean_interval, paired_difference, resolved_sides
from .labels import comparisons, training_budget
from .tables import CARD_METRICS


def control_pairs(directory=None) -> list[dict]:
    """Per (tier, budget, seed): the average- and the max-pooling ResNet18 1122-vs-1222 AT pair, where the
    zoo holds both."""
    groups: dict[tuple, dict] = {}
    for a, b in comparisons(directory=directory):
        ca, cb = get_checkpoint(a, directory), get_checkpoint(b, directory)
        s, sb = ca.spec, cb.spec
        if (s.arch, s.strides, s.scale, sb.strides, ca.recipe) != ("resnet18", "1122", 1, "1222", "at"):
            continue
        key = (ca.tier, training_budget(ca), ca.seed, s.width)
        groups.setdefault(key, {"tier": ca.tier, "seed": ca.seed})[s.pool] = (a, b)
    return [g for g in groups.values() if "avg" in g and "max" in g]


def pooling_contrast(directory=None, metrics=tuple(CARD_METRICS)) -> list[dict]:
    """One row per control pair and metric measured on the same images by all four models: the average-
    pooling gain, the max-pooling gain and their per-image paired contrast (avg minus max) with a 95%
    interval."""
    out = []
    for g in control_pairs(directory):
        for m in metrics:
            avg, mx = (paired_difference(*g[p], m, directory) for p in ("avg", "max"))
            if not avg or not mx:
                continue
            same = {get_checkpoint(n, directory).meta["metrics"][m]["subset_sha256"] for n in (*g["avg"], *g["max"])}
            if len(same) != 1 or avg["n"] != mx["n"]:
                continue
            out.append(
                {
                    "tier": g["tier"],
                    "seed": g["seed"],
                    "metric": m,
                    "metric_label": CARD_METRICS[m],
                    "n": avg["n"],
                    "avg": {k: avg[k] for k in ("diff", "lo", "hi")},
                    "max": {k: mx[k] for k in ("diff", "lo", "hi")},
                    **mean_interval(avg["per_image"] - mx["per_image"]),
                    "pairs": g,
                }
            )
    return out


def _first_pair(contrast: list[dict]) -> list[dict]:
    """The rows of the first control pair (first tier, lowest seed): what the sentence and figure show."""
    first = contrast[0] if contrast else {}
    return [r for r in contrast if (r["tier"], r["seed"]) == (first["tier"], first["seed"])]


def control_finding(contrast: list[dict]) -> str:
    """The control in words, for the first control pair (first tier, lowest seed): what the enlargement
    does under max pooling, and whether it buys more under average pooling, per metric; generated from
    ``pooling_contrast`` rows."""
    if not contrast:
        return (
            "The zoo holds no evaluated max-pooling twin of the main pair at the same budget, so it does not yet "
            "show the paper's control (enlarging the map should help average pooling more than max pooling)."
        )
    rows = _first_pair(contrast)
    first, n = rows[0], max(r["n"] for r in rows)

    def side(r):  # a contrast is not a gain or a loss: say where its interval lies
        return "above 0" if r["lo"] > 0 else "below 0" if r["hi"] < 0 else "not resolved"

    def fewer(r):
        return f" on {r['n']:,} images" if r["n"] != n else ""

    maxes = "; ".join(f"{r['metric_label']} {interval_text(r['max'], ' points')}{fewer(r)}" for r in rows)
    contr = "; ".join(f"{r['metric_label']} {interval_text(r, ' points')}{fewer(r)}, {side(r)}" for r in rows)
    text = (
        f"The control (seed {first['seed']}, same budget, paired on {n:,} test images): with max pooling the "
        f"same 8×8 enlargement gives {maxes}. The average-pooling difference minus the max-pooling one: {contr}."
    )
    robust, more, less = resolved_sides(rows)
    if more and not less:
        text += f" Under {', '.join(more)} the larger map buys more with average pooling, as the paper predicts"
        text += (
            "; under the others the contrast is not resolved. Each interval holds 95% on its own, so a contrast "
            "resolved under some attacks and not others can be chance."
            if len(more) < len(robust)
            else "."
        )
    elif less and not more:
        text += f" Under {', '.join(less)} it buys more with max pooling, against the paper's prediction."
    elif more and less:
        text += " The robust contrasts disagree in sign between attacks: no verdict."
    elif robust:
        text += (
            " The robust contrasts are not resolved (their intervals contain 0): at this size the zoo does not "
            "show whether the larger map buys more robustness with average pooling than with max pooling."
        )
    if len({r["seed"] for r in contrast}) < 2:
        text += " One seed: the intervals cover the sampling of test images, not seed-to-seed variation."
    return text


def control_rows(contrast: list[dict]) -> list[dict]:
    """The first control pair as rows for ``viz.forest_svg``: the average-pooling difference, the
    max-pooling difference and their contrast, per metric."""
    out = []
    for r in _first_pair(contrast):
        base = {"metric_label": r["metric_label"], "baseline": "4×4"}
        out += [
            {**base, **r["avg"], "pool": "avg", "enlarged": "8×8"},
            {**base, **r["max"], "pool": "max", "enlarged": "8×8"},
            {**base, **{k: r[k] for k in ("diff", "lo", "hi")}, "pool": "avg minus max", "enlarged": "8×8"},
        ]
    return out


CONTROL_TITLE = "The control: the same enlargement with average and with max pooling (paired, 95% CI)"
