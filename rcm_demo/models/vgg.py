"""VGG16 with BatchNorm (the reference's ``cifar_vgg.py``): one stride digit per max-pool, a 1 removes it."""

from __future__ import annotations

from torch import nn

from .base import NUM_CLASSES, STAGES, FeatureMapNet, register


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
