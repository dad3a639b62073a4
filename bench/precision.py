"""Arithmetic benchmark (run by hand): bf16 autocast against fp32 on this machine, both channels_last, for
what the lite tier spends its CPU time on: one N-FGSM training step, and PGD-20 evaluation, with the
per-image agreement of the two evaluations and of each with the card's bits; then the Attack lab's PGD-10 on
batches of 1, 8 and 32 images (what the worker runs). bf16 pays off only on some CPUs
(``hardware.cpu_fast_bf16``: AMX, AVX512-BF16 EPYCs); elsewhere "auto" is fp32 and the ratios are 1 by construction.

    python bench/precision.py [--strides 1222,1122] [--n 500] [--checkpoint resnet18w16_s1222_x1_avg.at] \\
        [--data-dir ../shared/data/cifar10-jpeg]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo import attacks as A  # noqa: E402
from rcm_demo import hardware as H  # noqa: E402
from rcm_demo.data import fixed_subset, load_cifar10, load_sample  # noqa: E402
from rcm_demo.training import train  # noqa: E402
from rcm_demo.training.cost import timed  # noqa: E402
from rcm_demo.zoo import ModelSpec, get_checkpoint, intervals, load_model  # noqa: E402

LAB_MODELS = "resnet18w16_s1222_x1_avg.at,resnet18w16_s1122_x1_avg.at,resnet18w16_s1222_x2_avg.at"

CPU = torch.device("cpu")


def step_rate(strides: str, precision: str, steps: int = 6, batch: int = 128) -> float:
    cfg = train.parse_args(["--recipe", "at", "--strides", strides, "--width", "16", "--precision", precision])
    torch.manual_seed(0)
    model = ModelSpec(width=16, strides=strides).build().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), generator=g)
    return batch / timed(lambda: train.train_step(model, model, opt, x, y, cfg, g), steps, 2, CPU)


def pgd20_bits(model, x, y, precision: str) -> tuple[torch.Tensor, float]:
    g = torch.Generator().manual_seed(0)  # as evaluate.py: one generator over the batches, seed 0
    t0 = time.perf_counter()
    out = []
    for i in range(0, len(y), 250):
        xb, yb = x[i : i + 250], y[i : i + 250]
        xa = A.pgd(model, xb, yb, eps=8 / 255, alpha=2 / 255, steps=20, generator=g, precision=precision)
        out.append(A.predict(model, xa, precision).argmax(1) == yb)
    return torch.cat(out), time.perf_counter() - t0


def lab_pgd10_ms(model, n: int, precision: str, repeats: int = 3) -> float:
    """The Attack lab's PGD-10 on a batch of ``n`` images (the worker batches 1 to 32), in ms."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)
    attack = lambda: A.pgd(model, x, y, eps=8 / 255, alpha=2 / 255, steps=10, precision=precision)  # noqa: E731
    return 1000 * timed(attack, repeats, 1, CPU)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strides", default="1222,1122")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--checkpoint", default="resnet18w16_s1222_x1_avg.at")
    ap.add_argument("--data-dir", default="", help="the card's data set (without it: the bundled sample)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lab", default=LAB_MODELS, help="checkpoints for the Attack lab's PGD-10 timing ('' skips)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"fast CPU bf16: {H.cpu_fast_bf16()}; 'auto' computes in {H.arithmetic('cpu')}")
    for s in a.strides.split(","):
        bf, fp = step_rate(s, "auto"), step_rate(s, "fp32")
        print(f"N-FGSM step, strides {s}: auto {bf:.0f} img/s, fp32 {fp:.0f} img/s, ratio {bf / fp:.2f}")
    test = load_cifar10("test", a.data_dir) if a.data_dir else load_sample()
    idx = fixed_subset(len(test), 10_000 if a.data_dir else len(test), 0)[: a.n]
    x, y = test.float(idx), test.y[idx]
    model = load_model(a.checkpoint)
    card = get_checkpoint(a.checkpoint).meta["metrics"].get("pgd20", {})
    (cb, tb), (cf, tf) = pgd20_bits(model, x, y, "auto"), pgd20_bits(model, x, y, "fp32")
    print(f"PGD-20 on {len(y)} images: auto {tb:.1f} s ({cb.float().mean():.1%}), fp32 {tf:.1f} s "
          f"({cf.float().mean():.1%}), ratio {tf / tb:.2f}; images that differ: {(cb != cf).sum().item()}")  # fmt: skip
    if a.data_dir and card.get("n") == 10_000:
        bits = intervals.unpack_bits(card["correct_bits"], 10_000)[: a.n]
        print(f"against the card's bits ({card.get('arithmetic', 'arithmetic not recorded')}): auto differs on "
              f"{(cb != bits).sum().item()}, fp32 on {(cf != bits).sum().item()} of {len(y)}")  # fmt: skip
    for name in filter(None, a.lab.split(",")):
        m = load_model(name)
        for n in (1, 8, 32):
            bf, fp = lab_pgd10_ms(m, n, "auto"), lab_pgd10_ms(m, n, "fp32")
            print(f"Attack lab PGD-10, {name}, {n} image(s): auto {bf:.0f} ms, fp32 {fp:.0f} ms, ratio {fp / bf:.2f}")


if __name__ == "__main__":
    main()
