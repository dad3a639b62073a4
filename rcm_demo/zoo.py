"""The checkpoint zoo: ``ModelSpec`` -> model, ``Checkpoint`` -> verified weights + model card.

Checkpoints live in ``pretrained/`` as ``<name>.safetensors`` + ``<name>.json`` where
``name = <spec name>.<recipe>`` (e.g. ``resnet18w16_s1122_x1_avg.at``). Public API::

    list_checkpoints() -> list[str]
    get_checkpoint(name) -> Checkpoint      # .meta is the JSON card
    load_model(name, device=None) -> nn.Module   # sha256-verified, strict, eval, no grads

Weights are safetensors only: loading never executes code from a file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from .models import build_model

PRETRAINED_DIR = Path(os.environ.get("RCM_PRETRAINED_DIR", Path(__file__).resolve().parent.parent / "pretrained"))
RECIPES = ("std", "at", "trades")
_NAME_RE = re.compile(r"^[a-z0-9]+w\d+_s[12]{4}_x\d(?:[a-z]+)?_(?:avg|max)\.(?:std|at|trades)$")


class CheckpointError(RuntimeError):
    """A checkpoint is unknown, missing, corrupt or does not match its card."""


@dataclass(frozen=True)
class ModelSpec:
    arch: str = "resnet18"
    width: int = 16
    strides: str = "1222"
    scale: int = 1
    mode: str = "nearest"
    pool: str = "avg"

    @property
    def name(self) -> str:
        mode = "" if self.scale == 1 or self.mode == "nearest" else self.mode
        return f"{self.arch}w{self.width}_s{self.strides}_x{self.scale}{mode}_{self.pool}"

    def build(self) -> nn.Module:
        return build_model(**asdict(self))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    name: str
    weights: Path
    card: Path
    meta: dict

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.from_dict(self.meta["spec"])

    @property
    def recipe(self) -> str:
        return self.meta["recipe"]

    def verify(self) -> None:
        if not self.weights.exists():
            raise CheckpointError(f"checkpoint {self.name!r}: weight file {self.weights} is missing")
        digest = sha256_file(self.weights)
        if digest != self.meta.get("sha256"):
            raise CheckpointError(f"checkpoint {self.name!r}: sha256 of {self.weights.name} is {digest[:12]}..., "
                                  f"the card says {str(self.meta.get('sha256'))[:12]}...; the file is corrupt or "
                                  "was replaced. Re-download or retrain it.")


def list_checkpoints(directory: Path | None = None) -> list[str]:
    d = Path(directory or PRETRAINED_DIR)
    if not d.is_dir():
        return []
    return sorted(p.name[: -len(".json")] for p in d.glob("*.json") if _NAME_RE.match(p.name[: -len(".json")]))


def get_checkpoint(name: str, directory: Path | None = None) -> Checkpoint:
    d = Path(directory or PRETRAINED_DIR)
    known = list_checkpoints(d)
    if name not in known:
        raise CheckpointError(f"unknown checkpoint {name!r}; available: {', '.join(known) or 'none'} (in {d})")
    card = d / f"{name}.json"
    try:
        meta = json.loads(card.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {name!r}: card {card.name} is unreadable ({e})") from None
    for key in ("spec", "recipe", "sha256"):
        if key not in meta:
            raise CheckpointError(f"checkpoint {name!r}: card {card.name} lacks the field {key!r}")
    ck = Checkpoint(name, d / f"{name}.safetensors", card, meta)
    if f"{ck.spec.name}.{ck.recipe}" != name:
        raise CheckpointError(f"checkpoint {name!r}: the card describes {ck.spec.name}.{ck.recipe}")
    return ck


def load_model(name: str, device=None, channels_last: bool | None = None, directory: Path | None = None) -> nn.Module:
    """Verified, strictly loaded, eval-mode model with frozen parameters, on ``device``.

    ``channels_last`` (default: on CPU) is a loading-time layout choice: bf16 convolutions on CPU run
    about twice as fast in it. It never changes results beyond floating-point rounding.
    """
    ck = get_checkpoint(name, directory)
    ck.verify()
    try:
        state = load_file(str(ck.weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {name!r}: {ck.weights.name} is not valid safetensors ({e})") from None
    model = ck.spec.build()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {name!r}: weights do not fit the card's spec: {e}") from None
    device = torch.device(device or default_device())
    if channels_last is None:
        channels_last = device.type == "cpu"
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    model.eval().requires_grad_(False)
    return model


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def save_checkpoint(model: nn.Module, spec: ModelSpec, recipe: str, train_info: dict,
                    directory: Path | None = None) -> Checkpoint:
    """Write ``<name>.safetensors`` and its card (written only by the train/evaluate CLIs)."""
    from safetensors.torch import save_file

    from .metrics import count_macs, count_params, pre_pool_hw

    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    d = Path(directory or PRETRAINED_DIR)
    d.mkdir(parents=True, exist_ok=True)
    name = f"{spec.name}.{recipe}"
    weights = d / f"{name}.safetensors"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(weights))
    probe_model = spec.build().eval()
    meta = {
        "name": name,
        "spec": spec.to_dict(),
        "recipe": recipe,
        "params": count_params(probe_model),
        "macs": count_macs(probe_model),
        "pre_pool_hw": list(pre_pool_hw(probe_model)),
        "metrics": {},
        "train": train_info,
        "sha256": sha256_file(weights),
    }
    write_card(d / f"{name}.json", meta)
    return get_checkpoint(name, d)


def write_card(path: Path, meta: dict) -> None:
    tmp = Path(path).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
