"""Training throughput benchmark (run by hand): the shipped training step versus a plain fp32 loop,
same model, same batch, measured in the same run. Goal: shipped >= 1.8x the plain loop's images/s.

    python bench/train_throughput.py [--recipe std|at] [--strides 1222] [--scale 1] [--batch 128] [--steps 15]

Shipped: rcm_demo.training.steps.train_step with precision "auto" (bf16 autocast on CUDA and on the CPUs of
hardware.cpu_fast_bf16, and channels_last on such CPUs and on CPUs with AVX-512, as train.py does; plain fp32
in the default layout elsewhere, where the ratio is 1 by construction).
Plain: fp32, default memory format, the same SGD optimiser and (for "at") the same attack in fp32.

    python bench/train_throughput.py --recipe at --strides 1122     # the lite tier's N-FGSM step
    python bench/train_throughput.py --recipe at --layouts          # fp32: channels_last vs the default layout
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo.hardware import memory_format  # noqa: E402
from rcm_demo.training.config import TrainConfig  # noqa: E402
from rcm_demo.training.steps import train_step  # noqa: E402


def throughput(cfg, fmt, steps, batch, device):
    torch.manual_seed(0)
    model = cfg.spec.build().to(device, memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, 32, 32, generator=g).to(device, memory_format=fmt)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    for i in range(steps + 3):
        if i == 3:  # warm-up done
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        train_step(model, model, opt, x, y, cfg, g)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="std", choices=["std", "at", "trades"])
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--strides", default="", help="the architecture's stride digits (default: its own)")
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--at-method", default="nfgsm", choices=["nfgsm", "fgsm-rs", "pgd"], help="pgd: PGD-3")
    p.add_argument("--layouts", action="store_true", help="instead: fp32 channels_last against fp32 default layout")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    common = dict(
        arch=a.arch, width=a.width, strides=a.strides, scale=a.scale, recipe=a.recipe, at_method=a.at_method, at_steps=3
    )
    fp32 = TrainConfig(**common, precision="fp32")
    print(
        f"{fp32.spec.name} recipe {a.recipe}, batch {a.batch}, {device}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    if a.layouts:  # the measurement behind hardware.memory_format's choice on CPUs without AVX-512
        nhwc, nchw = (
            throughput(fp32, f, a.steps, a.batch, device) for f in (torch.channels_last, torch.contiguous_format)
        )
        print(f"fp32 channels_last {nhwc:,.1f} img/s vs default layout {nchw:,.1f} img/s: ratio {nhwc / nchw:.2f}x")
        return
    auto = TrainConfig(**common, precision="auto")  # in the layout train.py uses here
    shipped = throughput(auto, memory_format(device), a.steps, a.batch, device)
    plain = throughput(fp32, torch.contiguous_format, a.steps, a.batch, device)
    print(f"shipped {shipped:,.0f} img/s vs plain fp32 {plain:,.0f} img/s: ratio {shipped / plain:.2f}x (goal >= 1.8x)")


if __name__ == "__main__":
    main()
