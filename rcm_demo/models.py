"""The paper's four CIFAR-10 networks, as its reference code (MTandHJ/rcm) builds them, with the
feature-map knobs of Xu et al. (arXiv 2202.12435).

Every model takes [0, 1] images of shape (N, 3, 32, 32), normalises them and (optionally)
upsamples them *inside* the model, so an attack budget always refers to the 32x32 image.
The knobs that change the size of the final feature map:

* ``strides``: the architecture's stride digits, each 1 or 2; what a digit means is the architecture's
  own rule (``STRIDE_RULE``): ResNets have one per stage ("1222" the 4x4 baseline, "1122" the 8x8 map),
  VGG16 one per max-pool (a 1 removes that pool), AlexNet the stem's stride then three max-pool strides;
* ``scale``/``mode``: input upsampling after normalisation (scale 2, nearest, in the paper);
* ``pool``: global "avg" or "max" pooling before the head.

Stages are named modules so the probe can hook them: ``normalize``, ``upsample``, ``stem``,
``layer1`` ... ``layer4``, ``pool``, ``fc`` (``TAPS``); ``TAP_NOTES`` says what each tap is for each
architecture. ``width`` scales every channel count; width 64 gives exactly the reference's parameter
count (ResNet18 11,173,962; PreActResNet18 11,172,170; VGG16-BN 14,922,826; AlexNet 2,850,634).
``reference_keys()`` maps a model's state-dict keys to the reference code's (``rcm_demo.interop``).

Architectures are a registry: ``ARCHS`` maps a name to a class taking the keywords
``width, strides, scale, mode, pool``. Adding one is a class plus ``@register("name")``; the knobs
are validated once, by ``rcm_demo.zoo.ModelSpec``, which is how models are built:
``ModelSpec(arch="resnet18", strides="1122").build()``.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2471, 0.2435, 0.2616)
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


_RESNET_NOTES = {
    "stem": "3×3 convolution + BatchNorm + ReLU, full resolution",
    "layer1": "two basic blocks (stride digit 1)",
    "layer2": "two basic blocks (stride digit 2)",
    "layer3": "two basic blocks (stride digit 3)",
    "layer4": "two basic blocks (stride digit 4): the pre-pool map",
}


@register("resnet18")
class ResNet18(FeatureMapNet):
    """CIFAR ResNet18 (He et al.): 3x3 stem, four stages of two basic blocks; width 64 is the paper's."""

    TAP_NOTES = _RESNET_NOTES
    TITLE = "ResNet18"

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

    def reference_keys(self) -> dict[str, str]:
        """Major/models/cifar_resnet.py: conv1, bn1, layerI.J.{conv,bn}{1,2}, layerI.J.downsample.{0,1}, fc."""
        rules = [(r"^stem\.0\.", "conv1."), (r"^stem\.1\.", "bn1."), (r"\.shortcut\.", ".downsample.")]
        return {k: _renamed(k, rules) for k in self.state_dict()}


@register("preactresnet18")
class PreActResNet18(ResNet18):
    """Pre-activation ResNet18 (He et al. 2016), the reference code's other backbone."""

    TITLE = "PreActResNet18"

    TAP_NOTES = {
        **_RESNET_NOTES,
        "stem": "3×3 convolution alone (each block normalises its own input)",
        "layer4": "two pre-activation blocks (stride digit 4), then the final BatchNorm + ReLU: the pre-pool map",
    }

    def __init__(self, width=16, strides="1222", scale=1, mode="nearest", pool="avg"):
        super().__init__(width, strides, scale, mode, pool, preact=True)

    def reference_keys(self) -> dict[str, str]:
        """MART/models/preactresnet.py: conv1, layerI.J.{bn1,conv1,bn2,conv2}, layerI.J.shortcut.0, bn, fc."""
        rules = [(r"^stem\.", "conv1."), (r"^layer4\.2\.", "bn."), (r"\.shortcut\.weight$", ".shortcut.0.weight")]
        return {k: _renamed(k, rules) for k in self.state_dict()}


def _renamed(key: str, rules) -> str:
    for pattern, repl in rules:
        key = re.sub(pattern, repl, key)
    return key


def _conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.ReLU()]  # VGG's convolutions have biases


@register("vgg16_bn")
class VGG16BN(FeatureMapNet):
    """VGG16 with BatchNorm (configuration D), as Major/models/vgg.py builds it: five blocks of 3x3
    convolutions (2, 2, 3, 3, 3 of them; channels w, 2w, 4w, 8w, 8w), each closed by a 2x2 max-pool whose
    stride is its digit (a digit 1 *removes* that pool); head 8w -> 4w -> 4w -> 10 with dropout.
    The reference default "22222" pools 32 -> 1 (a 1x1 map, where average and max pooling coincide);
    "11222" keeps a 4x4 map."""

    STRIDE_DIGITS = 5
    BASELINE = "22222"
    ENLARGED = "11222"
    TITLE = "VGG16-BN"
    STRIDE_RULE = "five digits 1 or 2, one per max-pool; a 1 removes that pool (e.g. '22222', '11222')"
    CONVS = (2, 2, 3, 3, 3)
    TAP_NOTES = {
        stage: f"VGG block {i + 1}: {n} 3×3 convolutions + BatchNorm + ReLU, then max-pool {i + 1} (if its digit is 2)"
        for i, (stage, n) in enumerate(zip(STAGES, CONVS))
    }

    def __init__(self, width=16, strides="22222", scale=1, mode="nearest", pool="avg"):
        super().__init__(scale, mode, pool, 8 * width)
        chans = (width, 2 * width, 4 * width, 8 * width, 8 * width)
        cin = 3
        for stage, n, cout, digit in zip(STAGES, self.CONVS, chans, strides):
            layers = []
            for _ in range(n):
                layers += _conv_bn_relu(cin, cout)
                cin = cout
            if digit == "2":
                layers.append(nn.MaxPool2d(2, 2))
            setattr(self, stage, nn.Sequential(*layers))
        self.fc = nn.Sequential(
            nn.Linear(8 * width, 4 * width), nn.ReLU(), nn.Dropout(),
            nn.Linear(4 * width, 4 * width), nn.ReLU(), nn.Dropout(),
            nn.Linear(4 * width, NUM_CLASSES),
        )  # fmt: skip


@register("alexnet")
class AlexNet(FeatureMapNet):
    """AlexNet for CIFAR, as Major/models/alexnet.py builds it: a 5x5 convolution with stride digit 1,
    a 5x5 and three 3x3 convolutions (channels w, 3w, 6w, 4w, 4w, with biases, no BatchNorm), and three
    kernel-2 max-pools with stride digits 2-4 (a digit 1 keeps the pool but shrinks the map by one pixel
    only); head 4w -> 8w -> 8w -> 10 with dropout. "2222" gives a 2x2 map, "1122" a 7x7 one."""

    BASELINE = "2222"
    TITLE = "AlexNet"
    STRIDE_RULE = (
        "four digits 1 or 2: the 5×5 stem's stride, then the strides of the three kernel-2 max-pools "
        "(e.g. '2222', '1122')"
    )
    TAP_NOTES = {
        "stem": "5×5 convolution (stride digit 1) + ReLU + max-pool (stride digit 2)",
        "layer1": "5×5 convolution + ReLU + max-pool (stride digit 3)",
        "layer2": "3×3 convolution + ReLU",
        "layer3": "3×3 convolution + ReLU",
        "layer4": "3×3 convolution + ReLU + max-pool (stride digit 4): the pre-pool map",
    }

    def __init__(self, width=16, strides="2222", scale=1, mode="nearest", pool="avg"):
        super().__init__(scale, mode, pool, 4 * width)
        d = [int(c) for c in strides]
        w = width
        self.stem = nn.Sequential(nn.Conv2d(3, w, 5, d[0], 2), nn.ReLU(), nn.MaxPool2d(2, d[1]))
        self.layer1 = nn.Sequential(nn.Conv2d(w, 3 * w, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2, d[2]))
        self.layer2 = nn.Sequential(nn.Conv2d(3 * w, 6 * w, 3, 1, 1), nn.ReLU())
        self.layer3 = nn.Sequential(nn.Conv2d(6 * w, 4 * w, 3, 1, 1), nn.ReLU())
        self.layer4 = nn.Sequential(nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, d[3]))
        self.fc = nn.Sequential(
            nn.Dropout(), nn.Linear(4 * w, 8 * w), nn.ReLU(),
            nn.Dropout(), nn.Linear(8 * w, 8 * w), nn.ReLU(),
            nn.Linear(8 * w, NUM_CLASSES),
        )  # fmt: skip
