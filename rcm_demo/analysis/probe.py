"""Look inside a model: where is an input perturbation amplified, and where is it damped?

    with capture(model, ["layer4", "pool"]) as feats:   # forward hooks, removed in ``finally``
        model(x)
    feats["layer4"]                                     # (N, C, H, W), detached

    layer_energy(model, x, x_adv)     # relative and absolute ||f(x+d) - f(x)|| per stage
    spatial_energy(model, x, x_adv)   # per-layer (H, W) maps of ||dZ|| over channels
    pooling_report(model, x, x_adv)   # avg vs max pooling of the *same* pre-pool maps

Nothing here changes the model: no mode switch, no pool swap, no hook left behind.
"""

from __future__ import annotations

import contextlib
import math
import threading

import torch
from torch import nn

from ..hardware import autocast_for, model_device
from ..models import TAPS


def stage_names(model: nn.Module) -> list[str]:
    """The tap points this model has, in forward order."""
    have = dict(model.named_children())
    return [t for t in TAPS if t in have]


@contextlib.contextmanager
def capture(model: nn.Module, names):
    """Record the (detached, fp32) outputs of the named child modules during forward passes.

    Only forward passes of the thread that opened the capture are recorded: the app shares cached
    models between sessions (threads), and without this filter one session would read another's
    activations through the shared hooks."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"no stage(s) {missing} in this model; it has {stage_names(model)}")
    feats: dict[str, torch.Tensor] = {}
    handles = []

    owner = threading.get_ident()

    def hook_for(name):
        def hook(_m, _inp, out):
            if threading.get_ident() == owner:
                feats[name] = out.detach().float()

        return hook

    try:
        for n in names:
            handles.append(modules[n].register_forward_hook(hook_for(n)))
        yield feats
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def features(model, x, names=None, precision="fp32") -> dict[str, torch.Tensor]:
    names = list(names or stage_names(model))
    device = model_device(model)
    with capture(model, names) as feats, autocast_for(device, precision):
        feats["logits"] = model(x.to(device)).float()
    return dict(feats)


# Energy profile: stem -> layer1..4 -> pool -> logits (normalize/upsample are affine in x).
PROFILE = ("stem", "layer1", "layer2", "layer3", "layer4", "pool", "logits")


def _norms(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1)


def layer_energy(model, x, x_adv, precision="fp32") -> dict[str, dict[str, float]]:
    """Per stage: relative ||f(x_adv) - f(x)|| / ||f(x)|| and absolute ||f(x_adv) - f(x)||,
    each averaged over the batch. Also the input itself under the key ``input``."""
    names = [n for n in PROFILE if n != "logits"]
    clean, adv = features(model, x, names, precision), features(model, x_adv, names, precision)
    return energy_from(clean, adv, x, x_adv)


def energy_from(clean: dict, adv: dict, x, x_adv) -> dict[str, dict[str, float]]:
    """``layer_energy`` from features already captured (``features`` of x and of x_adv)."""
    d_in = _norms(x_adv.cpu() - x.cpu())
    out = {
        "input": {"relative": (d_in / _norms(x.cpu()).clamp_min(1e-12)).mean().item(), "absolute": d_in.mean().item()}
    }
    for n in PROFILE:
        diff = _norms(adv[n] - clean[n])
        out[n] = {"relative": (diff / _norms(clean[n]).clamp_min(1e-12)).mean().item(), "absolute": diff.mean().item()}
    return out


def spatial_energy(
    model, x, x_adv, names=("stem", "layer1", "layer2", "layer3", "layer4"), precision="fp32"
) -> dict[str, torch.Tensor]:
    """Per stage an (H, W) map at its native resolution: ||dZ[:, :, h, w]||_2 over channels,
    relative to the mean clean activation norm of that stage, averaged over the batch."""
    clean, adv = features(model, x, names, precision), features(model, x_adv, names, precision)
    return spatial_from(clean, adv, names)


SPATIAL = ("stem", "layer1", "layer2", "layer3", "layer4")


def spatial_from(clean: dict, adv: dict, names=SPATIAL) -> dict[str, torch.Tensor]:
    """``spatial_energy`` from features already captured."""
    maps = {}
    for n in names:
        d = (adv[n] - clean[n]).norm(dim=1)  # (N, H, W)
        ref = clean[n].norm(dim=1).mean(dim=(1, 2)).clamp_min(1e-12)  # (N,)
        maps[n] = (d / ref[:, None, None]).mean(0).cpu()
    return maps


def pool_pair(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Average and max pooling of the same (N, C, H, W) maps -> two (N, C) tensors."""
    return z.mean(dim=(2, 3)), z.amax(dim=(2, 3))


def pooling_stats(z: torch.Tensor, z_adv: torch.Tensor) -> dict[str, float]:
    """Avg vs max pooling of the same pre-pool maps under the change dZ = z_adv - z.

    ratio_avg = ||avg(z_adv) - avg(z)|| / ||dZ||_F, to be compared with the bound 1/sqrt(H*W)
    (equality for a spatially uniform dZ); ratio_max likewise for max pooling, whose only bound is
    ||dZ_c||_inf per channel. flip_rate is the share of channels whose arg-max position moved.
    """
    n, c, h, w = z.shape
    dz = _norms(z_adv - z).clamp_min(1e-12)
    avg, mx = pool_pair(z)
    avg_a, mx_a = pool_pair(z_adv)
    flips = (z.flatten(2).argmax(2) != z_adv.flatten(2).argmax(2)).float().mean()
    return {
        "H": h,
        "W": w,
        "bound_avg": 1 / math.sqrt(h * w),
        "ratio_avg": (_norms(avg_a - avg) / dz).mean().item(),
        "ratio_max": (_norms(mx_a - mx) / dz).mean().item(),
        "delta_avg": _norms(avg_a - avg).mean().item(),
        "delta_max": _norms(mx_a - mx).mean().item(),
        "delta_map": dz.mean().item(),
        "argmax_flip_rate": flips.item(),
    }


PROBE_TAPS = tuple(n for n in PROFILE if n != "logits")  # what probe_from needs (features adds the logits)


def probe_all(model, x, x_adv, precision="fp32") -> list[dict]:
    """Energy, spatial maps and pooling report *per image* of a batch, from one pair of forward passes
    (what the Attack lab shows for each image; the worker uses it for a batch of sessions' images)."""
    clean, adv = features(model, x, PROBE_TAPS, precision), features(model, x_adv, PROBE_TAPS, precision)
    return probe_from(clean, adv, x, x_adv)


def probe_from(clean: dict, adv: dict, x, x_adv) -> list[dict]:
    """``probe_all`` from features already captured (``features(model, ·, PROBE_TAPS)`` of x and of
    x_adv): the Attack lab takes its probabilities from the same passes' logits."""
    out = []
    for i in range(x.shape[0]):
        c = {k: v[i : i + 1] for k, v in clean.items()}
        a = {k: v[i : i + 1] for k, v in adv.items()}
        out.append(
            {
                "energy": energy_from(c, a, x[i : i + 1], x_adv[i : i + 1]),
                "spatial": spatial_from(c, a),
                "pooling": pooling_stats(c["layer4"], a["layer4"]),
            }
        )
    return out


def pooling_report(model, x, x_adv, precision="fp32") -> dict[str, float]:
    """``pooling_stats`` on the model's real pre-pool maps (the output of ``layer4``)."""
    clean, adv = features(model, x, ["layer4"], precision), features(model, x_adv, ["layer4"], precision)
    return pooling_stats(clean["layer4"], adv["layer4"])


SYNTHETIC_KINDS = {
    "noise": "independent at every position (what an incoherent perturbation looks like)",
    "uniform": "the same at every position (fully coherent: the bound's tight case)",
    "blob": "only at the centre position",
}


def synthetic_pooling(
    h: int, w: int, kind: str = "noise", channels: int = 64, n: int = 32, strength: float = 0.1, seed: int = 0
) -> dict[str, float]:
    """Avg vs max pooling of synthetic maps: ReLU'd Gaussian maps Z (N, C, H, W) plus a perturbation
    whose size *per position* is fixed, as a fixed input δ produces on a larger map.

    Each perturbed position gets a channel vector of RMS ``strength`` (the clean activations have
    RMS ~0.58), so ``per_position`` = strength·sqrt(C) is the same for every map size. Reported:
    ``pooled_avg``/``pooled_max`` = ‖Δ pooled‖ / per_position (the scale of the argument: average
    pooling shrinks like 1/sqrt(HW) for ``noise``, max pooling does not shrink), and the ratios to
    ‖ΔZ‖_F of ``pooling_stats`` (the normalised view, where both fall; see SYNTHETIC_KINDS)."""
    if not (1 <= h <= 64 and 1 <= w <= 64):
        raise ValueError("map sides must be between 1 and 64")
    if kind not in SYNTHETIC_KINDS:
        raise ValueError(f"kind must be one of {list(SYNTHETIC_KINDS)}")
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, channels, h, w, generator=g).relu()
    if kind == "noise":
        d = torch.randn(n, channels, h, w, generator=g)
    elif kind == "uniform":
        d = torch.randn(n, channels, 1, 1, generator=g).expand(n, channels, h, w)
    else:
        d = torch.zeros(n, channels, h, w)
        d[:, :, h // 2, w // 2] = torch.randn(n, channels, generator=g)
    # Fix the size per perturbed position exactly: each (sample, position) channel vector has norm
    # strength * sqrt(C) (drawn directions, fixed lengths), so only the map size changes between rows.
    per_position = strength * math.sqrt(channels)
    d = d / d.norm(dim=1, keepdim=True).clamp_min(1e-12) * per_position
    stats = pooling_stats(z, z + d)
    stats["per_position"] = per_position
    stats["pooled_avg"] = stats["delta_avg"] / per_position
    stats["pooled_max"] = stats["delta_max"] / per_position
    return stats
