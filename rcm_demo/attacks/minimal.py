"""The minimal flipping budget: bisection over L-inf epsilon with a registry attack (an upper bound)."""

from __future__ import annotations

import math

import torch

from .. import limits as L
from ..hardware import model_device
from .projected import predict
from .registry import ATTACKS


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
