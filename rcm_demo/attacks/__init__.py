"""Adversarial attacks as plain functions, and ``ATTACKS``: the one registry the UI, the evaluation CLI
and the run card read.

Contract (every function here): ``x`` holds images in [0, 1]; the result is detached, in [0, 1] and
inside the epsilon-ball around ``x``; the model's mode, parameters, ``requires_grad`` flags and hooks
are exactly as before (nothing is switched, even temporarily, so cached models can be shared across
threads); randomness comes only from ``generator`` (``None`` means a fixed seed 0), drawn on the CPU so
a seed gives the same start on every device; work runs on the model's device.

``precision="auto"`` runs the model's forward/backward in bf16 autocast (CUDA, and the CPUs of
``hardware.cpu_fast_bf16``: AMX, AVX512-BF16 EPYCs) while delta, the projection and the clamp stay in fp32;
``"fp32"`` is exact.

    pgd(model, x, y, eps=8/255, alpha=2/255, steps=10)        # L-inf PGD with a random start
    pgd(..., loss="cw") / pgd(..., loss="kl", random_start="normal")   # CW-L-inf / TRADES inner max
    fgsm(model, x, y, eps=8/255)                               # PGD with one step of size eps
    nfgsm(model, x, y, eps=8/255)          # N-FGSM (training): noise 2·eps, one step eps, 3·eps ball
    autoattack(model, x, y, eps=8/255, attacks="standard")     # pyautoattack (Croce & Hein)
    ATTACKS["PGD-L∞"](model, x, y, eps=8/255, steps=10)        # registry entry: same contract
    min_epsilon(model, x, y)                                   # smallest flipping L-inf budget found

Adding an attack = one function (or one ``pgd`` configuration) + one ``Attack`` line in ``ATTACKS``;
``tests/test_attacks.py`` walks the registry and checks the contract for every entry.

May import: the shared leaves (``limits``, ``hardware``) and ``models``; never ``zoo`` (a sibling) or
anything above.
"""

from .autoattack import AA_ATTACKS, autoattack
from .minimal import min_epsilon
from .projected import LOSSES, fgsm, fgsm_rs, margin, nfgsm, pgd, predict, start_delta, trades_adv
from .registry import ATTACKS, Attack, get_attack

__all__ = [
    "AA_ATTACKS",
    "ATTACKS",
    "LOSSES",
    "Attack",
    "autoattack",
    "fgsm",
    "fgsm_rs",
    "get_attack",
    "margin",
    "min_epsilon",
    "nfgsm",
    "pgd",
    "predict",
    "start_delta",
    "trades_adv",
]
