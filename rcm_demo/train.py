"""Train a zoo checkpoint: standard, adversarial (N-FGSM, FGSM-RS or PGD) or TRADES training.

    python -m rcm_demo.train --strides 1122 --recipe at --epochs 15 --data-dir ../shared/data/cifar10-jpeg
    python -m rcm_demo.train ... --recipe at --at-method pgd --at-steps 10 --at-alpha 2/255   # Madry PGD-10
    python -m rcm_demo.train ... --resume                  # continue after an interruption
    torchrun --nproc_per_node=4 -m rcm_demo.train ...      # data-parallel (gloo on CPU, nccl on CUDA)

Every epoch writes ``<run-dir>/<name>/state.pt`` (resume point) and logs clean, FGSM and PGD-10 accuracy
on a fixed held-out test batch; an epoch whose PGD-10 accuracy collapses while FGSM accuracy holds is
flagged as catastrophic overfitting (log line and ``co_flag`` in the card's history). At the end it
writes ``pretrained/<name>.safetensors`` and the model card (metrics are added by ``evaluate``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .attacks import arithmetic, autocast_for, cpu_fast_bf16, cpu_nhwc, fgsm, fgsm_rs, nfgsm, pgd, trades_adv
from .data import fixed_subset, load_cifar10
from .progress import Progress, clock
from .zoo import PRETRAINED_DIR, RECIPES, TIERS, ModelSpec, checkpoint_name, save_checkpoint


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
    tier: str = "lite"  # written into the card: "lite" (width 16, CPU default) or "paper" (width 64)
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
            self.at_alpha = {"nfgsm": self.eps, "fgsm-rs": 1.25 * self.eps}.get(self.at_method, 2 / 255)
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


# ----------------------------------------------------------------------------- helpers
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


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random crop (zero padding 4) and horizontal flip of a uint8 batch, vectorised."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    oy = torch.randint(0, 9, (n,), generator=g)
    ox = torch.randint(0, 9, (n,), generator=g)
    ar = torch.arange(32)
    rows = (oy[:, None] + ar)[:, None, :, None]  # (N, 1, 32, 1)
    cols = (ox[:, None] + ar)[:, None, None, :]  # (N, 1, 1, 32)
    out = padded[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(3)
    return out


AT_METHODS = {
    "nfgsm": "N-FGSM (de Jorge et al., NeurIPS 2022): uniform noise in ±at_noise·eps, one signed step of "
    "at_alpha, no projection back to the eps-ball",
    "fgsm-rs": "FGSM with random start (Wong et al., ICLR 2020): uniform start in the eps-ball, one step of "
    "at_alpha, projected",
    "pgd": "PGD (Madry et al., ICLR 2018): uniform start, at_steps steps of at_alpha, projected",
}


def adversarial_batch(model, x, y, cfg: TrainConfig, g: torch.Generator) -> torch.Tensor:
    """The training inputs of the "at" recipe: each method is a configuration of ``attacks.pgd``."""
    kw = dict(eps=cfg.eps, alpha=cfg.at_alpha, generator=g, precision=cfg.precision)
    if cfg.at_method == "nfgsm":
        return nfgsm(model, x, y, noise=cfg.at_noise, **kw)
    if cfg.at_method == "fgsm-rs":
        return fgsm_rs(model, x, y, **kw)
    return pgd(model, x, y, steps=cfg.at_steps, **kw)


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


def collapsed(history: list[dict], drop: float = 0.15) -> bool:
    """Catastrophic overfitting in the last epoch of ``history``: held-out PGD-10 accuracy fell at least
    ``drop`` below its best epoch while FGSM accuracy did not fall (the single-step attack the model was
    trained on still fails, a multi-step one now succeeds: the loss surface has been bent locally)."""
    if len(history) < 2 or "pgd10" not in history[-1] or "fgsm" not in history[-1]:
        return False
    best = max(history[:-1], key=lambda e: e.get("pgd10", -1.0))
    last = history[-1]
    return last["pgd10"] <= best["pgd10"] - drop and last["fgsm"] >= best.get("fgsm", 0.0) - 0.02


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


def train_step(model, net, opt, x, y, cfg: TrainConfig, g: torch.Generator) -> torch.Tensor:
    """One optimisation step of the recipe. ``model`` is the bare module (attacks are crafted on it, in
    eval mode, so no gradient synchronisation happens for them); ``net`` is what is trained (DDP or model)."""
    device = x.device
    if cfg.recipe == "at":
        model.eval()  # craft the attack with fixed BN statistics
        x_in = adversarial_batch(model, x, y, cfg, g)
        model.train()
    elif cfg.recipe == "trades":
        model.eval()
        x_in = trades_adv(
            model, x, eps=cfg.eps, alpha=cfg.at_alpha, steps=cfg.at_steps, generator=g, precision=cfg.precision
        )
        model.train()
    else:
        x_in = x
    with autocast_for(device, cfg.precision):
        if cfg.recipe == "trades":
            both = net(torch.cat([x, x_in])).float()
            lc, la = both[: len(x)], both[len(x) :]
            loss = F.cross_entropy(lc, y) + cfg.trades_beta * F.kl_div(
                F.log_softmax(la, 1), F.softmax(lc, 1), reduction="batchmean"
            )
        else:
            loss = F.cross_entropy(net(x_in).float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def heldout_accuracy(model, x, y, cfg) -> dict:
    """Clean, FGSM and PGD-10 (step eps/4) accuracy on the fixed held-out batch, in eval mode."""
    was_training = model.training
    model.eval()

    def acc(inputs):
        with torch.no_grad(), autocast_for(x.device, cfg.precision):
            return (model(inputs).argmax(1) == y).float().mean().item()

    try:
        out = {"clean": acc(x), "fgsm": acc(fgsm(model, x, y, eps=cfg.eps, precision=cfg.precision))}
        g = torch.Generator().manual_seed(0)
        out["pgd10"] = acc(
            pgd(model, x, y, eps=cfg.eps, alpha=cfg.eps / 4, steps=10, generator=g, precision=cfg.precision)
        )
    finally:
        model.train(was_training)
    return out


# ----------------------------------------------------------------------------- main loop
def train(cfg: TrainConfig, argv=None) -> dict:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = world > 1
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if distributed else 0
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    spec = cfg.spec
    name = checkpoint_name(spec, cfg.recipe, cfg.seed)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if rank == 0 else (lambda *a: None)

    train_set = load_cifar10("train", cfg.data_dir, cfg.data_root, cfg.download)
    test_set = load_cifar10("test", cfg.data_dir, cfg.data_root, cfg.download)
    xs, ys = train_set.x, train_set.y
    if cfg.max_train_images:
        keep = fixed_subset(len(ys), min(cfg.max_train_images, len(ys)), cfg.seed)
        xs, ys = xs[keep], ys[keep]
    held = fixed_subset(len(test_set), min(cfg.heldout_n, len(test_set)), seed=1234)
    # channels_last: N-FGSM training steps 1.77x faster in fp32 on a 2-core AVX-512 EPYC (521 vs 294 img/s,
    # width 16, strides 1222); on AVX2 its fp32 training backward crashed torch 2.14.1, so not there.
    memfmt = torch.channels_last if device.type == "cpu" and (cpu_nhwc() or cpu_fast_bf16()) else torch.preserve_format
    x_held = test_set.float(held).to(device, memory_format=memfmt)
    y_held = test_set.y[held].to(device)

    torch.manual_seed(cfg.seed)  # parameter initialisation, identical on every rank
    model = INITS[cfg.init](spec.build()).to(device, memory_format=memfmt)
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=cfg.nesterov,
    )
    state_path = Path(cfg.run_dir) / name / "state.pt"
    if rank == 0:  # epoch lines also go beside the resume state, so a run's curve survives with it
        state_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = state_path.parent / "train.log"
        echo = log
        log = lambda *a: (echo(*a), log_file.open("a").write(" ".join(map(str, a)) + "\n"))  # noqa: E731
    start_epoch, history, seconds = 0, [], 0.0
    if cfg.resume and state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        # Fields added to TrainConfig after the state was written must hold their defaults.
        now, then = resume_key(asdict(cfg)), resume_key(state["config"])
        defaults = resume_key({f.name: f.default for f in fields(TrainConfig)})
        if any(now.get(k) != v for k, v in then.items()) or any(
            now[k] != defaults[k] for k in now.keys() - then.keys()
        ):
            raise SystemExit(
                f"{state_path} was written with a different configuration; use the same flags or delete it"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch, history, seconds = state["epoch"], state["history"], state["seconds"]
        log(f"resumed {name} after epoch {start_epoch} ({seconds:.0f} s so far)")
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model

    steps_per_epoch = len(ys) // cfg.batch_size
    local_bs = cfg.batch_size // world
    total_steps = steps_per_epoch * cfg.epochs
    run_clock = clock()  # leaves out time the process was stopped (kill -STOP while tests borrow the cores)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = run_clock.now()
        g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)  # same order on every rank
        perm = torch.randperm(len(ys), generator=g)
        bar = Progress(steps_per_epoch * cfg.batch_size, f"{name} epoch {epoch + 1}/{cfg.epochs}", rank == 0)
        model.train()
        running = 0.0
        for step in range(steps_per_epoch):
            idx = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size][rank * local_bs : (rank + 1) * local_bs]
            x = augment(xs[idx], g).float().div_(255).to(device, memory_format=memfmt)
            y = ys[idx].to(device)
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, (epoch * steps_per_epoch + step) / total_steps)
            loss = train_step(model, net, opt, x, y, cfg, g)
            running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
            bar.update(cfg.batch_size, running)
        if distributed:  # BN running statistics are rank-local: make every rank hold rank 0's
            for b in model.buffers():
                dist.broadcast(b, 0)
        took = run_clock.now() - t0
        seconds += took
        entry = {"epoch": epoch + 1, "loss": round(running, 4), "seconds": round(took, 1)}
        entry["arithmetic"] = arithmetic(device, cfg.precision)  # per epoch: a resumed run may change machine
        entry["hardware"] = _hardware(device, world)
        if rank == 0:
            entry.update({k: round(v, 4) for k, v in heldout_accuracy(model, x_held, y_held, cfg).items()})
            log(
                f"{name} epoch {epoch + 1}: loss {running:.4f}, held-out ({len(y_held)} test images) "
                f"clean {entry['clean']:.1%}, FGSM {entry['fgsm']:.1%}, PGD-10 {entry['pgd10']:.1%}, "
                f"{entry['seconds']:.0f} s"
            )
        history.append(entry)
        if rank == 0 and cfg.recipe != "std" and collapsed(history):
            entry["co_flag"] = True
            log(
                f"WARNING {name} epoch {epoch + 1}: catastrophic overfitting? held-out PGD-10 accuracy fell to "
                f"{entry['pgd10']:.1%} while FGSM accuracy is {entry['fgsm']:.1%}"
            )
        if rank == 0:
            state_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "epoch": epoch + 1,
                    "history": history,
                    "seconds": seconds,
                    "config": asdict(cfg),
                },
                state_path.with_suffix(".tmp"),
            )
            state_path.with_suffix(".tmp").replace(state_path)

    rank_hashes = _rank_weight_hashes(model, distributed)
    info = None
    if rank == 0:
        info = {
            "command": "python -m rcm_demo.train " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
            "config": cfg.card_config(),
            "attack": recipe_description(cfg),
            "epochs": cfg.epochs,
            "seed": cfg.seed,
            "seconds": round(seconds, 1),
            # every machine the epochs ran on, in order (epochs from before this was recorded: not listed)
            "hardware": " + ".join(dict.fromkeys([e["hardware"] for e in history if "hardware" in e]))
            or _hardware(device, world),
            # bf16 autocast on CUDA and AMX CPUs, fp32 elsewhere; epochs from before this was recorded: unknown
            "arithmetic": sorted({e.get("arithmetic", "not recorded") for e in history}),
            "world_size": world,
            "rank_weight_sha256": rank_hashes,
            "torch": torch.__version__,
            "date": datetime.date.today().isoformat(),
            "dataset": train_set.source + (f" (first {len(ys)} of a seeded shuffle)" if cfg.max_train_images else ""),
            "heldout_monitor": {
                "n": len(y_held),
                "dataset": test_set.source,
                "attack": "FGSM and PGD-10 (step eps/4)",
                "history": history,
                "collapsed_epochs": [e["epoch"] for e in history if e.get("co_flag")],
            },
        }
        ck = save_checkpoint(
            model,
            spec,
            cfg.recipe,
            info,
            Path(cfg.out_dir),
            tier=cfg.tier,
            dtype=torch.float16 if cfg.fp16_weights else torch.float32,
            seed=cfg.seed,
        )
        log(f"wrote {ck.weights} and {ck.card}")
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return info


def _rank_weight_hashes(model, distributed) -> list[str]:
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    mine = h.hexdigest()
    if not distributed:
        return [mine]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, mine)
    return out


def _hardware(device, world) -> str:
    if device.type == "cuda":
        return f"{world} x {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{world} x CPU process ({cpu}, {torch.get_num_threads()} threads, {os.cpu_count()} cores visible)"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    train(parse_args(argv), argv)


if __name__ == "__main__":
    main()
