"""Build the zoo's plan end to end: train each planned checkpoint (resuming where a run stopped), then
evaluate it on the whole test set, one model at a time with every core. A width-64 model's weights are
checked in float16 (``training.compact``) between its training and its evaluation.

    python -m rcm_demo.build_zoo --data-dir ../shared/data/cifar10-jpeg            # the plan, in order
    python -m rcm_demo.build_zoo --list                                          # plan and what is done
    python -m rcm_demo.build_zoo --only resnet18w16_s1122_x1_avg.at --data-dir ...

Idempotent: a checkpoint whose card already records the planned training settings is not trained
again, and a metric already on its card with the planned number of images is not measured again. A
run cut off at any moment continues from ``runs/<name>/state.pt`` (written after every epoch), and an
evaluation from ``runs/<name>/eval-<metric>.pt`` (written after every batch: 500 images, 100 for AutoAttack), when the
same command is started again. ``--status FILE`` keeps a one-line JSON status of the current step.
Before a model starts, its hours on this machine are measured (``training.cost``), with its pair's other half
where that is not started either; a model (or pair) that would pass ``--max-hours`` (30) is left for a faster
machine and the build goes on with the next. Measurements are kept in ``runs/measured-hours.json`` per kind of
machine (CPU model and flags, threads, torch, arithmetic): delete it to measure again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from ..zoo import PRETRAINED_DIR, get_checkpoint
from . import evaluate, train
from .compact import compact
from .cost import remembered_hours
from .plan import PLAN, missing_evaluations, plan_status, trained_as_planned

# Runs longer than this on the machine at hand are not started (the workplace's ~30 CPU-hours line): the
# width-64 pair measured 9.7–16.9 hours on AVX512-BF16 EPYCs and 48–75 on AVX2 ones (docs/training.md).
MAX_HOURS = 30.0
# AutoAttack's resume step: its batches are the long ones (an estimated hour per 500 images of VGG16 11222).
AA_BATCH = 100
# Measured hours per model and kind of machine (``cost.remembered_hours``), beside the resume states and
# committed with them, so a new session on the same kind of machine does not measure again.
MEASURED = "measured-hours.json"
# Where ``zoo_session save`` keeps a trained model whose evaluation a session's end cut off: its checkpoint and
# card (with the metrics finished so far) in ``<run-dir>/<name>/trained/``, restored before the build goes on.
TRAINED = "trained"


def _write_status(path: str, **fields) -> None:
    if path:
        Path(path).write_text(json.dumps({"time": time.strftime("%Y-%m-%d %H:%M:%S"), **fields}) + "\n")


def _dir_flag(flag: str, directory: Path, default: Path) -> list[str]:
    """A directory flag only where it is not the default, so cards keep commands free of local paths."""
    return [] if Path(directory).resolve() == Path(default).resolve() else [flag, str(directory)]


def resume_state(run_dir: str, name: str) -> Path:
    """Where a half-trained model's resume point lies: its existence means the model has started."""
    return Path(run_dir) / name / "state.pt"


def saved_trained(run_dir: str, name: str) -> Path:
    """Where ``zoo_session save`` put a trained model whose evaluation is unfinished (``TRAINED``)."""
    return Path(run_dir) / name / TRAINED


def has_saved_trained(run_dir: str, name: str) -> bool:
    """Whether ``saved_trained`` holds the model's card (an empty folder left behind says nothing)."""
    return (saved_trained(run_dir, name) / f"{name}.json").exists()


def copy_checkpoint(name: str, src: Path, dest: Path) -> list[Path]:
    """Copy a checkpoint's weights, then its card (a card without its weights reads as broken), from ``src`` to
    ``dest``; returns the copies."""
    Path(dest).mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("safetensors", "json"):
        out.append(Path(shutil.copy2(Path(src) / f"{name}.{ext}", Path(dest) / f"{name}.{ext}")))
    return out


def started_text(run_dir: str, name: str) -> str:
    """How far a half-trained model is, read from its resume state, or that it was saved trained (``TRAINED``);
    '' where it has neither. For ``--list``."""
    path = resume_state(run_dir, name)
    if not path.exists():
        if not has_saved_trained(run_dir, name):
            return ""
        return f"trained in an earlier session, its evaluation unfinished ({saved_trained(run_dir, name)})"
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)  # a width-64 state is ~90 MB
    where, seconds = train.resume_point(state)
    epochs = f"{state['epoch']} of {state['config']['epochs']} epochs"
    return f"started: {epochs}{where}, {seconds / 3600:.1f} h of training ({path})"


def restore_trained(plan, run_dir: str, directory: Path) -> list[str]:
    """Copy each planned model saved as trained (``TRAINED``) into ``directory`` where that has no card for it,
    so its evaluation goes on from the metrics on that card and the partial ones beside it. Returns the names."""
    restored = []
    for p in plan:
        if has_saved_trained(run_dir, p.name) and not (Path(directory) / f"{p.name}.json").exists():
            copy_checkpoint(p.name, saved_trained(run_dir, p.name), directory)
            restored.append(p.name)
    return restored


def unfinished_first(plan, run_dir: str = "runs", directory: Path = PRETRAINED_DIR) -> tuple:
    """The plan with every unfinished model first (in plan order): half-trained (a resume state) or trained
    as planned with planned metrics still missing (``plan_status``); then the rest. A run or an evaluation
    cut off at the end of a session is finished before a new model starts, so half-done work does not pile up."""
    rows = plan_status(plan, directory)
    done = {
        r["name"]: not resume_state(run_dir, r["name"]).exists() and not (r["trained"] and r["to_evaluate"])
        for r in rows
    }  # fmt: skip
    return tuple(sorted(plan, key=lambda p: done[p.name]))


def stride_twins(p, plan) -> tuple:
    """The models of ``plan`` that differ from ``p`` in their strides alone: the other half of its pair."""
    return tuple(q for q in plan if q != p and replace(q, strides=p.strides) == p)


def start_check(p, plan, max_hours: float, hours, fresh) -> tuple[bool, str]:
    """Whether ``p`` may start on this machine, and the measured estimate that says why: its training and
    evaluation, with those of its pair's other half where that is not started either (``fresh``), measured on
    this kind of machine (``hours``: a model -> ``cost.remembered_hours``), against ``max_hours``. Half a pair
    answers nothing, so a pair too long for this machine is left whole. A model already started is always
    continued; ``max_hours`` 0 measures nothing."""
    if not max_hours:
        return True, ""
    run = (p, *(q for q in stride_twins(p, plan) if fresh(q)))
    total = sum(hours(q)["total"] for q in run)
    parts = [f"{q.name} {_hours_text(hours(q))}" for q in run]
    whose = "with its pair's other half, not started either" if len(run) > 1 else "alone"
    fits = total <= max_hours
    limit = f"--max-hours {max_hours:g}"
    then = f"within {limit}" if fits else f"over {limit}, a faster machine starts it"
    return fits, f"about {total:.1f} hours on this machine {whose}: {'; '.join(parts)}; {then}"


def _hours_text(m: dict) -> str:
    total, train_h = m["total"], m["hours"]["train"]
    when = f", measured {m['measured']} on this kind of machine" if m.get("remembered") else ""
    rate = m["rates"]["train"]
    return f"{total:.1f} (training {train_h:.1f} at {rate:.1f} img/s, evaluation {total - train_h:.1f}{when})"


def build(
    plan, data_dir: str, threads: int, directory: Path, status: str = "", run_dir: str = "runs", max_hours: float = 0
) -> None:
    skipped, hours_of = [], {}

    def fresh(q) -> bool:  # neither trained nor started: what a start here commits this machine to
        return not trained_as_planned(q, directory) and not resume_state(run_dir, q.name).exists()

    def hours(q) -> dict:  # each model measured at most once per build, and once per kind of machine
        if q.name not in hours_of:
            cfg = train.parse_args(q.train_args(data_dir, threads))
            hours_of[q.name] = remembered_hours(cfg, q.evaluations, Path(run_dir) / MEASURED)
        return hours_of[q.name]

    for name in restore_trained(plan, run_dir, directory):
        print(f"== restored {name}: trained in an earlier session, its evaluation unfinished", file=sys.stderr)
    for p in unfinished_first(plan, run_dir, directory):
        if not trained_as_planned(p, directory):
            fits, why = start_check(p, plan, max_hours, hours, fresh) if fresh(p) else (True, "")
            if not fits:
                print(f"== not starting {p.name}: {why}", file=sys.stderr, flush=True)
                skipped.append(p.name)
                continue
            if why:  # the estimate a start is measured against stays in the log
                print(f"== starting {p.name}: {why}", file=sys.stderr, flush=True)
            _write_status(status, step="train", name=p.name)
            print(f"== training {p.name}", file=sys.stderr, flush=True)
            where = _dir_flag("--out-dir", directory, PRETRAINED_DIR) + _dir_flag(
                "--run-dir", Path(run_dir), Path("runs")
            )
            train.main([*p.train_args(data_dir, threads), *where])
        if p.fp16 and "fp16_check" not in get_checkpoint(p.name, directory).meta:
            _write_status(status, step="fp16 check", name=p.name)
            compact(p.name, directory, data_dir)  # before any metric: the card's metrics describe the stored bits
        for attacks, n in missing_evaluations(p, directory):
            _write_status(status, step="evaluate", name=p.name, attacks=attacks, n=n)
            print(f"== evaluating {p.name}: {attacks} on {n} images", file=sys.stderr, flush=True)
            args = ["--checkpoints", p.name, "--attacks", attacks, "--n", str(n), "--aa-n", str(n)]
            args += ["--aa-attacks", "apgd-ce,apgd-t", "--data-dir", data_dir, "--threads", str(threads)]
            args += ["--resume-dir", run_dir]  # a metric cut off at a session's end continues from its last batch
            if "autoattack" in attacks:  # its batches are the long ones: smaller ones lose less when cut off
                args += ["--batch-size", str(AA_BATCH)]
            evaluate.main([*args, *_dir_flag("--dir", directory, PRETRAINED_DIR)])
        state = resume_state(run_dir, p.name)
        if state.exists():  # the checkpoint and its card are complete: the resume point has done its job
            state.unlink()
        shutil.rmtree(saved_trained(run_dir, p.name), ignore_errors=True)
    _write_status(status, step="done", not_started=skipped)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m rcm_demo.build_zoo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", default="", help="ImageFolder with train/ and test/ (the CIFAR-10 JPEG copy)")
    ap.add_argument("--only", default="", help="comma-separated checkpoint names from the plan, built in this order")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = every core)")
    ap.add_argument("--dir", default=str(PRETRAINED_DIR), help="where checkpoints and cards go")
    ap.add_argument("--run-dir", default="runs", help="resume states: <run-dir>/<name>/state.pt")
    ap.add_argument("--status", default="", help="write a one-line JSON status of the current step here")
    ap.add_argument("--list", action="store_true", help="print the plan and what is done, run nothing")
    ap.add_argument(
        "--max-hours",
        type=float,
        default=MAX_HOURS,
        help="do not start a model whose training and evaluation (with its pair's other half where that is not "
        "started either), measured on this machine before it starts (a few minutes at most), would take longer "
        "than this (0: no limit); a started one is always continued",
    )
    a = ap.parse_args(argv)
    plan = PLAN
    if a.only:
        names = a.only.split(",")
        unknown = set(names) - {p.name for p in PLAN}
        if unknown:
            ap.error(f"not in the plan: {sorted(unknown)}; --list shows it")
        # The given order wins: a short session builds the cheapest useful models first.
        by_name = {p.name: p for p in PLAN}
        plan = tuple(by_name[n] for n in dict.fromkeys(names))
    if a.list:
        for r in plan_status(plan, Path(a.dir)):
            if not r["trained"] and has_saved_trained(a.run_dir, r["name"]):  # what the build would restore
                r = plan_status([q for q in plan if q.name == r["name"]], saved_trained(a.run_dir, r["name"]))[0]
            todo = "; ".join(f"{k} on {n}" for k, n in r["to_evaluate"]) or "nothing"
            started = f"  {s}" if (s := started_text(a.run_dir, r["name"])) else ""
            print(f"{r['name']:42s} trained: {'yes' if r['trained'] else 'no ':3s}  to evaluate: {todo}{started}")
        return
    if not a.data_dir:
        ap.error("--data-dir is needed to train and evaluate (the CIFAR-10 ImageFolder with train/ and test/)")
    build(plan, a.data_dir, a.threads, Path(a.dir), a.status, a.run_dir, a.max_hours)


if __name__ == "__main__":
    main()
