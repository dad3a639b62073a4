"""Where the pages' model work runs: one interface, two backends, chosen by configuration.

* ``inprocess`` (the default; ``streamlit run app.py`` needs nothing else): the server's own model worker
  (``serve.worker``): batched attacks, a heavy lane, a bounded queue.
* ``ray`` (``RCM_BACKEND=ray``, ``RCM_RAY_ADDRESS`` the cluster, default "auto"; or ``backend = "ray"`` and
  ``ray_address`` in the ``[rcm]`` section of ``rcm.toml`` beside app.py): attacks go to
  the Ray Serve application ``rcm`` (``serve.ray_app``), batched across every session of every web replica;
  quick forward passes and long jobs stay in this server's worker in this step (docs/operations.md).

Both give ``attack(name, model, x, y, settings, owner) -> Future``, ``quick``, ``heavy``, ``cancel``,
``pending`` and ``describe()``. Ray is imported only when the ray backend is chosen.
"""

from __future__ import annotations

import os
import threading
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .modelproc import source
from .worker import Busy, get_worker

BACKENDS = ("inprocess", "ray")
CONFIG = Path(__file__).resolve().parents[2] / "rcm.toml"  # optional: [rcm] backend, ray_address


def settings(config: Path = CONFIG) -> dict:
    """The backend settings: the environment first (``RCM_BACKEND``, ``RCM_RAY_ADDRESS``), then the
    ``[rcm]`` section of ``rcm.toml`` beside app.py, then the defaults."""
    file = tomllib.loads(config.read_text()).get("rcm", {}) if config.exists() else {}
    name = (os.environ.get("RCM_BACKEND") or file.get("backend") or "inprocess").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"RCM_BACKEND={name!r}: use one of {', '.join(BACKENDS)}")
    return {"backend": name, "ray_address": os.environ.get("RCM_RAY_ADDRESS") or file.get("ray_address") or "auto"}


class RayBackend:
    """Attacks on zoo checkpoints through the Serve application; everything else in the local worker."""

    def __init__(self, device: str, address: str = "auto", app_name: str = "rcm"):
        from ray import serve

        connect(address)
        self.local = get_worker(device)
        self.handle = serve.get_app_handle(app_name)
        self.address, self.app_name = address, app_name
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="rcm-ray")

    def attack(self, name: str, model, x, y, settings, owner: str = "") -> Future:
        if source(model) is None:  # a model built in code (tests): the replicas cannot load it by name
            return self.local.attack(name, model, x, y, settings, owner)
        x = x.detach().cpu()
        y = None if y is None else y.detach().cpu()
        response = self.handle.attack.remote((source(model)[1], x, y, settings))
        return self._pool.submit(_result, response)

    def quick(self, fn, *args, owner: str = "", **kwargs) -> Future:
        return self.local.quick(fn, *args, owner=owner, **kwargs)

    def heavy(self, fn, *args, owner: str = "", **kwargs):
        return self.local.heavy(fn, *args, owner=owner, **kwargs)

    def cancel(self, owner: str) -> int:
        return self.local.cancel(owner)

    def pending(self) -> int:
        return self.local.pending()

    def describe(self) -> str:
        return f"Ray Serve application {self.app_name!r} at {self.address} (attacks); this server (the rest)"


def connect(address: str, **kwargs) -> None:
    """Join the Ray cluster at ``address`` once per process."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, **kwargs)


def _result(response):
    from ray.serve.exceptions import BackPressureError

    try:
        out = response.result()
    except BackPressureError:
        raise Busy("the lab is busy, retry in a few seconds") from None
    if isinstance(out, dict) and "error" in out and len(out) == 1:
        kind, message = out["error"]
        raise (ValueError if kind == "ValueError" else RuntimeError)(message)
    return out


_BACKENDS: dict[tuple, object] = {}
_LOCK = threading.Lock()


def get_backend(device: str):
    """The backend for ``device`` under the current settings (created on first use)."""
    cfg = settings()
    if cfg["backend"] == "inprocess":
        return get_worker(device)
    key = (device, cfg["backend"], cfg["ray_address"])
    with _LOCK:
        if key not in _BACKENDS:
            _BACKENDS[key] = RayBackend(device, cfg["ray_address"])
        return _BACKENDS[key]


def describe(device: str) -> str:
    """One line for the Home page's device panel: which backend computes this session's model work."""
    cfg = settings()
    if cfg["backend"] == "inprocess":
        return "this server's in-process model worker"
    return get_backend(device).describe()
