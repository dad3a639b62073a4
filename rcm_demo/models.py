"""CIFAR-10 architectures with the feature-map knobs of Xu et al. (arXiv 2202.12435).

Every model takes [0, 1] images of shape (N, 3, 32, 32), normalises them and (optionally)
upsamples them *inside* the model, so an attack budget always refers to the 32x32 image.
The knobs that change the size of the final feature map:

* ``strides``: one digit per stage ("1222" is the baseline, "1122" the enlarged map);
* ``scale``/``mode``: input upsampling after normalisation (scale 2, nearest, in the paper);
* ``pool``: global "avg" or "max" pooling before the linear head.

Stages are named modules so the probe can hook them: ``normalize``, ``upsample``, ``stem``,
``layer1`` ... ``layer4``, ``pool``, ``fc`` (``TAPS``).

Architectures are a registry: ``ARCHS`` maps a name to a class taking the keywords
``width, strides, scale, mode, pool``. Adding one is a class plus ``@register("name")``; the knobs
are validated once, by ``rcm_demo.zoo.ModelSpec``, which is how models are built:
``ModelSpec(arch="resnet18", strides="1122").build()``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2471, 0.2435, 0.2616)
NUM_CLASSES = 10

# Tap points shared by every architecture, in forward order.
TAPS = ("normalize", "upsample", "stem", "layer1", "layer2", "layer3", "layer4", "pool", "fc")
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
    """Per-channel standardisation with CIFAR-10 statistics (buffers, not parameters)."""

    def __init__(self, mean=CIFAR10_MEAN, std=CIFAR10_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

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


class BasicBlock(nn.Module):
    FOLD = (("conv1", "bn1"), ("conv2", "bn2"))  # (conv, the BatchNorm its output feeds alone): see fold_batchnorm

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class PreActBlock(nn.Module):
    FOLD = (("conv1", "bn2"),)  # bn1 acts on the block's input, not on a convolution's output

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


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

    Subclasses only fill in ``stem`` and the four stages; the forward pass is shared so the tap
    points and the map sizes are the same story for every architecture.
    """

    def __init__(self, scale, mode, pool, feat_dim):
        super().__init__()
        self.normalize = Normalize()
        self.upsample = Upsample(scale, mode)
        self.pool = GlobalPool(pool)
        self.fc = nn.Linear(feat_dim, NUM_CLASSES)

    def features(self, x):
        x = self.normalize(x)  # (N, 3, 32, 32), standardised
        x = self.upsample(x)  # (N, 3, 32s, 32s): s = scale
        x = self.stem(x)  # (N, w, 32s, 32s)
        x = self.layer1(x)  # (N, w, 32s/d1, ...): dk = product of the stride digits so far
        x = self.layer2(x)  # (N, 2w, 32s/(d1 d2), ...)
        x = self.layer3(x)  # (N, 4w, ...)
        return self.layer4(x)  # (N, 8w, H, W): 4x4 for "1222"/x1, 8x8 for "1122" or x2

    def forward(self, x):
        z = self.features(x)  # (N, C, H, W): the pre-pool map
        a = self.pool(z)  # (N, C): avg divides a perturbation's energy by ~sqrt(H*W); max does not
        return self.fc(a)  # (N, 10) logits


@register("resnet18")
class ResNet18(FeatureMapNet):
    """CIFAR ResNet18 (He et al.): 3x3 stem, four stages of two basic blocks; width 64 is the paper's."""

    def __init__(self, width=16, strides="1222", scale=1, mode="nearest", pool="avg", preact=False):
        super().__init__(scale, mode, pool, 8 * width)
        block = PreActBlock if preact else BasicBlock
        if preact:  # pre-activation nets normalise/activate inside the blocks
            self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        else:
            self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        cin = width
        for i, digit in enumerate(strides):
            cout = width * 2**i
            blocks = [block(cin, cout, int(digit)), block(cout, cout, 1)]
            if preact and i == 3:  # final BN-ReLU so the pooled map is post-activation
                blocks += [nn.BatchNorm2d(cout), nn.ReLU()]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = cout


@register("preactresnet18")
class PreActResNet18(ResNet18):
    """Pre-activation ResNet18 (He et al. 2016), the reference code's other backbone."""

    def __init__(self, width=16, strides="1222", scale=1, mode="nearest", pool="avg"):
        super().__init__(width, strides, scale, mode, pool, preact=True)


def _conv_bn_relu(cin, cout, k=3, p=1):
    return [nn.Conv2d(cin, cout, k, 1, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


@register("vgg")
class VGGNet(FeatureMapNet):
    """VGG-11-style: a stride digit 2 puts a 2x2 max-pool at the start of the stage, 1 removes it."""

    def __init__(self, width=16, strides="1222", scale=1, mode="nearest", pool="avg", convs=(1, 1, 2, 2)):
        super().__init__(scale, mode, pool, 8 * width)
        self.stem = nn.Sequential(*_conv_bn_relu(3, width))
        cin = width
        for i, (digit, n) in enumerate(zip(strides, convs)):
            cout = width * 2 ** min(i + 1, 3)
            layers = [nn.MaxPool2d(2)] if digit == "2" else []
            for _ in range(n):
                layers += _conv_bn_relu(cin, cout)
                cin = cout
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.fc = nn.Linear(cin, NUM_CLASSES)


@register("alexnet")
class AlexNetStyle(FeatureMapNet):
    """AlexNet-style: a 5x5 stem and one wide conv per stage; stride digits choose the max-pools."""

    def __init__(self, width=16, strides="1222", scale=1, mode="nearest", pool="avg"):
        super().__init__(scale, mode, pool, 4 * width)
        self.stem = nn.Sequential(*_conv_bn_relu(3, width, k=5, p=2))
        chans = (width, 2 * width, 4 * width, 4 * width)
        cin = width
        for i, (digit, cout) in enumerate(zip(strides, chans)):
            layers = [nn.MaxPool2d(2)] if digit == "2" else []
            layers += _conv_bn_relu(cin, cout)
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
            cin = cout
