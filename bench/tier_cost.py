"""What a zoo tier costs on this machine, measured before it goes into the plan (run by hand, with the
background build paused: ``kill -STOP`` / ``kill -CONT``).

    python bench/tier_cost.py --width 64 --strides 1222,1122                  # the paper-width pair, N-FGSM
    python bench/tier_cost.py --width 16 --strides 1222,1122 --recipes at,trades   # TRADES against N-FGSM

Per model: the shipped training step (``steps.train_step``, precision "auto", the layout train.py uses
here) in img/s, and the evaluation's PGD-20 and CW-30 (``attacks.evaluation.EVAL_ATTACKS``, a random-init model in
eval mode: the attack runs every step whatever the weights) in img/s. From them, the hours of one 15-epoch
model plus its evaluation (clean and PGD-20 on 10,000, CW-30 on ``--cw-n``, APGD-CE + APGD-T on 1,000).
APGD is not timed here (its cost depends on how many images stay robust): its hours are PGD-20's per-image
time times the ratio measured on the lite cards of the same architecture and strides (``--aa-ratio-from``).
The TRADES column is the ratio of a TRADES step to an N-FGSM step, measured in the same run.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo.attacks.evaluation import EVAL_ATTACKS  # noqa: E402
from rcm_demo.hardware import cpu_fast_bf16, cpu_nhwc  # noqa: E402
from rcm_demo.training.config import TrainConfig  # noqa: E402
from rcm_demo.training.steps import train_step  # noqa: E402
from rcm_demo.zoo import PRETRAINED_DIR  # noqa: E402

TRAIN_IMAGES, TEST_IMAGES, AA_N = 50_000, 10_000, 1_000


def _fmt(device):
    return torch.channels_last if device.type == "cpu" and (cpu_nhwc() or cpu_fast_bf16()) else torch.contiguous_format


def _timed(fn, steps, warmup, device) -> float:
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def train_rate(cfg: TrainConfig, batch, steps, device) -> float:
    torch.manual_seed(0)
    model = cfg.spec.build().to(device, memory_format=_fmt(device)).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, 32, 32, generator=g).to(device, memory_format=_fmt(device))
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    return batch / _timed(lambda: train_step(model, model, opt, x, y, cfg, g), steps, 2, device)


def eval_rate(cfg: TrainConfig, key, batch, steps, device) -> float:
    torch.manual_seed(0)
    model = cfg.spec.build().to(device, memory_format=_fmt(device)).eval().requires_grad_(False)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    return batch / _timed(lambda: EVAL_ATTACKS[key].run(model, x, y, "standard", g), steps, 1, device)


def aa_ratio(name: str) -> float:
    """APGD-CE + APGD-T seconds per image over PGD-20 seconds per image, from one lite card."""
    m = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())["metrics"]
    return (m["autoattack"]["seconds"] / m["autoattack"]["n"]) / (m["pgd20"]["seconds"] / m["pgd20"]["n"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--strides", default="1222,1122")
    p.add_argument("--recipes", default="at", help="at (N-FGSM), trades (KL, 10 steps of 2/255), comma-separated")
    p.add_argument("--batch", type=int, default=128, help="training batch")
    p.add_argument("--eval-batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=20, help="timed training steps per model (after 2 warm-up)")
    p.add_argument("--eval-steps", type=int, default=2, help="timed evaluation batches per attack")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--cw-n", type=int, default=2_000)
    p.add_argument("--aa-ratio-from", default="resnet18w16_s{strides}_x1_avg.at", help="lite card, {strides} filled in")
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"{device}, {torch.get_num_threads()} threads, torch {torch.__version__}, bf16 autocast: {cpu_fast_bf16()}")
    total = 0.0
    for strides in a.strides.split(","):
        base = dict(arch=a.arch, width=a.width, strides=strides, recipe="at", at_method="nfgsm")
        cfg = TrainConfig(**base)
        rates = {"at": train_rate(cfg, a.batch, a.steps, device)}
        if "trades" in a.recipes.split(","):
            tcfg = TrainConfig(**{**base, "recipe": "trades", "at_steps": 10, "at_alpha": 2 / 255})
            rates["trades"] = train_rate(tcfg, a.batch, a.steps, device)
        pgd = eval_rate(cfg, "pgd20", a.eval_batch, a.eval_steps, device)
        cw = eval_rate(cfg, "cw30", a.eval_batch, a.eval_steps, device)
        ratio = aa_ratio(a.aa_ratio_from.format(strides=strides))
        hours = {
            "train": a.epochs * TRAIN_IMAGES / rates["at"] / 3600,
            "pgd20": TEST_IMAGES / pgd / 3600,
            "cw30": a.cw_n / cw / 3600,
            "apgd": AA_N * ratio / pgd / 3600,
        }
        total += sum(hours.values())
        print(
            f"{cfg.spec.name}: N-FGSM train {rates['at']:.1f} img/s ({TRAIN_IMAGES / rates['at'] / 60:.1f} min/epoch)"
        )
        if "trades" in rates:
            ratio_t = rates["at"] / rates["trades"]
            print(f"  TRADES-10 train {rates['trades']:.1f} img/s: x{ratio_t:.2f} an N-FGSM step")
        print(f"  eval PGD-20 {pgd:.2f} img/s, CW-30 {cw:.2f} img/s; APGD-CE+T at x{ratio:.1f} PGD-20 per image")
        print("  hours: " + ", ".join(f"{k} {v:.1f}" for k, v in hours.items()) + f"; model {sum(hours.values()):.1f}")
    print(f"all models: {total:.1f} hours of this {torch.get_num_threads()}-thread machine")


if __name__ == "__main__":
    main()
