"""The background build's bookkeeping across sessions (docs/training.md, "Build a whole tier"): the build
runs in a second work tree (``git worktree add --detach ../build main``) so that commits here never touch
the files it reads, and this checkout commits what it produces.

    python -m devtools.zoo_session watch --build ../build   # commit each finished epoch of width-16 runs
    python -m devtools.zoo_session land NAME --build ../build   # a finished model: card, weights, train.log
                                                                # (and runs/measured-hours.json)
    python -m devtools.zoo_session save --build ../build    # at a session's end: the running model's state
                                                            # (its checkpoint and card once it is trained)
                                                            # and the build's measured hours (runs/measured-hours.json)

Width-16 resume states are committed per epoch (about 6 MB); width-64 ones (about 90 MB with momentum) only
by ``save``, once per session, so the repository's history does not grow by gigabytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

from rcm_demo.training.build_zoo import MEASURED, copy_checkpoint, saved_trained
from rcm_demo.zoo import parse_checkpoint_name

ROOT = Path(__file__).resolve().parent.parent


def epoch_done(state: dict) -> int | None:
    """The number of finished epochs a resume state holds, or None for a state written within an epoch."""
    return None if state.get("within_epoch") else state.get("epoch")


def per_epoch(name: str) -> bool:
    """Whether a run's state is committed after every epoch: the lite widths, not the paper's."""
    return parse_checkpoint_name(name)[0].width < 64


def _git(*args: str) -> int:
    return subprocess.run(["git", "-C", str(ROOT), *args]).returncode


def _bring(build: Path, name: str, files: tuple[str, ...]) -> list[str]:
    (ROOT / "runs" / name).mkdir(parents=True, exist_ok=True)
    out = []
    for f in files:
        for src in sorted((build / "runs" / name).glob(f)):
            shutil.copy2(src, ROOT / "runs" / name / src.name)
            out.append(f"runs/{name}/{src.name}")
    return out


def _commit(paths: list[str], message: str) -> str:
    """Commit ``paths``: 'committed', 'already' where they are committed as they are (nothing to do), or ''
    where git kept failing."""
    for _ in range(10):  # another git command here may hold the index lock for a moment
        if _git("add", *paths) == 0:
            if _git("diff", "--cached", "--quiet", "--", *paths) == 0:
                return "already"
            if _git("commit", "-q", "-m", message, "--", *paths) == 0:
                return "committed"
        time.sleep(5)
    return ""


def watch_once(build: Path, done: dict[str, int]) -> list[str]:
    """Commit every width-16 run whose state holds an epoch not committed yet; ``done`` remembers them."""
    committed = []
    for path in sorted((build / "runs").glob("*/state.pt")):
        name = path.parent.name
        if not per_epoch(name):
            continue
        try:
            epoch = epoch_done(torch.load(path, map_location="cpu", weights_only=True))
        except Exception:  # being replaced right now: next round
            continue
        if epoch is None or done.get(name) == epoch:
            continue
        here = ROOT / "runs" / name / "state.pt"
        if name not in done and here.exists():
            if epoch_done(torch.load(here, map_location="cpu", weights_only=True)) == epoch:
                done[name] = epoch  # committed by an earlier session
                continue
        outcome = _commit(_bring(build, name, ("state.pt", "train.log")), f"{name}: resume state after {epoch} epochs")
        if outcome:
            done[name] = epoch
        if outcome == "committed":  # not one another hand committed: the log says what this watcher did
            committed.append(f"{name} {epoch}")
    return committed


def watch(build: Path, every: float = 60.0) -> None:
    done: dict[str, int] = {}
    while True:
        for line in watch_once(build, done):
            print(time.strftime("%H:%M"), "committed", line, flush=True)
        time.sleep(every)


def land(build: Path, name: str) -> None:
    copy_checkpoint(name, build / "pretrained", ROOT / "pretrained")
    _bring(build, name, ("train.log",))
    # the card is complete: resume points and a trained copy saved mid-evaluation have done their job
    for leftover in [*(ROOT / "runs" / name).glob("*.pt"), *saved_trained(ROOT / "runs", name).glob("*")]:
        _untrack(leftover)
    shutil.rmtree(saved_trained(ROOT / "runs", name), ignore_errors=True)  # --list reads a saved copy from it
    regenerate_docs()
    landed = (f"pretrained/{name}.json", f"pretrained/{name}.safetensors", f"runs/{name}", "README.md", "docs")
    if _git("add", *landed):
        raise SystemExit(f"git add {' '.join(landed)} failed (above); nothing of {name} is staged")
    _bring_measured(build)  # the next model's measurement, taken when the build started it
    print(f"{name} landed and staged; look at the pages, then commit")


def _untrack(path: Path) -> None:
    """Remove ``path`` (under ROOT) from the index and the disk, wherever it is still in either."""
    _git("rm", "-q", "--cached", "--ignore-unmatch", str(path.relative_to(ROOT)))
    path.unlink(missing_ok=True)


def regenerate_docs() -> None:
    """The README's and docs/' tables and sentences, from the cards now in pretrained/."""
    subprocess.run([sys.executable, "-m", "rcm_demo.evaluate", "--readme"], cwd=ROOT, check=True)


def _bring_measured(build: Path) -> None:
    measured = build / "runs" / MEASURED  # the build's measured hours per kind of machine: not measured again
    if measured.exists():
        (ROOT / "runs").mkdir(exist_ok=True)
        shutil.copy2(measured, ROOT / "runs" / MEASURED)
        _git("add", f"runs/{MEASURED}")


def save(build: Path) -> None:
    _bring_measured(build)
    status = json.loads((build / "runs" / "status.json").read_text())
    name = status.get("name")
    if not name or not (build / "runs" / name).exists():
        print(f"nothing running to save ({status})")
        return
    if status.get("step") != "train" and (build / "pretrained" / f"{name}.json").exists():
        # Trained, its evaluation unfinished: the checkpoint and its card (with the metrics finished so far)
        # replace the resume state, so the next session evaluates on where this one stopped instead of
        # training the last step again and measuring every metric anew (build_zoo.restore_trained).
        copies = copy_checkpoint(name, build / "pretrained", saved_trained(ROOT / "runs", name))
        _untrack(ROOT / "runs" / name / "state.pt")
        for partial in (ROOT / "runs" / name).glob("eval-*.pt"):  # finished since: its metric is on the card
            if not (build / "runs" / name / partial.name).exists():
                _untrack(partial)
        paths = [str(c.relative_to(ROOT)) for c in copies] + _bring(build, name, ("train.log", "eval-*.pt"))
    else:
        paths = _bring(build, name, ("state.pt", "train.log", "eval-*.pt"))
    _git("add", *paths)
    print(f"staged {', '.join(paths)} ({status.get('step')}); commit them before the session ends")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("watch", "land", "save"))
    ap.add_argument("name", nargs="?", help="with land: the finished checkpoint")
    ap.add_argument("--build", type=Path, default=ROOT.parent / "build", help="the build's work tree")
    a = ap.parse_args(argv)
    if a.command == "watch":
        watch(a.build)
    elif a.command == "land":
        if not a.name:
            ap.error("land needs the checkpoint's name")
        land(a.build, a.name)
    else:
        save(a.build)


if __name__ == "__main__":
    main()
