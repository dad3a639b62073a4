"""The worker's batched attacks in a process of their own, run in that process's main thread.

Why a process: every model op the Streamlit server runs is outside its main thread (session threads,
worker lanes), and there OpenMP (libgomp, torch's CPU backend) pays for every parallel region: on a 2-core
Xeon, PGD-10 on 10 images through the three default checkpoints took 1.63 s with one torch thread in a
worker thread, 2.40 s with two, and 1.26 s with two in a main thread (``python bench/worker_batching.py``
compares the modes). In a process of its own the batch runs in a main thread, with as many threads as
pay (``process_threads``: every core but the server's), and the attack loop's Python no longer shares one
GIL with the server's script runs. The worker's queue, batching, fairness and cancellation stay in the server
(``rcm_demo.serve.worker``); this module only computes a batch and hands back the per-request results.

    proc = ModelProcess()                                    # starts the child (imports torch: ~2 s)
    outs = proc.attack_batch(model.rcm_source, "cpu", xs, ys, settings)   # == lab.attack_batch(model, ...)
    proc.close()

The child loads models itself, by checkpoint name, from the directory the server loaded them from
(``zoo.load_model`` records it as ``model.rcm_source``) and verifies each file's sha256 as the server
does; a retrained checkpoint (new file stamp) is loaded again. Models without a source (built in code,
as in tests) cannot travel and are computed in the server. A child that dies (killed, out of memory)
fails the batch it was computing with a clear message and is replaced for the next one.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from pathlib import Path

import torch

STOP = b""
_ROOT = Path(__file__).resolve().parents[2]  # the repository: rcm_demo/serve/modelproc.py -> ../..
_LEN = struct.Struct("!Q")


def _send(f, data: bytes):
    f.write(_LEN.pack(len(data)) + data)
    f.flush()


def _recv(f) -> bytes:
    head = f.read(_LEN.size)
    if len(head) < _LEN.size:
        raise EOFError("the other side has closed the pipe")
    n = _LEN.unpack(head)[0]
    data = f.read(n)
    if len(data) < n:
        raise EOFError("the other side has closed the pipe")
    return data


def process_threads() -> int:
    """Torch threads of the model process for a batch: ``RCM_PROCESS_THREADS``, else every core this server
    may use but one, which stays with the server's own Python (script runs, the heavy lane). Measured on 2
    cores (``bench/load.py``): with both cores the child was faster while nothing else ran (30 sessions
    p95 5.7 s vs 7.0 s), but with other work on the cores (the browsers of the benchmark) OpenMP's spinning
    threads wasted them: 20 sessions p95 229 s vs 70 s, the child using 28.6 vs 4.2 CPU seconds."""
    env = os.environ.get("RCM_PROCESS_THREADS", "")
    if env:
        return max(int(env), 1)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(cores - 1, 1)


def source(model) -> tuple[str, str] | None:
    """(directory, checkpoint name) of a model loaded by ``zoo.load_model``; None for one built in code."""
    return getattr(model, "rcm_source", None)


def _compact(obj):
    """Tensors copied to their own storage: pickle writes a view's whole storage (a slice of the 500-image
    sample would travel as 6 MB, a result of a batch of 30 as 30 copies of the batch)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _compact(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_compact(v) for v in obj)
    return obj


def _model(cache: dict, src: tuple[str, str], device: str):
    from ..zoo import checkpoint_stamp, load_model

    directory, name = src
    key = (directory, name, device)
    stamp = checkpoint_stamp(name, Path(directory))
    if key not in cache or cache[key][0] != stamp:
        cache[key] = (stamp, load_model(name, device, directory=Path(directory)))
    return cache[key][1]


def threads_for(n_images: int, threads: int) -> int:
    """One torch thread for a single image, ``threads`` for a batch. Measured in a main thread on the 2-core
    Xeon (PGD-10 through the default trio): 1 image 0.24 s with 1 or 2 threads (2 only burn twice the
    CPU, which the server's own work needs under load); 2 images 0.40 s vs 0.30 s; 6 images 1.00 vs 0.61 s."""
    return 1 if n_images < 2 else threads


def _serve(threads: int):
    """The child's main loop (``python -m rcm_demo.modelproc THREADS``): one batch at a time, in the main
    thread, requests on stdin and results on stdout (length-prefixed pickles)."""
    inp, outp = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print (a library's warning) goes to stderr, never into the results
    from ..analysis import lab

    models: dict = {}
    while True:
        try:
            msg = _recv(inp)
        except (EOFError, OSError):  # the server has gone
            return
        if msg == STOP:
            return
        try:
            src, device, xs, ys, settings = pickle.loads(msg)
            if torch.get_num_threads() != threads_for(len(xs), threads):
                torch.set_num_threads(threads_for(len(xs), threads))
            out = (True, _compact(lab.attack_batch(_model(models, src, device), xs, ys, settings)))
        except Exception as e:  # noqa: BLE001 - handed to the server, which gives it to the waiting sessions
            out = (False, e)
        try:
            data = pickle.dumps(out)
        except Exception:  # noqa: BLE001 - an exception that does not pickle still reaches the server as text
            data = pickle.dumps((False, RuntimeError(f"{type(out[1]).__name__}: {out[1]}")))
        _send(outp, data)


class ModelProcess:
    """A child process computing ``lab.attack_batch`` for checkpoints it loads itself (see the module doc).
    Thread-safe: one batch at a time."""

    def __init__(self, threads: int | None = None):
        self.threads = threads or process_threads()
        self._lock = threading.Lock()
        self._proc = None
        self.starts = 0  # how many children were started (tests: a dead child is replaced)
        self.batches = 0  # batches computed in a child
        self._start()

    def _start(self):
        # A fresh interpreter (never a fork of a threaded server; nor multiprocessing's spawn, which runs
        # the parent's main script again in the child).
        path = [str(_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rcm_demo.serve.modelproc", str(self.threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=_ROOT,
        )
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def attack_batch(self, src: tuple[str, str], device: str, xs: list, ys: list, settings: list) -> list[dict]:
        """``lab.attack_batch`` on the checkpoint ``src`` (directory, name), computed in the child."""
        msg = pickle.dumps((tuple(src), str(device), _compact(xs), _compact(ys), settings))
        with self._lock:
            if not self.alive():  # the previous child died: a new one for this batch
                if self._proc is not None:
                    self._end(kill_after_s=1)
                self._start()
            try:
                _send(self._proc.stdin, msg)
                ok, out = pickle.loads(_recv(self._proc.stdout))
            except (EOFError, OSError) as e:
                code = self._end(kill_after_s=1)
                raise RuntimeError(
                    f"the model process stopped (exit code {code}) while computing; retry in a few seconds"
                ) from e
        if not ok:
            raise out
        self.batches += 1
        return out

    def _end(self, kill_after_s: float) -> int:
        """Wait for the child to exit (killed after ``kill_after_s``), close its pipes; its exit code."""
        try:
            code = self._proc.wait(kill_after_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        for f in (self._proc.stdin, self._proc.stdout):
            try:
                f.close()
            except OSError:  # a broken pipe's unflushed bytes
                pass
        self._proc = None
        return code

    def close(self):
        with self._lock:
            if self._proc is None:
                return
            try:
                _send(self._proc.stdin, STOP)
            except OSError:  # already gone
                pass
            self._end(kill_after_s=5)


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m rcm_demo.modelproc",
        description="The model worker's child process (started by the worker; it reads length-prefixed pickles "
        "from its own parent on stdin and answers on stdout). Not for use by hand.",
    )
    ap.add_argument("threads", nargs="?", type=int, default=0, help="torch threads (0: every core but one)")
    _serve(ap.parse_args(argv).threads or process_threads())


if __name__ == "__main__":
    main()


__all__ = ["ModelProcess", "process_threads", "source"]
