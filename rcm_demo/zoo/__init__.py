"""The checkpoint zoo: ``ModelSpec`` -> model, ``Checkpoint`` -> verified weights + model card.

Checkpoints live in ``pretrained/`` as ``<name>.safetensors`` + ``<name>.json`` where
``name = <spec name>.<recipe>[.seed<k>]`` (e.g. ``resnet18w16_s1122_x1_avg.at``, its seed-1 twin
``resnet18w16_s1122_x1_avg.at.seed1``; seed 0 has no suffix). Public API::

    ModelSpec(arch="resnet18", strides="1122").build()   # validated on construction; .name is derived
    ModelSpec.from_name("resnet18w16_s1122_x1_avg")      # parsed back by the same code
    list_checkpoints() -> list[str]          # usable checkpoints; scan_checkpoints() also says what is broken
    get_checkpoint(name) -> Checkpoint       # .meta is the JSON card, .label a short human name
    load_model(name, device=None) -> nn.Module   # sha256-verified, strict, eval, no grads
    default_checkpoints(k, device) / comparisons(names)   # chosen from the cards (tier, recipe, map)

``python -m rcm_demo.zoo import|export`` (``zoo/__main__.py``; the code is in ``interop``) brings the
reference code's state dicts in and out.

Weights are safetensors only: loading never executes code from a file. Paper-tier weights may be
stored as float16; they are loaded as float32.

May import: the shared leaves and ``models``; never ``attacks`` (a sibling) or anything above. The card
tables (``tables``), seeds and intervals (``intervals``), the findings (``findings``, ``control``) and the
reference-code import/export (``interop``) are submodules: ``from rcm_demo.zoo import tables``.
"""

from ..models import KNOB_RULES, ModelSpec
from .checkpoints import (
    PRETRAINED_DIR,
    RECIPES,
    TIERS,
    Checkpoint,
    CheckpointError,
    checkpoint_label,
    checkpoint_name,
    checkpoint_stamp,
    default_checkpoints,
    default_device,
    get_checkpoint,
    list_checkpoints,
    load_model,
    parse_checkpoint_name,
    preferred_tier,
    read_checkpoints,
    save_checkpoint,
    scan_checkpoints,
    sha256_file,
    write_card,
)
from .labels import (
    AT_METHODS,
    BUDGET_KEYS,
    LATER_DEFAULTS,
    at_method_name,
    baseline_of,
    budget_tag,
    comparisons,
    display_label,
    display_labels,
    trained_epochs,
    training_budget,
    training_method,
)

__all__ = [
    "AT_METHODS",
    "BUDGET_KEYS",
    "KNOB_RULES",
    "LATER_DEFAULTS",
    "PRETRAINED_DIR",
    "RECIPES",
    "TIERS",
    "Checkpoint",
    "CheckpointError",
    "ModelSpec",
    "at_method_name",
    "baseline_of",
    "budget_tag",
    "checkpoint_label",
    "checkpoint_name",
    "checkpoint_stamp",
    "comparisons",
    "default_checkpoints",
    "default_device",
    "display_label",
    "display_labels",
    "get_checkpoint",
    "list_checkpoints",
    "load_model",
    "parse_checkpoint_name",
    "read_checkpoints",
    "preferred_tier",
    "save_checkpoint",
    "scan_checkpoints",
    "sha256_file",
    "trained_epochs",
    "training_budget",
    "training_method",
    "write_card",
]
