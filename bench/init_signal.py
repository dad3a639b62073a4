"""Signal at initialisation (run by hand): how much of an input's variation each registered architecture
passes to its logits before any training, layer by layer, on the bundled sample. A network whose logits
hardly differ between images at init (no BatchNorm to restore the scale) starts training on a plateau at
loss ln 10 = 2.303; the BatchNorm networks are the reference measured in the same run. Measured as in a
training step: BatchNorm on the batch's statistics, dropout off.

    python bench/init_signal.py [--width 16] [--n 256]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from rcm_demo.data import load_sample  # noqa: E402
from rcm_demo.models import ARCHS  # noqa: E402
from rcm_demo.zoo import ModelSpec  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--n", type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(1)
    x = load_sample().float(torch.arange(a.n))
    spread = {}
    for arch, cls in ARCHS.items():
        torch.manual_seed(0)
        model = ModelSpec(arch=arch, width=a.width, strides=cls.BASELINE).build().train()
        for m in model.modules():  # as in a training step (BatchNorm on batch statistics), without dropout
            if isinstance(m, torch.nn.Dropout):
                m.eval()
        acts: dict[str, torch.Tensor] = {}
        hooks = [
            mod.register_forward_hook(lambda mod, i, o, name=name, acts=acts: acts.__setitem__(name, o.detach()))
            for name, mod in model.named_modules()
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear))
        ]
        with torch.no_grad():
            logits = model(x)
        for h in hooks:
            h.remove()
        spread[arch] = logits.std(0).mean().item()  # how much the logits differ between images
        first, last = next(iter(acts.values())).std().item(), list(acts.values())[-2].std().item()
        print(f"{arch:15s} width {a.width}: output std of the first layer {first:.3g}, of the last hidden layer "
              f"{last:.3g}; logit spread across {a.n} images {spread[arch]:.3g}")  # fmt: skip
    ref = spread["resnet18"]
    print("logit spread relative to resnet18: " + ", ".join(f"{k} {v / ref:.3g}" for k, v in spread.items()))


if __name__ == "__main__":
    main()
