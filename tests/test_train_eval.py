"""Training and evaluation CLIs end to end on a tiny generated ImageFolder (seconds, CPU)."""

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from PIL import Image

from rcm_demo import attacks, data, hardware, zoo
from rcm_demo.attacks import projected
from rcm_demo.training import evaluate, report, steps, train
from rcm_demo.zoo import intervals, tables

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("tinyfolder")
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", 8), ("test", 4)):
        for i, c in enumerate(data.CLASSES):
            (d / split / c).mkdir(parents=True)
            for k in range(n):
                base = torch.full((32, 32, 3), i * 25, dtype=torch.uint8)
                noise = torch.randint(0, 30, (32, 32, 3), generator=g, dtype=torch.uint8)
                Image.fromarray((base + noise).numpy()).save(d / split / c / f"{k}.png")
    return d


def _flags(folder, tmp, *extra):
    return [
        "--width",
        "4",
        "--batch-size",
        "16",
        "--data-dir",
        str(folder),
        "--heldout-n",
        "20",
        "--out-dir",
        str(tmp / "pt"),
        "--run-dir",
        str(tmp / "runs"),
        "--threads",
        "1",
        *extra,
    ]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")


@pytest.mark.parametrize("recipe", ["std", "at", "trades"])
def test_train_writes_weights_and_card(tiny_folder, tmp_path, recipe):
    argv = _flags(tiny_folder, tmp_path, "--recipe", recipe, "--epochs", "1", "--at-steps", "2")
    train.main(argv)
    name = f"resnet18w4_s1222_x1_avg.{recipe}"
    card = json.loads((tmp_path / "pt" / f"{name}.json").read_text())
    t = card["train"]
    assert t["command"].startswith("python -m rcm_demo.train") and "--recipe" in t["command"]
    assert t["epochs"] == 1 and t["seed"] == 0 and t["seconds"] > 0 and t["torch"] == torch.__version__
    assert "ImageFolder" in t["dataset"] and len(t["heldout_monitor"]["history"]) == 1
    assert {"clean", "pgd10"} <= set(t["heldout_monitor"]["history"][0])
    # The arithmetic this machine trained in, as the attack code decides it (bf16: CUDA, AMX, AVX512-BF16 EPYC).
    assert t["arithmetic"] == [hardware.arithmetic("cpu")] and t["arithmetic"][0] in ("fp32", "bf16 autocast")
    assert t["heldout_monitor"]["history"][0]["arithmetic"] == t["arithmetic"][0]
    model = zoo.load_model(name, directory=tmp_path / "pt")
    assert model(torch.rand(1, 3, 32, 32)).shape == (1, 10)


def test_resume_reproduces_an_uninterrupted_run(tiny_folder, tmp_path, monkeypatch):
    full = tmp_path / "full"
    train.main(_flags(tiny_folder, full, "--epochs", "2"))
    ref = zoo.load_model("resnet18w4_s1222_x1_avg.std", directory=full / "pt")

    part = tmp_path / "part"
    calls = {"n": 0}
    real = train.heldout_accuracy

    def crash_on_second_epoch(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the session ends in the middle of the run
        return real(*a, **k)

    monkeypatch.setattr(train, "heldout_accuracy", crash_on_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train.main(_flags(tiny_folder, part, "--epochs", "2"))
    assert (part / "runs" / "resnet18w4_s1222_x1_avg.std" / "state.pt").exists()
    monkeypatch.setattr(train, "heldout_accuracy", real)
    here = train._hardware(torch.device("cpu"), 1)
    monkeypatch.setattr(train, "_hardware", lambda device, world: "1 x NVIDIA H200")  # resumed elsewhere
    train.main(_flags(tiny_folder, part, "--epochs", "2", "--resume"))
    card = json.loads((part / "pt" / "resnet18w4_s1222_x1_avg.std.json").read_text())
    assert card["train"]["hardware"] == here + " + 1 x NVIDIA H200"  # both machines, in order
    got = zoo.load_model("resnet18w4_s1222_x1_avg.std", directory=part / "pt")
    for (k, a), b in zip(ref.state_dict().items(), got.state_dict().values()):
        assert torch.equal(a, b), k
    with pytest.raises(SystemExit, match="different configuration"):
        train.main(_flags(tiny_folder, part, "--epochs", "3", "--resume", "--lr", "0.05"))


def test_a_run_cut_off_within_an_epoch_resumes_there_and_ends_bit_identical(tiny_folder, tmp_path, monkeypatch):
    """A width-64 1122 epoch takes an hour on 2 cores: a session that ends mid-epoch must not lose it."""
    flags = ("--recipe", "at", "--epochs", "2")  # N-FGSM draws its noise from the epoch's generator
    train.main(_flags(tiny_folder, tmp_path / "full", *flags))
    name = "resnet18w4_s1222_x1_avg.at"
    ref = zoo.load_model(name, directory=tmp_path / "full" / "pt")

    part, real, calls = tmp_path / "part", train.train_step, {"n": 0}

    def cut_in_epoch_two(*a, **k):  # 80 images, batch 16: 5 steps an epoch; the 8th step is epoch 2's third
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train, "MID_EPOCH_SAVE_S", 0.0)  # a resume point after every step
    monkeypatch.setattr(train, "train_step", cut_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train.main(_flags(tiny_folder, part, *flags))
    state = torch.load(part / "runs" / name / "state.pt", weights_only=True)
    assert state["epoch"] == 1 and state["within_epoch"]["step"] == 2
    from rcm_demo.training import build_zoo

    said = build_zoo.started_text(str(part / "runs"), name)  # what --list says of a half-trained model
    assert said.startswith("started: 1 of 2 epochs, step 2 of epoch 2, ") and said.endswith("state.pt)")
    assert build_zoo.started_text(str(part / "runs"), "resnet18w4_s1122_x1_avg.at") == ""
    train.main(_flags(tiny_folder, part, *flags, "--resume"))
    assert calls["n"] == 8 + 3  # the resumed run did only the rest of epoch 2
    got = zoo.load_model(name, directory=part / "pt")
    for (k, a), b in zip(ref.state_dict().items(), got.state_dict().values()):
        assert torch.equal(a, b), k
    card = json.loads((part / "pt" / f"{name}.json").read_text())
    assert [e["epoch"] for e in card["train"]["heldout_monitor"]["history"]] == [1, 2]


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_end_identical(tiny_folder, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={port}",
        "--master_addr=127.0.0.1",
        "-m",
        "rcm_demo.train",
        *_flags(tiny_folder, tmp_path, "--epochs", "1", "--recipe", "at", "--at-steps", "1"),
    ]
    env = {**os.environ, "RCM_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.stdout + out.stderr)[-6000:]
    card = json.loads((tmp_path / "pt" / "resnet18w4_s1222_x1_avg.at.json").read_text())
    hashes = card["train"]["rank_weight_sha256"]
    assert card["train"]["world_size"] == 2 and len(hashes) == 2 and hashes[0] == hashes[1]


def test_evaluate_updates_cards(tiny_folder, tmp_path, monkeypatch, capsys):
    train.main(_flags(tiny_folder, tmp_path, "--epochs", "1"))
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path / "pt")
    evaluate.main(
        [
            "--n",
            "12",
            "--aa-n",
            "6",
            "--attacks",
            "clean,fgsm,pgd20,cw30,l2,autoattack",
            "--aa-attacks",
            "apgd-ce",
            "--csv",
            str(tmp_path / "r.csv"),
        ]
    )  # bundled sample
    out = capsys.readouterr().out
    assert "| resnet18w4_s1222_x1_avg.std |" in out
    meta = zoo.get_checkpoint("resnet18w4_s1222_x1_avg.std").meta
    m = meta["metrics"]
    assert m["clean"]["n"] == 12 and m["autoattack"]["n"] == 6
    assert m["autoattack"]["attack"]["attacks"] == ["apgd-ce"]
    assert "bundled sample" in m["pgd20"]["dataset"]
    assert m["pgd20"]["value"] <= m["clean"]["value"]
    assert {v["arithmetic"] for v in m.values()} == {hardware.arithmetic("cpu")}
    assert "steps" not in m["fgsm"]["attack"] and m["pgd20"]["attack"]["steps"] == 20
    assert m["cw30"]["attack"]["loss"] == "cw" and m["pgd20"]["attack"]["attack"] == "PGD-L∞"
    bits = intervals.unpack_bits(m["pgd20"]["correct_bits"], 12)
    assert bits.float().mean().item() == pytest.approx(m["pgd20"]["value"], abs=1e-4)
    assert (tmp_path / "r.csv").read_text().startswith("checkpoint,clean")
    assert "resnet18w4_s1222_x1_avg.std" in report.results_table()


def test_paired_differences_from_correctness_bits(tiny_folder, tmp_path, monkeypatch, capsys):
    for strides in ("1222", "1122"):
        train.main(_flags(tiny_folder, tmp_path, "--epochs", "1", "--strides", strides))
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path / "pt")
    evaluate.main(["--n", "16", "--attacks", "clean,fgsm"])
    a, b = "resnet18w4_s1122_x1_avg.std", "resnet18w4_s1222_x1_avg.std"
    r = intervals.paired_difference(a, b, "clean")
    ma, mb = (zoo.get_checkpoint(n).meta["metrics"]["clean"]["value"] for n in (a, b))
    assert r["n"] == 16 and r["diff"] == pytest.approx(ma - mb, abs=1e-6) and r["se"] >= 0
    assert intervals.paired_difference(a, b, "autoattack") is None  # not measured
    evaluate.main(["--report", "--report-figure", str(tmp_path / "fig.html")])
    out = capsys.readouterr().out
    assert "8×8 strides 1122 · standard · avg" in out and "| clean |" in out and "95% CI" in out
    assert any(w in out for w in ("gain", "loss", "not resolved", "identical")) and (tmp_path / "fig.html").exists()


def test_pooling_table(tiny_folder, tmp_path, monkeypatch, capsys):
    train.main(_flags(tiny_folder, tmp_path, "--epochs", "1", "--strides", "1122"))
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path / "pt")
    evaluate.main(["--pooling", "--n", "4"])
    out = capsys.readouterr().out
    assert "| resnet18w4_s1122_x1_avg.std | 8×8 |" in out and "0.125" in out
    assert "the max-pooling ratio (median over checkpoints) is 0." in out and "at 8×8." in out


def test_pooling_table_measures_only_new_or_retrained_weights(tiny_folder, tmp_path, monkeypatch):
    for strides in ("1222", "1122"):
        train.main(_flags(tiny_folder, tmp_path, "--epochs", "1", "--strides", strides))
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path / "pt")
    a, b = "resnet18w4_s1122_x1_avg.std", "resnet18w4_s1222_x1_avg.std"
    first = report.pooling_table(4)
    rows = report.pooling_rows(first)
    assert set(rows) == {a, b} and rows[a]["sha"] == zoo.get_checkpoint(a).meta["sha256"][:12]
    assert (rows[a]["H"], rows[b]["H"]) == (8, 4)
    measured = []
    real = report.zoo_pooling
    monkeypatch.setattr(report, "zoo_pooling", lambda ms, *a, **k: measured.extend(ms) or real(ms, *a, **k))
    assert report.pooling_table(4, keep=first) == first and measured == []  # same weights: nothing measured
    stale = first.replace(f"`{rows[b]['sha']}`", "`000000000000`")  # as if b had been retrained since
    assert report.pooling_table(4, keep=stale) == first and measured == [b]
    fake = first.replace(rows[a]["line"], rows[a]["line"].replace(f"| {rows[a]['ratio_max']:.3f} |", "| 0.999 |"))
    assert "0.999 at 8×8" in report.pooling_table(4, keep=fake)  # the summary reads the rows it keeps


def test_pooling_summary_follows_its_rows():
    from rcm_demo.analysis.lesson import pooling_summary

    rows = [
        {"H": 4, "W": 4, "ratio_avg": 0.125, "bound_avg": 0.25, "ratio_max": 0.5},
        {"H": 8, "W": 8, "ratio_avg": 0.0625, "bound_avg": 0.125, "ratio_max": 0.25},
        {"H": 8, "W": 8, "ratio_avg": 0.0625, "bound_avg": 0.125, "ratio_max": 0.35},
    ]
    text = pooling_summary(rows)
    assert "passes 50% of its bound" in text and "4.0–5.6× as much" in text
    assert "is 0.500 at 4×4, 0.300 at 8×8." in text
    one = {"H": 1, "W": 1, "ratio_avg": 1.0, "bound_avg": 1.0, "ratio_max": 1.0}  # VGG16-BN 22222: no pooling
    text = pooling_summary([*rows, one])
    assert "passes 50% of its bound" in text and "4.0–5.6× as much" in text  # the ranges leave it out
    assert (
        "is 0.500 at 4×4, 0.300 at 8×8." in text and "nothing to pool" in text and "1.000 there (1 checkpoint" in text
    )
    assert "nothing to pool" in pooling_summary([one]) and "nothing to pool" not in pooling_summary(rows)


@pytest.mark.parametrize(
    "flag,value",
    [("--strides", "1322"), ("--pool", "sum"), ("--recipe", "mixup"), ("--tier", "huge"), ("--arch", "vit")],
)
def test_bad_flags_fail_before_any_data_is_loaded(flag, value, monkeypatch, capsys):
    def refuse(*a, **k):
        raise AssertionError("data was loaded before the flags were checked")

    monkeypatch.setattr(train, "load_cifar10", refuse)
    with pytest.raises(SystemExit):
        train.main(["--data-dir", "/nonexistent", flag, value])
    assert flag.strip("-").split("-")[0] in capsys.readouterr().err


def test_train_card_names_tier_and_no_local_paths(tiny_folder, tmp_path):
    import re

    train.main(_flags(tiny_folder, tmp_path, "--epochs", "1", "--tier", "paper", "--fp16-weights"))
    ck = zoo.get_checkpoint("resnet18w4_s1222_x1_avg.std", tmp_path / "pt")
    assert ck.tier == "paper" and ck.meta["weights_dtype"] == "float16"
    cfg = ck.meta["train"]["config"]
    assert cfg["out_dir"] == "pt" and cfg["data_dir"] == tiny_folder.name
    assert not re.search(r'"(/[A-Za-z][^"]*)"', json.dumps(ck.meta["train"]["config"]))


def test_fast_at_card_records_method_noise_and_step(tiny_folder, tmp_path):
    train.main(_flags(tiny_folder, tmp_path, "--recipe", "at", "--epochs", "1"))
    t = zoo.get_checkpoint("resnet18w4_s1222_x1_avg.at", tmp_path / "pt").meta["train"]
    assert t["config"]["at_method"] == "nfgsm" and t["config"]["at_steps"] == 1
    assert t["config"]["at_alpha"] == pytest.approx(8 / 255)  # the method's own step, resolved on the card
    assert t["attack"]["method"].startswith("N-FGSM") and t["attack"]["noise_255"] == pytest.approx(16)
    assert t["attack"]["step_255"] == pytest.approx(8) and t["attack"]["eps_255"] == pytest.approx(8)
    assert {"clean", "fgsm", "pgd10"} <= set(t["heldout_monitor"]["history"][0])


def test_adversarial_batch_is_a_pgd_configuration(monkeypatch):
    """N-FGSM and FGSM-RS call attacks.pgd with one step; PGD with at_steps: no second attack loop."""

    seen = []
    real = projected.pgd

    def spy(model, x, y, **kw):
        seen.append(kw)
        return real(model, x, y, **kw)

    monkeypatch.setattr(projected, "pgd", spy)
    monkeypatch.setattr(steps, "pgd", spy)
    model = zoo.ModelSpec(width=4).build().eval()
    x, y = torch.rand(4, 3, 32, 32), torch.randint(0, 10, (4,))
    for method in ("nfgsm", "fgsm-rs", "pgd"):
        cfg = train.TrainConfig(recipe="at", at_method=method, at_steps=3)
        x_adv = steps.adversarial_batch(model, x, y, cfg, torch.Generator().manual_seed(0))
        reach = {"nfgsm": 3 * 8 / 255, "fgsm-rs": 8 / 255, "pgd": 8 / 255}[method]
        assert (x_adv - x).abs().max() <= reach + 1e-6 and 0 <= x_adv.min() and x_adv.max() <= 1
    assert [k["steps"] for k in seen] == [1, 1, 3]
    assert seen[0]["eps"] == pytest.approx(3 * 8 / 255) and seen[0]["init"].abs().max() <= 2 * 8 / 255 + 1e-7


def test_nfgsm_noise_is_wider_than_the_ball_and_unprojected():

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    x, y = torch.full((64, 3, 32, 32), 0.5), torch.zeros(64, dtype=torch.long)
    d = attacks.nfgsm(model, x, y, eps=8 / 255, precision="fp32") - x
    assert d.abs().max() > 8 / 255 * 2.5  # noise 2·eps plus a step eps, not clipped to eps
    assert d.abs().max() <= 3 * 8 / 255 + 1e-6


def test_collapse_rule():
    ok = [{"clean": 0.3, "fgsm": 0.2, "pgd10": 0.18}, {"clean": 0.4, "fgsm": 0.27, "pgd10": 0.24}]
    assert not train.collapsed(ok)
    co = ok + [{"clean": 0.6, "fgsm": 0.55, "pgd10": 0.01}]  # Wong et al.'s picture: FGSM up, PGD to ~0
    assert train.collapsed(co)
    assert not train.collapsed(ok + [{"clean": 0.2, "fgsm": 0.05, "pgd10": 0.03}])  # everything fell: divergence


def test_monitor_flags_a_collapsed_run(tiny_folder, tmp_path, monkeypatch, capsys):
    """A run whose held-out PGD-10 accuracy collapses while FGSM accuracy rises is flagged in the log and
    on the card (the monitor's numbers are forced here; the rule is the one train.py applies)."""
    curve = iter([(0.30, 0.22, 0.20), (0.40, 0.30, 0.26), (0.55, 0.50, 0.02)])
    monkeypatch.setattr(
        train, "heldout_accuracy", lambda *a, **k: dict(zip(("clean", "fgsm", "pgd10"), next(curve), strict=True))
    )
    train.main(_flags(tiny_folder, tmp_path, "--recipe", "at", "--epochs", "3"))
    t = zoo.get_checkpoint("resnet18w4_s1222_x1_avg.at", tmp_path / "pt").meta["train"]
    assert t["heldout_monitor"]["collapsed_epochs"] == [3]
    assert "catastrophic overfitting" in capsys.readouterr().err


def test_seed_names_and_build_zoo_plan(tiny_folder, tmp_path, monkeypatch):
    from rcm_demo.training import build_zoo
    from rcm_demo.training import plan as zoo_plan

    budget = {"width": 4, "epochs": 1, "batch_size": 16, "heldout_n": 20, "max_train_images": 48}
    monkeypatch.setattr(zoo_plan, "LITE_BUDGET", {**zoo_plan.LITE_BUDGET, **budget})
    monkeypatch.setattr(zoo_plan, "EVAL_AT", (("clean,pgd20", 20), ("autoattack", 4)))
    monkeypatch.setattr(zoo_plan, "EVAL_STD", (("clean", 20),))
    plan = (zoo_plan.Planned("1222", 1, "avg", "std"), zoo_plan.Planned("1222", 1, "avg", "at", seed=1))
    assert plan[1].name == "resnet18w4_s1222_x1_avg.at.seed1"
    pt = tmp_path / "pt"
    build_zoo.build(plan, str(tiny_folder), 1, pt, str(tmp_path / "status.json"), str(tmp_path / "runs"))
    assert json.loads((tmp_path / "status.json").read_text())["step"] == "done"
    rows = zoo_plan.plan_status(plan, pt)
    assert all(r["trained"] and not r["to_evaluate"] for r in rows)
    ck = zoo.get_checkpoint("resnet18w4_s1222_x1_avg.at.seed1", pt)
    assert ck.seed == 1 and "seed 1" in ck.label and ck.meta["metrics"]["autoattack"]["n"] == 4
    assert zoo.parse_checkpoint_name(ck.name)[1:] == ("at", 1)
    assert "--out-dir" in ck.meta["train"]["command"]  # not the default directory, so it is named
    calls = []
    monkeypatch.setattr(build_zoo.train, "main", lambda argv: calls.append(argv))
    monkeypatch.setattr(build_zoo.evaluate, "main", lambda argv: calls.append(argv))
    build_zoo.build(plan, str(tiny_folder), 1, pt)
    assert calls == []  # everything on the cards already: nothing is trained or measured again
    assert not (tmp_path / "runs" / plan[1].name / "state.pt").exists()  # resume point removed when done
    runs = str(tmp_path / "runs")
    assert build_zoo.unfinished_first(plan, runs, pt) == plan  # both finished: plan order
    card = pt / f"{plan[1].name}.json"
    meta = json.loads(card.read_text())
    del meta["metrics"]["autoattack"]  # an evaluation cut off before its last metric
    card.write_text(json.dumps(meta))
    assert build_zoo.unfinished_first(plan, runs, pt) == (plan[1], plan[0])
    build_zoo.build(plan, str(tiny_folder), 1, pt, run_dir=runs)
    (aa,) = calls  # only the missing metric, resumable, in AutoAttack's smaller batches
    assert aa[aa.index("--attacks") + 1] == "autoattack" and aa[aa.index("--resume-dir") + 1] == runs
    assert aa[aa.index("--batch-size") + 1] == str(build_zoo.AA_BATCH)
    # A session ended mid-evaluation and saved the trained model beside its resume points (zoo_session save):
    # a fresh checkout's build puts it back and measures only the missing metric, training nothing.
    saved = Path(runs) / plan[1].name / build_zoo.TRAINED
    saved.mkdir(parents=True)
    for ext in ("safetensors", "json"):
        (pt / f"{plan[1].name}.{ext}").rename(saved / f"{plan[1].name}.{ext}")
    assert build_zoo.started_text(runs, plan[1].name).startswith("trained in an earlier session")  # --list
    calls.clear()
    build_zoo.build(plan, str(tiny_folder), 1, pt, run_dir=runs)
    (aa,) = calls
    assert aa[aa.index("--attacks") + 1] == "autoattack"
    assert json.loads(card.read_text())["metrics"].keys() == meta["metrics"].keys()  # restored with its metrics
    assert not saved.exists()  # the build's copy is the one that goes on
    saved.mkdir()  # an empty folder (a checkout where git left it) does not make a finished model look unfinished
    assert build_zoo.started_text(runs, plan[1].name) == ""


def test_a_half_trained_model_is_finished_first(tmp_path):
    from rcm_demo.training import build_zoo
    from rcm_demo.training import plan as zoo_plan

    plan = zoo_plan.PLAN[:4]
    runs, pt = str(tmp_path / "runs"), tmp_path / "pt"  # no cards: nothing is trained yet
    assert build_zoo.unfinished_first(plan, runs, pt) == plan  # nothing half-trained: plan order
    (tmp_path / "runs" / plan[2].name).mkdir(parents=True)
    (tmp_path / "runs" / plan[2].name / "state.pt").write_bytes(b"")
    assert build_zoo.unfinished_first(plan, runs, pt) == (plan[2], plan[0], plan[1], plan[3])


def test_a_pair_too_long_for_this_machine_is_not_started_but_a_started_model_continues(tmp_path, monkeypatch, capsys):
    from rcm_demo.training import build_zoo
    from rcm_demo.training import plan as zoo_plan

    # 4x4 and 8x8 at average pooling (a pair), the x2 model (started), the max-pooling 4x4 (its twin not planned)
    four, eight, started, alone = zoo_plan.PLAN[0], zoo_plan.PLAN[1], zoo_plan.PLAN[2], zoo_plan.PLAN[3]
    assert (
        build_zoo.stride_twins(four, zoo_plan.PLAN) == (eight,) and build_zoo.stride_twins(started, zoo_plan.PLAN) == ()
    )
    hours = {four.spec.name: 2.0, eight.spec.name: 29.0, started.spec.name: 99.0, alone.spec.name: 2.0}
    measured, calls, trained = [], [], set()
    monkeypatch.setattr(
        build_zoo,
        "remembered_hours",
        lambda cfg, ev, path: measured.append(cfg.spec.name) or {
            "total": hours[cfg.spec.name], "hours": {"train": 1.0}, "rates": {"train": 5.0}, "remembered": False
        },
    )  # fmt: skip
    monkeypatch.setattr(build_zoo.train, "main", lambda argv: calls.append(argv[argv.index("--strides") + 1 :][:5]))
    monkeypatch.setattr(build_zoo, "trained_as_planned", lambda p, d: p.name in trained)
    monkeypatch.setattr(build_zoo, "unfinished_first", lambda plan, r, d: plan)
    monkeypatch.setattr(build_zoo, "get_checkpoint", lambda n, d: type("C", (), {"meta": {"fp16_check": {}}})())
    monkeypatch.setattr(build_zoo, "missing_evaluations", lambda p, d: [])
    runs = tmp_path / "runs"
    (runs / started.name).mkdir(parents=True)
    (runs / started.name / "state.pt").write_bytes(b"")
    status = tmp_path / "status.json"
    plan = (four, eight, started, alone)
    build_zoo.build(plan, "data", 2, tmp_path, str(status), str(runs), max_hours=30)
    # 2 + 29 hours: the pair is left whole (half of it answers nothing); the started model continues unmeasured
    assert [c[0] for c in calls] == [started.strides, alone.strides] and calls[0][2] == "2" and calls[1][4] == "max"
    assert measured == [four.spec.name, eight.spec.name, alone.spec.name]  # each measured once
    err = capsys.readouterr().err
    assert f"== not starting {four.name}: about 31.0 hours on this machine with its pair's other half" in err
    assert f"{eight.name} 29.0 (training 1.0 at 5.0 img/s, evaluation 28.0)" in err and "--max-hours 30" in err
    assert f"== not starting {eight.name}: about 31.0 hours" in err
    assert f"== starting {alone.name}: about 2.0 hours on this machine alone: " in err  # the estimate is logged
    assert f"== starting {started.name}" not in err and "within --max-hours 30" in err
    assert json.loads(status.read_text())["not_started"] == [four.name, eight.name]
    measured.clear(), calls.clear()
    trained.add(four.name)  # its 4x4 half trained elsewhere: the 8x8 alone fits
    build_zoo.build((four, eight), "data", 2, tmp_path, run_dir=str(runs), max_hours=30)
    assert measured == [eight.spec.name] and [c[0] for c in calls] == [eight.strides]
    assert f"== starting {eight.name}: about 29.0 hours on this machine alone" in capsys.readouterr().err
    measured.clear(), calls.clear(), trained.clear()
    build_zoo.build((four, eight), "data", 2, tmp_path, run_dir=str(runs), max_hours=0)  # 0: no limit
    assert measured == [] and [c[0] for c in calls] == [four.strides, eight.strides]


def test_measured_hours_are_kept_per_kind_of_machine_and_settings(tmp_path, monkeypatch):
    from rcm_demo.training import build_zoo, cost
    from rcm_demo.training.config import TrainConfig

    calls = []
    real = cost.model_hours
    monkeypatch.setattr(cost, "model_hours", lambda cfg, ev, device: calls.append(cfg.epochs) or real(cfg, ev, device))
    cfg = TrainConfig(width=4, strides="1222", recipe="at", epochs=2, max_train_images=64, data_dir="/here")
    book, ev = tmp_path / "runs" / "measured-hours.json", (("clean,pgd20", 100),)
    first = cost.remembered_hours(cfg, ev, book)
    assert calls == [2] and not first["remembered"] and first["measured"].endswith("UTC")
    kept = json.loads(book.read_text())
    assert [e["model"] for e in kept.values()] == [cfg.spec.name]
    # A new session on the same kind of machine (and another data path): not measured again, the same numbers.
    again = cost.remembered_hours(TrainConfig(**{**cfg.__dict__, "data_dir": "/there"}), ev, book)
    assert calls == [2] and again["remembered"] and again["total"] == first["total"]
    assert "measured " + first["measured"] + " on this kind of machine" in build_zoo._hours_text(again)
    cost.remembered_hours(TrainConfig(**{**cfg.__dict__, "epochs": 3}), ev, book)  # other settings: measured
    assert calls == [2, 3] and len(json.loads(book.read_text())) == 2
    monkeypatch.setattr(cost, "machine_kind", lambda device: {"model name": "another CPU"})
    assert not cost.remembered_hours(cfg, ev, book)["remembered"] and calls == [2, 3, 2]
    book.write_text("{not json")  # a damaged book is measured over, not a crash
    assert not cost.remembered_hours(cfg, ev, book)["remembered"] and len(json.loads(book.read_text())) == 1


def test_model_hours_are_measured_on_this_machine(monkeypatch):
    from rcm_demo.training import cost
    from rcm_demo.training.config import TrainConfig

    cfg = TrainConfig(width=4, strides="1222", recipe="at", at_method="nfgsm", epochs=2, max_train_images=64)
    m = cost.model_hours(cfg, (("clean,pgd20", 10_000), ("autoattack", 1_000)), steps=1, eval_batch=4)
    assert set(m["hours"]) == {"train", "pgd20", "autoattack"} and set(m["rates"]) == {"train", "pgd20"}
    assert m["hours"]["train"] == pytest.approx(2 * 64 / m["rates"]["train"] / 3600)
    assert m["hours"]["pgd20"] == pytest.approx(10_000 / m["rates"]["pgd20"] / 3600)
    ratio = m["hours"]["autoattack"] / (1_000 / m["rates"]["pgd20"] / 3600)
    card = zoo.get_checkpoint("resnet18w16_s1222_x1_avg.at").meta["metrics"]  # the bundled lite twin
    want = (card["autoattack"]["seconds"] / card["autoattack"]["n"]) / (card["pgd20"]["seconds"] / card["pgd20"]["n"])
    assert ratio == pytest.approx(want) and ratio > 1
    assert m["total"] == pytest.approx(sum(m["hours"].values()))
    # No width-16 twin on the shelf (strides 2222): the largest ratio of the zoo, so the estimate errs long.
    other = cost.aa_ratio(TrainConfig(width=64, strides="2222"))
    assert other >= ratio and other == max(
        cost.aa_ratio(TrainConfig(width=64, strides=s)) for s in ("1222", "1122", "2222")
    )


def test_the_lite_plan_covers_the_papers_four_networks_with_one_budget():
    from rcm_demo.models import ARCHS
    from rcm_demo.training import plan as zoo_plan

    plan = tuple(p for p in zoo_plan.PLAN if p.tier == "lite")  # the paper-width tier has its own test
    assert {p.arch for p in plan} == set(ARCHS) and len({p.name for p in plan}) == len(plan)
    by_arch: dict[str, set] = {}
    for p in plan:
        c = train.parse_args(p.train_args("", 0))
        by_arch.setdefault(p.arch, set()).add((c.epochs, c.lr, c.schedule, c.batch_size, c.width, c.at_method, c.init))
    tier = {(15, 0.2, "onecycle", 128, 16, "nfgsm", "default")}
    assert by_arch["resnet18"] == by_arch["preactresnet18"] == by_arch["vgg16_bn"] == tier
    # AlexNet (no BatchNorm) has the measured exception, one for both of its models so they pair.
    assert by_arch["alexnet"] == {(15, 0.2, "onecycle", 128, 16, "nfgsm", "kaiming")}
    for arch, cls in ARCHS.items():  # every network's stride pair in three seeds, both models of each seed
        pair = [p for p in plan if p.arch == arch and p.strides in (cls.BASELINE, cls.ENLARGED) and p.pool == "avg"]
        pair = [p for p in pair if p.recipe == "at" and p.scale == 1]
        assert sorted((p.seed, p.strides) for p in pair) == sorted(
            (s, st) for s in (0, 1, 2) for st in (cls.BASELINE, cls.ENLARGED)
        ), arch


def test_kaiming_init_keeps_alexnets_signal_and_cards_without_init_read_as_default(tmp_path):
    from rcm_demo.training import plan as zoo_plan

    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    spread = {}
    for init in train.INITS:
        torch.manual_seed(0)
        model = train.INITS[init](zoo.ModelSpec(arch="alexnet", width=8).build()).eval()
        with torch.no_grad():
            spread[init] = model(x).std(0).mean().item()
    assert spread["kaiming"] > 20 * spread["default"]  # the default init flattens the logits (bench/init_signal.py)
    with pytest.raises(SystemExit):
        train.parse_args(["--init", "orthogonal"])
    # A card written before the knob existed was trained with the default: same budget, still as planned.
    planned = [zoo_plan.Planned(s, 1, "avg", "at") for s in ("1222", "1122")]
    cfg = train.parse_args(planned[0].train_args("", 0)).card_config()
    old_cfg = {k: v for k, v in cfg.items() if k != "init"}
    old, new = (
        zoo.save_checkpoint(p.spec.build(), p.spec, "at", {"command": "t", "seed": 0, "config": c}, tmp_path)
        for p, c in zip(planned, (old_cfg, {**cfg, "strides": "1122"}))
    )
    assert zoo.training_budget(old) == zoo.training_budget(new)
    assert zoo.comparisons(directory=tmp_path) == [(new.name, old.name)]
    assert zoo_plan.trained_as_planned(planned[0], tmp_path)


def test_run_clock_leaves_out_gaps_longer_than_its_threshold():
    from rcm_demo.progress import RunClock

    wall = iter([0.0, 0.5, 1.0, 11.0, 13.0, 14.0, 14.0]).__next__
    c = RunClock(tick=0.5, gap=3.0, wall=wall, start=False)  # starts at 0.0
    c.note()  # 0.5
    c.note()  # 1.0
    c.note()  # 11.0: a 10 s gap, of which one tick is sleep and 9.5 s a stop
    assert c.paused == pytest.approx(9.5)
    c.note()  # 13.0: a 2 s gap is under the threshold and counts as work
    assert c.paused == pytest.approx(9.5)
    assert c.now() == pytest.approx(14.0 - 9.5)


def test_run_clock_does_not_count_a_sigstop():
    """A child stopped for 4 of 8 wall seconds reports about 4 s; a plain wall clock would say 8."""
    import signal
    import time

    code = (
        "import time; from rcm_demo.progress import clock\n"
        "c = clock(); t0 = c.now(); w0 = time.monotonic()\n"
        "while time.monotonic() - w0 < 8: time.sleep(0.05)\n"
        "print(c.now() - t0, flush=True)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    time.sleep(1.5)
    child.send_signal(signal.SIGSTOP)
    time.sleep(4)
    child.send_signal(signal.SIGCONT)
    out, _ = child.communicate(timeout=30)
    assert 3.0 < float(out) < 5.5, out


def test_progress_rate_keeps_slow_attacks_readable():
    """AutoAttack runs at a fraction of an image per second; the bar printed '0 img/s' for an hour."""
    from rcm_demo.progress import rate_text

    assert rate_text(0.258) == "0.26"
    assert rate_text(3.04) == "3"
    assert rate_text(1234.4) == "1,234"


def test_resumed_progress_rate_counts_only_this_runs_items(capsys):
    """A bar resumed after 700 of 1,000 images said 700 images in the first seconds' rate (several × too fast)."""
    from rcm_demo import progress

    class Clock:
        t = 0.0

        def now(self):
            return self.t

    c = Clock()
    bar = progress.Progress(1000, "aa", start=700)
    bar.clock, bar.t0, bar.tty = c, 0.0, False
    c.t = 100.0
    bar.update(100)  # 100 images in 100 s since the resume: 1 img/s, and the count includes the resumed 700
    line = capsys.readouterr().err.strip()
    assert "800/1000" in line and " 1 img/s" in line, line


class _FirstPixelModel(torch.nn.Module):
    """Predicts the class floor(10 · first pixel): correctness under _DrawAttack is a coin the generator tosses."""

    def forward(self, x):
        return torch.nn.functional.one_hot((10 * x.flatten(1)[:, 0]).long().clamp(0, 9), 10).float()


class _DrawAttack:
    label = "draw"

    def __init__(self, cut_after=None):
        self.calls, self.cut_after = 0, cut_after

    def run(self, model, x, y, aa_attacks, g):
        self.calls += 1
        if self.calls == self.cut_after:
            raise KeyboardInterrupt  # the session ends part-way through this batch
        x = x.clone()
        x.view(len(x), -1)[:, 0] = torch.rand(len(x), generator=g)
        return x


def test_evaluation_cut_off_part_way_resumes_with_the_uncut_numbers(tmp_path, capsys):
    model, x, y = _FirstPixelModel(), torch.zeros(40, 3, 32, 32), torch.arange(40) % 10
    uncut, _ = evaluate.evaluate_model(model, x, y, _DrawAttack(), "standard", 0, 8)
    assert 0 < uncut.sum() < 40  # the bits hang on the generator's draws, so a wrong resume shows
    part = evaluate.partial_path(tmp_path, "m", "pgd20")
    with pytest.raises(KeyboardInterrupt):
        evaluate.evaluate_model(model, x, y, _DrawAttack(cut_after=4), "standard", 0, 8, "m", part, "tag")
    assert part.exists() and len(torch.load(part, weights_only=True)["correct"]) == 24
    attack = _DrawAttack()
    resumed, seconds = evaluate.evaluate_model(model, x, y, attack, "standard", 0, 8, "m", part, "tag")
    assert attack.calls == 2 and torch.equal(resumed, uncut) and seconds >= 0
    assert "resumed after 24 of 40 images" in capsys.readouterr().err
    # a state saved for other weights, images or settings (its tag) is not used, nor is a damaged file
    part.unlink()  # (evaluate.main removes it once the card holds the metric)
    with pytest.raises(KeyboardInterrupt):
        evaluate.evaluate_model(model, x, y, _DrawAttack(cut_after=2), "standard", 0, 8, "m", part, "tag")
    attack = _DrawAttack()
    again, _ = evaluate.evaluate_model(model, x, y, attack, "standard", 0, 8, "m", part, "other weights")
    assert attack.calls == 5 and torch.equal(again, uncut)
    assert "measured other weights" in capsys.readouterr().err
    part.write_bytes(b"not a torch file")
    attack = _DrawAttack()
    assert torch.equal(evaluate.evaluate_model(model, x, y, attack, "standard", 0, 8, "m", part, "tag")[0], uncut)
    assert attack.calls == 5 and "unreadable" in capsys.readouterr().err


def test_evaluate_cli_resume_dir_removes_its_state_once_the_card_has_the_metric(tiny_folder, tmp_path, monkeypatch):
    train.main(_flags(tiny_folder, tmp_path, "--epochs", "1"))
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path / "pt")
    name, runs = "resnet18w4_s1222_x1_avg.std", tmp_path / "runs"
    saved = []
    real = evaluate._write_partial
    monkeypatch.setattr(evaluate, "_write_partial", lambda p, *a: saved.append(p) or real(p, *a))
    evaluate.main(
        ["--checkpoints", name, "--n", "12", "--batch-size", "4", "--attacks", "pgd20"] + ["--resume-dir", str(runs)]
    )
    assert saved == [evaluate.partial_path(runs, name, "pgd20")] * 2  # after batches 1 and 2 of 3
    assert not saved[0].exists() and zoo.get_checkpoint(name).meta["metrics"]["pgd20"]["n"] == 12


def test_resume_key_ignores_where_the_run_lives_but_not_what_it_trains():
    """A resume state committed in one checkout refused to resume in another (its out_dir was an absolute path)."""
    base = asdict(train.parse_args(["--data-dir", "/a/cifar", "--out-dir", "/work/main/pretrained"]))
    moved = base | {"data_dir": "../elsewhere/cifar", "out_dir": "/work/build/pretrained", "threads": 7}
    assert train.resume_key(base) == train.resume_key(moved)
    assert train.resume_key(base) != train.resume_key(base | {"lr": 0.05})
    assert train.resume_key(base) != train.resume_key(base | {"data_dir": "", "data_root": "/x"})  # other data


def test_a_tiny_width_64_build_trains_checks_float16_then_evaluates(tiny_folder, tmp_path, monkeypatch):
    """The paper-width tier end to end at toy size: the real width-64 ResNet18, 1 epoch of 32 images."""
    from rcm_demo.training import build_zoo, compact
    from rcm_demo.training import plan as zoo_plan

    budget = {"epochs": 1, "batch_size": 16, "heldout_n": 4, "max_train_images": 32}
    monkeypatch.setattr(zoo_plan, "LITE_BUDGET", {**zoo_plan.LITE_BUDGET, **budget})
    monkeypatch.setattr(zoo_plan, "EVAL_AT", (("clean,pgd20,cw30", 8), ("autoattack", 4)))
    monkeypatch.setattr(compact, "FP16_N", 6)
    (p,) = plan = (zoo_plan.Planned("1222", 1, "avg", "at", overrides=zoo_plan.PAPER_WIDTH),)
    assert (p.name, p.tier, p.fp16) == ("resnet18w64_s1222_x1_avg.at", "paper-width", True)
    pt = tmp_path / "pt"
    build_zoo.build(plan, str(tiny_folder), 2, pt, run_dir=str(tmp_path / "runs"))
    ck = zoo.get_checkpoint(p.name, pt)
    assert ck.tier == "paper-width" and "paper-width" in ck.label and ck.meta["params"] == 11_173_962
    assert ck.meta["train"]["config"]["width"] == 64 and ck.meta["train"]["config"]["epochs"] == 1
    check = ck.meta["fp16_check"]
    assert check["n"] == 6 and set(check["clean"]) == set(check["pgd20"]) == {"float32", "float16"}
    assert ck.meta["weights_dtype"] == check["stored"]  # float16 only where it changed nothing measured
    assert (check["stored"] == "float16") == (check["largest_change_points"] <= 0.1)
    assert ck.meta["metrics"]["pgd20"]["n"] == ck.meta["metrics"]["cw30"]["n"] == 8  # as the width-16 tier
    assert ck.meta["metrics"]["autoattack"]["n"] == 4
    zoo.load_model(p.name, directory=pt)  # the stored bits match the card's sha256
    assert zoo_plan.plan_status(plan, pt)[0]["to_evaluate"] == []


def test_float16_is_kept_only_within_tolerance_and_never_after_an_evaluation(tiny_folder, tmp_path, monkeypatch):
    from rcm_demo.training import compact

    train.main(_flags(tiny_folder, tmp_path, "--epochs", "1"))
    name, pt = "resnet18w4_s1222_x1_avg.std", tmp_path / "pt"
    fresh = (pt / f"{name}.json").read_text(), (pt / f"{name}.safetensors").read_bytes()
    monkeypatch.setattr(compact, "FP16_TOLERANCE", -1.0)  # no change is small enough
    check = compact.compact(name, pt, str(tiny_folder), n=8)
    ck = zoo.get_checkpoint(name, pt)
    assert check["stored"] == "float32" and ck.meta["weights_dtype"] == "float32" and ck.meta["fp16_check"] == check
    assert (pt / f"{name}.safetensors").read_bytes() == fresh[1]  # the weights are untouched
    assert compact.compact(name, pt, str(tiny_folder), n=8) == check  # once per checkpoint
    (pt / f"{name}.json").write_text(fresh[0])
    monkeypatch.setattr(compact, "FP16_TOLERANCE", 1.0)  # any change passes
    assert compact.compact(name, pt, str(tiny_folder), n=8)["stored"] == "float16"
    ck = zoo.get_checkpoint(name, pt)
    assert ck.meta["weights_dtype"] == "float16" and ck.meta["sha256"] != json.loads(fresh[0])["sha256"]
    zoo.load_model(name, directory=pt)
    meta = json.loads(fresh[0]) | {"metrics": {"clean": {"value": 0.5, "n": 8}}}
    (pt / f"{name}.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="evaluated already"):
        compact.compact(name, pt, str(tiny_folder), n=8)


def test_plan_order_trades_and_paper_width_right_after_preact_seed_1_vgg_seeds_last():
    from rcm_demo.training import config
    from rcm_demo.training import plan as zoo_plan

    names = [p.name for p in zoo_plan.PLAN]
    assert len(names) == len(set(names))
    at = names.index("preactresnet18w16_s1122_x1_avg.at.seed1")
    assert names[at + 1 : at + 5] == [
        "resnet18w16_s1222_x1_avg.trades",
        "resnet18w16_s1122_x1_avg.trades",
        "resnet18w64_s1122_x1_avg.at",  # the half only a fast machine may start, first (plan.py)
        "resnet18w64_s1222_x1_avg.at",
    ]
    assert names[at + 5 : at + 7] == [
        "preactresnet18w16_s1222_x1_avg.at.seed2",
        "preactresnet18w16_s1122_x1_avg.at.seed2",
    ]
    assert all(n.startswith("vgg16_bn") for n in names[at + 7 :]) and len(names[at + 7 :]) == 4
    trades = config.parse_args(zoo_plan.PLAN[at + 1].train_args("", 0))
    # The reference's TRADES: beta 6, KL inner maximisation of 10 steps of 2/255 at 8/255; the lite budget.
    assert (trades.recipe, trades.trades_beta, trades.at_steps) == ("trades", 6.0, 10)
    assert trades.at_alpha == pytest.approx(2 / 255) and trades.eps == pytest.approx(8 / 255)
    assert (trades.epochs, trades.lr, trades.schedule, trades.width) == (15, 0.2, "onecycle", 16)
    wide = config.parse_args(zoo_plan.PLAN[at + 4].train_args("", 0))  # 1222, as PLAN[0]
    lite = config.parse_args(zoo_plan.PLAN[0].train_args("", 0))
    differ = {k for k, v in wide.card_config().items() if lite.card_config()[k] != v}
    assert differ == {"width", "tier"}  # the paper's width at the lite budget: nothing else changes
    assert zoo_plan.PLAN[at + 3].evaluations == zoo_plan.EVAL_AT  # evaluated exactly as the width-16 tier


@pytest.mark.parametrize(
    "words, fast, kind",
    [
        ({"GenuineIntel", "avx2", "avx512f", "avx512_bf16", "amx_bf16"}, True, "AMX"),  # Sapphire Rapids
        ({"AuthenticAMD", "avx2", "avx512f", "avx512_bf16"}, True, "AVX512-BF16"),  # Zen 4: 1.8-2.4x fp32
        ({"GenuineIntel", "avx2", "avx512f", "avx512_bf16"}, False, "AVX512-BF16"),  # no AMX: within 10%
        ({"AuthenticAMD", "avx2"}, False, "AVX2"),  # emulated bf16: 7x slower than fp32
        ({"GenuineIntel"}, False, ""),
    ],
)
def test_cpu_bf16_autocast_only_where_it_was_measured_faster(monkeypatch, words, fast, kind):
    monkeypatch.setattr(hardware, "_cpu_words", lambda: frozenset(words))
    assert hardware.cpu_fast_bf16() is fast
    assert hardware.cpu_vector_words() == kind  # the cards' hardware line tells two EPYCs apart by it
    threads = f"{torch.get_num_threads()} thread" + "s" * (torch.get_num_threads() != 1)
    monkeypatch.setattr(train, "cpu_fields", lambda: {"model name": "AMD EPYC"})
    said = tables.hardware_text(train._hardware(torch.device("cpu"), 1))
    assert said == f"AMD EPYC{f' with {kind}' if kind else ''}, {threads}"
    # the generation, where /proc/cpuinfo gives it: one masked model name covers Zen 4 and Zen 5
    monkeypatch.setattr(train, "cpu_fields", lambda: {"model name": "AMD EPYC", "cpu family": "26", "model": "2"})
    said = tables.hardware_text(train._hardware(torch.device("cpu"), 1))
    assert said == f"AMD EPYC (family 26, model 2){f' with {kind}' if kind else ''}, {threads}"
    assert hardware.arithmetic("cpu") == ("bf16 autocast" if fast else "fp32")
    assert hardware.arithmetic("cpu", "fp32") == "fp32"
