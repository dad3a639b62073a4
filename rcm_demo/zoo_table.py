"""Tabular views of the model cards (shared by the home page, the zoo page, the README table and
``python -m rcm_demo.evaluate --table``). Everything here is read from the cards; nothing is run."""

from __future__ import annotations

import html
import math
import re

from .metrics import unpack_bits
from .models import ARCHS
from .zoo import TIERS, at_method_name, comparisons, display_labels, get_checkpoint, training_budget

CARD_METRICS = {"clean": "clean", "pgd20": "PGD-20", "cw30": "CW-30", "autoattack": "AutoAttack"}
Z95 = 1.96


def metric_cell(m: dict | None) -> str:
    if not m:
        return "not evaluated"
    return f"{100 * m['value']:.1f} ± {100 * m['se']:.1f} (n={m['n']})"


def card_metrics(meta: dict) -> dict | None:
    """A card's metrics as a small table ({column: {metric: text}}) and the data sets they were measured on
    (said once, under the table: the same long name in every row made the table unreadable)."""
    mets = meta.get("metrics", {})
    if not mets:
        return None

    def settings(v):
        return ", ".join(f"{a}={b:.4g}" if isinstance(b, float) else f"{a}={b}" for a, b in v.items()) or "none"

    cols = {
        "accuracy %": lambda v: f"{100 * v['value']:.1f}",
        "± se": lambda v: f"{100 * v.get('se', 0):.1f}",
        "n": lambda v: f"{v['n']:,}",
        "attack": lambda v: settings(v.get("attack", {})),
        "arithmetic": lambda v: v.get("arithmetic", "not recorded"),
    }
    table = {col: {k: f(v) for k, v in mets.items()} for col, f in cols.items()}
    return {"table": table, "datasets": sorted({v["dataset"] for v in mets.values()})}


COMPACT = ("model", "tier", "pre-pool map", "MMACs", "clean %", "PGD-20 %", "AutoAttack %")


def zoo_rows(names, compact: bool = False) -> list[dict]:
    """One row per checkpoint; ``compact`` keeps the columns a first look needs (``COMPACT``)."""
    rows, labels = [], display_labels(names)
    for name in names:
        ck = get_checkpoint(name)
        meta = ck.meta
        s, mets = meta["spec"], meta.get("metrics", {})
        h, w = meta["pre_pool_hw"]
        rows.append(
            {
                "model": labels[name],
                "tier": ck.tier,
                "checkpoint": name,
                "recipe": meta["recipe"],
                "strides": s["strides"],
                "upsample": f"×{s['scale']}",
                "pool": s["pool"],
                "pre-pool map": f"{h}×{w}",
                "params (M)": round(meta["params"] / 1e6, 3),
                "MMACs": round(meta["macs"] / 1e6, 1),
                **{f"{label} %": metric_cell(mets.get(key)) for key, label in CARD_METRICS.items()},
                "epochs": meta["train"].get("epochs"),
            }
        )
    return [{k: r[k] for k in COMPACT} for r in rows] if compact else rows


def paired_difference(a: str, b: str, metric: str, directory=None) -> dict | None:
    """Accuracy of ``a`` minus ``b`` on the same images (from the cards' correctness bits), with the
    standard error of the paired difference and a 95% interval. None when either card lacks the metric
    or the two were measured on different images."""
    ma, mb = (get_checkpoint(n, directory).meta.get("metrics", {}).get(metric) for n in (a, b))
    if (
        not ma
        or not mb
        or ma["n"] != mb["n"]
        or "subset_sha256" not in ma
        or ma["subset_sha256"] != mb.get("subset_sha256")
        or ma["dataset"] != mb["dataset"]
    ):
        return None
    n = ma["n"]
    d = unpack_bits(ma["correct_bits"], n).float() - unpack_bits(mb["correct_bits"], n).float()
    return {"a": a, "b": b, "metric": metric, "n": n, **mean_interval(d), "per_image": d}


def mean_interval(d) -> dict:
    """The mean of per-image differences ``d`` with its standard error and 95% interval."""
    n, diff = len(d), d.mean().item()
    se = (d.std(unbiased=True) / n**0.5).item() if n > 1 else float("nan")
    return {"diff": diff, "se": se, "lo": diff - Z95 * se, "hi": diff + Z95 * se}


def comparison_rows(metrics=tuple(CARD_METRICS), directory=None) -> list[dict]:
    """Enlarged minus baseline, paired per image, for every pair the zoo holds (from ``zoo.comparisons``),
    one row per seed, then one ``seed_mean`` row per pair measured with two or more seeds."""
    rows, labels = [], display_labels(directory=directory)
    for a, b in comparisons(directory=directory):
        ca, cb = get_checkpoint(a, directory), get_checkpoint(b, directory)
        (ha, wa), (hb, wb) = ca.meta["pre_pool_hw"], cb.meta["pre_pool_hw"]
        for m in metrics:
            r = paired_difference(a, b, m, directory)
            if r:
                rows.append(
                    {
                        **r,
                        "enlarged": labels[a],  # the budget too while the zoo mixes them
                        "baseline": labels[b],
                        "pool": ca.spec.pool,
                        "arch": ca.spec.arch,
                        "strides": f"{cb.spec.strides} → {ca.spec.strides}",
                        "scale": ca.spec.scale,
                        "map": f"{hb}×{wb} → {ha}×{wa}",
                        "recipe": ca.recipe,
                        "tier": ca.tier,
                        "seed": ca.seed,
                        "budget": budget_text(ca.meta),
                        "pair": (ca.spec.name, cb.spec.name, ca.recipe, ca.tier, training_budget(ca)),
                        "metric_label": CARD_METRICS[m],
                        "mac_ratio": ca.meta["macs"] / cb.meta["macs"],
                    }
                )
    rows += seed_means(rows)
    for r in rows:
        r.pop("per_image", None)  # per-image tensors only feed the seed means; rows stay light to cache
    return rows


# Two-sided 95% quantiles of Student's t by degrees of freedom (seeds - 1).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def seed_means(rows: list[dict]) -> list[dict]:
    """For each pair and metric measured with k >= 2 seeds (same images): the mean of the seeds' paired
    differences with a 95% interval that holds both sources of variation, added in quadrature: the spread
    between seeds (Student's t over the k seed differences) and the sampling of test images (the paired
    per-image differences averaged over the seeds)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if "per_image" in r and not r.get("seed_mean"):
            groups.setdefault((r["pair"], r["metric"]), []).append(r)
    out = []
    for group in groups.values():
        if len({r["seed"] for r in group}) < 2 or len({r["n"] for r in group}) != 1:
            continue
        k, n = len(group), group[0]["n"]
        diffs = [r["diff"] for r in group]
        mean = sum(diffs) / k
        sd_seed = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (k - 1))
        per_image = sum(r["per_image"] for r in group) / k
        se_img = (per_image.std(unbiased=True) / n**0.5).item() if n > 1 else 0.0
        half = math.hypot(T95.get(k - 1, Z95) * sd_seed / math.sqrt(k), Z95 * se_img)
        first = min(group, key=lambda r: r["seed"])
        label = first["enlarged"].replace(f" · seed {first['seed']}", "") if first["seed"] else first["enlarged"]
        out.append(
            {
                **{key: first[key] for key in ("metric", "n", "pool", "recipe", "tier", "budget", "pair")},
                **{key: first[key] for key in ("metric_label", "mac_ratio", "arch", "strides", "scale", "map")},
                "a": first["a"],
                "b": first["b"],
                "enlarged": f"{label} · mean of {k} seeds",
                "baseline": first["baseline"],
                "seed_mean": True,
                "seeds": sorted(r["seed"] for r in group),
                "per_seed": diffs,
                "diff": mean,
                "se": half / Z95,
                "lo": mean - half,
                "hi": mean + half,
                "sd_seed": sd_seed,
                "se_image": se_img,
            }
        )
    return out


def best_per_metric(rows: list[dict]) -> list[dict]:
    """Per metric (in the rows' order): the mean over seeds where two or more seeds measured it, else the
    lowest seed's own difference, so a metric not yet measured on every seed keeps the seeds it has."""
    best: dict[str, dict] = {}
    for r in rows:
        if r.get("seed_mean"):
            best[r["metric"]] = r
    for r in sorted((r for r in rows if not r.get("seed_mean")), key=lambda r: r["seed"]):
        best.setdefault(r["metric"], r)
    order = list(dict.fromkeys(r["metric"] for r in rows))
    return [best[m] for m in order]


def row_seeds(r: dict) -> list[int]:
    """The seeds a difference row stands on."""
    return list(r["seeds"]) if r.get("seed_mean") else [r["seed"]]


def _seeds_note(r: dict, seeds: list[int]) -> str:
    """' (seeds 0, 1)' where a row stands on other seeds than the ones its sentence or table row names."""
    own = row_seeds(r)
    return "" if own == seeds else f" (seed{'s' if len(own) > 1 else ''} {', '.join(map(str, own))})"


def verdict(lo: float, hi: float) -> str:
    """What a 95% interval of an enlarged-minus-baseline difference says."""
    if lo == hi == 0:
        return "identical on every image"
    if lo > 0:
        return "gain (interval above 0)"
    if hi < 0:
        return "loss (interval below 0)"
    return "not resolved (interval contains 0)"


def budget_text(meta: dict) -> str:
    """The training budget a card records, in words: 'width 16, N-FGSM AT at 8/255, 15 epochs'."""
    train = meta.get("train", {})
    cfg = train.get("config", {})
    epochs = cfg.get("epochs", train.get("epochs", "?"))
    if meta["recipe"] == "std":
        how = "standard training"
    else:
        eps = cfg.get("eps")
        how = "TRADES" if meta["recipe"] == "trades" else f"{at_method_name(cfg)} AT"
        how += f" at {eps * 255:g}/255" if eps else ""
    text = f"width {meta['spec']['width']}, {how}, {epochs} epoch{'s' if epochs != 1 else ''}"
    if cfg.get("lr"):
        text += f", {SCHEDULES.get(cfg.get('schedule'), cfg.get('schedule', '?'))} to {cfg['lr']:g}"
    return text + (", He-normal init" if cfg.get("init", "default") == "kaiming" else "")


SCHEDULES = {"onecycle": "one-cycle", "cosine": "cosine", "multistep": "multistep"}


def hardware_text(hw: str) -> str:
    """A card's ``train.hardware`` in few words: '1 x CPU process (Intel(R) Xeon(R) Processor, 2 threads,
    2 cores visible)' -> 'Intel Xeon Processor, 2 threads'; GPUs ('1 x NVIDIA H200') and anything else as
    written."""
    if " + " in (hw or ""):  # a run resumed on other machines lists each
        return " + ".join(hardware_text(h) for h in hw.split(" + "))
    m = re.fullmatch(r"(\d+) x CPU process \((.*), (\d+) threads?, \d+ cores? visible\)", hw or "")
    if not m:
        return hw or "unknown hardware"
    world, cpu, threads = int(m[1]), re.sub(r"\((R|TM)\)", "", m[2]).strip(), int(m[3])
    text = f"{cpu}, {threads} thread{'s' * (threads != 1)}"
    return text if world == 1 else f"{world} processes on {text} each"


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


def points_text(v: float) -> str:
    """A difference in points to one decimal, or two where one would round a non-zero bound to ±0.0 (and
    hide on which side of 0 an interval ends)."""
    return f"{100 * v:+.1f}" if round(100 * v, 1) != 0 or v == 0 else f"{100 * v:+.2f}"


def interval_text(r, unit: str = "") -> str:
    """'+0.6 [-0.2, +1.4]' (``unit`` " points": '+0.6 points [-0.2, +1.4]'): a difference and its 95%
    interval, in points."""
    return f"{points_text(r['diff'])}{unit} [{points_text(r['lo'])}, {points_text(r['hi'])}]"


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
    robust = [r for r in best if r["metric"] != "clean"]
    gains = [r["metric_label"] for r in robust if r["lo"] > 0]
    losses = [r["metric_label"] for r in robust if r["hi"] < 0]
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


def comparisons_markdown(metrics=("clean", "pgd20", "cw30", "autoattack"), directory=None, rows=None) -> str:
    """Paired differences per pair (each seed, then the mean over seeds), in points with 95% intervals;
    ``rows``: ``comparison_rows`` already computed (else computed here)."""
    rows = comparison_rows(metrics, directory) if rows is None else [r for r in rows if r["metric"] in metrics]
    lines = [
        "| enlarged | baseline | budget | MACs | " + " | ".join(f"Δ {CARD_METRICS[m]}" for m in metrics) + " |",
        "|---|---|---|---|" + "---|" * len(metrics),
    ]
    keyed = {(r["enlarged"], r["metric"]): r for r in rows}
    for label in dict.fromkeys(r["enlarged"] for r in rows):
        first = next(r for r in rows if r["enlarged"] == label)
        cells = [f"{interval_text(r)} (n={r['n']})" if (r := keyed.get((label, m))) else "–" for m in metrics]
        lines.append(
            f"| {label} | {first['baseline']} | {first['budget']} | ×{first['mac_ratio']:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def architecture_rows(rows: list[dict]) -> list[dict]:
    """The paper's four networks side by side: for each registered architecture, its reference-default
    strides against the reference README's enlarged-map twin (``BASELINE`` vs ``ENLARGED``), AT with
    average pooling, no upsampling, of the first tier that holds the pair; per metric the mean over seeds
    where there is one, else the first seed. An architecture the zoo lacks gets a row with no metrics."""
    out = []
    for arch, cls in ARCHS.items():
        strides = f"{cls.BASELINE} → {cls.ENLARGED}"
        sel = [
            r for r in rows
            if (r["arch"], r["recipe"], r["pool"], r["scale"], r["strides"]) == (arch, "at", "avg", 1, strides)
        ]  # fmt: skip
        tier = next((t for t in TIERS if any(r["tier"] == t for r in sel)), None)
        sel = [r for r in sel if r["tier"] == tier]
        best = best_per_metric(sel)
        first = best[0] if best else {}
        out.append(
            {
                "arch": arch,
                "title": cls.TITLE,
                "strides": strides,
                "tier": tier,
                "map": first.get("map"),
                "mac_ratio": first.get("mac_ratio"),
                "budget": first.get("budget"),
                "seeds": row_seeds(first) if first else [],
                "metrics": {r["metric"]: r for r in best},
            }
        )
    return out


def architectures_cells(rows: list[dict], metrics=("clean", "pgd20", "cw30", "autoattack")):
    """``architecture_rows`` as a header and one list of cells per network: Δ points [95% CI] per metric;
    the number of paired images goes in the header where every network shares it, else in the cell."""
    archs = architecture_rows(rows)
    ns = {m: {a["metrics"][m]["n"] for a in archs if m in a["metrics"]} for m in metrics}
    head = [f"Δ {CARD_METRICS[m]}" + (f" (n={next(iter(ns[m])):,})" if len(ns[m]) == 1 else "") for m in metrics]
    body = []
    for a in archs:
        if not a["metrics"]:
            body.append(
                [a["title"], a["strides"], "–", "–", "no evaluated pair in the zoo yet", *["–"] * (len(metrics) - 1)]
            )
            continue
        cells = [
            interval_text(r) + (f" (n={r['n']:,})" if len(ns[m]) > 1 else "") + _seeds_note(r, a["seeds"])
            if (r := a["metrics"].get(m))
            else "–"
            for m in metrics
        ]
        body.append(
            [
                a["title"],
                f"{a['strides']} ({a['map']})",
                f"×{a['mac_ratio']:.1f}",
                ", ".join(map(str, a["seeds"])),
                *cells,
            ]
        )
    return ["network", "strides (pre-pool map)", "MACs", "seeds", *head], body


def architectures_markdown(rows: list[dict], metrics=("clean", "pgd20", "cw30", "autoattack")) -> str:
    """``architectures_cells`` as a markdown table."""
    head, body = architectures_cells(rows, metrics)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def architectures_html(rows: list[dict], metrics=("clean", "pgd20", "cw30", "autoattack")) -> str:
    """``architectures_cells`` as an HTML table (the lesson's export)."""
    head, body = architectures_cells(rows, metrics)
    cell = lambda tag, v: f"<{tag}>{html.escape(v)}</{tag}>"  # noqa: E731
    trs = ["<tr>" + "".join(cell("th", h) for h in head) + "</tr>"]
    trs += ["<tr>" + "".join(cell("td", v) for v in r) + "</tr>" for r in body]
    return "<table class='four'>" + "".join(trs) + "</table>"


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
