"""The lab's sweeps over several budgets, models or layers, free of Streamlit: accuracy against epsilon,
transfer between models, relative energy per layer and budget, and the pooling report across the zoo.

    curves = robustness_curves(models, x, y, eps255=[0, 2, 4, 8])
    rows = pooling_rows(zoo_pooling(models, x, y), labels)

Every request is bounded by ``rcm_demo.limits``, whatever the widgets allow.
"""

from __future__ import annotations

from dataclasses import replace

from .. import limits as L
from ..models import ARCHS
from . import probe
from .lab import AttackSettings, check_models, pgd_settings, run
from .metrics import accuracy


def eps_layer_matrix(model, x, y, s: AttackSettings, eps255=(1, 2, 4, 8, 12, 16)) -> dict:
    """Relative energy per layer (columns) for a range of L-inf budgets (rows)."""
    rows = []
    for e in eps255:
        s_e = replace(
            s,
            attack="PGD-L∞" if s.norm == "l2" or not s.entry.iterative else s.attack,
            eps_input=e,
            alpha_input=None,
            steps=10,
            targeted=False,
        )
        x_adv = run(model, x, y, s_e)
        energy = probe.layer_energy(model, x, x_adv)
        rows.append([energy[k]["relative"] for k in probe.PROFILE])
    return {"eps255": list(eps255), "layers": list(probe.PROFILE), "values": rows}


def robustness_curves(models: dict, x, y, eps255, attack="PGD-L∞", steps=10, seed=0, progress=None):
    """Accuracy (fraction) per model and budget on the images (x, y); ``progress(frac)`` reports."""
    check_models(models)
    L.IMAGES.check(len(y), "the number of images")
    eps255 = list(eps255)
    L.CURVE_POINTS.check(len(eps255), "the number of ε values")
    total, done = len(models) * len(eps255), 0
    acc = {}
    for name, model in models.items():
        acc[name] = []
        for e in eps255:
            if e == 0:
                x_adv = x
            else:
                x_adv = run(model, x, y, pgd_settings(e, steps, seed, attack))
            acc[name].append(accuracy(model, x_adv, y))
            done += 1
            if progress:
                progress(done / total)
    return {"eps255": eps255, "accuracy": acc, "n": len(y)}


def transfer_matrix(models: dict, x, y, eps255=8.0, steps=10, seed=0, progress=None):
    """acc[i][j]: accuracy of model j on perturbations crafted (PGD) on model i."""
    check_models(models)
    names = list(models)
    s = pgd_settings(eps255, steps, seed)
    mat = []
    for i, src in enumerate(names):
        x_adv = run(models[src], x, y, s)
        mat.append([accuracy(models[dst], x_adv, y) for dst in names])
        if progress:
            progress((i + 1) / len(names))
    return {"names": names, "accuracy": mat, "eps255": eps255}


def one_position_note(rep: dict, spec: dict) -> str | None:
    """What a 1×1 pre-pool map (VGG16-BN 22222) means for the pooling report, else None: both poolings
    return the one position unchanged, so both ratios are 1 and nothing is damped."""
    if rep["H"] * rep["W"] != 1:
        return None
    twin = getattr(ARCHS.get(spec.get("arch")), "ENLARGED", None)
    return (
        "This model's pre-pool map is 1×1: one position, so average and max pooling both return it "
        f"unchanged and both ratios are {rep['ratio_avg']:.3f} / {rep['ratio_max']:.3f}. There is nothing to "
        "damp here" + (f"; its enlarged-map twin (strides {twin}) has a larger map to pool." if twin else ".")
    )


def pooling_rows(points: list[dict], labels: dict[str, str]) -> list[dict]:
    """``zoo_pooling`` results as table rows with readable column names."""
    return [
        {
            "model": labels.get(p["checkpoint"], p["checkpoint"]),
            "pre-pool map": f"{p['H']}×{p['W']}",
            "avg ‖Δa‖/‖ΔZ‖": round(p["ratio_avg"], 4),
            "bound 1/√(HW)": round(p["bound_avg"], 4),
            "max ‖Δm‖/‖ΔZ‖": round(p["ratio_max"], 4),
            "arg-max flips %": round(100 * p["argmax_flip_rate"], 1),
            "checkpoint": p["checkpoint"],
        }
        for p in points
    ]


def zoo_pooling(models: dict, x, y, eps255=8.0, steps=10, seed=0) -> list[dict]:
    """Pooling report of every model on its own PGD perturbation of the images."""
    s = pgd_settings(eps255, steps, seed)
    out = []
    for name, model in models.items():
        out.append({"checkpoint": name, **probe.pooling_report(model, x, run(model, x, y, s))})
    return out


def tap_notes(archs) -> dict[str, dict[str, str]]:
    """What each tap point (stem, layer1..layer4) is in each of these architectures."""
    from ..models import ARCHS

    return {a: dict(ARCHS[a].TAP_NOTES) for a in dict.fromkeys(archs)}
