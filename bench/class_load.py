"""Serving a class, measured (run by hand, loopback only, the background build stopped): the same
class-load protocol client as bench/load.py (each session opens the Attack lab on its own bundled image:
PGD-10 at 8/255 on the three default checkpoints, nothing served from cache) against

  (a) one process: `streamlit run app.py` as the README starts it, its in-process worker;
  (b) the class stack: N web replicas behind nginx, the attacks batched in Ray Serve (devtools/class_stack.py).

Per setup and session count: p50 and p95 time to result, errors (0 allowed), and how the batches filled
(images per batch: the in-process worker's from RCM_BATCH_LOG, where a batch is one checkpoint and setting;
Serve's from ModelService.stats(), where a batch holds every checkpoint and is split per checkpoint and setting).

    python bench/class_load.py --sessions 30 60 --replicas 2
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from load import measure  # noqa: E402

from devtools.class_stack import class_stack  # noqa: E402
from devtools.server import serve  # noqa: E402


def fill(sizes: list[int]) -> str:
    if not sizes:
        return "no batches"
    return f"{len(sizes)} batches, {sum(sizes)} images, median {statistics.median(sizes):g}, max {max(sizes)}"


def serve_stats(address: str) -> dict:
    from ray import serve as ray_serve

    from rcm_demo.serve.backend import connect

    connect(address)
    return ray_serve.get_app_handle("rcm").stats.remote().result()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, nargs="+", default=[30, 60])
    ap.add_argument("--replicas", type=int, default=2, help="web replicas of setup (b)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per session")
    ap.add_argument("--setups", nargs="+", default=["one", "stack"], choices=["one", "stack"])
    a = ap.parse_args()
    print(f"{os.cpu_count()} cores; Attack lab default view, one bundled image per session, protocol clients")
    print("| setup | sessions | p50 time to result (s) | p95 (s) | errors | server CPU (s) | model process CPU (s) "
          "| machine CPU (s) | machine CPU / cores (s) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    fills = {}
    if "one" in a.setups:
        log = Path(tempfile.mkdtemp()) / "batches.txt"
        with serve(env={"RCM_BATCH_LOG": str(log)}) as (url, proc):
            for k, n in enumerate(a.sessions):
                before = len(log.read_text().split()) if log.exists() else 0
                measure(url, [n], a.timeout, "(a) one process, in-process worker", proc.pid, "protocol", 100 * k)
                sizes = [int(v) for v in log.read_text().split()][before:] if log.exists() else []
                fills[("a", n)] = fill(sizes)
    if "stack" in a.setups:
        with class_stack(replicas=a.replicas) as (url, info):
            for k, n in enumerate(a.sessions):
                before = {key: len(v) for key, v in serve_stats(info["ray_address"]).items() if key != "models"}
                t0 = time.monotonic()
                label = f"(b) {a.replicas} replicas + nginx + Ray Serve"
                measure(url, [n], a.timeout, label, None, "protocol", 1000 + 100 * k)
                after = serve_stats(info["ray_address"])
                took = f" ({time.monotonic() - t0:.0f} s)"
                fills[("b", n)] = (
                    fill(after["batches"][before["batches"] :])
                    + took
                    + "; per checkpoint and setting within them: "
                    + fill(after["groups"][before["groups"] :])
                )
            import ray

            ray.shutdown()  # before the stack stops its cluster: a connected driver would log the loss
    print("\nImages per batch (the measured rounds only; warm-up included in each setup's first):")
    for (setup, n), text in fills.items():
        print(f"- ({setup}) {n} sessions: {text}")


if __name__ == "__main__":
    main()
