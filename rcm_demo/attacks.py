"""Adversarial attacks as plain functions, and ``ATTACKS``: the one registry the UI, the evaluation CLI
and the run card read.

Contract (every function here): ``x`` holds images in [0, 1]; the result is detached, in [0, 1] and
inside the epsilon-ball around ``x``; the model's mode, parameters, ``requires_grad`` flags and hooks
are exactly as before (nothing is switched, even temporarily, so cached models can be shared across
threads); randomness comes only from ``generator`` (``None`` means a fixed seed 0), drawn on the CPU so
a seed gives the same start on every device; work runs on the model's device.

``precision="auto"`` runs the model's forward/backward in bf16 autocast (CUDA, and CPUs with AMX;
see ``cpu_fast_bf16``) while delta, the projection and the clamp stay in fp32; ``"fp32"`` is exact.

    pgd(model, x, y, eps=8/255, alpha=2/255, steps=10)        # L-inf PGD with a random start
    pgd(..., loss="cw") / pgd(..., loss="kl", random_start="normal")   # CW-L-inf / TRADES inner max
    fgsm(model, x, y, eps=8/255)                               # PGD with one step of size eps
    nfgsm(model, x, y, eps=8/255)          # N-FGSM (training): noise 2·eps, one step eps, 3·eps ball
    autoattack(model, x, y, eps=8/255, attacks="standard")     # pyautoattack (Croce & Hein)
    ATTACKS["PGD-L∞"](model, x, y, eps=8/255, steps=10)        # registry entry: same contract
    min_epsilon(model, x, y)                                   # smallest flipping L-inf budget found

Adding an attack = one function (or one ``pgd`` configuration) + one ``Attack`` line in ``ATTACKS``;
``tests/test_attacks.py`` walks the registry and checks the contract for every entry.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from . import limits as L

AA_ATTACKS = ("apgd-ce", "apgd-t", "fab-t", "square")


# ----------------------------------------------------------------------------- helpers
def model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@functools.cache
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            return frozenset(f.read().split())
    except OSError:
        return frozenset()


def cpu_fast_bf16() -> bool:
    """True when the CPU has AMX tiles for bf16 (Intel Sapphire Rapids and later), where bf16 autocast
    pays off. Measured without it: on a 2-core AVX2 EPYC, a width-16 ResNet18 forward pass on 500 images
    took 2.7 s under bf16 autocast against 0.4 s in fp32 (emulated bf16); on a 2-core Xeon with
    AVX512-BF16 but no AMX, PGD-10 on one image took 63 ms against 48 ms in fp32 and a training step was
    within 10% either way. So bf16 on the CPU only with AMX."""
    return "amx_bf16" in _cpu_flags()


def cpu_nhwc() -> bool:
    """True on CPUs with AVX-512, where oneDNN's channels_last (NHWC) convolutions are the fast path in
    fp32 too: measured on a 2-core Xeon, PGD-10 on 10 images took 178 vs 272 ms (4×4 baseline) and
    504 vs 675 ms (×2 upsampling) with the model loaded channels_last. Not used on AVX2 CPUs, where it
    was not measured for inference and fp32 training in channels_last crashed torch 2.14.1."""
    return "avx512f" in _cpu_flags()


def autocast_for(device: torch.device, precision: str):
    """``"auto"``: bf16 autocast on CUDA and on CPUs with AMX (``cpu_fast_bf16``), plain fp32 elsewhere;
    ``"fp32"``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "auto":
        raise ValueError(f"precision must be 'auto' or 'fp32', got {precision!r}")
    if device.type == "cpu" and not cpu_fast_bf16():
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def arithmetic(device, precision: str = "auto") -> str:
    """What ``autocast_for(device, precision)`` computes in, in words for cards: 'bf16 autocast' or 'fp32'."""
    plain = isinstance(autocast_for(torch.device(device), precision), contextlib.nullcontext)
    return "fp32" if plain else "bf16 autocast"


def _validate(x, y, eps, steps, norm):
    """The library-side checks every attack starts with (limits from ``rcm_demo.limits``)."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"x must be a batch of RGB images (N, 3, H, W), got shape {tuple(x.shape)}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    if x.shape[0] > L.MAX_BATCH:
        raise ValueError(f"at most {L.MAX_BATCH} images per call, got {x.shape[0]}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("x must hold images scaled to [0, 1]")
    L.check_eps(norm, torch.as_tensor(eps, dtype=torch.float32))
    L.STEPS.check(int(steps), "steps")


def _per_sample(v, n, device):
    """Scalar or (N,) budget -> (N, 1, 1, 1) fp32 tensor."""
    return torch.as_tensor(v, dtype=torch.float32, device=device).expand(n).reshape(n, 1, 1, 1)


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """max_{j != y} z_j - z_y per sample (positive iff misclassified): the CW loss."""
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).amax(1)
    return other - z_y


LOSSES = ("ce", "cw", "kl")


def _objective(logits, y, loss, targeted, p_clean=None):
    """Per-batch scalar that the attack *ascends*: cross-entropy, the CW margin, or (TRADES) the
    KL divergence from the clean prediction ``p_clean``."""
    logits = logits.float()
    if loss == "ce":
        ce = F.cross_entropy(logits, y, reduction="sum")
        return -ce if targeted else ce
    if loss == "cw":
        m = margin(logits, y)  # for targeted, y is the target: ascend z_t - max_{j!=t} z_j
        return (-m if targeted else m).sum()
    if loss == "kl":
        return F.kl_div(F.log_softmax(logits, dim=1), p_clean, reduction="sum")
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def _l2(v):
    return v.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


# ----------------------------------------------------------------------------- PGD family
def pgd(
    model,
    x,
    y,
    *,
    eps,
    alpha=None,
    steps=10,
    norm="linf",
    loss="ce",
    random_start=True,
    targeted=False,
    generator=None,
    precision="auto",
    init=None,
):
    """Projected gradient ascent on ``loss`` within the ``norm`` ball (Madry et al.).

    eps/alpha are on the [0, 1] pixel scale (8/255 ...); eps may be a scalar or one value per image;
    ``alpha`` defaults to ``limits.default_alpha`` (2.5·eps/steps, at most eps). ``targeted=True``
    reads ``y`` as the target classes. ``loss``: "ce", "cw" (margin: CW-L∞) or "kl" (TRADES: KL from
    the clean prediction; ``y`` is unused). ``random_start``: True (uniform in the ball), False (start
    at x: FGSM when steps=1 and alpha=eps) or "normal" (x + 0.001·N(0, 1), TRADES's start).
    ``init``: a starting δ (N, C, H, W) used instead of drawing one (``start_delta`` draws it; a batch
    of several requests concatenates their own starts, so each gets the start it would get alone).
    """
    _validate(x, y, eps, steps, norm)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    device = model_device(model)
    x = x.detach().to(device, torch.float32)
    y = y.to(device)
    n = x.shape[0]
    eps_t = _per_sample(eps, n, device)
    alpha_t = L.default_alpha(eps_t, steps) if alpha is None else _per_sample(alpha, n, device)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    p_clean = None
    if loss == "kl":
        with torch.no_grad(), autocast_for(device, precision):
            p_clean = F.softmax(model(x).float(), dim=1)
    if init is not None:
        if init.shape != x.shape:
            raise ValueError(f"init must have the shape of x {tuple(x.shape)}, got {tuple(init.shape)}")
        delta = init.detach().to(device, torch.float32)
    else:
        delta = start_delta(x.shape, eps_t, norm, random_start, gen).to(device)
    delta = _project(x, delta, eps_t, norm)
    for _ in range(int(steps)):
        delta.requires_grad_(True)
        with autocast_for(device, precision):
            logits = model(x + delta)
        (grad,) = torch.autograd.grad(_objective(logits, y, loss, targeted, p_clean), delta)
        with torch.no_grad():
            step = grad.sign() if norm == "linf" else grad / _l2(grad)
            delta = _project(x, delta + alpha_t * step, eps_t, norm)
    return (x + delta).clamp_(0, 1).detach()


def start_delta(shape, eps_t, norm="linf", random_start=True, generator=None) -> torch.Tensor:
    """PGD's starting δ on the CPU (then moved): uniform in the L∞ ball, uniform-radius in the L2 ball,
    0.001·N(0, 1) ("normal", TRADES) or zeros. ``eps_t``: (N, 1, 1, 1) budgets."""
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    eps_t = eps_t.detach().cpu().float()
    if random_start == "normal":
        return 0.001 * torch.randn(shape, generator=gen)
    if random_start and norm == "linf":
        return (torch.rand(shape, generator=gen) * 2 - 1) * eps_t
    if random_start:
        d = torch.randn(shape, generator=gen)
        r = torch.rand((shape[0], 1, 1, 1), generator=gen)
        return d / _l2(d) * eps_t * r
    return torch.zeros(shape)


def _project(x, delta, eps_t, norm):
    """Into the eps-ball around x, then into the [0, 1] image box."""
    with torch.no_grad():
        if norm == "linf":
            delta = torch.minimum(torch.maximum(delta, -eps_t), eps_t)
        else:
            delta = delta * torch.clamp(eps_t / _l2(delta), max=1.0)
        return (x + delta).clamp_(0, 1) - x


def fgsm(model, x, y, *, eps, targeted=False, generator=None, precision="auto"):
    """Fast gradient sign method (Goodfellow et al.): PGD with one step of size eps from x."""
    return pgd(
        model,
        x,
        y,
        eps=eps,
        alpha=eps,
        steps=1,
        random_start=False,
        targeted=targeted,
        generator=generator,
        precision=precision,
    )


def trades_adv(model, x, *, eps, alpha, steps, generator=None, precision="auto"):
    """TRADES inner maximisation (Zhang et al.): PGD on KL(f(x) || f(x')) from a tiny Gaussian start."""
    return pgd(
        model,
        x,
        torch.zeros(x.shape[0], dtype=torch.long),
        eps=eps,
        alpha=alpha,
        steps=steps,
        loss="kl",
        random_start="normal",
        generator=generator,
        precision=precision,
    )


def nfgsm(model, x, y, *, eps, noise=2.0, alpha=None, generator=None, precision="auto"):
    """N-FGSM (de Jorge et al., NeurIPS 2022), the fast adversarial-training attack: uniform noise in
    [-noise·eps, noise·eps], then one signed-gradient step of size ``alpha`` (default eps), with no
    projection back to the eps-ball. As a ``pgd`` configuration: one step inside the ball of radius
    noise·eps + alpha (so the projection only clamps to [0, 1]), started from that noise."""
    alpha = eps if alpha is None else alpha
    n = x.shape[0]
    init = start_delta(x.shape, _per_sample(noise * eps, n, "cpu"), "linf", True, generator)
    return pgd(
        model, x, y, eps=noise * eps + alpha, alpha=alpha, steps=1, init=init, generator=generator, precision=precision
    )


def fgsm_rs(model, x, y, *, eps, alpha=None, generator=None, precision="auto"):
    """FGSM with a random start (Wong et al., ICLR 2020): uniform start in the eps-ball, one step of
    size ``alpha`` (default 1.25·eps), projected back to the ball."""
    alpha = 1.25 * eps if alpha is None else alpha
    return pgd(model, x, y, eps=eps, alpha=alpha, steps=1, random_start=True, generator=generator, precision=precision)


# ----------------------------------------------------------------------------- AutoAttack
class _Logits(nn.Module):
    """Wraps a model for pyautoattack: autocast inside, fp32 logits out; never touches the model."""

    def __init__(self, model, precision):
        super().__init__()
        self.model, self.precision = model, precision
        self.device = model_device(model)

    def forward(self, x):
        with autocast_for(self.device, self.precision):
            return self.model(x.contiguous()).float()


def autoattack(
    model,
    x,
    y,
    *,
    eps=8 / 255,
    norm="linf",
    attacks="standard",
    generator=None,
    precision="auto",
    batch_size=500,
    n_iter=100,
    n_queries=5000,
):
    """AutoAttack from the ``pyautoattack`` package: the standard ensemble or a subset of
    ``AA_ATTACKS`` (e.g. ``("apgd-ce",)`` for a quick look). Untargeted; ``y`` are true labels.
    ``n_iter`` (APGD/FAB iterations) and ``n_queries`` (Square) default to the standard version's."""
    from pyautoattack import AutoAttack

    _validate(x, y, eps, 1, norm)
    L.AA_ITER.check(int(n_iter), "n_iter")
    L.AA_QUERIES.check(int(n_queries), "n_queries")
    names = AA_ATTACKS if attacks == "standard" else tuple(attacks)
    unknown = set(names) - set(AA_ATTACKS)
    if unknown or not names:
        raise ValueError(f"AutoAttack attacks must be taken from {AA_ATTACKS}, got {attacks}")
    device = model_device(model)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item()) if generator is not None else 0
    logging.getLogger("auto-attack").setLevel(logging.WARNING)
    aa = AutoAttack(
        _Logits(model, precision),
        norm={"linf": "Linf", "l2": "L2"}[norm],
        eps=float(eps),
        version="standard",
        device=device,
        seed=seed,
    )
    aa.attacks_to_run = list(names)
    aa.apgd.n_iter = aa.apgd_targeted.n_iter = aa.fab.n_iter = int(n_iter)
    aa.square.n_queries = int(n_queries)
    x = x.detach().to(device, torch.float32).contiguous()
    x_adv, _ = aa.run_standard_evaluation(x, y.to(device), batch_size=batch_size)
    # AutoAttack stays within eps up to rounding; enforce the contract exactly.
    x_adv = x_adv.to(device).float()
    if norm == "linf":
        x_adv = torch.minimum(torch.maximum(x_adv, x - eps), x + eps)
    else:
        d = x_adv - x
        x_adv = x + d * torch.clamp(eps / _l2(d), max=1.0)
    return x_adv.clamp_(0, 1).detach()


# ----------------------------------------------------------------------------- minimal epsilon
@torch.no_grad()
def predict(model, x, precision="auto", batch_size=1000):
    device = model_device(model)
    out = []
    for i in range(0, x.shape[0], batch_size):
        with autocast_for(device, precision):
            out.append(model(x[i : i + batch_size].to(device)).float())
    return torch.cat(out) if out else torch.empty(0, 10, device=device)


def min_epsilon(model, x, y, *, attack="PGD-L∞", steps=10, hi=None, iters=8, generator=None, precision="auto"):
    """An *upper bound* on the smallest L-inf budget (per image) that flips the prediction: bisection
    over eps with the registry attack ``attack`` at ``steps`` steps. A stronger attack can only lower
    it; a weak attack that fails says nothing about robustness.

    Returns a (N,) tensor on the [0, 1] scale: 0 for images already misclassified, ``inf`` where even
    ``hi`` (default: the largest budget in ``limits.EPS``) does not flip the image. Resolution is
    hi / 2**iters (1/255 for the defaults).
    """
    spec = ATTACKS[attack]
    if spec.norm != "linf":
        raise ValueError(f"the minimal budget is searched over L∞ budgets; {attack} is an {spec.norm} attack")
    hi = L.to_code("linf", L.EPS["linf"].hi) if hi is None else hi
    device = model_device(model)
    x, y = x.to(device), y.to(device)
    n = x.shape[0]
    wrong = predict(model, x, precision).argmax(1) != y
    lo = torch.zeros(n, device=device)
    up = torch.full((n,), float(hi), device=device)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)

    def flips(eps):
        x_adv = spec(model, x, y, eps=eps, steps=steps, generator=gen, precision=precision)
        return predict(model, x_adv, precision).argmax(1) != y

    flipped = flips(hi)
    for _ in range(iters):
        mid = (lo + up) / 2
        ok = flips(mid)
        up = torch.where(ok, mid, up)
        lo = torch.where(ok, lo, mid)
    result = torch.where(flipped, up, torch.full_like(up, math.inf))
    return torch.where(wrong, torch.zeros_like(result), result).cpu()


# ----------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Attack:
    """One registry entry: a function following the contract, plus what the UI and the CLI need to know.

    ``fn(model, x, y, *, eps, [alpha, steps,] [targeted,] generator, precision, **bound)``: alpha and
    steps are passed only to iterative attacks, ``targeted`` only to targetable ones.
    ``cost``: "fast" (well under a second per image on CPU) or "slow" (seconds to a minute)."""

    label: str
    fn: Callable
    norm: str = "linf"
    iterative: bool = True
    targetable: bool = True
    cost: str = "fast"
    bound: dict = field(default_factory=dict)  # fixed keyword arguments of this configuration

    @property
    def batchable(self) -> bool:
        """A ``pgd`` configuration: several requests can share one batched run (``init`` per request)."""
        return self.fn is pgd

    def __call__(
        self, model, x, y, *, eps, steps=None, alpha=None, targeted=False, generator=None, precision="auto", init=None
    ):
        if targeted and not self.targetable:
            raise ValueError(f"{self.label} is untargeted here; switch 'targeted' off or pick a PGD attack")
        kw = dict(self.bound, eps=eps, generator=generator, precision=precision)
        if init is not None:
            if not self.batchable:
                raise ValueError(f"{self.label} takes no starting point")
            kw["init"] = init
        if self.iterative:
            kw.update(steps=L.STEPS.default if steps is None else int(steps), alpha=alpha)
        if self.targetable:
            kw["targeted"] = bool(targeted)
        return self.fn(model, x, y, **kw)

    def settings(self, eps, steps=None, alpha=None) -> dict:
        """What a result card records: only the settings this attack uses."""
        out = {
            "attack": self.label,
            "norm": self.norm,
            "eps": eps,
            **{k: v for k, v in self.bound.items() if isinstance(v, (str, int, float, tuple))},
        }
        if self.iterative:
            s = L.STEPS.default if steps is None else int(steps)
            out.update(steps=s, alpha=L.default_alpha(eps, s) if alpha is None else alpha)
        return out


# Display name -> entry. The names appear in URLs and cards: keep them stable.
ATTACKS = {
    a.label: a
    for a in (
        Attack("FGSM", fgsm, iterative=False),
        Attack("PGD-L∞", pgd, bound={"norm": "linf", "loss": "ce"}),
        Attack("PGD-L2", pgd, norm="l2", bound={"norm": "l2", "loss": "ce"}),
        Attack("CW-L∞", pgd, bound={"norm": "linf", "loss": "cw"}),
        Attack("APGD-CE", autoattack, iterative=False, targetable=False, cost="slow", bound={"attacks": ("apgd-ce",)}),
        Attack("Square", autoattack, iterative=False, targetable=False, cost="slow", bound={"attacks": ("square",)}),
        Attack("AutoAttack", autoattack, iterative=False, targetable=False, cost="slow", bound={"attacks": "standard"}),
    )
}


def get_attack(name: str) -> Attack:
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; choose one of {list(ATTACKS)}")
    return ATTACKS[name]
