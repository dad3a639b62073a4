"""The build's bookkeeping (devtools/zoo_session.py): finished width-16 epochs are committed, a state
written within an epoch and width-64 states are not (those go in with ``save``, once per session)."""

import json
import subprocess
from pathlib import Path

import pytest
import torch

from devtools import zoo_session

REPO = Path(__file__).resolve().parent.parent  # this checkout, before a test points ROOT elsewhere


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _repo(tmp_path, monkeypatch):
    repo, build = tmp_path / "main", tmp_path / "build"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    (repo / "README.md").write_text("x\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "start")
    monkeypatch.setattr(zoo_session, "ROOT", repo)
    return repo, build


def _state(build, name, **fields):
    d = build / "runs" / name
    d.mkdir(parents=True, exist_ok=True)
    torch.save(fields, d / "state.pt")
    (d / "train.log").write_text(f"{name} {fields}\n")


def test_finished_lite_epochs_are_committed_and_nothing_else(tmp_path, monkeypatch):
    repo, build = _repo(tmp_path, monkeypatch)
    lite, wide = "resnet18w16_s1122_x1_avg.trades", "resnet18w64_s1122_x1_avg.at"
    _state(build, lite, epoch=11, within_epoch={"step": 40})  # written within epoch 12
    _state(build, wide, epoch=3)
    done = {}
    assert zoo_session.watch_once(build, done) == []
    _state(build, lite, epoch=12)
    assert zoo_session.watch_once(build, done) == [f"{lite} 12"]
    assert zoo_session.watch_once(build, done) == []  # once per epoch
    assert _git(repo, "log", "-1", "--format=%s").strip() == f"{lite}: resume state after 12 epochs"
    assert sorted(_git(repo, "ls-files", "runs").split()) == [f"runs/{lite}/state.pt", f"runs/{lite}/train.log"]
    assert zoo_session.watch_once(build, {}) == []  # a new watcher sees it is already committed
    # Committed by another hand after this watcher last looked (same bytes): done, without a commit or a retry.
    _state(build, lite, epoch=13)
    assert zoo_session._commit(zoo_session._bring(build, lite, ("state.pt", "train.log")), "by hand") == "committed"
    assert zoo_session.watch_once(build, done) == [] and done[lite] == 13  # not reported as its own commit
    assert _git(repo, "log", "-1", "--format=%s").strip() == "by hand"


def test_save_stages_the_running_models_state_whatever_its_width(tmp_path, monkeypatch):
    repo, build = _repo(tmp_path, monkeypatch)
    wide = "resnet18w64_s1122_x1_avg.at"
    _state(build, wide, epoch=3, within_epoch={"step": 100})
    (build / "runs" / wide / "eval-pgd20.pt").write_bytes(b"eval")
    (build / "runs" / "status.json").write_text(json.dumps({"step": "train", "name": wide}))
    (build / "runs" / "measured-hours.json").write_text("{}\n")  # the build's measured hours go in too
    zoo_session.save(build)
    staged = sorted(_git(repo, "diff", "--cached", "--name-only").split())
    assert staged == [
        "runs/measured-hours.json",
        f"runs/{wide}/eval-pgd20.pt",
        f"runs/{wide}/state.pt",
        f"runs/{wide}/train.log",
    ]
    assert torch.load(repo / "runs" / wide / "state.pt", weights_only=True)["within_epoch"] == {"step": 100}


def test_save_of_a_trained_model_carries_its_checkpoint_and_card_instead_of_its_state(tmp_path, monkeypatch):
    repo, build = _repo(tmp_path, monkeypatch)
    wide = "resnet18w64_s1122_x1_avg.at"
    _state(repo, wide, epoch=10, within_epoch={"step": 50})  # what an earlier session's save committed
    (repo / "runs" / wide / "eval-pgd20.pt").write_bytes(b"cut off")  # finished in the build since
    _git(repo, "add", "runs")
    _git(repo, "commit", "-q", "-m", "earlier save")
    _state(build, wide, epoch=15)
    (build / "runs" / wide / "eval-cw30.pt").write_bytes(b"eval")
    (build / "pretrained").mkdir()
    (build / "pretrained" / f"{wide}.safetensors").write_bytes(b"weights")
    (build / "pretrained" / f"{wide}.json").write_text('{"metrics": {"pgd20": {}}}')
    (build / "runs" / "status.json").write_text(json.dumps({"step": "evaluate", "name": wide}))
    zoo_session.save(build)
    staged = _git(repo, "diff", "--cached", "--name-status").split("\n")
    assert sorted(s for s in staged if s) == [
        f"A\truns/{wide}/eval-cw30.pt",
        f"A\truns/{wide}/trained/{wide}.json",
        f"A\truns/{wide}/trained/{wide}.safetensors",
        f"D\truns/{wide}/eval-pgd20.pt",  # PGD-20 is on the card now: resuming it would measure nothing
        f"D\truns/{wide}/state.pt",  # 90 MB that the next session no longer needs
        f"M\truns/{wide}/train.log",
    ]
    assert (repo / "runs" / wide / "trained" / f"{wide}.json").read_text() == '{"metrics": {"pgd20": {}}}'
    assert not (repo / "runs" / wide / "eval-pgd20.pt").exists()
    # ... and the repository's .gitignore lets them in, as it does resume states
    for path in (f"runs/{wide}/trained/{wide}.safetensors", f"runs/{wide}/state.pt", f"runs/{wide}/eval-cw30.pt"):
        assert subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", path]).returncode == 1, path


def test_land_brings_the_finished_checkpoint_and_drops_what_the_build_no_longer_needs(tmp_path, monkeypatch):
    repo, build = _repo(tmp_path, monkeypatch)
    wide = "resnet18w64_s1122_x1_avg.at"
    saved = repo / "runs" / wide / "trained"  # an earlier session's save: the trained copy and a cut-off partial
    saved.mkdir(parents=True)
    (saved / f"{wide}.safetensors").write_bytes(b"weights")
    (saved / f"{wide}.json").write_text('{"metrics": {"pgd20": {}}}')
    (repo / "runs" / wide / "eval-cw30.pt").write_bytes(b"partial")
    (repo / "runs" / wide / "train.log").write_text("epochs\n")
    _git(repo, "add", "runs")
    _git(repo, "commit", "-q", "-m", "earlier save")
    (build / "pretrained").mkdir(parents=True)
    (build / "pretrained" / f"{wide}.safetensors").write_bytes(b"weights")
    (build / "pretrained" / f"{wide}.json").write_text('{"metrics": {"pgd20": {}, "cw30": {}}}')
    (build / "runs" / wide).mkdir(parents=True)
    (build / "runs" / wide / "train.log").write_text("epochs\nevaluated\n")
    (build / "runs" / "measured-hours.json").write_text('{"next model": {}}\n')
    regenerated = []
    monkeypatch.setattr(zoo_session, "regenerate_docs", lambda: regenerated.append(True))
    with pytest.raises(SystemExit, match="nothing of resnet18w64_s1122_x1_avg.at is staged"):
        zoo_session.land(build, wide)  # a checkout without docs/: git add fails, and land says so
    regenerated.clear()  # ... and running it again once the cause is mended finishes the job
    (repo / "docs").mkdir()
    (repo / "docs" / "zoo.md").write_text("tables\n")
    zoo_session.land(build, wide)
    assert regenerated == [True]  # the README's tables and sentences are made again from the cards
    staged = _git(repo, "diff", "--cached", "--no-renames", "--name-status").split("\n")
    assert sorted(s for s in staged if s) == [
        "A\tdocs/zoo.md",
        f"A\tpretrained/{wide}.json",
        f"A\tpretrained/{wide}.safetensors",
        "A\truns/measured-hours.json",
        f"D\truns/{wide}/eval-cw30.pt",
        f"D\truns/{wide}/trained/{wide}.json",
        f"D\truns/{wide}/trained/{wide}.safetensors",
        f"M\truns/{wide}/train.log",
    ]
    assert (repo / "pretrained" / f"{wide}.json").read_text() == '{"metrics": {"pgd20": {}, "cw30": {}}}'
    assert not (repo / "runs" / wide / "trained").exists()
