"""The Ray Serve application (optional: ``pip install "ray[serve]"``; the default app never imports this).

One deployment per device class, ``ModelService``, holds the zoo's models by checkpoint name (loaded with
``load_model``: sha256-checked, reloaded when a checkpoint's files change) and merges the attack requests of
every session and every Streamlit replica with ``@serve.batch``. A request is one image; a batch is at most
``MAX_BATCH_IMAGES`` images, and ``max_ongoing_requests`` is set above it (it caps how many requests a
replica holds at once, so below the batch size a batch could never fill). Inside a batch, requests that
share a checkpoint and attack settings (all but the seed) run as one ``lab.attack_batch``, each with its own
seeded random start: the same ``x_adv`` as the in-process worker gives (``tests/test_ray_backend.py``).
Beyond ``max_queued_requests`` waiting requests a caller gets Serve's ``BackPressureError``, which the
backend turns into the app's usual "busy, retry in a few seconds".

    ray start --head --num-cpus 8                      # or a cluster: docs/operations.md
    python -m rcm_demo.serve.ray_app --replicas 2      # deploys the app "rcm" and returns
    RCM_BACKEND=ray streamlit run app.py               # each web replica sends its attacks here
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import torch
from ray import serve

from ..analysis import lab
from ..zoo import checkpoint_stamp, load_model
from .backend import SHIPPABLE, ModelRef, connect

APP_NAME = "rcm"
ROOT = Path(__file__).resolve().parents[2]
MAX_BATCH_IMAGES = 32  # images per batch (one per request); the in-process worker's max_batch too
BATCH_WAIT_S = 0.02  # how long a batch waits for company, as the in-process worker's window
MAX_ONGOING = 2 * MAX_BATCH_IMAGES  # per replica: above the batch size, or batches never fill
MAX_QUEUED = 256  # per caller's handle, as the in-process worker's max_pending


@serve.deployment(
    name="ModelService",
    max_ongoing_requests=MAX_ONGOING,
    max_queued_requests=MAX_QUEUED,
    health_check_period_s=10,
)
class ModelService:
    """Attacks on zoo checkpoints, batched across every caller. ``device``: "cpu" or "cuda" (a GPU replica
    is deployed with ``ray_actor_options={"num_gpus": f}``, a fraction to share one GPU)."""

    def __init__(self, device: str = "cpu", threads: int = 1):
        torch.set_num_threads(max(int(threads), 1))
        self.device = device
        self._models: dict[str, tuple[tuple, torch.nn.Module]] = {}
        self.batches: list[int] = []  # images per batch run (stats() reports them)
        self.groups: list[int] = []  # images per batched attack (one checkpoint and setting) within them

    def _model(self, name: str):
        stamp = checkpoint_stamp(name)
        held = self._models.get(name)
        if held is None or held[0] != stamp:  # new, or its files changed: load (and verify) again
            self._models[name] = (stamp, load_model(name, device=self.device))
        return self._models[name][1]

    def check_health(self):
        """Serve's health check: the replica can still compute."""
        torch.zeros(1).add_(1)

    @serve.batch(max_batch_size=MAX_BATCH_IMAGES, batch_wait_timeout_s=BATCH_WAIT_S)
    async def attack(self, requests: list[tuple]) -> list:
        """``requests``: (checkpoint name, x (1, 3, H, W), y (1,) or None, ``lab.AttackSettings``) each; one
        result dict (``lab.attack_models``'s per-model dict) per request, in order, or ``{"error": (type name,
        message)}`` for a request whose group failed (the backend raises it again on the caller's side)."""
        self.batches.append(sum(r[1].shape[0] for r in requests))
        groups: dict[tuple, list[int]] = {}
        for i, (name, x, _, s) in enumerate(requests):
            groups.setdefault((name, replace(s, seed=0), tuple(x.shape[1:])), []).append(i)
        out: list = [None] * len(requests)
        for (name, _, _), idx in groups.items():
            self.groups.append(len(idx))
            try:
                model = self._model(name)
                xs = [requests[i][1].to(self.device) for i in idx]
                ys = [None if requests[i][2] is None else requests[i][2].to(self.device) for i in idx]
                with torch.enable_grad():  # input gradients only: load_model turned the weights' off
                    results = lab.attack_batch(model, xs, ys, [requests[i][3] for i in idx])
                for i, r in zip(idx, results):
                    out[i] = {k: v.cpu() if torch.is_tensor(v) else v for k, v in r.items()}
            except Exception as e:  # noqa: BLE001 - each caller of the group gets the error, the others go on
                for i in idx:
                    out[i] = {"error": (type(e).__name__, str(e))}
        return out

    def run(self, fn, args: tuple, kwargs: dict, heavy: bool):
        """A model task of the package (``backend.SHIPPABLE``) with its ``ModelRef``s resolved to this
        replica's models; a heavy task gets a progress callback that reports nothing back (docs/operations.md).
        Errors come back as ``{"error": ...}``, as for attacks."""
        if not getattr(fn, "__module__", "").startswith(SHIPPABLE):
            return {"error": ("ValueError", f"{fn!r} is not one of the package's model tasks")}
        try:
            args, kwargs = self._resolve(args), self._resolve(kwargs)
            with torch.enable_grad():  # attacks need input gradients; the models' own stay off (load_model)
                return fn(*args, **({**kwargs, "progress": lambda f: None} if heavy else kwargs))
        except Exception as e:  # noqa: BLE001 - handed to the caller, who shows it
            return {"error": (type(e).__name__, str(e))}

    def _resolve(self, obj):
        if isinstance(obj, ModelRef):
            return self._model(obj.name)
        if isinstance(obj, dict):
            return {k: self._resolve(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(self._resolve(v) for v in obj)
        return obj

    def stats(self) -> dict:
        """Images per batch so far, and the models held (for benchmarks and the health page)."""
        return {"batches": list(self.batches), "groups": list(self.groups), "models": sorted(self._models),
                "device": self.device}  # fmt: skip


def app(device: str = "cpu", threads: int = 1, replicas: int = 1, num_gpus: float = 0.0):
    """The application to run: ``serve.run(app(...), name=APP_NAME)``."""
    options = {"num_replicas": replicas}
    if num_gpus:
        options["ray_actor_options"] = {"num_gpus": num_gpus}
    return ModelService.options(**options).bind(device, threads)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m rcm_demo.serve.ray_app", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--address", default=os.environ.get("RCM_RAY_ADDRESS", "auto"), help="the Ray cluster")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--replicas", type=int, default=1, help="ModelService replicas")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per replica")
    ap.add_argument("--num-gpus", type=float, default=0.0, help="GPU share per replica (e.g. 0.25)")
    a = ap.parse_args(argv)
    # The replicas import this package from the checkout (the same path on every node of a cluster).
    env = {"PYTHONPATH": str(ROOT), **{k: os.environ[k] for k in ("RCM_PRETRAINED_DIR",) if k in os.environ}}
    connect(a.address, runtime_env={"env_vars": env})
    serve.run(app(a.device, a.threads, a.replicas, a.num_gpus), name=APP_NAME, route_prefix=None)
    print(f"deployed {APP_NAME!r}: {a.replicas} ModelService replica(s) on {a.device}")


if __name__ == "__main__":
    main()
