"""Half-size weights only where they change nothing that is measured: a width-64 checkpoint's float32 weights
are compared with the same weights rounded to float16, clean and PGD-20 on the same test images (the
evaluation's first ``FP16_N``, the same seed), and the checkpoint is rewritten in float16 only when both
accuracies move by at most ``FP16_TOLERANCE``. The card keeps the comparison either way (``fp16_check``).

    python -m rcm_demo.build_zoo ...      # runs it for the plan's width-64 models, after training

A float16 width-64 ResNet18 is ~22 MB instead of ~45 MB: what the repository and a transfer carry.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from ..attacks.evaluation import EVAL_ATTACKS
from ..data import fixed_subset, load_cifar10
from ..zoo import get_checkpoint, load_model, sha256_file, write_card
from .evaluate import evaluate_model

FP16_N = 1_000  # images: the evaluation's first 1,000, the ones AutoAttack uses too
FP16_TOLERANCE = 0.001  # 0.1 point of accuracy, clean and PGD-20 alike
FP16_METRICS = ("clean", "pgd20")


def write_half(name: str, directory: Path, dest: Path) -> Path:
    """A copy of the checkpoint in ``dest`` with every floating tensor stored as float16, its card updated
    (dtype, sha256); returns the new weights file."""
    ck = get_checkpoint(name, directory)
    state = {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(ck.weights)).items()}
    weights = dest / ck.weights.name
    save_file(state, str(weights))
    # Metrics measured on the float32 weights do not describe the copy.
    write_card(
        dest / ck.card.name, {**ck.meta, "weights_dtype": "float16", "sha256": sha256_file(weights), "metrics": {}}
    )
    return weights


def fp16_check(name: str, directory: Path, x, y, dataset: str, batch_size: int = 250) -> dict:
    """Clean and PGD-20 accuracy of the stored float32 weights and of the same weights in float16, on
    the same images with the same generator seed."""
    with tempfile.TemporaryDirectory() as tmp:
        write_half(name, directory, Path(tmp))
        models = {"float32": load_model(name, directory=directory), "float16": load_model(name, directory=tmp)}
        out = {"n": len(y), "dataset": dataset, "tolerance_points": 100 * FP16_TOLERANCE}
        for key in FP16_METRICS:
            out[key] = {}
            for dtype, model in models.items():
                correct, _ = evaluate_model(model, x, y, EVAL_ATTACKS[key], "standard", 0, batch_size, f"{dtype}")
                out[key][dtype] = round(correct.float().mean().item(), 4)
    out["largest_change_points"] = round(max(100 * abs(out[k]["float16"] - out[k]["float32"]) for k in FP16_METRICS), 2)
    return out


def compact(name: str, directory: Path, data_dir: str, n: int | None = None) -> dict:
    """Run ``fp16_check`` once per checkpoint (the card remembers it) and store float16 weights when it
    passes. Returns the card's ``fp16_check``."""
    ck = get_checkpoint(name, directory)
    if "fp16_check" in ck.meta:
        return ck.meta["fp16_check"]
    if ck.meta.get("weights_dtype") != "float32":
        raise ValueError(f"{name}: weights are {ck.meta.get('weights_dtype')}; the check starts from float32")
    if ck.meta.get("metrics"):  # new weights would leave them describing other bits
        raise ValueError(f"{name} is evaluated already: compact it before its evaluation, or not at all")
    test = load_cifar10("test", data_dir)
    idx = fixed_subset(len(test), min(n or FP16_N, len(test)), 0)
    check = fp16_check(name, directory, test.float(idx), test.y[idx], test.source)
    check["stored"] = "float16" if check["largest_change_points"] <= 100 * FP16_TOLERANCE + 1e-9 else "float32"
    meta = dict(ck.meta)
    if check["stored"] == "float16":
        with tempfile.TemporaryDirectory() as tmp:
            shutil.move(str(write_half(name, directory, Path(tmp))), str(ck.weights))
        meta.update(weights_dtype="float16", sha256=sha256_file(ck.weights))
    meta["fp16_check"] = check
    write_card(ck.card, meta)
    print(
        f"{name}: float16 changes clean/PGD-20 by at most {check['largest_change_points']} points on {check['n']} "
        f"images: stored as {check['stored']}",
        file=sys.stderr,
    )
    return check
