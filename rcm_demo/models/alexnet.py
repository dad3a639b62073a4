"""AlexNet for CIFAR-10 (the reference's ``cifar_alexnet.py``): the stem's stride, then three max-pool strides."""

from __future__ import annotations

from torch import nn

from .base import NUM_CLASSES, FeatureMapNet, register


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
