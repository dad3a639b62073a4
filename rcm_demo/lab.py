"""The computations behind the app's pages, free of Streamlit so tests and benchmarks call them directly.

    s = AttackSettings(attack="PGD-L∞", eps_input=8, steps=10)   # eps in /255 for L-inf attacks
    results = attack_models(models, x, y, s)                      # one image, several models
    curves = robustness_curves(models, x, y, eps255=[0, 2, 4, 8])

Library-side limits (``LIMITS``) bound every request, whatever the widgets allow.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from . import attacks as A
from . import probe
from .data import CLASSES
from .metrics import accuracy

LIMITS = {"models": 4, "images": 500, "steps": 100, "eps255": 32.0, "eps_l2": 4.0, "alpha255": 16.0,
          "seed": 2**31 - 1, "curve_points": 12}
SMALL_BATCH = 16  # attacks on at most this many images run in fp32 (see ``run``)


def default_alpha(eps_input: float, steps: int) -> float:
    """2.5·ε/steps (Madry et al.'s rule), never above ε and never zero; same unit as ε."""
    return max(min(2.5 * eps_input / steps, eps_input), 1e-3)


def _check(ok: bool, msg: str):
    if not ok:
        raise ValueError(msg)


@dataclass(frozen=True)
class AttackSettings:
    attack: str = "PGD-L∞"
    eps_input: float = 8.0  # L-inf attacks: k in k/255; L2 attacks: the L2 radius on [0, 1] pixels
    steps: int = 10
    alpha_input: float = 2.0  # same unit as eps_input
    targeted: bool = False
    target: int = 0
    seed: int = 0

    def __post_init__(self):
        _check(self.attack in A.ATTACKS, f"unknown attack {self.attack!r}; choose one of {list(A.ATTACKS)}")
        if self.norm == "linf":
            _check(0 <= self.eps_input <= LIMITS["eps255"], f"ε must be between 0 and {LIMITS['eps255']:.0f}/255")
            _check(0 < self.alpha_input <= LIMITS["alpha255"], f"step size must be in (0, {LIMITS['alpha255']:.0f}/255]")
        else:
            _check(0 <= self.eps_input <= LIMITS["eps_l2"], f"L2 ε must be between 0 and {LIMITS['eps_l2']}")
            _check(0 < self.alpha_input <= LIMITS["eps_l2"], f"L2 step size must be in (0, {LIMITS['eps_l2']}]")
        _check(1 <= self.steps <= LIMITS["steps"], f"steps must be between 1 and {LIMITS['steps']}")
        _check(0 <= self.target < len(CLASSES), "the target class must be one of the ten CIFAR-10 classes")
        _check(0 <= self.seed <= LIMITS["seed"], "the seed must be a non-negative 31-bit integer")
        _check(not self.targeted or A.ATTACKS[self.attack][3], f"{self.attack} is untargeted here")

    @property
    def norm(self) -> str:
        return A.ATTACKS[self.attack][1]

    @property
    def eps(self) -> float:  # the one place where the UI unit becomes the [0, 1] scale
        return self.eps_input / 255 if self.norm == "linf" else float(self.eps_input)

    @property
    def alpha(self) -> float:
        return self.alpha_input / 255 if self.norm == "linf" else float(self.alpha_input)

    def to_dict(self) -> dict:
        return asdict(self) | {"norm": self.norm, "eps": self.eps, "alpha": self.alpha}


def pgd_settings(eps255: float, steps: int = 10, seed: int = 0, attack: str = "PGD-L∞") -> AttackSettings:
    """An L-inf attack at ``eps255``/255 with the default step size: the setting of every sweep."""
    return AttackSettings(attack=attack, eps_input=eps255, steps=steps, alpha_input=default_alpha(eps255, steps),
                          seed=seed)


def check_models(names) -> list[str]:
    names = list(names)
    _check(1 <= len(names) <= LIMITS["models"], f"choose between 1 and {LIMITS['models']} models")
    return names


def run(model, x, y, s: AttackSettings) -> torch.Tensor:
    """The attack of ``s`` on ``model``; for targeted attacks ``y`` is replaced by the target."""
    labels = torch.full_like(y, s.target) if s.targeted else y
    g = torch.Generator().manual_seed(s.seed)
    # bf16 autocast pays off for batches; for a handful of images its casts cost more than they save
    # (bench/interaction_latency.py), and fp32 is exact.
    precision = "fp32" if x.shape[0] <= SMALL_BATCH else "auto"
    return A.run_attack(s.attack, model, x, labels, eps=s.eps, alpha=s.alpha, steps=s.steps,
                        targeted=s.targeted, generator=g, precision=precision)


@torch.no_grad()
def probs(model, x) -> torch.Tensor:
    return F.softmax(A.predict(model, x), dim=1).cpu()


def attack_models(models: dict, x, y, s: AttackSettings, shared_from: str | None = None,
                  with_probe: bool = True) -> dict[str, dict]:
    """Attack one image (x: (1, 3, 32, 32)) on every model; with ``shared_from`` the perturbation is
    crafted once on that model and applied unchanged to all (architecture vs. attacker).
    ``y=None`` (an upload without a label) attacks each model's own clean prediction."""
    check_models(models)
    label = (lambda m: probs(m, x).argmax(1)) if y is None else (lambda m: y)
    shared = run(models[shared_from], x, label(models[shared_from]), s) if shared_from else None
    out = {}
    for name, model in models.items():
        y_m = label(model)
        x_adv = shared if shared is not None else run(model, x, y_m, s)
        p0, p1 = probs(model, x)[0], probs(model, x_adv)[0]
        pred0, pred1 = int(p0.argmax()), int(p1.argmax())
        success = pred1 == s.target if s.targeted else pred1 != int(y_m[0])
        d = (x_adv - x.to(x_adv.device)).cpu()
        r = {"x_adv": x_adv.cpu()[0], "delta": d[0], "p_clean": p0, "p_adv": p1, "pred_clean": pred0,
             "pred_adv": pred1, "success": bool(success), "clean_correct": y is None or pred0 == int(y[0]), "linf255": d.abs().max().item() * 255,
             "l2": d.flatten().norm().item()}
        if with_probe:
            r["energy"] = probe.layer_energy(model, x, x_adv)
            r["spatial"] = probe.spatial_energy(model, x, x_adv)
            r["pooling"] = probe.pooling_report(model, x, x_adv)
        out[name] = r
    return out


def verdict(r: dict) -> str:
    """One word for an attack-lab result."""
    if not r["clean_correct"]:
        return "already wrong"
    return "fooled" if r["success"] else "held"


def minimal_eps(models: dict, x, y, seed=0) -> dict[str, float]:
    """Smallest L-inf budget (in /255) at which PGD-10 flips each model's prediction of one image
    (its own clean prediction when ``y`` is None)."""
    out = {}
    for n, m in models.items():
        y_m = probs(m, x).argmax(1) if y is None else y
        out[n] = A.min_epsilon(m, x, y_m, generator=torch.Generator().manual_seed(seed))[0].item() * 255
    return out


def run_card(settings: AttackSettings, names, image_label: str, x, results: dict, device: str) -> dict:
    """Everything needed to reproduce an attack-lab result: settings, hashes, versions, device."""
    import platform
    import sys

    import streamlit

    from . import __version__
    from .zoo import get_checkpoint

    return {
        "settings": settings.to_dict(),
        "image": {"source": image_label,
                  "sha256_of_pixels": hashlib.sha256(x.detach().cpu().float().numpy().tobytes()).hexdigest()},
        "checkpoints": {n: get_checkpoint(n).meta["sha256"] for n in names},
        "results": {n: {k: r[k] for k in ("pred_clean", "pred_adv", "success", "clean_correct", "linf255", "l2")}
                    for n, r in results.items()},
        "device": device,
        "versions": {"rcm_demo": __version__, "torch": torch.__version__, "streamlit": streamlit.__version__,
                     "python": sys.version.split()[0], "platform": platform.platform()},
    }


def eps_layer_matrix(model, x, y, s: AttackSettings, eps255=(1, 2, 4, 8, 12, 16)) -> dict:
    """Relative energy per layer (columns) for a range of L-inf budgets (rows)."""
    rows = []
    for e in eps255:
        s_e = AttackSettings(**{**asdict(s), "attack": "PGD-L∞" if s.norm == "l2" else s.attack, "eps_input": e,
                                "alpha_input": default_alpha(e, 10), "steps": 10})
        x_adv = run(model, x, y, s_e)
        energy = probe.layer_energy(model, x, x_adv)
        rows.append([energy[k]["relative"] for k in probe.PROFILE])
    return {"eps255": list(eps255), "layers": list(probe.PROFILE), "values": rows}


def robustness_curves(models: dict, x, y, eps255, attack="PGD-L∞", steps=10, seed=0, progress=None):
    """Accuracy (fraction) per model and budget on the images (x, y); ``progress(frac)`` reports."""
    check_models(models)
    _check(1 <= len(y) <= LIMITS["images"], f"use between 1 and {LIMITS['images']} images")
    eps255 = list(eps255)
    _check(1 <= len(eps255) <= LIMITS["curve_points"], f"at most {LIMITS['curve_points']} ε values")
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
    return {"eps255": eps255, "accuracy": acc}


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


def zoo_pooling(models: dict, x, y, eps255=8.0, steps=10, seed=0) -> list[dict]:
    """Pooling report of every model on its own PGD perturbation of the images."""
    s = pgd_settings(eps255, steps, seed)
    out = []
    for name, model in models.items():
        out.append({"checkpoint": name, **probe.pooling_report(model, x, run(model, x, y, s))})
    return out
