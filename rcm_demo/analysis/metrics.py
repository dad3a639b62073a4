"""Cost and accuracy measurements: parameters, multiply-adds, map sizes, (robust) accuracy.

All functions leave the model as they found it (hooks are removed in ``finally``).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from ..attacks import predict
from ..hardware import autocast_for, model_device


@torch.no_grad()
def stage_shapes(model: nn.Module, size: int = 32) -> dict[str, tuple[int, ...]]:
    """Output shape (C, H, W) or (D,) of every named stage for one 32x32 input."""
    from .probe import capture, stage_names

    names = stage_names(model)
    x = torch.zeros(1, 3, size, size, device=model_device(model))
    with capture(model, names) as feats:
        model(x)
    return {k: tuple(v.shape[1:]) for k, v in feats.items()}


def accuracy(model, x, y, precision="auto", batch_size=500) -> float:
    if len(y) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    pred = predict(model, x, precision, batch_size).argmax(1).cpu()
    return (pred == y.cpu()).float().mean().item()


def robust_correct(model, x, y, attack, batch_size=250, progress=None, **settings) -> torch.Tensor:
    """Per-image correctness (bool, CPU) on ``attack(model, x_batch, y_batch, **settings)``, batch by batch.

    ``progress(n)`` is called with the size of every finished batch (for progress bars).
    """
    correct = []
    for i in range(0, len(y), batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        x_adv = attack(model, xb, yb, **settings)
        correct.append(predict(model, x_adv).argmax(1).cpu() == yb.cpu())
        if progress is not None:
            progress(len(yb))
    return torch.cat(correct)


def robust_accuracy(model, x, y, attack, batch_size=250, progress=None, **settings) -> float:
    """Accuracy on ``attack(model, x_batch, y_batch, **settings)``."""
    return robust_correct(model, x, y, attack, batch_size, progress, **settings).float().mean().item()


def latency_table(models: dict, batch: int = 1, rounds: int = 15, precision="fp32") -> dict[str, dict]:
    """Forward latency of several models measured *interleaved* (A, B, C, A, B, C, ...), so a busy
    moment on the machine hits every model alike. Per model: median and interquartile range in ms."""
    first = next(iter(models.values()))
    device = model_device(first)
    x = torch.rand(batch, 3, 32, 32, device=device)
    times = {k: [] for k in models}
    with torch.no_grad(), autocast_for(device, precision):
        for m in models.values():  # warm-up
            m(x)
        for _ in range(rounds):
            for k, m in models.items():
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t = time.perf_counter()
                m(x)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times[k].append(1000 * (time.perf_counter() - t))
    out = {}
    for k, ts in times.items():
        ts = sorted(ts)
        out[k] = {
            "median_ms": ts[len(ts) // 2],
            "q1_ms": ts[len(ts) // 4],
            "q3_ms": ts[(3 * len(ts)) // 4],
            "rounds": rounds,
        }
    return out
