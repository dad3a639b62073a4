"""Findings and budgets in words are generated from the cards: change a card's numbers and the sentence
changes; seeds give per-seed differences and a mean whose interval holds the seed-to-seed spread."""

import html
import math
from pathlib import Path

import pytest
import torch

from rcm_demo import zoo
from rcm_demo.analysis import lesson
from rcm_demo.training import report
from rcm_demo.zoo import ModelSpec, control, findings, intervals, tables

N = 400
CFG = {"epochs": 15, "at_method": "nfgsm", "eps": 8 / 255, "at_steps": 1, "lr": 0.2, "batch_size": 128}


def _metric(correct: torch.Tensor) -> dict:
    acc = correct.float().mean().item()
    return {"value": acc, "n": len(correct), "se": math.sqrt(acc * (1 - acc) / len(correct)), "dataset": "synthetic",
            "subset_sha256": "same-images", "correct_bits": intervals.pack_bits(correct)}  # fmt: skip


def _save(d, strides, seed, clean_p, robust_p, g, arch="resnet18", pool="avg", scale=1):
    spec = ModelSpec(arch=arch, width=2, strides=strides, pool=pool, scale=scale)
    ck = zoo.save_checkpoint(
        spec.build().eval(), spec, "at", {"command": "t", "seed": seed, "epochs": 15, "config": CFG}, d, seed=seed
    )
    meta = ck.meta
    meta["metrics"] = {
        "clean": _metric(torch.rand(N, generator=g) < clean_p),
        "pgd20": _metric(torch.rand(N, generator=g) < robust_p),
    }
    zoo.write_card(ck.card, meta)


def _zoo(d, gain_robust: float, seeds=(0,)):
    g = torch.Generator().manual_seed(0)
    for seed in seeds:
        _save(d, "1222", seed, 0.60, 0.35, g)
        _save(d, "1122", seed, 0.66, 0.35 + gain_robust, g)


def test_finding_follows_the_cards(tmp_path):
    _zoo(tmp_path / "a", gain_robust=0.0)
    _zoo(tmp_path / "b", gain_robust=0.25)
    a = findings.finding(tables.comparison_rows(directory=tmp_path / "a"))
    b = findings.finding(tables.comparison_rows(directory=tmp_path / "b"))
    assert "width 2, N-FGSM AT at 8/255, 15 epochs" in a and "paired on 400 test images" in a
    assert "not resolved" in a and "robust gain lies above 0" not in a
    assert "robust gain lies above 0" in b and a != b
    assert "One seed only" in a  # a single seed says what its interval does not cover
    assert "3 epochs" not in a + b


def test_the_upsampling_twin_gets_its_own_generated_sentence(tmp_path):
    _zoo(tmp_path, gain_robust=0.0)
    assert "upsampled" not in findings.finding(tables.comparison_rows(directory=tmp_path))  # no ×2 model yet
    _save(tmp_path, "1222", 0, 0.64, 0.60, torch.Generator().manual_seed(5), scale=2)
    text = findings.finding(tables.comparison_rows(directory=tmp_path))
    other = text[text.index(" The other fix") :]
    assert other.startswith(" The other fix, the input upsampled ×2 inside the model (4×4 → 8×8, seed 0, ×")
    assert "PGD-20 +" in other and other.rstrip(".").endswith("gain")  # 0.35 → 0.60: resolved
    _save(tmp_path, "1222", 0, 0.64, 0.10, torch.Generator().manual_seed(5), scale=2)  # the card changes
    again = findings.finding(tables.comparison_rows(directory=tmp_path))
    assert again != text and again.rstrip(".").endswith("loss")


def test_lesson_step5_and_readme_carry_the_generated_finding(tmp_path, monkeypatch):
    _zoo(tmp_path, gain_robust=0.25)
    rows = tables.comparison_rows(directory=tmp_path)
    text = lesson.notice(4, rows)
    assert "two sentences above the figure" in text and findings.finding(rows) not in text  # the headline is above
    more = lesson.details(4, rows)
    assert findings.finding(rows) in more and "{finding}" not in more  # the evidence one click below
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path)
    assert findings.finding(rows) in report.results_table(tmp_path)


def test_seed_mean_interval_holds_seed_and_image_variation(tmp_path):
    _zoo(tmp_path, gain_robust=0.0, seeds=(0, 1, 2))
    rows = tables.comparison_rows(directory=tmp_path)
    clean = [r for r in rows if r["metric"] == "clean"]
    per_seed = [r for r in clean if not r.get("seed_mean")]
    (mean,) = [r for r in clean if r.get("seed_mean")]
    assert sorted(r["seed"] for r in per_seed) == [0, 1, 2] and mean["seeds"] == [0, 1, 2]
    diffs = [r["diff"] for r in sorted(per_seed, key=lambda r: r["seed"])]
    assert mean["diff"] == pytest.approx(sum(diffs) / 3)
    sd = math.sqrt(sum((d - mean["diff"]) ** 2 for d in diffs) / 2)
    half = mean["hi"] - mean["diff"]
    assert half == pytest.approx(math.hypot(4.303 * sd / math.sqrt(3), 1.96 * mean["se_image"]), rel=1e-6)
    assert half > 4.303 * sd / math.sqrt(3) - 1e-12  # wider than the seed spread alone
    assert "mean of 3 seeds" in mean["enlarged"] and "seed" not in mean["baseline"]
    text = findings.finding(rows)
    assert "mean of seeds 0, 1, 2" in text and "One seed only" not in text
    assert "Each seed on its own, interval above 0: PGD-20 in 0 of 3." in text and "2 degrees of freedom" in text
    table = tables.comparisons_markdown(("clean", "pgd20"), tmp_path)
    assert len(table.splitlines()) == 2 + 4  # header, rule, three seeds and their mean
    resnet = tables.architecture_rows(rows)[0]  # the four-network view shows the mean over seeds
    assert resnet["seeds"] == [0, 1, 2] and resnet["metrics"]["clean"]["diff"] == mean["diff"]


def test_a_seed_not_yet_attacked_is_left_out_of_that_metric_only(tmp_path):
    """A seed whose evaluation was cut off after its clean accuracy: the clean mean holds it, PGD-20 names
    the seeds it stands on, and the per-seed count is out of the seeds that measured it."""
    _zoo(tmp_path, gain_robust=0.0, seeds=(0, 1, 2))
    for name in ("resnet18w2_s1122_x1_avg.at.seed2",):
        ck = zoo.get_checkpoint(name, tmp_path)
        meta = ck.meta
        del meta["metrics"]["pgd20"]
        zoo.write_card(ck.card, meta)
    rows = tables.comparison_rows(directory=tmp_path)
    text = findings.finding(rows)
    assert "mean of seeds 0, 1, 2" in text and "(seeds 0, 1)" in text
    assert "PGD-20 in 0 of 2." in text and "1 degree of freedom" in text
    resnet = tables.architecture_rows(rows)[0]
    assert resnet["seeds"] == [0, 1, 2] and resnet["metrics"]["pgd20"]["seeds"] == [0, 1]
    assert "(seeds 0, 1)" in tables.architectures_markdown(rows)
    del meta["metrics"]["clean"]  # seed 2 measured nothing: one seed set again, no note
    zoo.write_card(ck.card, meta)
    text = findings.finding(tables.comparison_rows(directory=tmp_path))
    assert "mean of seeds 0, 1)" in text and "(seeds" not in text and "PGD-20 in 0 of 2." in text


def test_pairs_never_cross_training_budgets(tmp_path):
    g = torch.Generator().manual_seed(0)
    _save(tmp_path, "1222", 0, 0.6, 0.35, g)
    spec = ModelSpec(width=2, strides="1122")
    zoo.save_checkpoint(spec.build().eval(), spec, "at", {"command": "t", "epochs": 3, "config": {**CFG, "epochs": 3}},
                        tmp_path)  # fmt: skip
    assert zoo.comparisons(directory=tmp_path) == []
    assert "no evaluated" in findings.finding(tables.comparison_rows(directory=tmp_path))


def test_labels_name_the_budget_while_the_zoo_mixes_budgets(tmp_path):
    g = torch.Generator().manual_seed(0)
    _save(tmp_path, "1222", 0, 0.6, 0.35, g)
    name = "resnet18w2_s1222_x1_avg.at"
    assert zoo.display_label(name, tmp_path) == zoo.get_checkpoint(name, tmp_path).label  # one budget: no tag
    alex = ModelSpec(arch="alexnet", width=2)  # another network with its own budget tags neither
    zoo.save_checkpoint(alex.build(), alex, "at", {"command": "t", "config": {**CFG, "init": "kaiming"}}, tmp_path)
    assert zoo.display_label(name, tmp_path) == zoo.get_checkpoint(name, tmp_path).label
    assert zoo.display_label("alexnetw2_s2222_x1_avg.at", tmp_path).endswith(" · alexnet")
    spec = ModelSpec(width=2, strides="1122")
    cfg = {**CFG, "epochs": 3, "at_method": "pgd", "at_steps": 3}
    zoo.save_checkpoint(spec.build().eval(), spec, "at", {"command": "t", "config": cfg}, tmp_path)
    assert zoo.display_label(name, tmp_path).endswith(" · 15 ep N-FGSM")
    assert zoo.display_label("resnet18w2_s1122_x1_avg.at", tmp_path).endswith(" · 3 ep PGD-3")


def test_four_networks_side_by_side_follow_the_cards(tmp_path):
    """Each registered network gets a line: its reference strides against the enlarged twin where the zoo
    holds the pair, "no evaluated pair in the zoo yet" where it does not; the sentence moves with the cards."""
    g = torch.Generator().manual_seed(1)
    _zoo(tmp_path, gain_robust=0.25)
    _save(tmp_path, "2222", 0, 0.50, 0.30, g, arch="alexnet")
    _save(tmp_path, "1122", 0, 0.50, 0.10, g, arch="alexnet")  # a robust loss
    rows = tables.comparison_rows(directory=tmp_path)
    archs = {a["arch"]: a for a in tables.architecture_rows(rows)}
    assert list(archs) == ["resnet18", "preactresnet18", "vgg16_bn", "alexnet"]
    assert archs["alexnet"]["strides"] == "2222 → 1122" and archs["alexnet"]["map"] == "2×2 → 7×7"
    assert archs["vgg16_bn"]["strides"] == "22222 → 11222" and not archs["vgg16_bn"]["metrics"]
    table = tables.architectures_markdown(rows, ("clean", "pgd20"))
    assert len(table.splitlines()) == 2 + 4 and table.count("no evaluated pair in the zoo yet") == 2
    text = findings.architectures_finding(rows)
    assert "2 of the paper's 4 networks have" in text and "(ResNet18 and AlexNet)" in text
    assert "PGD-20: gain for ResNet18; loss for AlexNet." in text
    assert "No evaluated pair in the zoo yet: PreActResNet18 and VGG16-BN." in text
    assert "disagree between attacks" not in text  # one robust metric per network here: nothing to disagree
    readme = report.results_table(tmp_path)
    assert tables.architectures_markdown(rows) in readme and text in readme
    for name in zoo.list_checkpoints(tmp_path):  # CW-30 measured on the ResNet18 pair only, so far
        ck = zoo.get_checkpoint(name, tmp_path)
        if ck.spec.arch == "resnet18":
            ck.meta["metrics"]["cw30"] = _metric(torch.arange(N) % 2 == 0)
            zoo.write_card(ck.card, ck.meta)
    text = findings.architectures_finding(tables.comparison_rows(directory=tmp_path))
    assert "CW-30: identical on every image for ResNet18; not measured yet for AlexNet." in text
    for arch, (base, twin) in {"preactresnet18": ("1222", "1122"), "vgg16_bn": ("22222", "11222")}.items():
        _save(tmp_path, base, 0, 0.50, 0.30, g, arch=arch)
        _save(tmp_path, twin, 0, 0.55, 0.35, g, arch=arch)
    text = findings.architectures_finding(tables.comparison_rows(directory=tmp_path))
    assert text.startswith("All 4 of the paper's networks have an evaluated AT average-pooling stride pair")
    assert "(ResNet18, PreActResNet18, VGG16-BN and AlexNet)" in text and "No evaluated pair" not in text


def test_finding_names_each_robust_verdict_and_a_smaller_sample(tmp_path):
    """A gain under one attack and an unresolved difference under another (measured on fewer images) are
    both said, each with its own image count."""
    _zoo(tmp_path, gain_robust=0.25)
    for name in zoo.list_checkpoints(tmp_path):
        ck = zoo.get_checkpoint(name, tmp_path)
        ck.meta["metrics"]["autoattack"] = _metric(torch.arange(100) % 3 == 0)  # the same on both models
        zoo.write_card(ck.card, ck.meta)
    text = findings.finding(tables.comparison_rows(directory=tmp_path))
    assert "AutoAttack +0.0 points [+0.0, +0.0] on 100 images, identical on every image" in text
    assert "paired on 400 test images" in text
    assert "The robust gain lies above 0 under PGD-20 on these test images; under AutoAttack: identical" in text


def test_card_metrics_table_says_attack_arithmetic_and_data_once():
    meta = {
        "metrics": {
            "clean": {"value": 0.7108, "se": 0.0045, "n": 10000, "dataset": "D", "attack": {}},
            "pgd20": {"value": 0.3977, "se": 0.0049, "n": 10000, "dataset": "D", "arithmetic": "bf16 autocast",
                      "attack": {"eps": 0.03137254901960784, "steps": 20}},
        }
    }  # fmt: skip
    m = tables.card_metrics(meta)
    assert m["datasets"] == ["D"] and "dataset" not in m["table"]
    assert m["table"]["accuracy %"] == {"clean": "71.1", "pgd20": "39.8"} and m["table"]["n"]["clean"] == "10,000"
    assert m["table"]["attack"] == {"clean": "none", "pgd20": "eps=0.03137, steps=20"}
    assert m["table"]["arithmetic"] == {"clean": "not recorded", "pgd20": "bf16 autocast"}
    assert tables.card_metrics({"metrics": {}}) is None


def test_lesson_pooling_notice_is_written_from_the_measurement_it_sits_under():
    pts = [
        {"H": 4, "W": 4, "bound_avg": 0.25, "ratio_avg": 0.127, "ratio_max": 0.576},
        {"H": 8, "W": 8, "bound_avg": 0.125, "ratio_avg": 0.062, "ratio_max": 0.254},
    ]
    text = lesson.notice(3, [], pts)
    assert "passes 50–51% of its bound 1/√(HW) (0.250 at 4×4, 0.125 at 8×8; real changes are partly" in text
    assert "4.1–4.5× as much" in text and "‖ΔZ‖_F" in text  # the normalisation is said with the number
    pts[1]["ratio_avg"] = 0.125  # a spatially uniform change: the bound is met, no "partly coherent"
    changed = lesson.notice(3, [], pts)
    assert changed != text and "51–100%" in changed and "partly coherent" not in changed
    assert "%" not in lesson.notice(3, [])  # without a measurement: what to look for, no numbers
    one = {"H": 1, "W": 1, "bound_avg": 1.0, "ratio_avg": 1.0, "ratio_max": 1.0}  # a 1×1 map pools nothing
    assert "nothing to pool" in lesson.notice(3, [], [*pts, one]) and "51–100%" in lesson.notice(3, [], [*pts, one])


def test_lesson_cost_notice_is_written_from_the_cards_counts():
    cost = [
        {"label": "4×4 baseline", "params": 701466, "macs": 35e6},
        {"label": "8×8 strides 1122", "params": 701466, "macs": 110.5e6},
        {"label": "8×8 upsample ×2", "params": 701466, "macs": 140.2e6},
    ]
    text = lesson.notice(5, [], cost=cost)
    assert "Parameters are equal (701,466 in 4×4 baseline)" in text
    assert "3.2× in 8×8 strides 1122, 4.0× in 8×8 upsample ×2" in text
    cost[1]["params"] += 1
    assert "not all equal" in lesson.notice(5, [], cost=cost)
    assert "×" not in lesson.notice(5, [])


def test_four_network_finding_warns_when_one_networks_attacks_disagree(tmp_path):
    _zoo(tmp_path, gain_robust=0.25)
    for name in zoo.list_checkpoints(tmp_path):  # CW-30 the same on both models: unlike PGD-20's gain
        ck = zoo.get_checkpoint(name, tmp_path)
        ck.meta["metrics"]["cw30"] = _metric(torch.arange(N) % 2 == 0)
        zoo.write_card(ck.card, ck.meta)
    text = findings.architectures_finding(tables.comparison_rows(directory=tmp_path))
    assert "The robust verdicts of ResNet18 disagree between attacks" in text


def _control_zoo(d, avg_gain: float, max_gain: float):
    g = torch.Generator().manual_seed(1)
    for pool, gain in (("avg", avg_gain), ("max", max_gain)):
        _save(d, "1222", 0, 0.60, 0.35, g, pool=pool)
        _save(d, "1122", 0, 0.62, 0.35 + gain, g, pool=pool)


def test_max_pooling_control_is_paired_per_image_and_follows_the_cards(tmp_path, monkeypatch):
    _control_zoo(tmp_path / "paper", avg_gain=0.25, max_gain=0.0)
    _control_zoo(tmp_path / "against", avg_gain=0.0, max_gain=0.25)
    rows = control.pooling_contrast(tmp_path / "paper")
    assert [r["metric"] for r in rows] == ["clean", "pgd20"]
    for r in rows:
        assert r["diff"] == pytest.approx(r["avg"]["diff"] - r["max"]["diff"])
        assert r["lo"] < r["diff"] < r["hi"]
    paper = control.control_finding(rows)
    against = control.control_finding(control.pooling_contrast(tmp_path / "against"))
    assert "paired on 400 test images" in paper and "with max pooling the same 8×8 enlargement gives" in paper
    assert "buys more with average pooling, as the paper predicts" in paper
    assert "against the paper's prediction" in against and "as the paper predicts" not in against
    # without a max-pooling twin at the same budget the text says so instead of a verdict
    assert "does not yet show the paper's control" in control.control_finding(control.pooling_contrast(tmp_path / "x"))
    # it reaches step 5 of the lesson (its details, one click below the headline) and the README's zoo section
    assert paper in lesson.details(4, tables.comparison_rows(directory=tmp_path / "paper"), contrast=rows)
    exported = lesson.export_html({}, rows=tables.comparison_rows(directory=tmp_path / "paper"), contrast=rows)
    assert html.escape(paper) in exported and "<br><br>" + html.escape(paper) in exported  # its own paragraph
    assert exported.index("<details><summary>Details</summary>") < exported.index(html.escape(paper))
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path / "paper")
    assert paper in report.results_table(tmp_path / "paper")


def test_a_bound_near_zero_keeps_its_sign():
    assert [intervals.points_text(v) for v in (0.006, 0.0004, -0.0003, 0.0)] == ["+0.6", "+0.04", "-0.03", "+0.0"]
    r = {"diff": 0.008, "lo": 0.0004, "hi": 0.016}
    assert intervals.interval_text(r) == "+0.8 [+0.04, +1.6]"


def test_hardware_in_few_words():
    cpu = "1 x CPU process (Intel(R) Xeon(R) Processor, 2 threads, 2 cores visible)"
    assert tables.hardware_text(cpu) == "Intel Xeon Processor, 2 threads"
    assert tables.hardware_text("2 x CPU process (AMD EPYC, 1 threads, 2 cores visible)") == (
        "2 processes on AMD EPYC, 1 thread each"
    )
    assert tables.hardware_text("1 x NVIDIA H200") == "1 x NVIDIA H200"
    assert tables.hardware_text(None) == "unknown hardware"
    assert tables.hardware_text(cpu + " + 1 x NVIDIA H200") == "Intel Xeon Processor, 2 threads + 1 x NVIDIA H200"


def test_control_figure_rows_follow_the_contrast(tmp_path):
    from rcm_demo import viz

    _control_zoo(tmp_path, avg_gain=0.25, max_gain=0.0)
    contrast = control.pooling_contrast(tmp_path)
    rows = control.control_rows(contrast)
    assert [r["pool"] for r in rows[:3]] == ["avg", "max", "avg minus max"]
    pgd = [r for r in rows if r["metric_label"] == "PGD-20"]
    assert pgd[2]["diff"] == pytest.approx(pgd[0]["diff"] - pgd[1]["diff"])
    assert viz.forest_svg(rows, title=control.CONTROL_TITLE).startswith("<img")
    assert control.control_rows([]) == []


def test_one_image_context_is_read_from_the_cards():
    def card(value, n=10_000, eps=8 / 255):
        return {"metrics": {"pgd20": {"value": value, "n": n, "attack": {"eps": eps}}}}

    labels = {"a": "4×4 baseline", "b": "8×8 strides"}
    text = findings.one_image_context({"a": card(0.392), "b": card(0.398)}, labels)
    assert "PGD-20 at 8/255 on 10,000 test images" in text
    assert "4×4 baseline 39.2%; 8×8 strides 39.8%" in text
    assert "41.0%" in findings.one_image_context({"a": card(0.41), "b": card(0.398)}, labels)
    mixed = findings.one_image_context({"a": card(0.392), "b": card(0.5, n=1_000)}, labels)
    assert "(n=1,000)" in mixed and "on 10,000 test images" not in mixed
    assert "PGD-20 at 8/255 (from" in mixed
    # an imported card measured at another budget: each model says its own ε, none is claimed for all
    other = findings.one_image_context({"a": card(0.392), "b": card(0.31, eps=16 / 255)}, labels)
    assert "(at 16/255)" in other and "(at 8/255)" in other and "PGD-20 at" not in other
    assert "on 10,000 test images" in other
    both = findings.one_image_context({"a": card(0.392), "b": card(0.31, n=1_000, eps=16 / 255)}, labels)
    assert "8×8 strides 31.0% (at 16/255, n=1,000)" in both
    # a card that does not record ε: no budget is claimed for it, and no empty brackets
    unknown = findings.one_image_context({"a": card(0.392), "b": card(0.31, eps=None)}, labels)
    assert "4×4 baseline 39.2% (at 8/255); 8×8 strides 31.0%." in unknown and "()" not in unknown
    # a checkpoint without the metric is left out; none with it gives no sentence at all
    assert "8×8" not in findings.one_image_context({"a": card(0.392), "b": {"metrics": {}}}, labels)
    assert findings.one_image_context({"b": {"metrics": {}}}, labels) == ""


def test_lesson_step_one_reads_the_attacked_models_card():
    clean = torch.tensor([True] * 6 + [False] * 4)
    pgd = torch.tensor([True, True, True, False, False, False, True, False, False, False])  # 3 of 6 right flip
    card = {"recipe": "at", "metrics": {"clean": _metric(clean), "pgd20": {**_metric(pgd), "attack": {"eps": 8 / 255}}}}
    text = lesson.notice(0, [], attacked=("4×4 baseline", card))
    assert "Move ε" in text and "Raise ε" in lesson.notice(0, [], held=True)  # which way: from the live verdict
    assert "Lower ε until it holds" in lesson.notice(0, [], held=False)
    assert "PGD-20 flips 50% of the test images this adversarially trained model (4×4 baseline) classifies" in text
    assert "60.0% clean and 40.0% under PGD-20 at 8/255, on 10 test images" in text
    card["metrics"]["pgd20"]["correct_bits"] = intervals.pack_bits(torch.tensor([True] * 5 + [False] * 5))
    assert "flips 17%" in lesson.notice(0, [], attacked=("b", card))
    card["recipe"] = "std"
    assert "images this model (b)" in lesson.notice(0, [], attacked=("b", card))
    # without both metrics on the same images: no number at all
    del card["metrics"]["pgd20"]
    assert "%" not in lesson.notice(0, [], attacked=("b", card)) and "%" not in lesson.notice(0, [])


def test_lesson_step_two_reads_the_profile_it_shows():
    def profile(first, last):
        return {"input": {"relative": first}, "layer4": {"relative": last}}

    text = lesson.notice(1, [], energy=("4×4 baseline", profile(0.047, 0.266)))
    assert "relative change of 4×4 baseline is 4.7% at the input and 26.6% after the last stage (×5.7)" in text
    assert "amplifies" in text and "amplifies" not in lesson.notice(1, [], energy=("b", profile(0.3, 0.2)))
    assert "%" not in lesson.notice(1, [])  # nothing measured: what to look at, no numbers


def test_lesson_step5_shows_the_four_networks_and_exports_them(tmp_path, monkeypatch):
    """The lesson's climax puts the paper's four networks beside the forest plot, on the page and in the export."""
    from streamlit.testing.v1 import AppTest

    _zoo(tmp_path, gain_robust=0.25)
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path)
    rows = tables.comparison_rows(directory=tmp_path)
    table = tables.architectures_markdown(rows)
    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_file(str(root / "pages" / "0_Lesson.py"), default_timeout=180)
    at.query_params["step"] = "5"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value == table for m in at.markdown)
    assert any(c.value == findings.architectures_finding(rows) for c in at.caption)
    page = lesson.export_html({}, rows=rows, tables={4: tables.architectures_html(rows)})
    four = page[page.index("<table class='four'>") :]
    assert page.index("<table class='four'>") > page.index("5. ") and "<th>Δ PGD-20 (n=400)</th>" in four
    assert "<td>ResNet18</td>" in four and four.count("<tr>") == 1 + 4 and "no evaluated pair in the zoo yet" in four
