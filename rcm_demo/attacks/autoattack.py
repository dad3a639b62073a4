"""The AutoAttack adapter: pyautoattack's standard ensemble or a subset (APGD-CE, APGD-T, FAB-T, Square),
under the package's contract."""

from __future__ import annotations

import logging

import torch
from torch import nn

from .. import limits as L
from ..hardware import autocast_for, model_device
from .projected import _l2, _validate

AA_ATTACKS = ("apgd-ce", "apgd-t", "fab-t", "square")


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
