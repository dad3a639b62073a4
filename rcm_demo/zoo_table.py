"""Tabular views of the model cards (shared by the home page, the zoo page and the README table)."""
from __future__ import annotations

from .zoo import get_checkpoint


def metric_cell(m: dict | None) -> str:
    if not m:
        return "not evaluated"
    return f"{100 * m['value']:.1f} ± {100 * m['se']:.1f} (n={m['n']})"


def zoo_rows(names) -> list[dict]:
    rows = []
    for name in names:
        meta = get_checkpoint(name).meta
        s, mets = meta["spec"], meta.get("metrics", {})
        h, w = meta["pre_pool_hw"]
        rows.append({
            "checkpoint": name, "recipe": meta["recipe"], "strides": s["strides"], "upsample": f"×{s['scale']}",
            "pool": s["pool"], "pre-pool map": f"{h}×{w}", "params (M)": round(meta["params"] / 1e6, 3),
            "MMACs": round(meta["macs"] / 1e6, 1), "clean %": metric_cell(mets.get("clean")),
            "PGD-20 %": metric_cell(mets.get("pgd20")), "AutoAttack %": metric_cell(mets.get("autoattack")),
            "epochs": meta["train"].get("epochs"),
        })
    return rows


def paired_difference(a: str, b: str, metric: str) -> dict | None:
    """Accuracy of ``a`` minus ``b`` on the same images (from the cards' correctness bits), with the
    standard error of the paired difference. None when either card lacks the metric or the images differ."""
    from .evaluate import unpack_bits

    ma, mb = (get_checkpoint(n).meta.get("metrics", {}).get(metric) for n in (a, b))
    if not ma or not mb or ma["n"] != mb["n"] or "subset_sha256" not in ma \
            or ma["subset_sha256"] != mb.get("subset_sha256") or ma["dataset"] != mb["dataset"]:
        return None
    n = ma["n"]
    d = unpack_bits(ma["correct_bits"], n).float() - unpack_bits(mb["correct_bits"], n).float()
    return {"a": a, "b": b, "metric": metric, "n": n, "diff": d.mean().item(),
            "se": (d.std(unbiased=True) / n ** 0.5).item() if n > 1 else float("nan")}


# The comparisons the zoo was trained for: enlarged map minus its 4x4 baseline, same recipe and pooling.
COMPARISONS = [
    ("resnet18w16_s1122_x1_avg.at", "resnet18w16_s1222_x1_avg.at"),
    ("resnet18w16_s1222_x2_avg.at", "resnet18w16_s1222_x1_avg.at"),
    ("resnet18w16_s1122_x1_max.at", "resnet18w16_s1222_x1_max.at"),
    ("resnet18w16_s1122_x1_avg.std", "resnet18w16_s1222_x1_avg.std"),
    ("resnet18w16_s1222_x2_avg.std", "resnet18w16_s1222_x1_avg.std"),
]


def comparisons_markdown(metrics=("clean", "pgd20", "autoattack")) -> str:
    lines = ["| enlarged | baseline | " + " | ".join(f"Δ {m} (points, ± se)" for m in metrics) + " |",
             "|---|---|" + "---|" * len(metrics)]
    for a, b in COMPARISONS:
        cells = []
        for m in metrics:
            try:
                r = paired_difference(a, b, m)
            except Exception:  # noqa: BLE001 - a checkpoint not in this zoo: the row says so
                r = None
            cells.append(f"{100 * r['diff']:+.1f} ± {100 * r['se']:.1f} (n={r['n']})" if r else "–")
        lines.append(f"| {a} | {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
