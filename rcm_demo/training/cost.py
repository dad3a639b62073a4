"""What a model costs on this machine, measured: the shipped training step and the evaluation's attacks
timed on random data (the arithmetic does not depend on the weights), and from them the hours of a run.
``bench/tier_cost.py`` prints the table behind each tier; ``build_zoo`` asks ``model_hours`` before it starts
a model, and does not start one whose training and evaluation would pass its ``--max-hours`` on this machine.

    model_hours(cfg, EVAL_AT)["total"]   # about 35 for a width-64 ResNet18 1122 on a 2-core AVX2 EPYC (fp32)
    remembered_hours(cfg, EVAL_AT, Path("runs/measured-hours.json"))   # the same, measured once per machine kind
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ..attacks.evaluation import EVAL_ATTACKS
from ..hardware import arithmetic, cpu_fields, memory_format
from ..progress import clock
from ..zoo import PRETRAINED_DIR, CheckpointError, checkpoint_name, get_checkpoint, read_checkpoints
from .config import TrainConfig
from .steps import train_step

TRAIN_IMAGES = 50_000  # CIFAR-10's training set: one epoch


def timed(fn, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per call of ``fn``, after ``warmup`` untimed calls (oneDNN and cuDNN pick kernels on the first),
    on the run clock: a ``kill -STOP`` of the build while it measures does not count."""
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = clock().now()
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (clock().now() - t0) / steps


def _batch(n: int, device: torch.device, layout=torch.preserve_format):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, 32, 32, generator=g).to(device, memory_format=layout)
    return x, torch.randint(0, 10, (n,), generator=g).to(device), g


def train_rate(cfg: TrainConfig, device: torch.device, batch: int = 128, steps: int = 4) -> float:
    """Training images per second of ``cfg``'s recipe and model in the layout train.py uses here."""
    torch.manual_seed(0)
    layout = memory_format(device)
    model = cfg.spec.build().to(device, memory_format=layout).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x, y, g = _batch(batch, device, layout)
    return batch / timed(lambda: train_step(model, model, opt, x, y, cfg, g), steps, 2, device)


def eval_rate(
    cfg: TrainConfig, key: str, device: torch.device, batch: int = 100, steps: int = 2, warmup: int = 1
) -> float:
    """Test images per second of the evaluation's attack ``key`` (``EVAL_ATTACKS``) on ``cfg``'s model. An
    attack of 20 or more steps warms itself up: without ``warmup`` it errs slow by the first step's set-up."""
    torch.manual_seed(0)
    layout = memory_format(device)
    model = cfg.spec.build().to(device, memory_format=layout).eval().requires_grad_(False)
    x, y, g = _batch(batch, device)
    return batch / timed(lambda: EVAL_ATTACKS[key].run(model, x, y, "standard", g), steps, warmup, device)


def aa_ratio(cfg: TrainConfig, directory: Path = PRETRAINED_DIR) -> float:
    """APGD-CE + APGD-T seconds per image over PGD-20's, from the evaluated width-16 N-FGSM card of the same
    architecture and strides (its cost depends on how many images stay robust, so it is not timed on random
    weights); the largest ratio over all cards where that one is missing, so an estimate errs long."""

    def ratio(meta):
        m = meta.get("metrics", {})
        if "autoattack" not in m or "pgd20" not in m:
            return None
        return (m["autoattack"]["seconds"] / m["autoattack"]["n"]) / (m["pgd20"]["seconds"] / m["pgd20"]["n"])

    twin = replace(cfg.spec, width=16)
    try:
        found = ratio(get_checkpoint(checkpoint_name(twin, "at", 0), directory).meta)
    except CheckpointError:
        found = None
    if found is not None:
        return found
    return max(r for c in read_checkpoints(directory).values() if (r := ratio(c.meta)) is not None)


def model_hours(
    cfg: TrainConfig,
    evaluations,
    device: torch.device | None = None,
    steps: int = 4,
    eval_batch: int = 50,
    eval_steps: int = 1,
    eval_warmup: int = 0,
) -> dict:
    """Measured hours of ``cfg``'s training and of its planned ``evaluations`` ((attacks, images) pairs, as
    ``Planned.evaluations``) on this machine, with the rates behind them. Clean accuracy is left out (a
    forward pass: seconds); AutoAttack is PGD-20's per-image time times ``aa_ratio``. ``cfg.threads`` is
    applied first. A width-64 ResNet18 1122 takes about 3 minutes to measure on a 2-core AVX2 EPYC."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rates = {"train": train_rate(cfg, device, cfg.batch_size, steps)}
    hours = {"train": cfg.epochs * (cfg.max_train_images or TRAIN_IMAGES) / rates["train"] / 3600}
    for attacks, n in evaluations:
        for key in attacks.split(","):
            if key in ("pgd20", "cw30", "autoattack"):
                timed_key = "pgd20" if key == "autoattack" else key
                if timed_key not in rates:
                    rates[timed_key] = eval_rate(cfg, timed_key, device, eval_batch, eval_steps, eval_warmup)
                per_image = (aa_ratio(cfg) if key == "autoattack" else 1.0) / rates[timed_key]
                hours[key] = n * per_image / 3600
    return {"hours": hours, "total": sum(hours.values()), "rates": rates}


# Settings that say where things lie, not what is computed: a measurement holds whatever they are.
_WHERE = ("data_dir", "data_root", "download", "out_dir", "run_dir", "resume")


def machine_kind(device: torch.device) -> dict:
    """What a measurement on ``device`` holds for: the CPU's model, family and feature flags (or the GPU's
    name), torch's threads and version, the arithmetic and the memory layout."""
    kind = {"torch": torch.__version__, "arithmetic": arithmetic(device), "layout": str(memory_format(device))}
    if device.type == "cuda":
        return {**kind, "gpu": torch.cuda.get_device_name(device)}
    keep = ("vendor_id", "cpu family", "model", "model name", "flags")
    cpu = {k: v for k, v in cpu_fields().items() if k in keep}
    flags = hashlib.sha256(cpu.pop("flags", "").encode()).hexdigest()[:16]
    return {**kind, **cpu, "flags_sha256": flags, "threads": torch.get_num_threads()}


def remembered_hours(cfg: TrainConfig, evaluations, path: Path, device: torch.device | None = None) -> dict:
    """``model_hours``, kept in the JSON file ``path`` under this machine kind (``machine_kind``), ``cfg``'s
    settings and ``evaluations``: measured once per kind of machine rather than at every session's start (a
    width-64 pair takes about 5 minutes of the build's cores on a 2-core AVX2 EPYC). The answer says when it
    was measured (``measured``) and whether it came from the file (``remembered``); a file that does not read
    as such a book is measured over."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    settings = {k: v for k, v in asdict(cfg).items() if k not in _WHERE}
    kind = machine_kind(device)
    what = json.dumps([kind, settings, [list(e) for e in evaluations]], sort_keys=True, default=str)
    key = hashlib.sha256(what.encode()).hexdigest()[:20]
    try:
        book = json.loads(Path(path).read_text())
        if not isinstance(book, dict):
            book = {}
    except (OSError, ValueError):
        book = {}
    kept = book.get(key)
    if isinstance(kept, dict) and {"hours", "total", "rates", "measured"} <= set(kept):
        return {**kept, "remembered": True}
    m = {**model_hours(cfg, evaluations, device), "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    book[key] = {**m, "model": cfg.spec.name, "machine": kind}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(book, indent=1, sort_keys=True) + "\n")
    return {**m, "remembered": False}
