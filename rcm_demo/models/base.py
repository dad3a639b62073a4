"""What every architecture shares: the registry ``ARCHS``, the tap points, the input normalisation and
upsampling, the global pool, BatchNorm folding, and ``FeatureMapNet``, whose ``forward`` is the story
of the enlarged map: normalize -> upsample -> stem -> layer1..layer4 -> pool -> fc."""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from ..data import CIFAR10_MEAN, CIFAR10_STD

NUM_CLASSES = 10


# Tap points shared by every architecture, in forward order.
TAPS = ("normalize", "upsample", "stem", "layer1", "layer2", "layer3", "layer4", "pool", "fc")


STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")


POOLS = ("avg", "max")


MODES = ("nearest", "bilinear", "bicubic")


ARCHS: dict[str, type] = {}  # name -> class(width=, strides=, scale=, mode=, pool=)


def register(name: str):
    """Class decorator: add an architecture to ``ARCHS`` under ``name``."""

    def add(cls):
        if name in ARCHS:
            raise ValueError(f"architecture {name!r} is registered twice")
        ARCHS[name] = cls
        return cls

    return add


class Normalize(nn.Module):
    """Per-channel standardisation (buffers, not parameters). The constants a checkpoint was trained with
    come from its card (``load_model`` sets them); CIFAR-10's are the default."""

    def __init__(self, mean=CIFAR10_MEAN, std=CIFAR10_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def set_constants(self, mean, std) -> None:
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"normalisation needs 3 means and 3 positive stds, got {mean} and {std}")
        self.mean = torch.tensor(mean, dtype=self.mean.dtype, device=self.mean.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=self.std.dtype, device=self.std.device).view(1, 3, 1, 1)

    def forward(self, x):
        return (x - self.mean) / self.std


class Upsample(nn.Module):
    """Parameter-free input upsampling; scale 1 is the identity."""

    def __init__(self, scale: int = 1, mode: str = "nearest"):
        super().__init__()
        self.scale, self.mode = int(scale), mode

    def forward(self, x):
        if self.scale == 1:
            return x
        kw = {} if self.mode == "nearest" else {"align_corners": False}
        return F.interpolate(x, scale_factor=self.scale, mode=self.mode, **kw)

    def extra_repr(self):
        return f"scale={self.scale}, mode={self.mode}"


class GlobalPool(nn.Module):
    """Global average or max pooling, (N, C, H, W) -> (N, C)."""

    def __init__(self, kind: str = "avg"):
        super().__init__()
        if kind not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {kind!r}")
        self.kind = kind

    def forward(self, z):
        return z.mean(dim=(2, 3)) if self.kind == "avg" else z.amax(dim=(2, 3))

    def extra_repr(self):
        return self.kind


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm that only normalises a convolution's output into that convolution, in
    place: the convolution gets the BN's scale and shift, the BN becomes ``nn.Identity``. The pairs are a
    ``Conv2d`` followed by a ``BatchNorm2d`` in an ``nn.Sequential``, and the ``FOLD`` pairs a block declares.
    Same function, fewer ops: PGD-10 on 10 images through the default trio 1.19–1.35× faster
    (``bench/attack_passes.py``); results equal up to float rounding (verdicts equal, a few percent of the
    adversarial pixels differ where a gradient's sign is near zero). Stage outputs (the taps) are unchanged."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        raise ValueError("fold BatchNorm only into an eval-mode model")
    for mod in list(model.modules()):
        for conv, bn in getattr(mod, "FOLD", ()):
            if isinstance(getattr(mod, bn), nn.BatchNorm2d):
                setattr(mod, conv, fuse_conv_bn_eval(getattr(mod, conv), getattr(mod, bn)))
                setattr(mod, bn, nn.Identity())
        if isinstance(mod, nn.Sequential):
            for i in range(len(mod) - 1):
                if isinstance(mod[i], nn.Conv2d) and isinstance(mod[i + 1], nn.BatchNorm2d):
                    mod[i], mod[i + 1] = fuse_conv_bn_eval(mod[i], mod[i + 1]), nn.Identity()
    return model


class FeatureMapNet(nn.Module):
    """normalize -> upsample -> stem -> layer1..layer4 -> pool -> fc.

    Subclasses fill in ``stem``, the four stages and (for an MLP head) ``fc``, and state their stride
    rule; the forward pass is shared so the tap points and the map sizes are the same story for every
    architecture.
    """

    STRIDE_DIGITS = 4  # how many stride digits the architecture takes
    BASELINE = "1222"  # the reference's default strides: the map every enlargement is compared with
    ENLARGED = "1122"  # the reference README's enlarged-map twin of BASELINE (the lab's stride pair)
    TITLE = "ResNet18"  # how reports name the network
    STRIDE_RULE = "four digits 1 or 2, one per stage (e.g. '1222', '1122')"
    TAP_NOTES: dict[str, str] = {}

    def __init__(self, scale, mode, pool, feat_dim):
        super().__init__()
        self.normalize = Normalize()
        self.upsample = Upsample(scale, mode)
        self.pool = GlobalPool(pool)
        self.fc = nn.Linear(feat_dim, NUM_CLASSES)

    @classmethod
    def strides_ok(cls, strides) -> bool:
        return isinstance(strides, str) and re.fullmatch(f"[12]{{{cls.STRIDE_DIGITS}}}", strides) is not None

    def features(self, x):
        x = self.normalize(x)  # (N, 3, 32, 32), standardised
        x = self.upsample(x)  # (N, 3, 32s, 32s): s = scale
        x = self.stem(x)  # (N, C0, H0, W0): the architecture's first stage
        x = self.layer1(x)  # each stage keeps or halves the map by its stride digit (TAP_NOTES)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)  # (N, C, H, W): the pre-pool map (4x4 for ResNet18 "1222"/x1, 8x8 for "1122" or x2)

    def forward(self, x):
        z = self.features(x)  # (N, C, H, W): the pre-pool map
        a = self.pool(z)  # (N, C): avg divides a perturbation's energy by ~sqrt(H*W); max does not
        return self.fc(a)  # (N, 10) logits

    def reference_keys(self) -> dict[str, str]:
        """Each state-dict key -> the reference code's key for the same tensor. Default (VGG, AlexNet): the
        stages concatenated are the reference's ``features`` Sequential, ``fc`` is its ``classifier``."""
        out, offset = {}, {}
        start = 0
        for stage in STAGES:
            offset[stage] = start
            start += len(getattr(self, stage))
        for key in self.state_dict():
            first, index, rest = key.split(".", 2)
            out[key] = (
                f"classifier.{index}.{rest}" if first == "fc" else f"features.{offset[first] + int(index)}.{rest}"
            )
        return out
