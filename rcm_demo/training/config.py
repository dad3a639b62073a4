"""``TrainConfig``: one training run's settings with their units, the command line that fills it, the
learning-rate schedule, what a card says about the recipe, and what a resume state must match."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from pathlib import Path

from torch import nn

from ..zoo import PRETRAINED_DIR, RECIPES, TIERS, ModelSpec


def kaiming_init(model: nn.Module) -> nn.Module:
    """He-normal weights (fan-in, ReLU gain) and zero biases for every convolution and linear layer: keeps the
    activations' scale through a network without BatchNorm, where PyTorch's default shrinks it layer by layer
    (AlexNet's logits then hardly differ between images at init: ``bench/init_signal.py``)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


INITS = {"default": lambda m: m, "kaiming": kaiming_init}


@dataclass
class TrainConfig:
    arch: str = "resnet18"
    width: int = 16  # base channels (the paper uses 64)
    strides: str = ""  # the architecture's stride digits ("" = its reference default; ResNet18 "1122": 8x8 map)
    scale: int = 1  # input upsampling inside the model (2 gives 8x8)
    mode: str = "nearest"
    pool: str = "avg"  # "avg" or "max" global pooling
    recipe: str = "std"  # "std", "at" (adversarial training, method below) or "trades"
    epochs: int = 5
    batch_size: int = 128  # global batch (split across ranks under torchrun)
    lr: float = 0.2  # peak learning rate
    schedule: str = "onecycle"  # "onecycle" (linear up 30%, down to 0), "cosine", "multistep" (paper: x0.1 at 91%, 95%)
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    eps: float = 8 / 255  # L-inf budget on the [0, 1] scale (flags accept "8/255")
    at_method: str = "nfgsm"  # "nfgsm" (de Jorge et al. 2022), "fgsm-rs" (Wong et al. 2020) or "pgd" (Madry)
    at_noise: float = 2.0  # N-FGSM: uniform noise in [-at_noise·eps, at_noise·eps]
    at_steps: int = 10  # PGD steps in the inner maximisation (at_method "pgd" and TRADES only)
    at_alpha: float = 0.0  # attack step size; 0 = the method's own: eps (nfgsm), 1.25·eps (fgsm-rs), 2/255
    trades_beta: float = 6.0
    init: str = "default"  # "default" (PyTorch's, as the reference) or "kaiming" (He normal; nets without BN)
    seed: int = 0
    data_dir: str = ""  # ImageFolder with train/ and test/ (e.g. ../shared/data/cifar10-jpeg)
    data_root: str = ""  # torchvision CIFAR-10 root (with --download when online)
    download: bool = False
    max_train_images: int = 0  # 0 = all; a smaller number for smoke tests
    heldout_n: int = 500  # fixed test images for the per-epoch monitor
    precision: str = "auto"  # "auto": bf16 autocast (CPU) / AMP (CUDA); "fp32"
    threads: int = 0  # torch CPU threads (0 = all cores)
    out_dir: str = str(PRETRAINED_DIR)
    run_dir: str = "runs"
    resume: bool = False
    tier: str = "lite"  # written into the card, one of zoo.TIERS: "lite", "paper-width" or "paper"
    fp16_weights: bool = False  # store the safetensors in float16 (half the size; loaded as float32)

    def __post_init__(self):
        # Fail on bad flags before any data is loaded: ModelSpec validates every architecture knob.
        self.strides = self.spec.strides  # "" resolves to the architecture's default, recorded on the card
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {list(RECIPES)}, got {self.recipe!r}")
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, got {self.tier!r}")
        lr_at(self, 0.0)  # validates the schedule
        if self.at_method not in AT_METHODS:
            raise ValueError(f"at_method must be one of {list(AT_METHODS)}, got {self.at_method!r}")
        if not self.at_alpha:  # resolved here so the card records the step that was used
            own = {"nfgsm": self.eps, "fgsm-rs": 1.25 * self.eps}.get(self.at_method, 2 / 255)
            self.at_alpha = 2 / 255 if self.recipe == "trades" else own  # TRADES: the reference's KL steps
        if self.recipe == "at" and self.at_method != "pgd":
            self.at_steps = 1
        if self.init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {self.init!r}")

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(
            arch=self.arch, width=self.width, strides=self.strides, scale=self.scale, mode=self.mode, pool=self.pool
        )

    def card_config(self) -> dict:
        """The resolved configuration for the model card: directories by name, never as local paths."""
        d = asdict(self)
        for k in ("data_dir", "data_root", "out_dir", "run_dir"):
            d[k] = Path(d[k]).name if d[k] else ""
        return d


# Where a run reads and writes, not what it trains: a resume state moves between machines and checkouts.
MACHINE_LOCAL = ("threads", "resume", "out_dir", "run_dir")


def resume_key(config: dict) -> dict:
    """The configuration a resume state must match: machine-local fields dropped, data paths reduced to
    which source they name (the JPEG ImageFolder or torchvision's CIFAR10), since the path differs per machine."""
    out = {k: v for k, v in config.items() if k not in MACHINE_LOCAL}
    for k in ("data_dir", "data_root"):
        if k in out:
            out[k] = bool(out[k])
    return out


def _number(text: str) -> float:
    return float(Fraction(text)) if "/" in text else float(text)


def parse_args(argv=None) -> TrainConfig:
    p = argparse.ArgumentParser(
        prog="python -m rcm_demo.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            typ = {"int": int, "float": _number, "str": str}[f.type]
            p.add_argument(flag, type=typ, default=f.default)
    args = p.parse_args(argv)
    try:
        return TrainConfig(**vars(args))
    except ValueError as e:
        p.error(str(e))


AT_METHODS = {
    "nfgsm": "N-FGSM (de Jorge et al., NeurIPS 2022): uniform noise in ±at_noise·eps, one signed step of "
    "at_alpha, no projection back to the eps-ball",
    "fgsm-rs": "FGSM with random start (Wong et al., ICLR 2020): uniform start in the eps-ball, one step of "
    "at_alpha, projected",
    "pgd": "PGD (Madry et al., ICLR 2018): uniform start, at_steps steps of at_alpha, projected",
}


def recipe_description(cfg: TrainConfig) -> dict:
    """What the card says about the training attack, in words and numbers (eps on the 0-255 scale)."""
    if cfg.recipe == "std":
        return {"method": "standard training (no attack)"}
    if cfg.recipe == "trades":
        method, steps = f"TRADES (beta {cfg.trades_beta:g}), PGD on the KL divergence", cfg.at_steps
    else:
        method, steps = AT_METHODS[cfg.at_method], cfg.at_steps
    out = {"method": method, "eps_255": round(cfg.eps * 255, 4), "step_255": round(cfg.at_alpha * 255, 4)}
    out["steps"] = steps
    if cfg.recipe == "at" and cfg.at_method == "nfgsm":
        out["noise_255"] = round(cfg.at_noise * cfg.eps * 255, 4)
    return out


def lr_at(cfg: TrainConfig, progress: float) -> float:
    """Learning rate at ``progress`` in [0, 1] of the whole run."""
    if cfg.schedule == "onecycle":
        return cfg.lr * (progress / 0.3 if progress < 0.3 else max(0.0, (1 - progress) / 0.7))
    if cfg.schedule == "cosine":
        import math

        return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))
    if cfg.schedule == "multistep":
        return cfg.lr * (0.01 if progress >= 0.95 else 0.1 if progress >= 0.91 else 1.0)
    raise ValueError(f"unknown schedule {cfg.schedule!r}")
