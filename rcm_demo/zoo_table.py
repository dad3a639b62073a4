"""Tabular views of the model cards (shared by the home page, the zoo page, the README table and
``python -m rcm_demo.evaluate --table``). Everything here is read from the cards; nothing is run."""

from __future__ import annotations

from .metrics import unpack_bits
from .zoo import comparisons, get_checkpoint

CARD_METRICS = {"clean": "clean", "pgd20": "PGD-20", "cw30": "CW-30", "autoattack": "AutoAttack"}
Z95 = 1.96


def metric_cell(m: dict | None) -> str:
    if not m:
        return "not evaluated"
    return f"{100 * m['value']:.1f} ± {100 * m['se']:.1f} (n={m['n']})"


COMPACT = ("model", "tier", "pre-pool map", "MMACs", "clean %", "PGD-20 %", "AutoAttack %")


def zoo_rows(names, compact: bool = False) -> list[dict]:
    """One row per checkpoint; ``compact`` keeps the columns a first look needs (``COMPACT``)."""
    rows = []
    for name in names:
        ck = get_checkpoint(name)
        meta = ck.meta
        s, mets = meta["spec"], meta.get("metrics", {})
        h, w = meta["pre_pool_hw"]
        rows.append(
            {
                "model": ck.label,
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


def paired_difference(a: str, b: str, metric: str) -> dict | None:
    """Accuracy of ``a`` minus ``b`` on the same images (from the cards' correctness bits), with the
    standard error of the paired difference and a 95% interval. None when either card lacks the metric
    or the two were measured on different images."""
    ma, mb = (get_checkpoint(n).meta.get("metrics", {}).get(metric) for n in (a, b))
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
    se = (d.std(unbiased=True) / n**0.5).item() if n > 1 else float("nan")
    diff = d.mean().item()
    return {
        "a": a,
        "b": b,
        "metric": metric,
        "n": n,
        "diff": diff,
        "se": se,
        "lo": diff - Z95 * se,
        "hi": diff + Z95 * se,
    }


def comparison_rows(metrics=tuple(CARD_METRICS)) -> list[dict]:
    """Enlarged minus baseline, paired per image, for every pair the zoo holds (from ``zoo.comparisons``)."""
    rows = []
    for a, b in comparisons():
        ca, cb = get_checkpoint(a), get_checkpoint(b)
        for m in metrics:
            r = paired_difference(a, b, m)
            if r:
                rows.append(
                    {
                        **r,
                        "enlarged": ca.label,
                        "baseline": cb.label,
                        "pool": ca.spec.pool,
                        "recipe": ca.recipe,
                        "tier": ca.tier,
                        "metric_label": CARD_METRICS[m],
                        "mac_ratio": ca.meta["macs"] / cb.meta["macs"],
                    }
                )
    return rows


def comparisons_markdown(metrics=("clean", "pgd20", "autoattack")) -> str:
    lines = [
        "| enlarged | baseline | MACs | " + " | ".join(f"Δ {CARD_METRICS[m]} (points, 95% CI)" for m in metrics) + " |",
        "|---|---|---|" + "---|" * len(metrics),
    ]
    for a, b in comparisons():
        cells = []
        for m in metrics:
            r = paired_difference(a, b, m)
            cells.append(
                f"{100 * r['diff']:+.1f} [{100 * r['lo']:+.1f}, {100 * r['hi']:+.1f}] (n={r['n']})" if r else "–"
            )
        ratio = get_checkpoint(a).meta["macs"] / get_checkpoint(b).meta["macs"]
        lines.append(f"| {a} | {b} | ×{ratio:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
