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
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

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
