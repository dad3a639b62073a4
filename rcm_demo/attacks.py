"""Adversarial attacks as plain functions.

Contract (every function here): ``x`` holds images in [0, 1]; the result is detached, in [0, 1] and
inside the epsilon-ball around ``x``; the model's mode, parameters, ``requires_grad`` flags and hooks
are exactly as before (nothing is switched, even temporarily, so cached models can be shared across
threads); randomness comes only from ``generator`` (``None`` means a fixed seed 0), drawn on the CPU so
a seed gives the same start on every device; work runs on the model's device.

``precision="auto"`` runs the model's forward/backward in bf16 autocast (CPU and CUDA) while delta,
the projection and the clamp stay in fp32; ``"fp32"`` is exact.

    pgd(model, x, y, eps=8/255, alpha=2/255, steps=10)        # L-inf PGD with a random start
    fgsm(model, x, y, eps=8/255)                               # one signed-gradient step
    autoattack(model, x, y, eps=8/255, attacks="standard")     # pyautoattack (Croce & Hein)
    min_epsilon(model, x, y)                                   # smallest flipping L-inf budget
"""
from __future__ import annotations

import contextlib
import logging
import math

import torch
import torch.nn.functional as F
from torch import nn

# Library-side limits (the UI states them; requests beyond them raise ValueError).
MAX_EPS = {"linf": 64 / 255, "l2": 10.0}
MAX_STEPS = 500
MAX_BATCH = 10_000
AA_ATTACKS = ("apgd-ce", "apgd-t", "fab-t", "square")


# ----------------------------------------------------------------------------- helpers
def model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def autocast_for(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "auto":
        raise ValueError(f"precision must be 'auto' or 'fp32', got {precision!r}")
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _validate(x, y, eps, steps, norm):
    if norm not in MAX_EPS:
        raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"x must be a batch of RGB images (N, 3, H, W), got shape {tuple(x.shape)}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    if x.shape[0] > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} images per call, got {x.shape[0]}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("x must hold images scaled to [0, 1]")
    e = torch.as_tensor(eps, dtype=torch.float32)
    if not torch.isfinite(e).all() or e.min() < 0 or e.max() > MAX_EPS[norm]:
        limit = f"{MAX_EPS[norm] * 255:.0f}/255" if norm == "linf" else f"{MAX_EPS[norm]}"
        raise ValueError(f"eps must be between 0 and {limit} for {norm}, got {eps}")
    if not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")


def _per_sample(v, n, device):
    """Scalar or (N,) budget -> (N, 1, 1, 1) fp32 tensor."""
    return torch.as_tensor(v, dtype=torch.float32, device=device).expand(n).reshape(n, 1, 1, 1)


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """max_{j != y} z_j - z_y per sample (positive iff misclassified): the CW loss."""
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).amax(1)
    return other - z_y


def _objective(logits, y, loss, targeted):
    """Per-batch scalar that the attack *ascends*."""
    logits = logits.float()
    if loss == "ce":
        ce = F.cross_entropy(logits, y, reduction="sum")
        return -ce if targeted else ce
    if loss == "cw":
        m = margin(logits, y)  # for targeted, y is the target: ascend z_t - max_{j!=t} z_j
        return (-m if targeted else m).sum()
    raise ValueError(f"loss must be 'ce' or 'cw', got {loss!r}")


def _l2(v):
    return v.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


# ----------------------------------------------------------------------------- PGD family
def pgd(model, x, y, *, eps, alpha=None, steps=10, norm="linf", loss="ce", random_start=True,
        targeted=False, generator=None, precision="auto"):
    """Projected gradient descent (Madry et al.). ``targeted=True`` reads ``y`` as the target classes.

    eps/alpha are on the [0, 1] pixel scale (8/255 ...); eps may be a scalar or one value per image.
    ``alpha`` defaults to 2.5 * eps / steps.
    """
    _validate(x, y, eps, steps, norm)
    device = model_device(model)
    x = x.detach().to(device, torch.float32)
    y = y.to(device)
    n = x.shape[0]
    eps_t = _per_sample(eps, n, device)
    alpha_t = 2.5 * eps_t / steps if alpha is None else _per_sample(alpha, n, device)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    if random_start:
        if norm == "linf":
            delta = (torch.rand(x.shape, generator=gen) * 2 - 1).to(device) * eps_t
        else:
            d = torch.randn(x.shape, generator=gen).to(device)
            r = torch.rand((n, 1, 1, 1), generator=gen).to(device)
            delta = d / _l2(d) * eps_t * r
        delta = (x + delta).clamp_(0, 1) - x
    else:
        delta = torch.zeros_like(x)
    for _ in range(int(steps)):
        delta.requires_grad_(True)
        with autocast_for(device, precision):
            logits = model(x + delta)
        (grad,) = torch.autograd.grad(_objective(logits, y, loss, targeted), delta)
        with torch.no_grad():
            if norm == "linf":
                delta = delta + alpha_t * grad.sign()
                delta = torch.minimum(torch.maximum(delta, -eps_t), eps_t)
            else:
                delta = delta + alpha_t * grad / _l2(grad)
                delta = delta * torch.clamp(eps_t / _l2(delta), max=1.0)
            delta = (x + delta).clamp_(0, 1) - x
    return (x + delta).clamp_(0, 1).detach()


def fgsm(model, x, y, *, eps, targeted=False, precision="auto"):
    """Fast gradient sign method: one L-inf step of size eps from x (Goodfellow et al.)."""
    return pgd(model, x, y, eps=eps, alpha=eps, steps=1, random_start=False, targeted=targeted,
               precision=precision)


def cw_linf(model, x, y, *, eps, alpha=None, steps=30, generator=None, targeted=False, precision="auto"):
    """CW-L-inf: PGD on the margin loss (as in the reference code's evaluation)."""
    return pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, loss="cw", generator=generator,
               targeted=targeted, precision=precision)


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


def autoattack(model, x, y, *, eps=8 / 255, norm="linf", attacks="standard", generator=None,
               precision="auto", batch_size=500, n_iter=100, n_queries=5000):
    """AutoAttack from the ``pyautoattack`` package: the standard ensemble or a subset of
    ``AA_ATTACKS`` (e.g. ``("apgd-ce",)`` for a quick look). Untargeted; ``y`` are true labels.
    ``n_iter`` (APGD/FAB iterations) and ``n_queries`` (Square) default to the standard version's."""
    from pyautoattack import AutoAttack

    _validate(x, y, eps, 1, norm)
    names = AA_ATTACKS if attacks == "standard" else tuple(attacks)
    unknown = set(names) - set(AA_ATTACKS)
    if unknown or not names:
        raise ValueError(f"AutoAttack attacks must be taken from {AA_ATTACKS}, got {attacks}")
    device = model_device(model)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item()) if generator is not None else 0
    logging.getLogger("auto-attack").setLevel(logging.WARNING)
    aa = AutoAttack(_Logits(model, precision), norm={"linf": "Linf", "l2": "L2"}[norm], eps=float(eps),
                    version="standard", device=device, seed=seed)
    aa.attacks_to_run = list(names)
    if not (1 <= n_iter <= 1000 and 1 <= n_queries <= 10_000):
        raise ValueError("n_iter must be in 1..1000 and n_queries in 1..10000")
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
            out.append(model(x[i:i + batch_size].to(device)).float())
    return torch.cat(out) if out else torch.empty(0, 10, device=device)


def min_epsilon(model, x, y, *, hi=32 / 255, iters=8, steps=10, generator=None, precision="auto"):
    """Smallest L-inf budget (per image) at which PGD-``steps`` flips the prediction, by bisection.

    Returns a (N,) tensor on the [0, 1] scale: 0 for images already misclassified, ``inf`` where
    even ``hi`` does not flip the image. Resolution is hi / 2**iters (1/255 for the defaults).
    """
    device = model_device(model)
    x, y = x.to(device), y.to(device)
    n = x.shape[0]
    wrong = predict(model, x, precision).argmax(1) != y
    lo = torch.zeros(n, device=device)
    up = torch.full((n,), float(hi), device=device)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    flips_at_hi = pgd(model, x, y, eps=hi, steps=steps, generator=gen, precision=precision)
    flipped = predict(model, flips_at_hi, precision).argmax(1) != y
    for _ in range(iters):
        mid = (lo + up) / 2
        x_adv = pgd(model, x, y, eps=mid, steps=steps, generator=gen, precision=precision)
        ok = predict(model, x_adv, precision).argmax(1) != y
        up = torch.where(ok, mid, up)
        lo = torch.where(ok, lo, mid)
    result = torch.where(flipped, up, torch.full_like(up, math.inf))
    return torch.where(wrong, torch.zeros_like(result), result).cpu()


# ----------------------------------------------------------------------------- UI table
def _aa_single(name):
    def run(model, x, y, *, eps, generator=None, precision="auto", n_iter=100, n_queries=5000, **_):
        return autoattack(model, x, y, eps=eps, attacks=(name,), generator=generator, precision=precision,
                          n_iter=n_iter, n_queries=n_queries)
    run.__name__ = f"autoattack_{name}"
    return run


def _pgd_ui(norm, loss):
    def run(model, x, y, *, eps, alpha=None, steps=10, targeted=False, generator=None, precision="auto", **_):
        return pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, norm=norm, loss=loss, targeted=targeted,
                   generator=generator, precision=precision)
    run.__name__ = f"pgd_{norm}_{loss}"
    return run


def _fgsm_ui(model, x, y, *, eps, targeted=False, precision="auto", **_):
    return fgsm(model, x, y, eps=eps, targeted=targeted, precision=precision)


def _aa_standard_ui(model, x, y, *, eps, generator=None, precision="auto", n_iter=100, n_queries=5000, **_):
    return autoattack(model, x, y, eps=eps, generator=generator, precision=precision, n_iter=n_iter,
                      n_queries=n_queries)


# Display name -> (callable, norm, uses steps/alpha, supports targeted). Every callable takes
# (model, x, y, *, eps, alpha, steps, targeted, generator, precision) and ignores what it does not use.
ATTACKS = {
    "FGSM": (_fgsm_ui, "linf", False, True),
    "PGD-L∞": (_pgd_ui("linf", "ce"), "linf", True, True),
    "PGD-L2": (_pgd_ui("l2", "ce"), "l2", True, True),
    "CW-L∞": (_pgd_ui("linf", "cw"), "linf", True, True),
    "APGD-CE": (_aa_single("apgd-ce"), "linf", False, False),
    "Square": (_aa_single("square"), "linf", False, False),
    "AutoAttack": (_aa_standard_ui, "linf", False, False),
}


def run_attack(name, model, x, y, **settings):
    """Look up ``name`` in ``ATTACKS`` and run it; unknown names raise ValueError."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; choose one of {list(ATTACKS)}")
    fn, norm, _, supports_targeted = ATTACKS[name]
    if settings.get("targeted") and not supports_targeted:
        raise ValueError(f"{name} is untargeted here; switch 'targeted' off or pick a PGD attack")
    return fn(model, x, y, **settings)
