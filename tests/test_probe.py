import math

import pytest
import torch
from conftest import assert_same_state, model_state

from rcm_demo.analysis import probe
from rcm_demo.attacks import pgd
from rcm_demo.zoo import ModelSpec


def test_capture_removes_hooks_even_on_error(tiny_model):
    before = model_state(tiny_model)
    with pytest.raises(RuntimeError):
        with probe.capture(tiny_model, ["layer4", "pool"]) as feats:
            tiny_model(torch.rand(1, 3, 32, 32))
            assert feats["layer4"].shape == (1, 32, 4, 4)
            raise RuntimeError("boom")
    assert_same_state(before, model_state(tiny_model))
    with pytest.raises(ValueError, match="layer9"):
        with probe.capture(tiny_model, ["layer9"]):
            pass


def test_layer_energy_profile(tiny_model, batch):
    x, y = batch
    x_adv = pgd(tiny_model, x, y, eps=8 / 255, steps=3)
    before = model_state(tiny_model)
    e = probe.layer_energy(tiny_model, x, x_adv)
    assert_same_state(before, model_state(tiny_model))
    assert list(e) == ["input", *probe.PROFILE]
    assert all(v["relative"] > 0 and v["absolute"] > 0 for v in e.values())
    assert probe.layer_energy(tiny_model, x, x)["layer4"]["absolute"] == 0


@pytest.mark.parametrize("strides,scale,hw", [("1222", 1, 4), ("1122", 1, 8), ("1222", 2, 8)])
def test_spatial_maps_at_native_resolution(strides, scale, hw, batch):
    model = ModelSpec(width=4, strides=strides, scale=scale).build().eval()
    x, y = batch
    maps = probe.spatial_energy(model, x, (x + 0.01).clamp(0, 1))
    assert maps["layer4"].shape == (hw, hw)
    assert maps["stem"].shape == (32 * scale, 32 * scale)


def test_pooling_bound_is_tight_for_uniform_change():
    z = torch.rand(3, 8, 4, 4)
    dz = torch.randn(3, 8, 1, 1).expand(3, 8, 4, 4)
    s = probe.pooling_stats(z, z + dz)
    assert s["ratio_avg"] == pytest.approx(1 / 4, rel=1e-5) == s["bound_avg"]
    for hw in (4, 8, 16):
        noise = probe.synthetic_pooling(hw, hw, "noise")
        assert noise["ratio_avg"] <= noise["bound_avg"] + 1e-6
        # i.i.d. noise: ||mean|| ~ sigma sqrt(C / HW) while ||dZ||_F ~ sigma sqrt(C HW), so the ratio is 1/(HW)
        assert noise["ratio_avg"] == pytest.approx(1 / hw**2, rel=0.3)
    assert probe.synthetic_pooling(16, 16)["ratio_max"] > 4 * probe.synthetic_pooling(16, 16)["ratio_avg"]


def test_pooling_report_on_real_model_respects_bound(tiny_model, batch):
    x, y = batch
    r = probe.pooling_report(tiny_model, x, pgd(tiny_model, x, y, eps=8 / 255, steps=3))
    assert r["H"] == r["W"] == 4 and r["bound_avg"] == 0.25
    assert 0 < r["ratio_avg"] <= r["bound_avg"] + 1e-6
    assert 0 <= r["argmax_flip_rate"] <= 1
    assert math.isfinite(r["ratio_max"])
