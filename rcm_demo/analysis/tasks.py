"""The pages' model tasks as plain module-level functions of models and tensors (no Streamlit, no closures
over a session), so any backend can run them: the in-process worker's lanes, or a Ray Serve replica that
receives the function by reference and the models by checkpoint name (``serve.backend``). A heavy task takes
``progress`` (a callback with the fraction done)."""

from __future__ import annotations

import torch

from . import lab, sweeps


def correct_all(models_, x, y):
    return torch.stack([lab.clean_correct(m, x, y) for m in models_])  # one worker job for all models


def eps_layer_job(model, x, y, settings):
    y = y if y is not None else lab.probs(model, x).argmax(1)
    return sweeps.eps_layer_matrix(model, x, y, settings)


def pooling_job(models_, x, y, eps255, progress):
    out = []
    for k, (name, model) in enumerate(models_.items()):
        out += sweeps.zoo_pooling({name: model}, x, y, eps255=eps255)
        progress((k + 1) / len(models_))
    return out


def curves_job(models_, x, y, eps, steps, seed, progress):
    out = sweeps.robustness_curves(models_, x, y, eps, steps=steps, seed=seed, progress=lambda f: progress(0.8 * f))
    out["transfer"] = sweeps.transfer_matrix(
        models_, x, y, eps255=8.0, steps=steps, seed=seed, progress=lambda f: progress(0.8 + 0.2 * f)
    )
    return out


def no_progress(fn):
    """Adapt a function without a ``progress`` argument to the heavy lane."""

    def run(*args, progress=None, **kwargs):
        return fn(*args, **kwargs)

    return run
