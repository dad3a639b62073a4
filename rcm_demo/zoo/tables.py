"""Tabular views of the model cards (shared by the home page, the zoo page, the README table and
``python -m rcm_demo.evaluate --table``). Everything here is read from the cards; nothing is run."""

from __future__ import annotations

import html
import re

from ..models import ARCHS
from .checkpoints import TIERS, get_checkpoint, read_checkpoints
from .intervals import _seeds_note, interval_text, paired_difference, row_seeds, seed_means
from .labels import comparisons, display_labels, trained_epochs, training_budget, training_method

CARD_METRICS = {"clean": "clean", "pgd20": "PGD-20", "cw30": "CW-30", "autoattack": "AutoAttack"}


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
    cks = read_checkpoints()  # one pass over the cards for the whole table
    rows, labels = [], display_labels(names, cks=cks)
    for name in names:
        ck = cks.get(name) or get_checkpoint(name)
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


def comparison_rows(metrics=tuple(CARD_METRICS), directory=None) -> list[dict]:
    """Enlarged minus baseline, paired per image, for every pair the zoo holds (from ``zoo.comparisons``),
    one row per seed, then one ``seed_mean`` row per pair measured with two or more seeds."""
    cks = read_checkpoints(directory)  # one pass over the cards for the whole table
    rows, labels = [], display_labels(directory=directory, cks=cks)
    for a, b in comparisons(directory=directory, cks=cks):
        ca, cb = cks[a], cks[b]
        (ha, wa), (hb, wb) = ca.meta["pre_pool_hw"], cb.meta["pre_pool_hw"]
        for m in metrics:
            r = paired_difference(a, b, m, directory, cks)
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


def budget_text(meta: dict) -> str:
    """The training budget a card records, in words: 'width 16, N-FGSM AT at 8/255, 15 epochs'."""
    cfg = meta.get("train", {}).get("config", {})
    epochs, how, eps = trained_epochs(meta) or "?", training_method(meta), cfg.get("eps")
    how += f" at {eps * 255:g}/255" if meta["recipe"] != "std" and eps else ""
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


# (tier, recipe) of a variant -> how it is named beside its network.
VARIANTS = {
    ("lite", "trades"): "TRADES",
    ("paper-width", "at"): "width 64 (paper-width tier)",
    ("paper-width", "trades"): "width 64, TRADES",
}


def _stride_pair(rows: list[dict], arch: str) -> list[dict]:
    cls = ARCHS[arch]
    pair = f"{cls.BASELINE} → {cls.ENLARGED}"
    return [r for r in rows if (r["arch"], r["pool"], r["scale"], r["strides"]) == (arch, "avg", 1, pair)]


def variant_rows(rows: list[dict]) -> list[dict]:
    """One row per (network, variant) the zoo holds evaluated, shaped like ``tables.architecture_rows``
    (per metric the seed mean where there is one); a network without variants has none."""
    out = []
    for arch, cls in ARCHS.items():
        sel = _stride_pair(rows, arch)
        for key, name in VARIANTS.items():
            best = best_per_metric([r for r in sel if (r["tier"], r["recipe"]) == key])
            if not best:
                continue
            first = best[0]
            out.append(
                {
                    "arch": arch,
                    "title": f"{cls.TITLE} · {name}",
                    "variant": key,
                    "strides": f"{cls.BASELINE} → {cls.ENLARGED}",
                    "tier": key[0],
                    "map": first["map"],
                    "mac_ratio": first["mac_ratio"],
                    "budget": first["budget"],
                    "seeds": row_seeds(first),
                    "metrics": {r["metric"]: r for r in best},
                }
            )
    return out


def architectures_cells(rows: list[dict], metrics=("clean", "pgd20", "cw30", "autoattack")):
    """``architecture_rows`` as a header and one list of cells per network: Δ points [95% CI] per metric;
    the number of paired images goes in the header where every network shares it, else in the cell."""
    variants = variant_rows(rows)  # TRADES, width 64: beside their network
    archs = [x for a in architecture_rows(rows) for x in (a, *[v for v in variants if v["arch"] == a["arch"]])]
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
