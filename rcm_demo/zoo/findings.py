"""The sentences that state what the zoo shows, generated from the cards: the main pair, the upsampling
twin, the four networks, one image in context. A finding changes when the cards change."""

from __future__ import annotations

from .checkpoints import TIERS
from .intervals import _seeds_note, interval_text, resolved_sides, row_seeds, verdict
from .tables import CARD_METRICS, architecture_rows, best_per_metric


def main_pair(rows: list[dict]) -> list[dict]:
    """The rows of the comparison the lab is about: AT, average pooling, strides 1122 against 1222, of
    the first tier present (every seed, and the seed mean when there is one)."""

    main = _resnet18_at_avg(rows, "_s1122_x1_")
    tiers = [r["tier"] for r in main]
    return [r for r in main if tiers and r["tier"] == tiers[0]]


def _resnet18_at_avg(rows: list[dict], enlarged: str) -> list[dict]:
    """The rows whose enlarged model is a ResNet18, AT, average pooling, with ``enlarged`` in its spec name
    ("_s1122_x1_": the stride fix; "_s1222_x2_": the input upsampled ×2)."""
    return [
        r
        for r in rows
        if r["recipe"] == "at" and r["pool"] == "avg" and r["pair"][0].startswith("resnet18w")
        and enlarged in r["pair"][0]
    ]  # fmt: skip


def upsampling_pair(rows: list[dict], tier: str) -> list[dict]:
    """The rows of the other fix in ``tier``: the ResNet18 AT average-pooling model with its input upsampled
    ×2 inside the model (strides 1222, so 4×4 → 8×8) against the same 4×4 baseline."""
    return [r for r in _resnet18_at_avg(rows, "_s1222_x2_") if r["tier"] == tier]


def _metric_parts(best: list[dict], n: int, seeds: list[int]) -> str:
    """'clean +3.3 points [+2.7, +3.8], gain; PGD-20 …': each metric's difference, its image count where it
    is not ``n``, the seeds where they are not ``seeds``, and its verdict."""
    return "; ".join(
        f"{r['metric_label']} {interval_text(r, ' points')}{_fewer(r, n)}{_seeds_note(r, seeds)}, "
        f"{verdict(r['lo'], r['hi']).split(' (')[0]}"
        for r in best
    )


def upsampling_finding(rows: list[dict], tier: str, n: int) -> str:
    """One sentence on the upsampling twin (empty when the zoo holds no evaluated one in ``tier``); ``n``: the
    image count of the sentence it follows, named again only where a metric used fewer."""
    pair = upsampling_pair(rows, tier)
    if not pair:
        return ""
    best = best_per_metric(pair)
    seeds = row_seeds(best[0])
    which = f"mean of seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}"
    cost = f"×{best[0]['mac_ratio']:.1f} the baseline's multiply-adds"
    return (
        f" The other fix, the input upsampled ×2 inside the model ({best[0]['map']}, {which}, {cost}), against the "
        f"same baseline: {_metric_parts(best, n, seeds)}."
    )


def one_image_context(cards: dict[str, dict], labels: dict[str, str], metric: str = "pgd20") -> str:
    """A sentence that puts one image's verdicts beside the same models' accuracy over many test images,
    read from their cards (``cards``: name -> card): one image is one draw, and a side-by-side view of a
    single image can go either way whatever the averages say. A setting all cards share (ε, number of
    images) is said once, one that differs is said per model. Empty when no card has the metric."""
    parts = [(n, c["metrics"][metric]) for n, c in cards.items() if c.get("metrics", {}).get(metric)]
    if not parts:
        return ""

    def eps_text(m):
        eps = m.get("attack", {}).get("eps")
        return f"at {eps * 255:.3g}/255" if eps else ""

    def n_text(m):
        return f"n={m['n']:,}"

    shared = {f: len({f(m) for _, m in parts}) == 1 for f in (eps_text, n_text)}
    budget = f" {eps_text(parts[0][1])}" if shared[eps_text] and eps_text(parts[0][1]) else ""
    on = f" on {parts[0][1]['n']:,} test images" if shared[n_text] else ""

    def own(m):  # the settings this model does not share with the others, if any
        said = ", ".join(t for f in (eps_text, n_text) if not shared[f] and (t := f(m)))
        return f" ({said})" if said else ""

    values = "; ".join(f"{labels.get(name, name)} {100 * m['value']:.1f}%{own(m)}" for name, m in parts)
    return (
        f"One image is one draw: on another the verdicts can come out the other way. "
        f"Share of images each model holds under {CARD_METRICS[metric]}{budget}{on} (from the cards): {values}."
    )


def _names(titles: list[str]) -> str:
    return ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else titles[0]


def _fewer(r, n: int) -> str:
    """' on 1,000 images' where a metric (AutoAttack) was measured on fewer images than the sentence's n."""
    return f" on {r['n']:,} images" if r["n"] != n else ""


def finding(rows: list[dict]) -> str:
    """One paragraph on the main pair, generated from the cards' paired differences: what each metric
    shows, per seed and across seeds, and what that says about the claim at this size."""
    main = main_pair(rows)
    if not main:
        return "The zoo holds no evaluated 8×8 / 4×4 pair of AT average-pooling models, so it shows no finding yet."
    first = main[0]
    best = best_per_metric(main)
    n, named = first["n"], row_seeds(best[0])
    across = f" (mean of seeds {', '.join(map(str, named))})" if len(named) > 1 else ""
    seeds = sorted({r["seed"] for r in main if not r.get("seed_mean")})
    text = (
        f"In the {first['tier']} zoo ({first['budget']}), the 8×8 strides-1122 model minus its 4×4 baseline"
        f"{across}, paired on {n:,} test images: {_metric_parts(best, n, named)}."
    )
    robust, gains, losses = resolved_sides(best)
    others: dict[str, list[str]] = {}  # the robust metrics without a gain, by what their interval says
    for r in robust:
        if r["lo"] <= 0:
            v = "identical on every image" if r["lo"] == r["hi"] == 0 else verdict(r["lo"], r["hi"]).split(" (")[0]
            others.setdefault(v, []).append(r["metric_label"])
    if gains:
        text += f" The robust gain lies above 0 under {_names(gains)} on these test images"
        text += "".join(f"; under {_names(m)}: {v}" for v, m in others.items()) + "."
    elif losses:
        text += f" Here the enlarged map costs robustness under {_names(losses)}."
    elif robust:
        text += " Its robust differences are not resolved: the intervals contain 0."
    if len(seeds) < 2:
        text += " One seed only: the interval covers the sampling of test images, not seed-to-seed variation."
    elif robust:  # the mean's interval holds the seed spread; say also what each seed shows on its own
        per = [r for r in main if not r.get("seed_mean") and r["metric"] != "clean"]
        counts = [
            (m["metric_label"], sum(r["lo"] > 0 for r in per if r["metric"] == m["metric"]), len(row_seeds(m)))
            for m in robust
        ]
        text += " Each seed on its own, interval above 0: " + ", ".join(
            f"{label} in {k} of {of}" for label, k, of in counts
        )
        ks = {len(row_seeds(m)) for m in robust if m.get("seed_mean")}
        if ks:
            k = next(iter(ks)) if len(ks) == 1 else 0
            dof = f"{k - 1} degree{'s' if k > 2 else ''} of freedom" if k else "k − 1 degrees of freedom for k seeds"
            text += f". The mean's interval also holds the spread between seeds (Student's t with {dof})"
            text += ", which few seeds make wide"
        text += "."
    return text + upsampling_finding(rows, first["tier"], n)


def architectures_finding(rows: list[dict]) -> str:
    """What the four networks' stride pairs show, per metric, in words generated from the cards."""
    archs = architecture_rows(rows)
    have = [a for a in archs if a["metrics"]]
    if not have:
        return "No network has an evaluated AT average-pooling stride pair in the zoo yet."
    tiers = sorted({a["tier"] for a in have}, key=TIERS.index)
    count = (
        f"All {len(archs)} of the paper's networks"
        if len(have) == len(archs)
        else f"{len(have)} of the paper's {len(archs)} networks"
    )
    text = (
        f"{count} {'has' if len(have) == 1 else 'have'} an evaluated "
        "AT average-pooling stride pair in the "
        f"{' and '.join(tiers)} zoo ({_names([a['title'] for a in have])})."
    )
    metrics = list(dict.fromkeys(m for a in have for m in a["metrics"]))
    for m in metrics:
        by_verdict: dict[str, list[str]] = {}
        for a in have:
            r = a["metrics"].get(m)  # a pair still being evaluated is named, not dropped
            v = verdict(r["lo"], r["hi"]).split(" (")[0] if r else "not measured yet"
            by_verdict.setdefault(v, []).append(a["title"])
        label = "Clean accuracy" if m == "clean" else CARD_METRICS[m]
        text += f" {label}: " + "; ".join(f"{v} for {_names(t)}" for v, t in by_verdict.items()) + "."
    mixed = [
        a["title"] for a in have
        if len({verdict(r["lo"], r["hi"]) for m, r in a["metrics"].items() if m != "clean"}) > 1
    ]  # fmt: skip
    if mixed:
        text += (
            f" The robust verdicts of {_names(mixed)} disagree between attacks: each interval holds 95% on its "
            "own, so with several attacks per network a lone resolved difference among unresolved ones can be "
            "chance."
        )
    missing = [a["title"] for a in archs if not a["metrics"]]
    if missing:
        text += f" No evaluated pair in the zoo yet: {_names(missing)}."
    return text
