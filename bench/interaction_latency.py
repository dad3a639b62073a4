"""Interaction latency benchmark (run by hand): PGD-10 on one image for three checkpoints, with the layer
probe, exactly as the attack lab computes it (rcm_demo.lab.attack_models). Target on 2 CPU cores with the
bundled zoo: median under 1 s. The same work done through a plain loop (fp32 models in the default
memory format, fp32 attack) is timed in the same run for a ratio.

    python bench/interaction_latency.py [--checkpoints a,b,c] [--repeats 7]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo import attacks as A  # noqa: E402
from rcm_demo.analysis import lab, probe  # noqa: E402
from rcm_demo.data import load_sample  # noqa: E402
from rcm_demo.zoo import list_checkpoints, load_model  # noqa: E402


def plain(models, x, y):
    """The same outputs, computed naively: fp32 everywhere, one model after the other."""
    out = {}
    for name, m in models.items():
        x_adv = A.pgd(m, x, y, eps=8 / 255, alpha=2 / 255, steps=10, precision="fp32")
        out[name] = (
            probe.layer_energy(m, x, x_adv),
            probe.spatial_energy(m, x, x_adv),
            probe.pooling_report(m, x, x_adv),
            lab.probs(m, x_adv),
        )
    return out


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), max(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", default="")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    names = a.checkpoints.split(",") if a.checkpoints else [n for n in list_checkpoints() if n.endswith(".at")][:3]
    fast = {n: load_model(n) for n in names}
    slow = {n: load_model(n, channels_last=False) for n in names}
    s = load_sample()
    x, y = s.float()[:1], s.y[:1]
    settings = lab.AttackSettings(eps_input=8, steps=10, alpha_input=2)
    med, worst = median_time(lambda: lab.attack_models(fast, x, y, settings), a.repeats)
    med_plain, _ = median_time(lambda: plain(slow, x, y), a.repeats)
    print(f"{len(names)} checkpoints: {', '.join(names)}; {torch.get_num_threads()} threads")
    print(
        f"attack lab (PGD-10 + probe, 1 image): median {1000 * med:.0f} ms (max {1000 * worst:.0f} ms; "
        f"target < 1000 ms); plain loop {1000 * med_plain:.0f} ms; ratio plain/shipped {med_plain / med:.2f}x"
    )


if __name__ == "__main__":
    main()
