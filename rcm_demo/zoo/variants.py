"""A network's stride pair trained another way: with TRADES instead of N-FGSM AT (a second defence), or at
the paper's width (64, tier ``paper-width``, the lite budget). Each gets a row beside its network in the
four-network table (``variant_rows``) and a sentence generated from the cards (``variants_finding``): its own
paired differences, and whether the enlarged map buys more or less than in the network's main pair, per
image on the same test images (``variant_contrast``).

``rows``: ``tables.comparison_rows``.
"""

from __future__ import annotations

from ..models import ARCHS
from .intervals import interval_text, mean_interval, paired_difference, verdict
from .tables import CARD_METRICS, _stride_pair, variant_rows

WORDS = {
    ("lite", "trades"): "with TRADES (β 6, KL inner maximisation of 10 steps; lite tier, the same budget)",
    ("paper-width", "at"): "at the paper's width (64; paper-width tier, the lite budget, trained on a CPU)",
    ("paper-width", "trades"): "at the paper's width with TRADES",
}


def variant_contrast(rows: list[dict], directory=None) -> list[dict]:
    """Per variant and metric: the variant's paired difference minus the main pair's (lite, AT), per image,
    on the lowest seed both have, where both were measured on the same images."""
    out = []
    for v in variant_rows(rows):
        sel = _stride_pair(rows, v["arch"])
        for m in v["metrics"]:
            mine, main = (
                [r for r in sel if (r["tier"], r["recipe"]) == which and r["metric"] == m and _own_images(r)]
                for which in (v["variant"], ("lite", "at"))
            )
            seeds = sorted({r["seed"] for r in mine} & {r["seed"] for r in main})
            if not seeds:
                continue
            first = [next(r for r in rs if r["seed"] == seeds[0]) for rs in (mine, main)]
            a, b = (paired_difference(r["a"], r["b"], m, directory) for r in first)
            if not a or not b or a["n"] != b["n"]:
                continue
            out.append(
                {"variant": v["variant"], "arch": v["arch"], "metric": m, "n": a["n"], "seed": seeds[0],
                 **mean_interval(a["per_image"] - b["per_image"])}
            )  # fmt: skip
    return out


def variants_finding(rows: list[dict], contrast: list[dict]) -> str:
    """What each variant shows, per metric, and against its network's main pair; "" when the zoo holds none."""
    parts = []
    for v in variant_rows(rows):
        title = ARCHS[v["arch"]].TITLE
        seeds = v["seeds"]
        which = f"mean of seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}"
        diffs = "; ".join(
            f"{CARD_METRICS[m]} {interval_text(r, ' points')} (n={r['n']:,}), {_verdict(r)}"
            for m, r in v["metrics"].items()
        )
        text = f"The {title} pair {WORDS[v['variant']]}, {v['map']} ({which}): {diffs}."
        mine = [c for c in contrast if (c["variant"], c["arch"]) == (v["variant"], v["arch"])]
        if mine:
            seed = mine[0]["seed"]
            said = "; ".join(f"{CARD_METRICS[c['metric']]} {interval_text(c, ' points')}, {_side(c)}" for c in mine)
            text += (
                f" Its enlargement minus the main pair's (width 16, N-FGSM AT, seed {seed}), per image on the same "
                f"test images: {said}."
            )
        parts.append(text)
    return " ".join(parts)


def _own_images(r: dict) -> bool:
    """A row of one seed with its images named (a seed-mean row has no images of its own to pair)."""
    return "a" in r and not r.get("seed_mean")


def _verdict(r: dict) -> str:
    return verdict(r["lo"], r["hi"]).split(" (")[0]


def _side(c: dict) -> str:
    if c["lo"] > 0:
        return "buys more here"
    if c["hi"] < 0:
        return "buys less here"
    return "not resolved"
