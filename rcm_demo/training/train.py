"""Train a zoo checkpoint: standard, adversarial (N-FGSM, FGSM-RS or PGD) or TRADES training.

    python -m rcm_demo.train --strides 1122 --recipe at --epochs 15 --data-dir ../shared/data/cifar10-jpeg
    python -m rcm_demo.train ... --recipe at --at-method pgd --at-steps 10 --at-alpha 2/255   # Madry PGD-10
    python -m rcm_demo.train ... --resume                  # continue after an interruption
    torchrun --nproc_per_node=4 -m rcm_demo.train ...      # data-parallel (gloo on CPU, nccl on CUDA)

Every epoch, and every 10 minutes within one, writes ``<run-dir>/<name>/state.pt`` (resume point); each
epoch logs clean, FGSM and PGD-10 accuracy on a fixed held-out test batch; an epoch whose PGD-10 accuracy
collapses while FGSM accuracy holds is flagged as catastrophic overfitting (log line and ``co_flag`` in the
card's history). At the end it writes ``pretrained/<name>.safetensors`` and the model card (metrics are
added by ``evaluate``).
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from dataclasses import asdict, fields
from pathlib import Path

import torch
import torch.distributed as dist

from ..data import fixed_subset, load_cifar10
from ..hardware import arithmetic, cpu_fields, cpu_vector_words, memory_format
from ..progress import Progress, clock
from ..zoo import checkpoint_name, save_checkpoint
from .config import INITS, TrainConfig, lr_at, parse_args, recipe_description, resume_key
from .steps import augment, collapsed, heldout_accuracy, train_step

# A resume point inside an epoch too, every 10 minutes of training: a width-64 1122 epoch takes 22 min on
# 2 cores in bf16 (an hour in fp32), and a session that ends mid-epoch would otherwise lose all of it.
MID_EPOCH_SAVE_S = 600.0


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
    memfmt = memory_format(device)
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
    start_epoch, history, seconds, within = 0, [], 0.0, None
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
        within = state.get("within_epoch")  # a mid-epoch resume point: where in the epoch, and its generator
        where, so_far = resume_point(state)
        log(f"resumed {name} after epoch {start_epoch}{where} ({so_far:.0f} s so far)")
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model

    steps_per_epoch = len(ys) // cfg.batch_size
    local_bs = cfg.batch_size // world
    total_steps = steps_per_epoch * cfg.epochs
    run_clock = clock()  # leaves out time the process was stopped (kill -STOP while tests borrow the cores)

    def save(**fields):  # written aside, then moved: a kill while writing leaves the previous state whole
        torch.save(
            {"model": model.state_dict(), "optimizer": opt.state_dict(), "config": asdict(cfg), **fields},
            state_path.with_suffix(".tmp"),
        )
        state_path.with_suffix(".tmp").replace(state_path)

    for epoch in range(start_epoch, cfg.epochs):
        t0 = run_clock.now() - (within["seconds"] if within else 0.0)
        g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)  # same order on every rank
        perm = torch.randperm(len(ys), generator=g)
        first, running = 0, 0.0
        if within:  # the permutation is drawn again from the seed; the generator continues where it was saved
            first, running = within["step"], within["running"]
            g.set_state(within["generator"])
            within = None
        bar = Progress(
            steps_per_epoch * cfg.batch_size,
            f"{name} epoch {epoch + 1}/{cfg.epochs}",
            rank == 0,
            first * cfg.batch_size,
        )
        model.train()
        saved_at = run_clock.now()
        for step in range(first, steps_per_epoch):
            idx = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size][rank * local_bs : (rank + 1) * local_bs]
            x = augment(xs[idx], g).float().div_(255).to(device, memory_format=memfmt)
            y = ys[idx].to(device)
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, (epoch * steps_per_epoch + step) / total_steps)
            loss = train_step(model, net, opt, x, y, cfg, g)
            running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
            bar.update(cfg.batch_size, running)
            if rank == 0 and step + 1 < steps_per_epoch and run_clock.now() - saved_at >= MID_EPOCH_SAVE_S:
                saved_at = run_clock.now()
                mid = {"step": step + 1, "running": running, "generator": g.get_state(), "seconds": saved_at - t0}
                save(epoch=epoch, history=history, seconds=seconds, within_epoch=mid)
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
            save(epoch=epoch + 1, history=history, seconds=seconds)

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
            # bf16 autocast where hardware.cpu_fast_bf16, fp32 elsewhere; epochs before this was recorded: unknown
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


def resume_point(state: dict) -> tuple[str, float]:
    """Where a resume state stands within its epoch (', step S of epoch E', or '' at an epoch's end) and its
    seconds of training so far: the resumed run's log line and ``build_zoo --list`` say it alike."""
    within = state.get("within_epoch")
    if not within:
        return "", state["seconds"]
    return f", step {within['step']} of epoch {state['epoch'] + 1}", state["seconds"] + within["seconds"]


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
    fields = cpu_fields()
    cpu = fields.get("model name") or platform.processor() or platform.machine()
    # a VM's masked 'AMD EPYC' hides its generation: Zen 4 (family 25) and Zen 5 (26) differ 1.5-1.8x per epoch
    if "cpu family" in fields and "model" in fields:  # x86 only; ARM's /proc/cpuinfo has neither
        cpu += f" (family {fields['cpu family']}, model {fields['model']})"
    cpu += f" with {kind}" if (kind := cpu_vector_words()) else ""
    return f"{world} x CPU process ({cpu}, {torch.get_num_threads()} threads, {os.cpu_count()} cores visible)"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    train(parse_args(argv), argv)


if __name__ == "__main__":
    main()
