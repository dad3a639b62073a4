"""Projected gradient descent and its one-step configurations (FGSM, N-FGSM, FGSM-RS, the TRADES inner
maximisation), and ``predict``. The contract they follow is in the package docstring."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import limits as L
from ..hardware import autocast_for, model_device


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


# ----------------------------------------------------------------------------- minimal epsilon
@torch.no_grad()
def predict(model, x, precision="auto", batch_size=1000):
    device = model_device(model)
    out = []
    for i in range(0, x.shape[0], batch_size):
        with autocast_for(device, precision):
            out.append(model(x[i : i + batch_size].to(device)).float())
    return torch.cat(out) if out else torch.empty(0, 10, device=device)
