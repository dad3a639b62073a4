"""Checkpoints: the naming rule, ``Checkpoint`` (verified weights + model card), scanning ``pretrained/``,
``load_model`` (the only way in: sha256-checked, strict, eval mode, no grads) and ``save_checkpoint``."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..data import CIFAR10_MEAN, CIFAR10_STD
from ..models import KNOB_RULES, ModelSpec, fold_batchnorm  # noqa: F401 - re-exported: the zoo's public API

PRETRAINED_DIR = Path(os.environ.get("RCM_PRETRAINED_DIR", Path(__file__).resolve().parents[2] / "pretrained"))


RECIPES = {"std": "standard", "at": "AT", "trades": "TRADES"}  # recipe -> short label


# lite: width 16 at the lite budget (15 epochs of N-FGSM AT), the CPU default; paper-width: the paper's width
# (64) at that same lite budget, wherever it was trained (the card names the hardware); paper: width 64 with the
# reference's own recipe (an imported reference checkpoint, or a run of its PGD-10 / 110-epoch recipe).
TIERS = ("lite", "paper-width", "paper")


class CheckpointError(RuntimeError):
    """A checkpoint is unknown, missing, corrupt or does not match its card."""


_SEED_RE = re.compile(r"\.seed([1-9]\d*)$")


def checkpoint_name(spec: ModelSpec, recipe: str, seed: int = 0) -> str:
    """The one naming rule: '<spec name>.<recipe>', plus '.seed<k>' for seeds other than 0."""
    return f"{spec.name}.{recipe}" + (f".seed{int(seed)}" if seed else "")


def parse_checkpoint_name(name: str) -> tuple[ModelSpec, str, int]:
    """'<spec name>.<recipe>[.seed<k>]' -> (spec, recipe, seed); ValueError says what is wrong."""
    m = _SEED_RE.search(name)
    seed = int(m.group(1)) if m else 0
    stem, dot, recipe = name[: m.start()].rpartition(".") if m else name.rpartition(".")
    if not dot or recipe not in RECIPES:
        raise ValueError(f"{name!r} must end in one of {['.' + r for r in RECIPES]}, then optionally '.seed<k>'")
    return ModelSpec.from_name(stem), recipe, seed


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

    @property
    def tier(self) -> str:
        return self.meta.get("tier", "lite")

    @property
    def seed(self) -> int:
        return int(self.meta.get("train", {}).get("seed", 0) or 0)

    @property
    def label(self) -> str:
        """A short human name, e.g. '4×4 baseline · AT · avg' or '8×8 strides 1122 · AT · avg · paper'."""
        return checkpoint_label(self.meta)

    def verify(self) -> None:
        if not self.weights.exists():
            raise CheckpointError(f"checkpoint {self.name!r}: weight file {self.weights.name} is missing")
        digest = sha256_file(self.weights)
        if digest != self.meta.get("sha256"):
            raise CheckpointError(
                f"checkpoint {self.name!r}: sha256 of {self.weights.name} is {digest[:12]}..., "
                f"the card says {str(self.meta.get('sha256'))[:12]}...; the file is corrupt or "
                "was replaced. Re-download or retrain it."
            )


def checkpoint_label(meta: dict) -> str:
    spec = ModelSpec.from_dict(meta["spec"])
    h, w = meta.get("pre_pool_hw", ("?", "?"))
    parts = [f"{h}×{w} {spec.change}", RECIPES.get(meta["recipe"], meta["recipe"]), spec.pool]
    if spec.arch != "resnet18":
        parts.append(spec.arch)
    if meta.get("tier", "lite") != "lite":
        parts.append(meta["tier"])
    seed = meta.get("train", {}).get("seed", 0)
    if seed:
        parts.append(f"seed {seed}")
    return " · ".join(parts)


def _card_names(d: Path) -> list[str]:
    return sorted(p.name[: -len(".json")] for p in d.glob("*.json")) if d.is_dir() else []


def _scan(directory: Path | None) -> tuple[dict[str, Checkpoint], dict[str, str]]:
    d = Path(directory or PRETRAINED_DIR)
    ok, problems = {}, {}
    for name in _card_names(d):
        try:
            ok[name] = get_checkpoint(name, d)
        except CheckpointError as e:
            problems[name] = str(e)
    return ok, problems


def scan_checkpoints(directory: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """Every card in the directory: (usable names, {name: why it is not usable}). Nothing is hidden."""
    ok, problems = _scan(directory)
    return list(ok), problems


def read_checkpoints(directory: Path | None = None) -> dict[str, Checkpoint]:
    """Every usable checkpoint, its card read once: the one pass over the cards a table needs."""
    return _scan(directory)[0]


def list_checkpoints(directory: Path | None = None) -> list[str]:
    """Names of the usable checkpoints (``scan_checkpoints`` reports the others)."""
    return scan_checkpoints(directory)[0]


def get_checkpoint(name: str, directory: Path | None = None) -> Checkpoint:
    d = Path(directory or PRETRAINED_DIR)
    card = d / f"{name}.json"
    if "/" in name or "\\" in name or not card.is_file():
        raise CheckpointError(f"unknown checkpoint {name!r}; available: {', '.join(_card_names(d)) or 'none'}")
    try:
        parse_checkpoint_name(name)
    except ValueError as e:
        raise CheckpointError(f"checkpoint {name!r}: the file name breaks the naming rule: {e}") from None
    try:
        meta = json.loads(card.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {name!r}: card {card.name} is unreadable ({e})") from None
    for key in ("spec", "recipe", "sha256"):
        if key not in meta:
            raise CheckpointError(f"checkpoint {name!r}: card {card.name} lacks the field {key!r}")
    try:
        ck = Checkpoint(name, d / f"{name}.safetensors", card, meta)
        described = checkpoint_name(ck.spec, ck.recipe, ck.seed)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {name!r}: card {card.name} has an invalid spec: {e}") from None
    if described != name:
        raise CheckpointError(f"checkpoint {name!r}: the card describes {described}")
    if ck.tier not in TIERS:
        raise CheckpointError(f"checkpoint {name!r}: tier must be one of {TIERS}, got {ck.tier!r}")
    return ck


def preferred_tiers(device) -> tuple[str, ...]:
    """Width-64 models first where a GPU makes them fast (the reference's recipe before the lite budget at
    its width), the lite tier on CPU."""
    return ("paper", "paper-width", "lite") if torch.device(device or default_device()).type == "cuda" else ("lite",)


def preferred_tier(device) -> str:
    """The first of ``preferred_tiers``."""
    return preferred_tiers(device)[0]


def default_checkpoints(k: int = 3, device=None, directory: Path | None = None) -> list[str]:
    """The controlled comparison the lab is about, chosen from the cards: the 4x4 AT average-pooling
    baseline of the preferred tier and its 8x8 twins (strides, then upsampling), first seed; the rest
    of the zoo fills up when the tier lacks them."""
    d = Path(directory or PRETRAINED_DIR)
    cks = [get_checkpoint(n, d) for n in list_checkpoints(d)]
    tier = next((t for t in preferred_tiers(device) if any(c.tier == t for c in cks)), "lite")

    def rank(c: Checkpoint):
        s = c.spec
        trio = c.tier == tier and c.recipe == "at" and s.pool == "avg" and s.arch == "resnet18" and s.mode == "nearest"
        role = 0 if s.is_baseline else 1 if s.scale == 1 else 2
        return (not trio, c.tier != tier, c.seed, role, c.name)

    return [c.name for c in sorted(cks, key=rank)][:k]


def checkpoint_stamp(name: str, directory: Path | None = None) -> tuple:
    """Size and mtime of the card and of the weights (None where a file is missing): a checkpoint
    rewritten on disk gets a new stamp, so whoever caches a loaded model loads (and verifies) it anew."""
    d = Path(directory or PRETRAINED_DIR)
    out = []
    for suffix in (".json", ".safetensors"):
        try:
            s = (d / f"{name}{suffix}").stat()
            out += [s.st_size, s.st_mtime_ns]
        except OSError:
            out += [None, None]
    return tuple(out)


def load_model(
    name: str,
    device=None,
    channels_last: bool | None = None,
    directory: Path | None = None,
    fold_bn: bool = True,
) -> nn.Module:
    """Verified, strictly loaded, eval-mode model with frozen parameters, on ``device``.

    ``channels_last`` (default: on CPUs with AVX-512, where convolutions run 1.2–1.5× faster in it,
    ``hardware.cpu_nhwc``) and ``fold_bn`` (BatchNorm folded into the convolution it follows,
    ``models.fold_batchnorm``: attacks 1.19–1.35× faster on CPU) are loading-time choices for an inference
    model. Neither changes results beyond floating-point rounding; the weights on disk are what the card's
    sha256 says, and ``fold_bn=False`` gives the network module for module as trained.
    """
    ck = get_checkpoint(name, directory)
    ck.verify()
    try:
        state = load_file(str(ck.weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {name!r}: {ck.weights.name} is not valid safetensors ({e})") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}  # fp16 storage -> fp32
    model = ck.spec.build()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {name!r}: weights do not fit the card's spec: {e}") from None
    norm = ck.meta.get("normalize")
    if norm:  # the constants the checkpoint was trained with (an imported model keeps the reference's)
        model.normalize.set_constants(norm["mean"], norm["std"])
    model.eval()
    if fold_bn:
        fold_batchnorm(model)
    device = torch.device(device or default_device())
    if channels_last is None:
        from ..hardware import cpu_nhwc

        channels_last = device.type == "cpu" and cpu_nhwc()
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    model.eval().requires_grad_(False)
    model.rcm_source = (str(ck.weights.parent), name)  # lets the model process load the same checkpoint
    return model


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def save_checkpoint(
    model: nn.Module,
    spec: ModelSpec,
    recipe: str,
    train_info: dict,
    directory: Path | None = None,
    tier: str = "lite",
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    normalize: dict | None = None,
) -> Checkpoint:
    """Write ``<name>.safetensors`` and its card (written only by the train/evaluate CLIs).
    ``dtype=torch.float16`` halves the file (the paper tier); loading always gives float32."""
    from safetensors.torch import save_file

    from ..models import count_macs, count_params, pre_pool_hw

    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    d = Path(directory or PRETRAINED_DIR)
    d.mkdir(parents=True, exist_ok=True)
    name = checkpoint_name(spec, recipe, seed)
    weights = d / f"{name}.safetensors"
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}, got {tier!r}")
    state = {
        k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    save_file(state, str(weights))
    probe_model = spec.build().eval()
    meta = {
        "name": name,
        "spec": spec.to_dict(),
        "recipe": recipe,
        "tier": tier,
        "weights_dtype": str(dtype).replace("torch.", ""),
        "params": count_params(probe_model),
        "macs": count_macs(probe_model),
        "pre_pool_hw": list(pre_pool_hw(probe_model)),
        # The input standardisation the weights were trained with; load_model applies it.
        "normalize": normalize or {"mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD)},
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
