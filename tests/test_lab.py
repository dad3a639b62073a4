import json
import re

import torch

from rcm_demo import viz, zoo
from rcm_demo.analysis import lab, sweeps
from rcm_demo.zoo import ModelSpec


def test_run_card_has_everything_to_reproduce(tmp_path, monkeypatch):
    spec = ModelSpec(width=4)
    torch.manual_seed(0)
    zoo.save_checkpoint(spec.build().eval(), spec, "std", {"command": "t"}, tmp_path)
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tmp_path)
    name = zoo.list_checkpoints()[0]
    models = {name: zoo.load_model(name)}
    x, y = torch.rand(1, 3, 32, 32), torch.tensor([2])
    s = lab.AttackSettings(eps_input=4, steps=3, seed=9, targeted=True, target=5)
    res = lab.attack_models(models, x, y, s)
    card = json.loads(json.dumps(lab.run_card(s, [name], "sample #3", x, res, "cpu")))
    assert card["settings"]["eps"] == 4 / 255 and card["settings"]["seed"] == 9 and card["settings"]["target"] == 5
    assert card["checkpoints"][name] == zoo.get_checkpoint(name).meta["sha256"]
    assert card["device"] == "cpu" and card["versions"]["torch"] == torch.__version__
    assert card["image"]["source"] == "sample #3" and len(card["image"]["sha256_of_pixels"]) == 64
    assert set(card["results"][name]) >= {"pred_clean", "pred_adv", "success", "linf255"}
    assert res[name]["linf255"] <= 4 + 1e-4
    png = viz.png_bytes(res[name]["x_adv"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_upload_without_label_attacks_the_models_own_prediction():
    torch.manual_seed(0)
    m = ModelSpec(width=4).build().eval()
    x = torch.rand(1, 3, 32, 32)
    r = lab.attack_models({"m": m}, x, None, lab.AttackSettings(eps_input=16, steps=5))["m"]
    assert r["clean_correct"] and r["pred_clean"] == int(lab.probs(m, x).argmax())
    assert lab.verdict(r) in ("fooled", "held")
    assert r["success"] == (r["pred_adv"] != r["pred_clean"])


def test_figures_build_without_streamlit():
    torch.manual_seed(0)
    models = {f"m{k}": ModelSpec(width=4, strides=st).build().eval() for k, st in enumerate(["1222", "1122"])}
    x, y = torch.rand(4, 3, 32, 32), torch.randint(0, 10, (4,))
    res = lab.attack_models(models, x[:1], y[:1], lab.AttackSettings(eps_input=8, steps=2))
    figs = [
        viz.energy_profile({n: r["energy"] for n, r in res.items()}),
        viz.spatial_maps({n: r["spatial"] for n, r in res.items()}),
        viz.topk_bars(res["m0"]["p_clean"], res["m0"]["p_adv"], true_label=int(y[0])),
        viz.pooling_bars(res["m1"]["pooling"]),
        viz.ratio_vs_size(sweeps.zoo_pooling(models, x, y, steps=2)),
        viz.robustness_curves(sweeps.robustness_curves(models, x, y, [0, 4, 8], steps=2)),
        viz.transfer_heatmap(sweeps.transfer_matrix(models, x, y, steps=2)),
        viz.eps_layer_heatmap(sweeps.eps_layer_matrix(models["m0"], x[:1], y[:1], lab.AttackSettings())),
        viz.heldout_history([{"epoch": 1, "clean": 0.3, "pgd10": 0.2}]),
    ]
    for f in figs:
        assert f.to_dict()["data"]
    import numpy as np

    shapes = [np.asarray(t.z).shape for t in figs[1].data]
    assert shapes[2] == (4, 4) and shapes[5] == (8, 8)  # layer4 of the 1222 and of the 1122 model


def test_synthetic_pooling_tells_the_story_on_the_per_position_scale():
    from rcm_demo.analysis import probe

    rows = [probe.synthetic_pooling(s, s, "noise") for s in (1, 2, 4, 8, 16, 32)]
    avg = [r["pooled_avg"] for r in rows]
    mx = [r["pooled_max"] for r in rows]
    for r in rows:  # average pooling shrinks like 1/sqrt(HW) (within 10%)
        assert abs(r["pooled_avg"] * (r["H"] * r["W"]) ** 0.5 - 1) < 0.1
    assert all(a > b for a, b in zip(avg, avg[1:]))
    assert min(mx) > 0.8 and mx[-1] > 20 * avg[-1]  # max pooling does not shrink
    uniform = [probe.synthetic_pooling(s, s, "uniform")["pooled_avg"] for s in (1, 8, 32)]
    assert max(uniform) - min(uniform) < 1e-5  # a coherent change passes average pooling unchanged
    fig = viz.synthetic_pooling(rows, rows[3]).to_dict()
    marker = [t for t in fig["data"] if t["name"].startswith("your map")][0]
    assert list(marker["x"]) == [64, 64]


def test_heatmaps_start_at_the_dark_end_and_log_axes_use_decades():
    torch.manual_seed(0)
    m = ModelSpec(width=4).build().eval()
    x = torch.rand(1, 3, 32, 32)
    res = lab.attack_models({"m": m}, x, torch.tensor([1]), lab.AttackSettings(eps_input=8, steps=2))
    fig = viz.spatial_maps({"m": res["m"]["spatial"]}, labels={"m": "4×4 baseline · AT · avg"})
    for t in fig.data:
        assert t.zmin == 0 and t.colorscale[0][1] == "rgb(0,0,4)"  # the dark end, as rgb() (see viz)
    assert any("4×4 baseline" in a.text for a in fig.layout.annotations)
    prof = viz.energy_profile({"m": res["m"]["energy"]}, labels={"m": "my label"})
    y = prof.layout.yaxis
    assert y.type == "log" and prof.data[0].name == "my label"
    assert "0.05" in y.ticktext and "5" in y.ticktext and all(len(t) > 1 or t in "125" for t in y.ticktext)
    assert dict(zip(y.tickvals, y.ticktext))[0.05] == "0.05"  # a tick below 1 is never a bare digit


def test_robustness_curves_carry_intervals():
    lo, hi = viz.wilson_interval(0.5, 8)
    assert 0.2 < lo < 0.3 and 0.7 < hi < 0.8
    fig = viz.robustness_curves({"eps255": [0, 8], "accuracy": {"a": [0.5, 0.25]}, "n": 8})
    assert fig.data[0].error_y.array[0] > 0


def test_first_correct_asks_for_blocks_on_demand_and_wraps_around():
    ok = torch.tensor([False, False, True, True, False, False, False, True, False, False])
    asked = []

    def block(b):  # blocks of 4 images: every model right where ok is True
        asked.append(b)
        return ok[4 * b : 4 * b + 4]

    assert lab.first_correct(block, 10, block=4) == 2 and asked == [0]  # one block answers
    asked.clear()
    assert lab.first_correct(block, 10, after=3, block=4) == 7 and asked == [1]
    assert lab.first_correct(block, 10, after=7, block=4) == 2  # wraps around
    assert lab.first_correct(lambda b: torch.zeros(4, dtype=torch.bool), 10, block=4) is None


def test_figures_use_the_small_template_and_one_axis_pair_per_panel():
    import plotly.io as pio

    from rcm_demo.viz.base import TEMPLATE

    p = torch.softmax(torch.randn(10), 0)
    fig = viz.topk_bars(p, p.flip(0), true_label=1)
    # The compact template, not plotly_white's 7 KB: every chart's JSON stays small for the browser.
    assert fig.layout.template == pio.templates[TEMPLATE] and len(fig.to_json()) < 3000
    maps = {n: {layer: torch.rand(s, s) for layer, s in (("layer2", 16), ("layer3", 8), ("layer4", 4))} for n in "ab"}
    fig = viz.spatial_maps(maps)
    assert len(fig.data) == 6 and len({(t.xaxis, t.yaxis) for t in fig.data}) == 6
    for t in fig.data:
        y = fig.layout[t.yaxis.replace("y", "yaxis")]
        assert y.scaleanchor == t.xaxis and y.autorange == "reversed"  # square cells, row 0 on top
    x_domains = sorted({tuple(fig.layout[t.xaxis.replace("x", "xaxis")].domain) for t in fig.data})
    assert len(x_domains) == 3 and all(0 <= a < b <= 1 for a, b in x_domains)
    assert [a.text.split("<br>")[1] for a in fig.layout.annotations[:3]] == [
        "layer2 (16×16)",
        "layer3 (8×8)",
        "layer4 (4×4)",
    ]


def test_topk_html_writes_every_probability_and_marks_the_true_class():
    p = torch.zeros(10)
    p[0], p[8], p[1] = 0.6, 0.3, 0.1
    q = torch.zeros(10)
    q[8], q[0], q[3] = 0.7, 0.2, 0.1
    html = viz.topk_html(p, q, k=2, true_label=0)
    # airplane (true, 60% → 20%), ship (30% → 70%); bars are as wide as the probabilities
    assert "airplane ✓" in html and "60% → 20%" in html and "30% → 70%" in html
    assert "width:60.0%" in html and "width:70.0%" in html
    assert html.index("ship") < html.index("airplane")  # most probable before + after first (1.0 vs 0.8)
    assert "<script" not in html and "plotly" not in html


def test_attack_lab_results_come_from_one_clean_and_one_adversarial_pass(tiny_model):
    # The probabilities shown and the probes come from the same two forward passes (plus the attack's):
    # a regression to separate passes for the probabilities would cost ~7% of the Attack lab's model work.
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    s = lab.AttackSettings(steps=3)
    calls = []
    handle = tiny_model.register_forward_pre_hook(lambda m, a: calls.append(a[0].shape[0]))
    try:
        for y in (torch.tensor([2]), None):  # labelled, and an upload without a label
            calls.clear()
            r = lab.attack_models({"m": tiny_model}, x, y, s)["m"]
            assert len(calls) == s.steps + 2, calls
            with torch.no_grad():
                assert torch.allclose(r["p_clean"], torch.softmax(tiny_model(x), 1)[0], atol=1e-6)
                assert torch.allclose(r["p_adv"], torch.softmax(tiny_model(r["x_adv"][None]), 1)[0], atol=1e-6)
            xs = [x, x.flip(3)]
            calls.clear()
            lab.attack_batch(tiny_model, xs, [y, y], [s, lab.AttackSettings(steps=3, seed=1)])
            assert len(calls) == s.steps + 2, calls
    finally:
        handle.remove()


def test_probes_and_pooling_work_for_all_four_networks():
    """The Attack lab's attack + probes, the energy profile and the pooling lab on every registered
    architecture, each at its baseline and its enlarged twin (VGG's 1x1 map: avg and max coincide)."""
    from rcm_demo.models import ARCHS

    torch.manual_seed(0)
    twins = {"resnet18": "1122", "preactresnet18": "1122", "vgg16_bn": "11222", "alexnet": "1122"}
    models = {}
    for arch in ARCHS:
        for strides in (ARCHS[arch].BASELINE, twins[arch]):
            models[f"{arch}_{strides}"] = ModelSpec(arch=arch, width=4, strides=strides).build().eval()
    x, y = torch.rand(2, 3, 32, 32), torch.randint(0, 10, (2,))
    names = list(models)
    for i in range(0, len(names), 4):  # at most four side by side, as in the lab
        part = {n: models[n] for n in names[i : i + 4]}
        res = lab.attack_models(part, x[:1], y[:1], lab.AttackSettings(eps_input=8, steps=2))
        for name, r in res.items():
            assert set(r["energy"]) >= {"stem", "layer1", "layer4", "pool"}, name
            assert r["pooling"]["H"] >= 1
    rows = sweeps.zoo_pooling(models, x, y, steps=2)
    vgg = next(r for r in rows if r["checkpoint"] == "vgg16_bn_22222")
    assert (vgg["H"], vgg["W"]) == (1, 1) and abs(vgg["ratio_avg"] - vgg["ratio_max"]) < 1e-6
    note = sweeps.one_position_note(vgg, {"arch": "vgg16_bn"})  # the Pooling lab says why both ratios are 1
    assert "1×1" in note and "strides 11222" in note
    assert all(sweeps.one_position_note(r, {"arch": "vgg16_bn"}) is None for r in rows if r["H"] * r["W"] > 1)
    notes = sweeps.tap_notes(["vgg16_bn", "alexnet"])
    assert "max-pool" in notes["vgg16_bn"]["stem"] and "5×5" in notes["alexnet"]["stem"]


def test_static_svg_figures_carry_the_data():
    """The default views' SVGs (no chart library in the browser) hold every series and label of the plotly
    figure they stand for, and are images Streamlit's sanitiser keeps (an <img> with an SVG data URI)."""
    import base64

    def svg_of(html):
        assert html.startswith('<img src="data:image/svg+xml;base64,')
        return base64.b64decode(html.split("base64,", 1)[1].split('"', 1)[0]).decode()

    hist = [{"epoch": 1, "clean": 0.3, "fgsm": 0.2, "pgd10": 0.2}, {"epoch": 2, "clean": 0.5, "fgsm": 0.5,
            "pgd10": 0.01, "co_flag": True}]  # fmt: skip
    s = svg_of(viz.scatter_svg(viz.heldout_history(hist)))
    assert s.count("<polyline") == 3 and "catastrophic overfitting?" in s and "Training monitor" in s
    prof = {"a": {k: {"relative": 0.1 * (i + 1)} for i, k in enumerate(["input", *lab.probe.PROFILE])}}
    s = svg_of(viz.scatter_svg(viz.energy_profile(prof)))
    assert "layer4" in s and "logits" in s and s.count("<polyline") == 1
    pair = {"pool": "avg", "enlarged": "8×8 strides 1122 · AT · avg", "baseline": "4×4 baseline · AT · avg"}
    rows = [
        {**pair, "metric_label": m, "diff": d, "lo": d - 0.02, "hi": d + 0.02}
        for m, d in (("clean", 0.04), ("PGD-20", -0.01))
    ]
    s = svg_of(viz.forest_svg(rows))
    assert "8×8 strides 1122 · AT − 4×4 (avg)" in s and "PGD-20" in s and "+4" in s
    long = [{**r, "enlarged": r["enlarged"] + " · seed 1 · 15 ep N-FGSM · mean of 2 seeds" * 2} for r in rows]
    s = svg_of(viz.forest_svg(long))
    width = int(re.search(r'<svg xmlns="[^"]*" viewBox="0 0 (\d+) ', s).group(1))
    assert width > 760 and s.count('text-anchor="end"') >= 1  # a long name widens the figure instead of being cut
    maps = {"m": {k: torch.rand(n, n) for k, n in (("layer2", 16), ("layer3", 8), ("layer4", 4))}}
    s = svg_of(viz.heatmaps_svg(maps))
    assert s.count("data:image/png;base64,") == 4 and "layer4 (4×4)" in s  # three maps and the colour bar
