"""What a zoo tier costs on this machine, measured before it goes into the plan (run by hand, with the
background build paused: ``kill -STOP`` / ``kill -CONT``).

    python bench/tier_cost.py --width 64 --strides 1222,1122                  # the paper-width pair, N-FGSM
    python bench/tier_cost.py --width 16 --strides 1222,1122 --recipes at,trades   # TRADES against N-FGSM

Per model (``rcm_demo.training.cost``, what ``build_zoo`` measures before it starts a model): the shipped
training step (``steps.train_step``, precision "auto", the layout train.py uses here) in img/s, and the
evaluation's PGD-20 and CW-30 (``attacks.evaluation.EVAL_ATTACKS``, a random-init model in eval mode: the
attack runs every step whatever the weights) in img/s. From them, the hours of one 15-epoch model plus its
evaluation (PGD-20 on 10,000, CW-30 on ``--cw-n``, APGD-CE + APGD-T on 1,000; clean accuracy is seconds).
APGD is not timed here (its cost depends on how many images stay robust): its hours are PGD-20's per-image
time times the ratio measured on the lite card of the same architecture and strides (``cost.aa_ratio``).
The TRADES line is the ratio of a TRADES step to an N-FGSM step, measured in the same run.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo.hardware import cpu_fast_bf16  # noqa: E402
from rcm_demo.training.config import TrainConfig  # noqa: E402
from rcm_demo.training.cost import TRAIN_IMAGES, model_hours, train_rate  # noqa: E402

TEST_IMAGES, AA_N = 10_000, 1_000


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--strides", default="1222,1122")
    p.add_argument("--recipes", default="at", help="at (N-FGSM), trades (KL, 10 steps of 2/255), comma-separated")
    p.add_argument("--batch", type=int, default=128, help="training batch")
    p.add_argument("--eval-batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=20, help="timed training steps per model (after 2 warm-up)")
    p.add_argument("--eval-steps", type=int, default=2, help="timed evaluation batches per attack (after 1 warm-up)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--cw-n", type=int, default=TEST_IMAGES)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"{device}, {torch.get_num_threads()} threads, torch {torch.__version__}, bf16 autocast: {cpu_fast_bf16()}")
    total = 0.0
    for strides in a.strides.split(","):
        base = dict(arch=a.arch, width=a.width, strides=strides, recipe="at", at_method="nfgsm", epochs=a.epochs)
        cfg = TrainConfig(**base, batch_size=a.batch)
        plan = (("pgd20", TEST_IMAGES), ("cw30", a.cw_n), ("autoattack", AA_N))
        m = model_hours(cfg, plan, device, a.steps, a.eval_batch, a.eval_steps, eval_warmup=1)
        rates, hours = m["rates"], m["hours"]
        total += m["total"]
        minutes = TRAIN_IMAGES / rates["train"] / 60
        print(f"{cfg.spec.name}: N-FGSM train {rates['train']:.1f} img/s ({minutes:.1f} min/epoch)")
        if "trades" in a.recipes.split(","):
            tcfg = TrainConfig(**{**base, "recipe": "trades", "at_steps": 10, "at_alpha": 2 / 255})
            trades = train_rate(tcfg, device, a.batch, a.steps)
            print(f"  TRADES-10 train {trades:.1f} img/s: x{rates['train'] / trades:.2f} an N-FGSM step")
        print(f"  eval PGD-20 {rates['pgd20']:.2f} img/s, CW-30 {rates['cw30']:.2f} img/s")
        print("  hours: " + ", ".join(f"{k} {v:.1f}" for k, v in hours.items()) + f"; model {m['total']:.1f}")
    print(f"all models: {total:.1f} hours of this {torch.get_num_threads()}-thread machine")


if __name__ == "__main__":
    main()
