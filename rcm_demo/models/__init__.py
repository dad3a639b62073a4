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
``reference_keys()`` maps a model's state-dict keys to the reference code's (``rcm_demo.zoo.interop``).

Architectures are a registry: ``ARCHS`` maps a name to a class taking the keywords
``width, strides, scale, mode, pool``. Adding one is a class plus ``@register("name")``; the knobs
are validated once, by ``rcm_demo.zoo.ModelSpec``, which is how models are built:
``ModelSpec(arch="resnet18", strides="1122").build()``.

May import: the shared leaves only (``data``'s constants, ``hardware``).
"""

from .base import (
    ARCHS,
    MODES,
    NUM_CLASSES,
    POOLS,
    STAGES,
    TAPS,
    FeatureMapNet,
    GlobalPool,
    Normalize,
    Upsample,
    fold_batchnorm,
    register,
)
from .measure import count_macs, count_params, pre_pool_hw
from .spec import KNOB_RULES, ModelSpec

# isort: off
# Registering runs in import order, and ARCHS's order is the paper's order of its four networks (tables, menus).
from .resnet import PreActResNet18, ResNet18
from .vgg import VGG16BN
from .alexnet import AlexNet

# isort: on

__all__ = [
    "ARCHS",
    "MODES",
    "NUM_CLASSES",
    "POOLS",
    "STAGES",
    "TAPS",
    "AlexNet",
    "FeatureMapNet",
    "GlobalPool",
    "KNOB_RULES",
    "ModelSpec",
    "Normalize",
    "PreActResNet18",
    "ResNet18",
    "Upsample",
    "VGG16BN",
    "count_macs",
    "count_params",
    "fold_batchnorm",
    "pre_pool_hw",
    "register",
]
