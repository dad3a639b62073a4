"""Reference-code checkpoints in and out (python -m rcm_demo.zoo import|export), tested without the
reference code: its key names are written out here, one block of each architecture."""

import json
import pickle

import pytest
import torch

from rcm_demo import data, zoo
from rcm_demo.data import CIFAR10_MEAN, CIFAR10_STD
from rcm_demo.models import ARCHS
from rcm_demo.zoo import ModelSpec, interop

# Our key -> the reference's, for one block of each architecture (Major/models/cifar_resnet.py,
# MART/models/preactresnet.py, Major/models/vgg.py, Major/models/alexnet.py).
REFERENCE_NAMES = {
    ("resnet18", "1222"): {
        "stem.0.weight": "conv1.weight",
        "stem.1.running_var": "bn1.running_var",
        "layer2.0.conv1.weight": "layer2.0.conv1.weight",
        "layer2.0.bn2.num_batches_tracked": "layer2.0.bn2.num_batches_tracked",
        "layer2.0.shortcut.0.weight": "layer2.0.downsample.0.weight",
        "layer2.0.shortcut.1.bias": "layer2.0.downsample.1.bias",
        "fc.weight": "fc.weight",
    },
    ("preactresnet18", "1222"): {
        "stem.weight": "conv1.weight",
        "layer2.0.bn1.weight": "layer2.0.bn1.weight",
        "layer2.0.conv2.weight": "layer2.0.conv2.weight",
        "layer2.0.shortcut.weight": "layer2.0.shortcut.0.weight",
        "layer4.2.running_mean": "bn.running_mean",
        "fc.bias": "fc.bias",
    },
    ("vgg16_bn", "22222"): {
        "stem.0.weight": "features.0.weight",
        "stem.4.running_mean": "features.4.running_mean",
        "layer1.0.weight": "features.7.weight",  # after block 1's six modules and its max-pool
        "layer2.6.bias": "features.20.bias",
        "layer4.7.num_batches_tracked": "features.41.num_batches_tracked",
        "fc.0.weight": "classifier.0.weight",
        "fc.6.bias": "classifier.6.bias",
    },
    ("vgg16_bn", "11222"): {"layer1.0.weight": "features.6.weight", "layer4.0.weight": "features.32.weight"},
    ("alexnet", "2222"): {
        "stem.0.weight": "features.0.weight",
        "layer1.0.bias": "features.3.bias",
        "layer2.0.weight": "features.6.weight",
        "layer3.0.weight": "features.8.weight",
        "layer4.0.bias": "features.10.bias",
        "fc.1.weight": "classifier.1.weight",
        "fc.4.weight": "classifier.4.weight",
        "fc.6.bias": "classifier.6.bias",
    },
}


@pytest.mark.parametrize("arch,strides", sorted(REFERENCE_NAMES))
def test_key_map_matches_the_reference_names(arch, strides):
    keys = ModelSpec(arch=arch, width=4, strides=strides).build().reference_keys()
    assert {k: keys[k] for k in REFERENCE_NAMES[arch, strides]} == REFERENCE_NAMES[arch, strides]
    assert len(set(keys.values())) == len(keys)  # one reference key per tensor


def _checkpoint(tmp_path, arch, strides):
    torch.manual_seed(0)
    spec = ModelSpec(arch=arch, width=4, strides=strides)
    model = spec.build()
    for m in model.modules():  # trained-looking BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3), m.running_var.uniform_(0.5, 1.5)
    return zoo.save_checkpoint(model.eval(), spec, "at", {"command": "test"}, tmp_path / "a")


def _logits(name, directory, x):
    with torch.no_grad():
        return zoo.load_model(name, "cpu", directory=directory)(x)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_export_then_import_gives_identical_logits(tmp_path, arch):
    strides = ARCHS[arch].BASELINE
    ck = _checkpoint(tmp_path, arch, strides)
    out = tmp_path / "paras.pt"
    interop.main(["export", ck.name, str(out), "--format", "reference", "--dir", str(tmp_path / "a")])
    plain = torch.load(out, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in plain.values())
    assert ("classifier.6.bias" if arch in ("vgg16_bn", "alexnet") else "fc.bias") in plain
    norm = [*map(str, CIFAR10_MEAN)], [*map(str, CIFAR10_STD)]
    interop.main(["import", str(out), "--arch", arch, "--strides", strides, "--scale", "1", "--pool", "avg",
              "--recipe", "at", "--out-dir", str(tmp_path / "b"), "--mean", *norm[0], "--std", *norm[1]])  # fmt: skip
    x = data.load_sample().float()[:16]
    assert torch.equal(_logits(ck.name, tmp_path / "a", x), _logits(ck.name, tmp_path / "b", x))
    card = json.loads((tmp_path / "b" / f"{ck.name}.json").read_text())
    assert card["train"]["imported"]["file"] == "paras.pt" and len(card["train"]["imported"]["sha256"]) == 64
    assert str(tmp_path) not in json.dumps(card)  # names, never local paths


def test_imported_model_uses_the_reference_normalisation(tmp_path):
    ck = _checkpoint(tmp_path, "resnet18", "1122")
    out = tmp_path / "paras.pt"
    interop.export_reference(ck.name, out, tmp_path / "a")
    interop.main(["import", str(out), "--arch", "resnet18", "--strides", "1122", "--recipe", "at",
              "--out-dir", str(tmp_path / "b")])  # fmt: skip
    card = zoo.get_checkpoint(ck.name, tmp_path / "b").meta
    assert card["normalize"]["mean"] == list(interop.REFERENCE_MEAN) and card["tier"] == "lite"
    # What the reference code computes: its own normalisation, then the network (F.interpolate at scale 1).
    ref = ModelSpec(width=4, strides="1122").build().eval()
    ref.load_state_dict(interop.from_reference(ref, torch.load(out, weights_only=True)))
    x = data.load_sample().float()[:8]
    mean = torch.tensor(interop.REFERENCE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(interop.REFERENCE_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = ref.fc(ref.pool(ref.layer4(ref.layer3(ref.layer2(ref.layer1(ref.stem((x - mean) / std)))))))
    assert torch.allclose(_logits(ck.name, tmp_path / "b", x), expected, atol=1e-4)


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned_by_import",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "paras.pt"
    with open(bad, "wb") as f:
        pickle.dump({"conv1.weight": _Boom()}, f)
    with pytest.raises(SystemExit) as e:
        interop.main(["import", str(bad), "--arch", "resnet18", "--strides", "1222", "--recipe", "at",
                  "--out-dir", str(tmp_path / "out")])  # fmt: skip
    assert e.value.code == 2 and not (tmp_path / "pwned_by_import").exists()
    err = capsys.readouterr().err.strip()
    assert "refused without running it" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_tensor_of_the_wrong_shape_is_named(tmp_path, capsys):
    ck = _checkpoint(tmp_path, "resnet18", "1222")
    out = tmp_path / "paras.pt"
    interop.export_reference(ck.name, out, tmp_path / "a")
    sd = torch.load(out, weights_only=True)
    sd["layer3.1.conv2.weight"] = torch.zeros(3, 3, 3, 3)
    torch.save(sd, out)
    with pytest.raises(SystemExit):
        interop.main(["import", str(out), "--arch", "resnet18", "--strides", "1222", "--recipe", "at",
                  "--out-dir", str(tmp_path / "b")])  # fmt: skip
    assert "layer3.1.conv2.weight" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_wrong_architecture_and_existing_names_are_refused(tmp_path, capsys):
    ck = _checkpoint(tmp_path, "resnet18", "1222")
    out = tmp_path / "paras.pt"
    interop.export_reference(ck.name, out, tmp_path / "a")
    for argv in (
        ["--arch", "vgg16_bn", "--strides", "22222"],  # keys of another network
        ["--arch", "resnet18", "--strides", "1222", "--out-dir", str(tmp_path / "a")],  # would overwrite
    ):
        with pytest.raises(SystemExit):
            interop.main(
                ["import", str(out), "--recipe", "at", *argv] + (["--out-dir", str(tmp_path / "c")] * (len(argv) == 4))
            )
    err = capsys.readouterr().err
    assert "not a VGG16BN of the reference code" in err and "exists already" in err
