import copy

import pytest
import torch

from rcm_demo.analysis.metrics import stage_shapes
from rcm_demo.analysis.probe import capture
from rcm_demo.models import ARCHS, TAPS, count_macs, count_params, fold_batchnorm, pre_pool_hw
from rcm_demo.zoo import ModelSpec


def expected_side(arch: str, strides: str, scale: int) -> int:
    """The pre-pool map side each architecture promises, written out here from the reference code's layers."""
    side = 32 * scale
    d = [int(c) for c in strides]
    if arch == "alexnet":  # 5x5 conv (padding 2) with stride d0, then kernel-2 max-pools with strides d1..d3
        side = (side - 1) // d[0] + 1
        for s in d[1:]:
            side = (side - 2) // s + 1
        return side
    for s in d:  # ResNet stages / VGG max-pools: each digit 2 halves the map
        side //= s
    return side


# (arch, baseline strides, its enlarged twin in the reference code's README)
TWINS = {"resnet18": ("1222", "1122"), "preactresnet18": ("1222", "1122"), "vgg16_bn": ("22222", "11222"),
         "alexnet": ("2222", "1122")}  # fmt: skip
VARIANTS = {arch: [(base, 1), (twin, 1), (base, 2), ("1" * len(base), 1)] for arch, (base, twin) in TWINS.items()}


def test_the_registry_holds_the_papers_four_networks():
    assert sorted(ARCHS) == sorted(TWINS)


@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("pool", ["avg", "max"])
def test_every_variant_builds_with_the_promised_map(arch, pool):
    for strides, scale in VARIANTS[arch]:
        spec = ModelSpec(arch=arch, width=4, strides=strides, scale=scale, pool=pool)
        model = spec.build().eval()
        side = expected_side(arch, strides, scale)
        assert pre_pool_hw(model) == (side, side), spec.name
        logits = model(torch.rand(2, 3, 32, 32))
        assert logits.shape == (2, 10)
        names = [n for n, _ in model.named_children()]
        assert [t for t in TAPS if t in names] == list(TAPS)
        assert set(model.TAP_NOTES) == {"stem", "layer1", "layer2", "layer3", "layer4"}


def test_map_sizes_of_the_reference_readme():
    sides = {(a, s): pre_pool_hw(ModelSpec(arch=a, width=2, strides=s).build())[0] for a, t in TWINS.items() for s in t}
    assert sides == {("resnet18", "1222"): 4, ("resnet18", "1122"): 8, ("preactresnet18", "1222"): 4,
                     ("preactresnet18", "1122"): 8, ("vgg16_bn", "22222"): 1, ("vgg16_bn", "11222"): 4,
                     ("alexnet", "2222"): 2, ("alexnet", "1122"): 7}  # fmt: skip


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_fixes_are_parameter_free(arch):
    base, twin = TWINS[arch]
    models = [ModelSpec(arch=arch, width=16, strides=s, scale=k).build() for s, k in [(base, 1), (twin, 1), (base, 2)]]
    assert len({count_params(m) for m in models}) == 1
    if arch == "resnet18":
        assert count_macs(models[1]) / count_macs(models[0]) == pytest.approx(3.15, abs=0.1)
        assert count_macs(models[2]) / count_macs(models[0]) == pytest.approx(4.0, abs=0.01)


def test_width64_gives_exactly_the_reference_parameter_counts():
    counts = {a: count_params(ModelSpec(arch=a, width=64).build()) for a in ARCHS}
    assert counts == {"resnet18": 11_173_962, "preactresnet18": 11_172_170, "vgg16_bn": 14_922_826,
                      "alexnet": 2_850_634}  # fmt: skip


def test_default_strides_are_the_architectures_own():
    assert ModelSpec(arch="vgg16_bn").strides == "22222" and ModelSpec(arch="alexnet").strides == "2222"
    assert ModelSpec().strides == "1222" and ModelSpec(arch="vgg16_bn", strides="11222").change == "strides 11222"
    with pytest.raises(ValueError, match="five digits"):
        ModelSpec(arch="vgg16_bn", strides="1222")
    with pytest.raises(ValueError, match="stem's stride"):
        ModelSpec(arch="alexnet", strides="22222")


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


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_registry_every_arch_at_every_legal_knob(arch):
    """Walk the registry: every stride pattern (scale 1) and every scale (default strides), both pools:
    build, run, give the promised pre-pool map; names round-trip."""
    import itertools

    digits = ARCHS[arch].STRIDE_DIGITS
    legal = ["".join(p) for p in itertools.product("12", repeat=digits)]
    cases = [(s, 1) for s in legal] + [(ARCHS[arch].BASELINE, k) for k in (2, 3, 4)]
    for strides, scale in cases:
        for pool in ("avg", "max"):
            spec = ModelSpec(arch=arch, width=2, strides=strides, scale=scale, pool=pool)
            model = spec.build().eval()
            side = expected_side(arch, strides, scale)
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
    assert bns(folded) < bns(model) or bns(model) == 0  # something was folded (AlexNet has no BatchNorm)
    if arch in ("resnet18", "vgg16_bn"):
        assert bns(folded) == 0
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad(), capture(model, TAPS) as a, capture(folded, TAPS) as b:
        ya, yb = model(x), folded(x)
    assert torch.allclose(ya, yb, atol=1e-4, rtol=1e-4)
    for tap in TAPS:
        assert torch.allclose(a[tap], b[tap], atol=1e-4, rtol=1e-4), tap
    with pytest.raises(ValueError, match="eval-mode"):
        fold_batchnorm(ModelSpec(arch=arch, width=4).build().train())
