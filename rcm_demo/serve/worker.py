"""One model worker per device: every session's model work goes through it, batched.

Streamlit runs each session in its own thread; without a worker, 30 students' attacks run side by side
on the same cores and each uses all of them. The worker owns the model work instead:

* **Light lane, batched** (one thread): ``attack(...)`` jobs that share a checkpoint and attack settings
  (everything but the seed and the image) are gathered for up to ``window_s`` (at most ``max_batch``
  images) and run as one batched attack (``lab.attack_batch``). Each request keeps its own random start,
  drawn from its own seeded generator, so it gets the same adversarial image whether it ran alone or in
  a batch (measured: bitwise equal on CPU; ``tests/test_worker.py`` bounds any difference).
* **Where a batch is computed** (``RCM_WORKER``, ``worker_mode()``): ``process`` (the default where the
  model process gets two or more threads) sends each batch on a zoo checkpoint to the worker's model
  process (``rcm_demo.serve.modelproc``), which computes it in its own main thread, away from the server's GIL
  (``bench/worker_batching.py`` and ``bench/load.py`` compare the modes); ``thread`` (the default on 2
  cores) computes in the light lane itself. Models built in code (tests) are always computed here.
* **Heavy lane** (a second thread): ``heavy(fn, ...)`` runs long jobs (AutoAttack, robustness curves,
  zoo-wide measurements) one after another, reporting progress; it never delays the light lane's
  batches by more than sharing the cores.
* **Bounded.** At most ``max_pending`` jobs wait; beyond that ``submit`` raises ``Busy`` at once (the
  UI says "the lab is busy, retry in a few seconds"). ``cancel(owner)`` drops a closed session's jobs.
* Torch's CPU thread count in the server is set once, when the first worker starts (``threads``, default
  ``torch_threads()``: 1 unless ``RCM_TORCH_THREADS`` says otherwise), not by every session thread.
  One thread per op, because all of the server's model work runs outside the main thread, and there
  OpenMP's fork/join costs ~60 µs per op (an elementwise add on a 64×32×32 map: 7 µs in the main thread,
  66 µs in another thread with 2 OpenMP threads): PGD-10 on one image through the three default
  checkpoints took 0.83 s with 2 threads and 0.34 s with 1 in a worker thread (0.30 s in the main
  thread), measured on a 2-core Xeon. With one thread per op, the light and the heavy lane each get a
  core. (Large batches lose up to 1.4×: 30 images, 3.8 s with 2 threads vs 5.2 s with 1.)

    w = get_worker("cpu")
    fut = w.attack(name, model, x, y, settings, owner=session_id)   # concurrent.futures.Future
    fut.result()   # the dict lab.attack_models gives for that model

No Streamlit here: ``ui`` submits and waits (and cancels when a session ends).
"""

from __future__ import annotations

import atexit
import itertools
import os
import threading
import time
from collections import deque
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field, replace

import torch

from .. import hardware as H
from ..analysis import lab
from .modelproc import ModelProcess, process_threads, source

MODES = ("process", "thread", "off")
BATCH_LOG = os.environ.get("RCM_BATCH_LOG", "")  # a file: one line per light batch, its images


def worker_mode() -> str:
    """``RCM_WORKER``: ``process`` (the batched attacks computed in a model process of their own,
    ``rcm_demo.serve.modelproc``), ``thread`` (computed in the worker's light-lane thread), ``off``/``0`` (no
    worker: every session computes in its own thread, the behaviour before the worker), or ``auto``, the
    default: ``process`` where the model process gets at least two threads (``process_threads``: three or
    more cores, or ``RCM_PROCESS_THREADS``), else ``thread``. With one thread the process computes no faster
    than the lane (2 cores, ``bench/load.py``: equal within the noise) and costs ~0.75 GB; with two in its
    main thread it is faster (10 images: 1.13 s vs 1.47 s, 30: 2.99 s vs 4.36 s, ``bench/worker_batching.py``)."""
    v = os.environ.get("RCM_WORKER", "auto").strip().lower()
    v = {"1": "auto", "0": "off", "": "auto"}.get(v, v)
    if v == "auto":
        return "process" if process_threads() >= 2 else "thread"
    if v not in MODES:
        raise ValueError(f"RCM_WORKER={v!r}: use one of auto, {', '.join(MODES)}")
    return v


def torch_threads() -> int:
    """Torch CPU threads for the app's model work: ``RCM_TORCH_THREADS``, else 1 (see the module doc)."""
    return max(int(os.environ.get("RCM_TORCH_THREADS", "1") or 1), 1)


class Busy(RuntimeError):
    """The worker's queue is full: retry in a few seconds."""


@dataclass
class _Job:
    owner: str
    future: Future
    key: tuple = ()  # batching key (light jobs)
    payload: dict = field(default_factory=dict)
    seq: int = 0
    progress: float = 0.0  # heavy jobs: fraction done, set from the worker thread


class ModelWorker:
    def __init__(
        self,
        max_batch: int = 32,
        window_s: float = 0.02,
        max_pending: int = 256,
        threads: int | None = None,
        process: bool = False,
    ):
        self.max_batch, self.window_s, self.max_pending = max_batch, window_s, max_pending
        # process=True: batched attacks on zoo checkpoints are computed in a model process (modelproc).
        self.process = ModelProcess() if process else None
        self.threads = threads or torch_threads()
        # Once, for all model work of this process (changing it while another thread runs a parallel
        # torch op is asking for trouble, so only when it differs).
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        self._light: deque[_Job] = deque()
        self._heavy: deque[_Job] = deque()
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._closed = False
        self._seen: dict[str, float] = {}  # light-lane submitter -> time of its latest job
        self.active_s = 2.0  # another session that submitted this recently may send more: worth waiting for
        self.batches: list[int] = []  # sizes of the light batches run (for tests and benchmarks)
        self._threads = [
            threading.Thread(target=self._light_loop, name="rcm-worker-light", daemon=True),
            threading.Thread(target=self._heavy_loop, name="rcm-worker-heavy", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ submitting
    def _submit(self, job: _Job, lane: deque) -> _Job:
        with self._cv:
            if self._closed:
                raise RuntimeError("the model worker is closed")
            if len(self._light) + len(self._heavy) >= self.max_pending:
                raise Busy("the lab is busy, retry in a few seconds")
            job.seq = next(self._seq)
            lane.append(job)
            if lane is self._light:
                self._seen[job.owner] = time.monotonic()
            self._cv.notify_all()
        return job

    def attack(self, name: str, model, x, y, settings: lab.AttackSettings, owner: str = "") -> Future:
        """Attack one image (x: (1, 3, H, W); y: (1,) or None = the model's own prediction) with ``settings``
        on ``model`` (registered under ``name``; with the settings minus the seed, the batching key).
        The future's result is the per-model dict of ``lab.attack_models``."""
        key = (name, replace(settings, seed=0), tuple(x.shape[1:]))
        payload = {"model": model, "x": x.detach().cpu(), "y": None if y is None else y.detach().cpu(), "s": settings}
        return self._submit(_Job(owner, Future(), key, payload), self._light).future

    def heavy(self, fn, *args, owner: str = "", **kwargs) -> _Job:
        """Run ``fn(*args, progress=callback, **kwargs)`` in the heavy lane; ``job.progress`` (0..1) follows
        the callback and ``job.future`` gets the result."""
        job = _Job(owner, Future(), payload={"fn": fn, "args": args, "kwargs": kwargs})
        return self._submit(job, self._heavy)

    def quick(self, fn, *args, owner: str = "", **kwargs) -> Future:
        """A short piece of model work (a few forward passes) in the light lane, not batched."""
        job = _Job(owner, Future(), key=("quick", next(self._seq)), payload={"fn": fn, "args": args, "kwargs": kwargs})
        return self._submit(job, self._light).future

    def cancel(self, owner: str) -> int:
        """Drop the waiting jobs of ``owner`` (a session that closed); returns how many were dropped."""
        with self._cv:
            dropped = [j for lane in (self._light, self._heavy) for j in lane if j.owner == owner]
            for lane in (self._light, self._heavy):
                kept = [j for j in lane if j.owner != owner]
                lane.clear()
                lane.extend(kept)
        for j in dropped:
            j.future.cancel()
        return len(dropped)

    def pending(self) -> int:
        with self._cv:
            return len(self._light) + len(self._heavy)

    def close(self, timeout_s: float = 5.0):
        """Stop taking jobs, cancel the waiting ones, let the running ones end (a heavy job stops at its
        next progress report) and wait up to ``timeout_s`` per lane."""
        with self._cv:
            self._closed = True
            waiting = [*self._light, *self._heavy]
            self._light.clear()
            self._heavy.clear()
            self._cv.notify_all()
        for j in waiting:
            j.future.cancel()
        for t in self._threads:
            t.join(timeout_s)
        if self.process is not None:
            self.process.close()

    # ------------------------------------------------------------------ the lanes
    def _wait_for(self, lane: deque) -> bool:
        with self._cv:
            while not (lane or self._closed):
                self._cv.wait()
            return not self._closed

    def _light_loop(self):
        while self._wait_for(self._light):
            if self._worth_gathering():
                time.sleep(self.window_s)  # let a few more requests arrive: gather, then run once
            batch = []
            try:
                batch = self._take_batch()
                self._run_light(batch)
            except Exception as e:  # noqa: BLE001 - the lane must outlive any job; its sessions get the error
                for j in batch:
                    if not j.future.done():
                        j.future.set_exception(e)

    def _heavy_loop(self):
        while self._wait_for(self._heavy):
            with self._cv:
                job = self._heavy.popleft() if self._heavy else None
            if job is None or not job.future.set_running_or_notify_cancel():
                continue
            p = job.payload

            def progress(frac, job=job):
                if self._closed:  # shutting down: a long job stops here instead of outliving the server
                    raise CancelledError("the lab is shutting down")
                job.progress = float(frac)

            try:
                job.future.set_result(p["fn"](*p["args"], progress=progress, **p["kwargs"]))
            except Exception as e:  # noqa: BLE001 - handed to the waiting session, which shows it
                job.future.set_exception(e)

    def _worth_gathering(self) -> bool:
        """Whether to wait ``window_s`` before taking the next batch: only for an attack (a quick job runs
        alone and at once), and only while another session has been submitting (``active_s``): a lone
        user's three models run without 3 × 20 ms of waiting for company that is not coming."""
        with self._cv:
            if not self._light or "fn" in self._light[0].payload:
                return False
            now, owner = time.monotonic(), self._light[0].owner
            for o in [o for o, t in self._seen.items() if now - t > self.active_s]:
                del self._seen[o]  # forget sessions that went quiet
            return any(o != owner for o in self._seen)

    def _take_batch(self) -> list[_Job]:
        with self._cv:
            if not self._light:
                return []
            first = self._light[0]
            if "fn" in first.payload:  # a quick job runs alone
                self._light.popleft()
                return [first] if first.future.set_running_or_notify_cancel() else []
            batch, rest, n = [], deque(), 0
            for j in self._light:
                size = 0 if "fn" in j.payload else j.payload["x"].shape[0]  # quick jobs have no image
                if j.key == first.key and "fn" not in j.payload and n + size <= self.max_batch:
                    batch.append(j)
                    n += size
                else:
                    rest.append(j)
            self._light.clear()
            self._light.extend(rest)
        return [j for j in batch if j.future.set_running_or_notify_cancel()]

    def _run_light(self, batch: list[_Job]):
        if not batch:
            return
        if "fn" in batch[0].payload:
            p = batch[0].payload
            try:
                batch[0].future.set_result(p["fn"](*p["args"], **p["kwargs"]))
            except Exception as e:  # noqa: BLE001 - handed to the waiting session
                batch[0].future.set_exception(e)
            return
        self.batches.append(len(batch))
        if BATCH_LOG:  # images per batch, for benchmarks of a running server (bench/class_load.py)
            with open(BATCH_LOG, "a") as f:
                f.write(f"{sum(j.payload['x'].shape[0] for j in batch)}\n")
        model = batch[0].payload["model"]
        args = [j.payload["x"] for j in batch], [j.payload["y"] for j in batch], [j.payload["s"] for j in batch]
        try:
            src = source(model)
            if self.process is not None and src is not None:
                outs = self.process.attack_batch(src, str(H.model_device(model)), *args)
            else:  # thread mode, or a model built in code (it cannot be loaded by name in the model process)
                outs = lab.attack_batch(model, *args)
            for j, out in zip(batch, outs):
                j.future.set_result(out)
        except Exception as e:  # noqa: BLE001 - every waiting session gets the error
            for j in batch:
                if not j.future.done():
                    j.future.set_exception(e)


_WORKERS: dict[tuple[str, str], ModelWorker] = {}
_LOCK = threading.Lock()


@atexit.register
def _close_workers():
    """At exit, before the interpreter finalises: a lane thread still inside torch when it does is ended
    by a forced unwind through C++ code, and the process aborts ("terminate called without an active
    exception", exit code 134) — seen when a test run ended during the background clean predictions."""
    with _LOCK:
        workers = list(_WORKERS.values())
    for w in workers:
        w.close(timeout_s=60)


def get_worker(device: str) -> ModelWorker:
    """The server's worker for ``device`` in the current ``worker_mode()`` (created on first use)."""
    mode = worker_mode()
    with _LOCK:
        if (device, mode) not in _WORKERS:
            _WORKERS[(device, mode)] = ModelWorker(process=mode == "process")
        return _WORKERS[(device, mode)]


__all__ = ["Busy", "CancelledError", "ModelWorker", "get_worker", "worker_mode"]
