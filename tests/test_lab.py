import json

import torch

from rcm_demo import lab, viz, zoo
from rcm_demo.zoo import ModelSpec


def test_run_card_has_everything_to_reproduce(tmp_path, monkeypatch):
    spec = ModelSpec(width=4)
    torch.manual_seed(0)
    zoo.save_checkpoint(spec.build().eval(), spec, "std", {"command": "t"}, tmp_path)
    monkeypatch.setattr(zoo, "PRETRAINED_DIR", tmp_path)
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
    figs = [viz.energy_profile({n: r["energy"] for n, r in res.items()}),
            viz.spatial_maps({n: r["spatial"] for n, r in res.items()}),
            viz.topk_bars(res["m0"]["p_clean"], res["m0"]["p_adv"], true_label=int(y[0])),
            viz.pooling_bars(res["m1"]["pooling"]),
            viz.ratio_vs_size(lab.zoo_pooling(models, x, y, steps=2)),
            viz.robustness_curves(lab.robustness_curves(models, x, y, [0, 4, 8], steps=2)),
            viz.transfer_heatmap(lab.transfer_matrix(models, x, y, steps=2)),
            viz.eps_layer_heatmap(lab.eps_layer_matrix(models["m0"], x[:1], y[:1], lab.AttackSettings())),
            viz.heldout_history([{"epoch": 1, "clean": 0.3, "pgd10": 0.2}])]
    for f in figs:
        assert f.to_dict()["data"]
    import numpy as np
    shapes = [np.asarray(t.z).shape for t in figs[1].data]
    assert shapes[2] == (4, 4) and shapes[5] == (8, 8)  # layer4 of the 1222 and of the 1122 model
