"""State dicts of the paper's reference code (MTandHJ/rcm) in and out of rcm-demo's models.

The reference saves ``torch.save(model.state_dict())`` (its ``paras.pt``) with its own key names
(``conv1.weight``, ``layer1.0.downsample.0.weight``, ``features.3.weight``, ``classifier.6.bias``) and
normalises inputs with its own CIFAR-10 constants (``REFERENCE_MEAN``/``REFERENCE_STD``, from
``Major/src/config.py``) before ``F.interpolate`` by the scale factor. Each architecture's
``reference_keys()`` (``rcm_demo.models``) maps our keys to those; the CLI is ``python -m rcm_demo.zoo
import|export``.

    sd = read_state_dict("paras.pt")                # weights_only: a file that would run code is refused
    model.load_state_dict(from_reference(model, sd, "paras.pt"))   # every key and shape checked
    torch.save(to_reference(model), "paras.pt")     # loads into the reference network with strict=True
    import_reference("paras.pt", "resnet18", "1122", 1, "avg", "at")   # -> safetensors + card in pretrained/
    export_reference(name, "paras.pt")              # a zoo checkpoint -> the reference's state dict
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from ..models import ARCHS
from .checkpoints import (
    PRETRAINED_DIR,
    RECIPES,
    Checkpoint,
    CheckpointError,
    ModelSpec,
    checkpoint_name,
    load_model,
    save_checkpoint,
    sha256_file,
)

REFERENCE_MEAN = (0.4914, 0.4824, 0.4467)
REFERENCE_STD = (0.2471, 0.2435, 0.2617)
MAX_FILE_BYTES = 2 << 30  # a ResNet18 at width 64 is 45 MB in float32; refuse anything absurd before reading


class ImportRefused(ValueError):
    """A file is not a state dict this model can take; the message says why, in one line."""


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """A plain state dict of tensors from ``path``, read with ``torch.load(weights_only=True)``: a pickle
    that would build other objects or run code is refused, never executed. DataParallel's ``module.``
    prefixes are dropped; a dict holding one state dict under "state_dict" or "model" is unwrapped."""
    p = Path(path)
    if not p.is_file():
        raise ImportRefused(f"{p} does not exist or is not a file")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise ImportRefused(f"{p.name} is {p.stat().st_size / 2**30:.1f} GiB: not a CIFAR network's state dict")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ImportRefused(
            f"{p.name} is not a plain state dict of tensors (refused without running it): {first[:200]}"
        ) from None
    if isinstance(obj, dict) and len(obj) == 1 and next(iter(obj)) in ("state_dict", "model"):
        obj = next(iter(obj.values()))
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ImportRefused(f"{p.name} holds a {type(obj).__name__}, not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def from_reference(model: nn.Module, ref: dict[str, torch.Tensor], source: str = "the file") -> dict:
    """Our state dict for ``model`` from a reference state dict: every key the architecture needs must be
    there with the shape it needs, and nothing else may be."""
    keys = model.reference_keys()  # ours -> reference
    ours = model.state_dict()
    missing = [r for r in keys.values() if r not in ref]
    unexpected = sorted(set(ref) - set(keys.values()))
    if missing or unexpected:
        parts = [f"missing {missing[:4]}" if missing else "", f"unexpected {unexpected[:4]}" if unexpected else ""]
        raise ImportRefused(
            f"{source} does not fit {type(model).__name__} with these settings: "
            + "; ".join(p for p in parts if p)
            + " (check --arch and --strides)"
        )
    out = {}
    for k, r in keys.items():
        if ref[r].shape != ours[k].shape:
            raise ImportRefused(
                f"tensor {r} has shape {tuple(ref[r].shape)} in {source}; "
                f"this model needs {tuple(ours[k].shape)} (check --arch, --width and --strides)"
            )
        out[k] = ref[r].to(ours[k].dtype)
    return out


def to_reference(model: nn.Module) -> dict[str, torch.Tensor]:
    """The reference code's state dict for ``model`` (plain tensors, contiguous, on the CPU)."""
    keys = model.reference_keys()
    return {keys[k]: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}


def infer_width(arch_cls, ref: dict[str, torch.Tensor]) -> int:
    """The width a reference state dict was built with: the output channels of its first convolution."""
    probe = arch_cls(width=1)
    stem = next(k for k, v in probe.state_dict().items() if k.startswith("stem") and v.dim() == 4)
    first = probe.reference_keys()[stem]
    if first not in ref:
        raise ImportRefused(f"no tensor {first} in the file: not a {arch_cls.__name__} of the reference code")
    return int(ref[first].shape[0])


# ----------------------------------------------------------------------------- import / export (python -m rcm_demo.zoo)
def import_reference(
    src, arch, strides, scale, pool, recipe, out_dir=None, width=0, mode="nearest", tier="", seed=0,
    mean=REFERENCE_MEAN, std=REFERENCE_STD, command="", force=False,
) -> Checkpoint:  # fmt: skip
    """A reference-code state dict -> safetensors + card in ``out_dir``. Refused (``ImportRefused``,
    nothing written) when the file would run code, or any key or shape does not fit the spec."""
    ref = read_state_dict(src)
    if arch not in ARCHS:
        raise ImportRefused(f"--arch must be one of {sorted(ARCHS)}, got {arch!r}")
    spec = ModelSpec(
        arch=arch, width=width or infer_width(ARCHS[arch], ref), strides=strides, scale=scale,
        mode=mode, pool=pool,
    )  # fmt: skip
    name = checkpoint_name(spec, recipe, seed)
    if (Path(out_dir or PRETRAINED_DIR) / f"{name}.json").exists() and not force:
        raise ImportRefused(f"{name} exists already in {Path(out_dir or PRETRAINED_DIR).name}/; --force replaces it")
    model = spec.build().eval()
    model.load_state_dict(from_reference(model, ref, Path(src).name), strict=True)
    provenance = {
        "code": "the paper's reference code, github.com/MTandHJ/rcm (torch.save(model.state_dict()))",
        "file": Path(src).name,
        "sha256": sha256_file(Path(src)),
        "normalize": {"mean": list(mean), "std": list(std)},
    }
    info = {"command": command, "imported": provenance, "seed": seed, "epochs": None, "config": {}}
    return save_checkpoint(
        model, spec, recipe, info, out_dir, tier=tier or ("paper" if spec.width == 64 else "lite"), seed=seed,
        normalize=provenance["normalize"],
    )  # fmt: skip


def export_reference(name: str, out, directory=None) -> Path:
    """A checkpoint as the reference code's state dict (a plain ``torch.save`` of tensors)."""
    model = load_model(name, device="cpu", channels_last=False, directory=directory, fold_bn=False)
    torch.save(to_reference(model), out)
    return Path(out)


def main(argv=None) -> None:
    import argparse
    import shlex
    import sys

    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(
        prog="python -m rcm_demo.zoo",
        description="Bring checkpoints of the paper's reference code (MTandHJ/rcm) into the zoo, and back.",
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="a reference state dict (paras.pt) -> safetensors + card")
    imp.add_argument("src", help="the state dict saved by the reference code")
    imp.add_argument("--arch", required=True, help=f"one of {sorted(ARCHS)}")
    imp.add_argument("--strides", required=True, help="the reference's stride digits (e.g. 1122, 11222)")
    imp.add_argument("--scale", type=int, default=1, help="the reference's --scale-factor (input upsampling)")
    imp.add_argument("--pool", default="avg", help="avg (the reference) or max")
    imp.add_argument("--recipe", required=True, help=f"how it was trained: one of {list(RECIPES)}")
    imp.add_argument("--out-dir", default=str(PRETRAINED_DIR), help="where the checkpoint goes (pretrained/)")
    imp.add_argument("--width", type=int, default=0, help="0: read from the first convolution's shape")
    imp.add_argument("--mode", default="nearest", help="upsampling interpolation")
    imp.add_argument("--tier", default="", help="lite or paper (default: paper at width 64, else lite)")
    imp.add_argument("--seed", type=int, default=0)
    imp.add_argument("--mean", type=float, nargs=3, default=REFERENCE_MEAN, help="normalisation it used")
    imp.add_argument("--std", type=float, nargs=3, default=REFERENCE_STD)
    imp.add_argument("--force", action="store_true", help="replace a checkpoint of the same name")
    exp = sub.add_parser("export", help="a checkpoint -> the reference code's state dict")
    exp.add_argument("name", help="checkpoint name (python -m rcm_demo.evaluate --table lists them)")
    exp.add_argument("out", help="file to write (e.g. paras.pt)")
    exp.add_argument("--format", choices=["reference"], required=True)
    exp.add_argument("--dir", default=str(PRETRAINED_DIR), help="checkpoint directory")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "import":
            if a.recipe not in RECIPES:
                raise ImportRefused(f"--recipe must be one of {list(RECIPES)}, got {a.recipe!r}")
            ck = import_reference(
                a.src, a.arch, a.strides, a.scale, a.pool, a.recipe, Path(a.out_dir), a.width, a.mode, a.tier,
                a.seed, tuple(a.mean), tuple(a.std), force=a.force,
                command="python -m rcm_demo.zoo " + " ".join(  # paths by their names only: cards hold no local path
                    shlex.quote(Path(x).name if x in (a.src, a.out_dir) else x) for x in argv
                ),
            )  # fmt: skip
            print(f"imported {ck.name} ({ck.label}); measure it: python -m rcm_demo.evaluate --checkpoints {ck.name}")
        else:
            out = export_reference(a.name, a.out, Path(a.dir))
            print(f"wrote {out}: load it with the reference network's load_state_dict(..., strict=True)")
    except (ImportRefused, CheckpointError, ValueError) as e:
        print(f"python -m rcm_demo.zoo {a.cmd}: {e}", file=sys.stderr)
        raise SystemExit(2) from None
