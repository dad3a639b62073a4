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
