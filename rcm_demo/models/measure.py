"""What a model costs and how big its maps are: parameters, multiply-adds, and the size of the pre-pool
map. All functions leave the model as they found it (hooks removed in ``finally``)."""

from __future__ import annotations

import torch
from torch import nn

from ..hardware import model_device


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def pre_pool_hw(model: nn.Module, size: int = 32) -> tuple[int, int]:
    """(H, W) of the map the global pool reduces (``FeatureMapNet.features``), for one 32x32 input."""
    h, w = model.features(torch.zeros(1, 3, size, size, device=model_device(model))).shape[-2:]
    return h, w


@torch.no_grad()
def count_macs(model: nn.Module, size: int = 32) -> int:
    """Multiply-accumulates of one forward pass (convolutions and linear layers)."""
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    handles = []
    try:
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                handles.append(m.register_forward_hook(conv_hook))
            elif isinstance(m, nn.Linear):
                handles.append(m.register_forward_hook(linear_hook))
        model(torch.zeros(1, 3, size, size, device=model_device(model)))
    finally:
        for h in handles:
            h.remove()
    return total[0]
