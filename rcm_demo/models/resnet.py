"""ResNet18 and PreActResNet18 (the reference's ``cifar_resnet.py`` / ``cifar_preactresnet.py``): one
stride digit per stage, "1222" the 4x4 baseline, "1122" the 8x8 map."""

from __future__ import annotations

import re

import torch.nn.functional as F
from torch import nn

from .base import FeatureMapNet, register


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
