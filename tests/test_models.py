import copy

import pytest
import torch

from rcm_demo.metrics import count_macs, count_params, pre_pool_hw, stage_shapes
from rcm_demo.models import ARCHS, TAPS, fold_batchnorm
from rcm_demo.probe import capture
from rcm_demo.zoo import ModelSpec

VARIANTS = [("1222", 1, (4, 4)), ("1122", 1, (8, 8)), ("1222", 2, (8, 8)), ("1111", 1, (32, 32))]


@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("strides,scale,hw", VARIANTS)
@pytest.mark.parametrize("pool", ["avg", "max"])
def test_every_variant_builds_with_the_promised_map(arch, strides, scale, hw, pool):
    spec = ModelSpec(arch=arch, width=4, strides=strides, scale=scale, pool=pool)
    model = spec.build().eval()
    assert pre_pool_hw(model) == hw
    logits = model(torch.rand(2, 3, 32, 32))
    assert logits.shape == (2, 10)
    names = [n for n, _ in model.named_children()]
    assert [t for t in TAPS if t in names] == list(TAPS)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_fixes_are_parameter_free_and_cost_what_the_paper_says(arch):
    base, strided, up = (
        ModelSpec(arch=arch, width=16, strides=s, scale=k).build() for s, k in [("1222", 1), ("1122", 1), ("1222", 2)]
    )
    assert count_params(base) == count_params(strided) == count_params(up)
    if arch == "resnet18":
        assert count_macs(strided) / count_macs(base) == pytest.approx(3.15, abs=0.1)
        assert count_macs(up) / count_macs(base) == pytest.approx(4.0, abs=0.01)


def test_resnet18_width64_matches_the_usual_size():
    assert count_params(ModelSpec(width=64).build()) == pytest.approx(11.17e6, rel=0.01)


def test_stage_shapes_resnet18():
    s = stage_shapes(ModelSpec(width=16, scale=2).build())
    assert s["upsample"] == (3, 64, 64)
    assert s["layer4"] == (128, 8, 8) and s["pool"] == (128,) and s["fc"] == (10,)


def test_normalisation_is_inside_and_max_pool_differs():
    avg = ModelSpec(width=4).build().eval()
    mx = ModelSpec(width=4, pool="max").build().eval()
    mx.load_state_dict(avg.state_dict())
    x = torch.rand(2, 3, 32, 32)
    assert not torch.allclose(avg(x), mx(x))
    z = avg.normalize(x)
    assert z.mean().abs() < 1.5 and not torch.allclose(z, x)


@pytest.mark.parametrize(
    "bad",
    [
        dict(strides="122"),
        dict(strides="1322"),
        dict(scale=5),
        dict(pool="sum"),
        dict(arch="vit"),
        dict(mode="area"),
        dict(width=0),
    ],
)
def test_bad_knobs_raise_readable_errors(bad):
    with pytest.raises(ValueError):
        ModelSpec(**{"width": 4, **bad}).build()


def test_spec_names_are_derived():
    assert ModelSpec(width=16, strides="1122").name == "resnet18w16_s1122_x1_avg"
    assert ModelSpec(width=16, scale=2, pool="max").name == "resnet18w16_s1222_x2_max"
    assert ModelSpec(width=16, scale=2, mode="bilinear").name == "resnet18w16_s1222_x2bilinear_avg"


LEGAL_STRIDES = [f"{a}{b}{c}{d}" for a in "12" for b in "12" for c in "12" for d in "12"]


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_registry_every_arch_at_every_legal_knob(arch):
    """Walk the registry: every stride pattern (scale 1) and every scale (strides 1222), both pools,
    build, run, and give the promised pre-pool map 32·scale / prod(stride digits); names round-trip."""
    cases = [(s, 1) for s in LEGAL_STRIDES] + [("1222", k) for k in (2, 3, 4)]
    for strides, scale in cases:
        for pool in ("avg", "max"):
            spec = ModelSpec(arch=arch, width=2, strides=strides, scale=scale, pool=pool)
            model = spec.build().eval()
            side = 32 * scale // torch.tensor([int(c) for c in strides]).prod().item()
            assert pre_pool_hw(model) == (side, side), spec.name
            assert ModelSpec.from_name(spec.name) == spec
    assert model(torch.rand(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.parametrize(
    "name,why",
    [
        ("resnet18w16_s1322_x1_avg", "strides"),
        ("resnet18w16_s122_x1_avg", "strides"),
        ("vitw16_s1222_x1_avg", "arch"),
        ("resnet18w16_s1222_x5_avg", "scale"),
        ("resnet18w16_s1222_x1_sum", "pool"),
        ("resnet18w0_s1222_x1_avg", "width"),
        ("resnet18w16_s1222_x1nearest_avg", "canonical"),
        ("hello", "model name"),
    ],
)
def test_names_are_parsed_by_the_same_rules(name, why):
    with pytest.raises(ValueError, match=why):
        ModelSpec.from_name(name)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_folding_batchnorm_keeps_every_stage_output(arch):
    torch.manual_seed(0)
    model = ModelSpec(arch=arch, width=4).build()
    for m in model.modules():  # trained-looking statistics, not the identity of a fresh BatchNorm
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5), m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    folded = fold_batchnorm(copy.deepcopy(model))
    bns = lambda m: sum(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())  # noqa: E731
    assert bns(folded) < bns(model)  # something was folded
    if arch in ("resnet18", "vgg", "alexnet"):
        assert bns(folded) == 0
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad(), capture(model, TAPS) as a, capture(folded, TAPS) as b:
        ya, yb = model(x), folded(x)
    assert torch.allclose(ya, yb, atol=1e-4, rtol=1e-4)
    for tap in TAPS:
        assert torch.allclose(a[tap], b[tap], atol=1e-4, rtol=1e-4), tap
    with pytest.raises(ValueError, match="eval-mode"):
        fold_batchnorm(ModelSpec(arch=arch, width=4).build().train())
