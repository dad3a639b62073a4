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
"""

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

from ..models import CIFAR10_MEAN, CIFAR10_STD, fold_batchnorm
from ..spec import KNOB_RULES, ModelSpec  # noqa: F401 - re-exported: the zoo's public API

PRETRAINED_DIR = Path(os.environ.get("RCM_PRETRAINED_DIR", Path(__file__).resolve().parents[2] / "pretrained"))
RECIPES = {"std": "standard", "at": "AT", "trades": "TRADES"}  # recipe -> short label
TIERS = ("lite", "paper")  # lite: width 16, the CPU default; paper: width 64, the paper's size


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


def scan_checkpoints(directory: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """Every card in the directory: (usable names, {name: why it is not usable}). Nothing is hidden."""
    d = Path(directory or PRETRAINED_DIR)
    ok, problems = [], {}
    for name in _card_names(d):
        try:
            get_checkpoint(name, d)
            ok.append(name)
        except CheckpointError as e:
            problems[name] = str(e)
    return ok, problems


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


def preferred_tier(device) -> str:
    """Paper-size models where a GPU makes them fast, the lite tier on CPU."""
    return "paper" if torch.device(device or default_device()).type == "cuda" else "lite"


def default_checkpoints(k: int = 3, device=None, directory: Path | None = None) -> list[str]:
    """The controlled comparison the lab is about, chosen from the cards: the 4x4 AT average-pooling
    baseline of the preferred tier and its 8x8 twins (strides, then upsampling), first seed; the rest
    of the zoo fills up when the tier lacks them."""
    d = Path(directory or PRETRAINED_DIR)
    cks = [get_checkpoint(n, d) for n in list_checkpoints(d)]
    tier = preferred_tier(device)
    if not any(c.tier == tier for c in cks):
        tier = "lite"

    def rank(c: Checkpoint):
        s = c.spec
        trio = c.tier == tier and c.recipe == "at" and s.pool == "avg" and s.arch == "resnet18" and s.mode == "nearest"
        role = 0 if s.is_baseline else 1 if s.scale == 1 else 2
        return (not trio, c.tier != tier, c.seed, role, c.name)

    return [c.name for c in sorted(cks, key=rank)][:k]


# The training settings two checkpoints must share to be compared (everything but the architecture
# knobs, the seed and where things were read or written).
BUDGET_KEYS = (
    "epochs", "batch_size", "lr", "schedule", "momentum", "nesterov", "weight_decay", "eps",
    "at_method", "at_noise", "at_steps", "at_alpha", "trades_beta", "max_train_images", "init",
)  # fmt: skip
# Settings added after cards were written: a card without one was trained with this value.
LATER_DEFAULTS = {"init": "default"}


def training_budget(ck: Checkpoint) -> tuple:
    """The card's training settings that a fair comparison holds fixed (None where the card lacks one)."""
    cfg = ck.meta.get("train", {}).get("config", {})
    epochs = cfg.get("epochs", ck.meta.get("train", {}).get("epochs"))
    return (epochs, *(cfg.get(k, LATER_DEFAULTS.get(k)) for k in BUDGET_KEYS[1:]))


AT_METHODS = {"nfgsm": "N-FGSM", "fgsm-rs": "FGSM-RS"}  # train --at-method -> its name ("pgd": PGD-<steps>)


def at_method_name(cfg: dict) -> str:
    """The adversarial-training attack of a card's ``train.config``: 'N-FGSM', 'FGSM-RS', 'PGD-3'."""
    method = cfg.get("at_method", "pgd")
    return AT_METHODS.get(method, f"PGD-{cfg.get('at_steps', '?')}")


def budget_tag(meta: dict) -> str:
    """The training budget in a few characters: '15 ep N-FGSM', '3 ep PGD-3', '15 ep'."""
    cfg = meta.get("train", {}).get("config", {})
    epochs = cfg.get("epochs", meta.get("train", {}).get("epochs"))
    tag = f"{epochs} ep" if epochs else "imported"
    return tag + (f" {at_method_name(cfg)}" if meta["recipe"] == "at" and cfg else "")


def display_labels(names=None, directory: Path | None = None) -> dict[str, str]:
    """``Checkpoint.label`` of each checkpoint, plus its training budget while the zoo holds checkpoints of
    the same tier, recipe and architecture trained with different budgets (so side-by-side views never hide that they
    differ). Reads every card once, whatever the number of names."""
    cks = {n: get_checkpoint(n, directory) for n in list_checkpoints(directory)}
    budgets: dict[tuple, set] = {}
    # Per architecture: models of one network are what a view compares; another network says so in its label.
    for c in cks.values():
        budgets.setdefault((c.tier, c.recipe, c.spec.arch), set()).add(training_budget(c))
    out = {}
    for n in cks if names is None else names:
        ck = cks.get(n) or get_checkpoint(n, directory)  # an unknown name raises CheckpointError here
        mixed = len(budgets.get((ck.tier, ck.recipe, ck.spec.arch), ())) > 1
        out[n] = ck.label + (f" · {budget_tag(ck.meta)}" if mixed else "")
    return out


def display_label(name: str, directory: Path | None = None) -> str:
    """One checkpoint's ``display_labels`` entry."""
    return display_labels([name], directory)[name]


def baseline_of(ck: Checkpoint, cks: list[Checkpoint]) -> Checkpoint | None:
    """The 4x4 checkpoint that differs from ``ck`` only in the map-enlarging knobs (same recipe, tier,
    seed, architecture, width, pooling and training budget)."""
    s = ck.spec
    for c in cks:
        if (
            c.spec.is_baseline
            and c.recipe == ck.recipe
            and c.tier == ck.tier
            and c.seed == ck.seed
            and (c.spec.arch, c.spec.width, c.spec.pool) == (s.arch, s.width, s.pool)
            and training_budget(c) == training_budget(ck)
        ):
            return c
    return None


def comparisons(names=None, directory: Path | None = None) -> list[tuple[str, str]]:
    """(enlarged, its baseline) pairs present in the zoo, derived from the cards' specs."""
    d = Path(directory or PRETRAINED_DIR)
    cks = [get_checkpoint(n, d) for n in (list_checkpoints(d) if names is None else names)]
    pairs = [(c, b) for c in cks if not c.spec.is_baseline and (b := baseline_of(c, cks)) is not None]
    pairs.sort(key=lambda p: (TIERS.index(p[0].tier), p[0].recipe != "at", p[0].spec.pool, p[0].seed, p[0].name))
    return [(c.name, b.name) for c, b in pairs]


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
    ``attacks.cpu_nhwc``) and ``fold_bn`` (BatchNorm folded into the convolution it follows,
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
        from ..attacks import cpu_nhwc

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

    from ..metrics import count_macs, count_params, pre_pool_hw

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
