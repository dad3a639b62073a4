"""Model-work benchmark for the worker (run by hand): N sessions' Attack-lab requests (PGD-10 at 8/255
plus the probes, three default checkpoints, one bundled image each), computed (a) the way sessions did
before the worker, each in its own thread ("direct"), (b) through one ``ModelWorker`` that batches them
and computes in its light-lane thread ("thread"), and (c) through one that computes the batches in its
model process ("process", the app's default) — measured in the same run. No browser and no Streamlit:
the model work alone. The last column is the p95 ratio of the reference (direct) to each worker mode.

    python bench/worker_batching.py [--sessions 1 10 20 30] [--threads N]   # default: the app's torch_threads()
"""

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo.analysis import lab  # noqa: E402
from rcm_demo.data import load_sample  # noqa: E402
from rcm_demo.serve.worker import ModelWorker, torch_threads  # noqa: E402
from rcm_demo.zoo import default_checkpoints, load_model  # noqa: E402


def p95(v):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 20, 30])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: the app's setting)")
    a = ap.parse_args()
    a.threads = a.threads or torch_threads()
    torch.set_num_threads(a.threads)
    names = default_checkpoints(3, "cpu")
    models = {n: load_model(n) for n in names}
    s = load_sample()
    settings = lab.AttackSettings()  # the Attack lab's default: PGD-10 at 8/255, seed 0
    workers = {"thread": ModelWorker(threads=a.threads), "process": ModelWorker(threads=a.threads, process=True)}

    def direct(k):
        t = time.perf_counter()
        lab.attack_models(models, s.float()[k : k + 1], s.y[k : k + 1], settings)
        return time.perf_counter() - t

    def through(w):
        def run(k):
            t = time.perf_counter()
            x = s.float()[k : k + 1]
            futures = [w.attack(n, m, x, s.y[k : k + 1], settings, owner=str(k)) for n, m in models.items()]
            for f in futures:
                f.result()
            return time.perf_counter() - t

        return run

    modes = {"direct": direct, **{m: through(w) for m, w in workers.items()}}
    for k, fn in enumerate(modes.values()):
        fn(499 - k)  # warm-up (the model process loads its models)
    print(f"{', '.join(names)}; {a.threads} torch threads per op in the server threads, torch {torch.__version__}")
    print(f"model process: {workers['process'].process.threads} torch threads, in its main thread")
    print("| sessions | mode | p50 (s) | p95 (s) | p95 direct / mode |\n|---|---|---|---|---|")
    for n in a.sessions:
        res = {}
        for label, fn in modes.items():
            with ThreadPoolExecutor(max_workers=n) as pool:
                res[label] = list(pool.map(fn, range(n)))
        for label, v in res.items():
            ratio = p95(res["direct"]) / p95(v)
            print(f"| {n} | {label} | {statistics.median(v):.2f} | {p95(v):.2f} | {ratio:.2f}x |", flush=True)
    for w in workers.values():
        w.close()


if __name__ == "__main__":
    main()
