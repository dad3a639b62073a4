"""Where the pages' model work runs: one interface, two backends, chosen by configuration.

* ``inprocess`` (the default; ``streamlit run app.py`` needs nothing else): the server's own model worker
  (``serve.worker``): batched attacks, a heavy lane, a bounded queue.
* ``ray`` (``RCM_BACKEND=ray``, ``RCM_RAY_ADDRESS`` the cluster, default "auto"; or ``backend = "ray"`` and
  ``ray_address`` in the ``[rcm]`` section of ``rcm.toml`` beside app.py): attacks go to
  the Ray Serve application ``rcm`` (``serve.ray_app``), batched across every session of every web replica,
  and so do quick forward passes and long jobs whose function is one of the package's model tasks
  (``analysis.*``, ``attacks.*``: sent by reference, their models by checkpoint name); anything else (a model
  built in code, a function of the UI) stays in this server's worker.

Both give ``attack(name, model, x, y, settings, owner) -> Future``, ``quick``, ``heavy``, ``cancel``,
``pending`` and ``describe()``. Ray is imported only when the ray backend is chosen.
"""

from __future__ import annotations

import functools
import os
import threading
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from .modelproc import source
from .worker import Busy, get_worker

BACKENDS = ("inprocess", "ray")


class BackendUnavailable(ValueError):
    """The configured backend cannot be reached or failed: the page says so in words (a ValueError, like
    every refusal the pages show), never with a traceback."""


CONFIG = Path(__file__).resolve().parents[2] / "rcm.toml"  # optional: [rcm] backend, ray_address


@functools.lru_cache(maxsize=8)
def _config_file(config: Path) -> dict:
    """The ``[rcm]`` section of ``config``, read once per process (every request asks for the backend)."""
    return tomllib.loads(config.read_text()).get("rcm", {}) if config.exists() else {}


def settings(config: Path = CONFIG) -> dict:
    """The backend settings: the environment first (``RCM_BACKEND``, ``RCM_RAY_ADDRESS``), then the
    ``[rcm]`` section of ``rcm.toml`` beside app.py, then the defaults."""
    file = _config_file(config)
    name = (os.environ.get("RCM_BACKEND") or file.get("backend") or "inprocess").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"RCM_BACKEND={name!r}: use one of {', '.join(BACKENDS)}")
    return {"backend": name, "ray_address": os.environ.get("RCM_RAY_ADDRESS") or file.get("ray_address") or "auto"}


@dataclass(frozen=True)
class ModelRef:
    """A zoo model sent by name: the Serve replica loads (and verifies) its own copy."""

    name: str


SHIPPABLE = ("rcm_demo.analysis.", "rcm_demo.attacks.")  # modules whose functions a Serve replica may run


def to_refs(obj, found: list):
    """``obj`` with every zoo model (in dicts, lists, tuples) replaced by a ``ModelRef``; a model built in code
    makes ``found`` hold None (it cannot be sent by name)."""
    if isinstance(obj, nn.Module):
        src = source(obj)
        found.append(src)
        return ModelRef(src[1]) if src else obj
    if isinstance(obj, dict):
        return {k: to_refs(v, found) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_refs(v, found) for v in obj)
    return obj


@dataclass
class RemoteJob:
    """A long job running in a Serve replica: ``future`` as the worker's jobs; no progress comes back."""

    future: Future
    progress: float = 0.0


class RayBackend:
    """Attacks, forward passes and long jobs on zoo checkpoints through the Serve application; anything it
    cannot send by name (a model built in code, a function outside ``SHIPPABLE``) in the local worker."""

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

    def _send(self, fn, args, kwargs, heavy: bool):
        """The remote call, or None where the job cannot leave this server."""
        found: list = []
        args, kwargs = to_refs(args, found), to_refs(kwargs, found)
        if not found or None in found or not getattr(fn, "__module__", "").startswith(SHIPPABLE):
            return None
        return self._pool.submit(_result, self.handle.run.remote(fn, args, kwargs, heavy))

    def quick(self, fn, *args, owner: str = "", **kwargs) -> Future:
        sent = self._send(fn, args, kwargs, heavy=False)
        return sent if sent is not None else self.local.quick(fn, *args, owner=owner, **kwargs)

    def heavy(self, fn, *args, owner: str = "", **kwargs):
        sent = self._send(fn, args, kwargs, heavy=True)
        return RemoteJob(sent) if sent is not None else self.local.heavy(fn, *args, owner=owner, **kwargs)

    def cancel(self, owner: str) -> int:
        return self.local.cancel(owner)

    def pending(self) -> int:
        return self.local.pending()

    def describe(self) -> str:
        return f"the Ray Serve application {self.app_name!r} at {self.address}"


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
    except Exception as e:  # noqa: BLE001 - a replica or the cluster failed: said in words, not a traceback
        raise BackendUnavailable(f"the Ray Serve backend failed ({type(e).__name__}: {e}); retry, or ask the "
                                 "person who runs the lab to check it (docs/operations.md)") from e  # fmt: skip
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
            try:
                _BACKENDS[key] = RayBackend(device, cfg["ray_address"])
            except Exception as e:  # noqa: BLE001 - no cluster, no app, no ray: one clear sentence
                raise BackendUnavailable(
                    f"RCM_BACKEND=ray, but the Ray Serve application 'rcm' at {cfg['ray_address']} is not reachable "
                    f"({type(e).__name__}: {e}). Start it (docs/operations.md, 'Serving a class') or unset RCM_BACKEND."
                ) from e
        return _BACKENDS[key]


def describe(device: str) -> str:
    """One line for the Home page's device panel: which backend computes this session's model work."""
    try:
        cfg = settings()
        if cfg["backend"] == "inprocess":
            return "this server's in-process model worker"
        return get_backend(device).describe()
    except ValueError as e:  # a bad setting or an unreachable cluster: the panel says it, the page goes on
        return f"no backend ({e})"
