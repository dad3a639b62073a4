"""The computations behind the app's pages, free of Streamlit so tests and benchmarks call them directly.

    s = AttackSettings(attack="PGD-L∞", eps_input=8, steps=10)   # eps in UI units (k/255 for L∞)
    results = attack_models(models, x, y, s)                      # one image, several models
    curves = robustness_curves(models, x, y, eps255=[0, 2, 4, 8])

Every request is bounded by ``rcm_demo.limits``, whatever the widgets allow.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import sys
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .. import __version__
from .. import attacks as A
from .. import limits as L
from ..data import CLASSES
from ..zoo import get_checkpoint
from . import probe

try:  # read once at import: importlib.metadata lookups from many threads at once were seen to fail
    STREAMLIT_VERSION = importlib.metadata.version("streamlit")
except importlib.metadata.PackageNotFoundError:
    STREAMLIT_VERSION = "not installed"
SMALL_BATCH = 16  # attacks on at most this many images run in fp32 (see ``run``)
MIN_EPS_ATTACKS = ("PGD-L∞", "CW-L∞")  # attacks offered for the minimal-budget bisection
MIN_EPS_STEPS = (10, 50, 100)


def _check(ok: bool, msg: str):
    if not ok:
        raise ValueError(msg)


@dataclass(frozen=True)
class AttackSettings:
    """An attack request in UI units (L∞ budgets in k/255, L2 as the radius); ``alpha_input=None``
    means the default rule ``limits.default_alpha``."""

    attack: str = "PGD-L∞"
    eps_input: float = L.EPS["linf"].default
    steps: int = L.STEPS.default
    alpha_input: float | None = None
    targeted: bool = False
    target: int = 0
    seed: int = 0

    def __post_init__(self):
        entry = A.get_attack(self.attack)
        L.EPS[entry.norm].check(self.eps_input, "ε")
        if self.alpha_input is not None:
            L.ALPHA[entry.norm].check(self.alpha_input, "the step size")
        L.STEPS.check(self.steps, "steps")
        L.SEED.check(self.seed, "the seed")
        _check(0 <= self.target < len(CLASSES), "the target class must be one of the ten CIFAR-10 classes")
        _check(not self.targeted or entry.targetable, f"{self.attack} is untargeted here")

    @property
    def entry(self) -> A.Attack:
        return A.ATTACKS[self.attack]

    @property
    def norm(self) -> str:
        return self.entry.norm

    @property
    def eps(self) -> float:
        return L.to_code(self.norm, self.eps_input)

    @property
    def alpha(self) -> float:
        if self.alpha_input is None:
            return L.default_alpha(self.eps, self.steps)
        return L.to_code(self.norm, self.alpha_input)

    def describe(self) -> str:
        """One line for captions: only what this attack uses."""
        text = f"{self.attack}, ε = {L.fmt_budget(self.norm, self.eps)}"
        if self.entry.iterative:
            text += f", {self.steps} steps of {L.fmt_budget(self.norm, self.alpha)}"
        return text + (f", target {CLASSES[self.target]}" if self.targeted else "") + f", seed {self.seed}"

    def to_dict(self) -> dict:
        """For run cards: the attack's own settings (no steps or step size for one-step attacks)."""
        out = self.entry.settings(
            self.eps, self.steps if self.entry.iterative else None, self.alpha if self.entry.iterative else None
        )
        return out | {
            "eps_ui": self.eps_input,
            "targeted": self.targeted,
            "seed": self.seed,
            **({"target": self.target, "target_class": CLASSES[self.target]} if self.targeted else {}),
        }


def pgd_settings(eps255: float, steps: int = 10, seed: int = 0, attack: str = "PGD-L∞") -> AttackSettings:
    """An L-inf attack at ``eps255``/255 with the default step size: the setting of every sweep."""
    return AttackSettings(attack=attack, eps_input=eps255, steps=steps, seed=seed)


def check_models(names) -> list[str]:
    names = list(names)
    L.MODELS.check(len(names), "the number of models")
    return names


def run(model, x, y, s: AttackSettings) -> torch.Tensor:
    """The attack of ``s`` on ``model``; for targeted attacks ``y`` is replaced by the target."""
    labels = torch.full_like(y, s.target) if s.targeted else y
    g = torch.Generator().manual_seed(s.seed)
    # bf16 autocast pays off for batches; for a handful of images its casts cost more than they save
    # (bench/interaction_latency.py), and fp32 is exact.
    precision = "fp32" if x.shape[0] <= SMALL_BATCH else "auto"
    return s.entry(
        model, x, labels, eps=s.eps, alpha=s.alpha, steps=s.steps, targeted=s.targeted, generator=g, precision=precision
    )


@torch.no_grad()
def probs(model, x) -> torch.Tensor:
    return F.softmax(A.predict(model, x), dim=1).cpu()


@torch.no_grad()
def clean_correct(model, x, y, batch_size=500) -> torch.Tensor:
    """(N,) bool on the CPU: which images the model classifies correctly."""
    return A.predict(model, x, batch_size=batch_size).argmax(1).cpu() == y.cpu()


def first_correct(all_correct, n: int, after: int = -1, block: int = 64) -> int | None:
    """Index of the first of ``n`` images after ``after`` (wrapping around) that every model classifies
    correctly; None if there is none. ``all_correct(b)`` gives, for the images b·block … b·block+block−1,
    whether every model is right (computed on demand: the usual answer costs one block)."""
    blocks: dict[int, torch.Tensor] = {}
    for k in range(n):
        i = (after + 1 + k) % n
        b = i // block
        if b not in blocks:
            blocks[b] = torch.as_tensor(all_correct(b), dtype=torch.bool)
        if blocks[b][i - b * block]:
            return i
    return None


def attack_flips(model, x, y, s: AttackSettings) -> torch.Tensor:
    """(N,) bool on the CPU: the model is wrong on the attacked image (including images already wrong)."""
    return ~clean_correct(model, run(model, x, y, s), y)


def disagreements(held: list[torch.Tensor]) -> list[int]:
    """Indices where some models hold and others do not (``held``: one (N,) bool tensor per model)."""
    h = torch.stack(held)
    return [int(i) for i in (h.any(0) & ~h.all(0)).nonzero().flatten()]


def attack_models(
    models: dict, x, y, s: AttackSettings, shared_from: str | None = None, with_probe: bool = True
) -> dict[str, dict]:
    """Attack one image (x: (1, 3, 32, 32)) on every model; with ``shared_from`` the perturbation is
    crafted once on that model and applied unchanged to all (architecture vs. attacker).
    ``y=None`` (an upload without a label) attacks each model's own clean prediction."""
    check_models(models)
    seen = {name: observe(model, x) for name, model in models.items()}  # the clean passes, once per model
    labels = {name: p0.argmax(1) if y is None else y for name, (_, p0) in seen.items()}
    shared = run(models[shared_from], x, labels[shared_from], s) if shared_from else None
    out = {}
    for name, model in models.items():
        (clean, p0), y_m = seen[name], labels[name]
        x_adv = shared if shared is not None else run(model, x, y_m, s)
        adv, p1 = observe(model, x_adv)
        probed = probe.probe_from(clean, adv, x, x_adv)[0] if with_probe else None
        out[name] = _result(x, y, y_m, x_adv, s, p0[0], p1[0], probed)
    return out


def observe(model, x):
    """One fp32 forward pass with the probe's taps: (features, class probabilities on the CPU). The
    Attack lab's probabilities and its probes come from the same two passes (clean, adversarial)."""
    feats = probe.features(model, x, probe.PROBE_TAPS)
    return feats, F.softmax(feats["logits"], dim=1).cpu()


def _attack_labels(y_m, s: AttackSettings):
    return torch.full_like(y_m, s.target) if s.targeted else y_m


def _result(x, y, y_m, x_adv, s: AttackSettings, p0, p1, probed: dict | None = None) -> dict:
    """What the Attack lab shows for one image and one model."""
    pred0, pred1 = int(p0.argmax()), int(p1.argmax())
    success = pred1 == s.target if s.targeted else pred1 != int(y_m[0])
    d = (x_adv - x.to(x_adv.device)).cpu()
    r = {
        "x_adv": x_adv.cpu()[0],
        "delta": d[0],
        "p_clean": p0,
        "p_adv": p1,
        "pred_clean": pred0,
        "pred_adv": pred1,
        "success": bool(success),
        "clean_correct": y is None or pred0 == int(y[0]),
        "linf255": d.abs().max().item() * 255,
        "l2": d.flatten().norm().item(),
    }
    if probed is not None:
        r.update(probed)
    return r


def attack_batch(model, xs: list, ys: list, settings: list[AttackSettings]) -> list[dict]:
    """Several requests (one image each) with the same attack settings but their own seeds, on one
    model, as one batched attack: each request gets its own random start (from its own seed), so its
    result is what ``attack_models`` gives for it alone, up to the floating-point effect of the batch
    size on the model's convolutions. Runs in fp32. Returns one result dict per request."""
    s0 = settings[0]
    if any(replace(s, seed=0) != replace(s0, seed=0) for s in settings):
        raise ValueError("a batch shares one attack setting (all but the seed)")
    x = torch.cat(xs).float()
    clean, p0 = observe(model, x)
    y_m = torch.cat([p0[i : i + 1].argmax(1) if y is None else y for i, y in enumerate(ys)])
    labels = _attack_labels(y_m, s0)
    entry = s0.entry
    if entry.batchable:
        eps_t = torch.full((1, 1, 1, 1), s0.eps)
        init = torch.cat(
            [
                A.start_delta(
                    xi.shape, eps_t.expand(xi.shape[0], 1, 1, 1), s0.norm, True, torch.Generator().manual_seed(s.seed)
                )
                for xi, s in zip(xs, settings)
            ]
        )
        x_adv = entry(
            model,
            x,
            labels,
            eps=s0.eps,
            alpha=s0.alpha,
            steps=s0.steps,
            targeted=s0.targeted,
            precision="fp32",
            init=init,
        )
    else:  # one-step or black-box attacks: one request at a time, exactly as alone
        x_adv = torch.cat([run(model, xi, y_m[i : i + 1], s) for i, (xi, s) in enumerate(zip(xs, settings))])
    adv, p1 = observe(model, x_adv)
    probed = probe.probe_from(clean, adv, x, x_adv)
    return [
        _result(x[i : i + 1], ys[i], y_m[i : i + 1], x_adv[i : i + 1], s0, p0[i], p1[i], probed[i])
        for i in range(x.shape[0])
    ]


def verdict(r: dict) -> str:
    """One word for an attack-lab result."""
    if not r["clean_correct"]:
        return "already wrong"
    return "fooled" if r["success"] else "held"


def minimal_eps(models: dict, x, y, seed=0, attack="PGD-L∞", steps=10) -> dict[str, float]:
    """Upper bound (in /255) on the smallest L-inf budget that flips each model's prediction of one
    image, found by bisection with ``attack`` at ``steps`` steps (its own clean prediction when ``y`` is
    None). A stronger attack can only lower it."""
    L.STEPS.check(steps, "steps")
    out = {}
    for n, m in models.items():
        y_m = probs(m, x).argmax(1) if y is None else y
        e = A.min_epsilon(m, x, y_m, attack=attack, steps=steps, generator=torch.Generator().manual_seed(seed))
        out[n] = L.to_ui("linf", e[0].item())
    return out


def run_card(settings: AttackSettings, names, image_label: str, x, results: dict, device: str) -> dict:
    """Everything needed to reproduce an attack-lab result: settings, hashes, versions, device."""
    return {
        "settings": settings.to_dict(),
        "image": {
            "source": image_label,
            "sha256_of_pixels": hashlib.sha256(x.detach().cpu().float().numpy().tobytes()).hexdigest(),
        },
        "checkpoints": {n: get_checkpoint(n).meta["sha256"] for n in names},
        "results": {
            n: {k: r[k] for k in ("pred_clean", "pred_adv", "success", "clean_correct", "linf255", "l2")}
            for n, r in results.items()
        },
        "device": device,
        "versions": {
            "rcm_demo": __version__,
            "torch": torch.__version__,
            "streamlit": STREAMLIT_VERSION,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
    }
