"""The bridge from a session to the model backend (``rcm_demo.serve.backend``: the in-process worker, or
Ray Serve): submit, wait with progress, cancel when the session has closed. ``RCM_WORKER=off`` runs the
work in the session's own thread."""

from __future__ import annotations

import time
from concurrent.futures import TimeoutError as FutureTimeout

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ..serve import worker as W
from ..serve.backend import get_backend
from .frame import device, progress_bar


def use_worker() -> bool:
    """All model work goes through one worker per device (rcm_demo.serve.worker): attacks batched across
    sessions, long jobs in their own lane. ``RCM_WORKER=off`` runs everything in the session's own thread
    instead (the "before" of bench/load.py)."""
    return W.worker_mode() != "off"


def _owner() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _alive(owner: str) -> bool:
    try:
        return Runtime.instance().is_active_session(owner)
    except RuntimeError:  # no runtime: AppTest, scripts
        return True


WAIT_LIMIT_S = 1800  # a job that takes longer than this is reported, not waited for forever


def _wait(fut, owner: str, job=None, bar=None):
    """Wait for a worker result; a session that has closed cancels its waiting jobs instead."""
    t0 = time.monotonic()
    while True:
        try:
            return fut.result(timeout=0.2)
        except FutureTimeout:
            if time.monotonic() - t0 > WAIT_LIMIT_S:
                raise ValueError(
                    f"the computation took more than {WAIT_LIMIT_S} s; try fewer images or models"
                ) from None
            if bar is not None and job is not None:
                bar(job.progress)
            if not _alive(owner):
                get_backend(device()).cancel(owner)
                raise W.CancelledError("the session closed") from None


def _quick(fn, *args, **kwargs):
    """A few forward passes through the worker's light lane (or directly without a worker)."""
    if not use_worker():
        return fn(*args, **kwargs)
    owner = _owner()
    return _wait(get_backend(device()).quick(fn, *args, owner=owner, **kwargs), owner)


def _heavy(fn, *args, text: str | None = None, **kwargs):
    """A long job through the worker's heavy lane, with a progress bar when ``text`` is given."""
    bar = progress_bar(text) if text else None
    if not use_worker():
        return fn(*args, progress=bar or (lambda f: None), **kwargs)
    owner = _owner()
    job = get_backend(device()).heavy(fn, *args, owner=owner, **kwargs)
    out = _wait(job.future, owner, job, bar)
    if bar:
        bar(1.0)
    return out
