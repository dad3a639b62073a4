"""Attack-lab model work per request (run by hand), two measured choices, each interleaved against its
reference in the same run, on the three default checkpoints and 10 bundled images, one torch thread:

1. Probabilities and probes from the same passes (``lab.observe`` + ``probe.probe_from``, shipped) vs
   separate passes for the probabilities (``lab.probs`` twice + ``probe.probe_all``, the earlier code).
2. PGD-10 through the checkpoints as ``load_model`` gives them (BatchNorm folded into the convolutions,
   ``models.fold_batchnorm``, shipped) vs ``load_model(..., fold_bn=False)`` (module for module as trained);
   prints how far the results move.

    python bench/attack_passes.py [--rounds 15]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo.analysis import lab, probe  # noqa: E402
from rcm_demo.data import load_sample  # noqa: E402
from rcm_demo.zoo import default_checkpoints, load_model  # noqa: E402


def interleaved(fns: dict, rounds: int) -> dict:
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    torch.set_num_threads(1)
    names = default_checkpoints(3, "cpu")
    models = [load_model(n) for n in names]  # as shipped: BatchNorm folded
    unfolded = [load_model(n, fold_bn=False) for n in names]
    s, n = load_sample(), 10
    x = s.float()[:n]
    x_adv = (x + 0.03).clamp(0, 1)
    print(f"{', '.join(names)}; {n} images, 1 torch thread, torch {torch.__version__}")

    def separate():
        for m in models:
            lab.probs(m, x), lab.probs(m, x_adv), probe.probe_all(m, x, x_adv)

    def shared():
        for m in models:
            (c, _), (d, _) = lab.observe(m, x), lab.observe(m, x_adv)
            probe.probe_from(c, d, x, x_adv)

    t = interleaved({"separate passes": separate, "shared passes": shared}, a.rounds)
    print(
        f"probabilities + probes: separate {t['separate passes']:.3f} s, shared {t['shared passes']:.3f} s "
        f"({t['separate passes'] / t['shared passes']:.2f}x)"
    )

    args = ([x[k : k + 1] for k in range(n)], [s.y[k : k + 1] for k in range(n)], [lab.AttackSettings()] * n)
    ref = [lab.attack_batch(m, *args) for m in unfolded]
    alt = [lab.attack_batch(m, *args) for m in models]
    pairs = [(r, f) for rs, fs in zip(ref, alt) for r, f in zip(rs, fs)]
    moved = max((r["x_adv"] != f["x_adv"]).float().mean().item() for r, f in pairs)
    same = all(r["success"] == f["success"] for r, f in pairs)
    t = interleaved(
        {
            "as trained": lambda: [lab.attack_batch(m, *args) for m in unfolded],
            "BN folded": lambda: [lab.attack_batch(m, *args) for m in models],
        },
        max(a.rounds // 3, 3),
    )
    print(
        f"PGD-10 batch: as trained {t['as trained']:.3f} s, BN folded {t['BN folded']:.3f} s "
        f"({t['as trained'] / t['BN folded']:.2f}x); verdicts equal: {same}; adversarial pixels that differ: "
        f"up to {moved:.1%} per image"
    )


if __name__ == "__main__":
    main()
