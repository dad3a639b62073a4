"""``ATTACKS``: display name -> ``Attack`` entry, the one table the UI, the evaluation CLI and the run
card read. Adding an attack = one function (or one ``pgd`` configuration) + one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .. import limits as L
from .autoattack import autoattack
from .projected import fgsm, pgd


# ----------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Attack:
    """One registry entry: a function following the contract, plus what the UI and the CLI need to know.

    ``fn(model, x, y, *, eps, [alpha, steps,] [targeted,] generator, precision, **bound)``: alpha and
    steps are passed only to iterative attacks, ``targeted`` only to targetable ones.
    ``cost``: "fast" (well under a second per image on CPU) or "slow" (seconds to a minute)."""

    label: str
    fn: Callable
    norm: str = "linf"
    iterative: bool = True
    targetable: bool = True
    cost: str = "fast"
    bound: dict = field(default_factory=dict)  # fixed keyword arguments of this configuration

    @property
    def batchable(self) -> bool:
        """A ``pgd`` configuration: several requests can share one batched run (``init`` per request)."""
        return self.fn is pgd

    def __call__(
        self, model, x, y, *, eps, steps=None, alpha=None, targeted=False, generator=None, precision="auto", init=None
    ):
        if targeted and not self.targetable:
            raise ValueError(f"{self.label} is untargeted here; switch 'targeted' off or pick a PGD attack")
        kw = dict(self.bound, eps=eps, generator=generator, precision=precision)
        if init is not None:
            if not self.batchable:
                raise ValueError(f"{self.label} takes no starting point")
            kw["init"] = init
        if self.iterative:
            kw.update(steps=L.STEPS.default if steps is None else int(steps), alpha=alpha)
        if self.targetable:
            kw["targeted"] = bool(targeted)
        return self.fn(model, x, y, **kw)

    def settings(self, eps, steps=None, alpha=None) -> dict:
        """What a result card records: only the settings this attack uses."""
        out = {
            "attack": self.label,
            "norm": self.norm,
            "eps": eps,
            **{k: v for k, v in self.bound.items() if isinstance(v, (str, int, float, tuple))},
        }
        if self.iterative:
            s = L.STEPS.default if steps is None else int(steps)
            out.update(steps=s, alpha=L.default_alpha(eps, s) if alpha is None else alpha)
        return out


# Display name -> entry. The names appear in URLs and cards: keep them stable.
ATTACKS = {
    a.label: a
    for a in (
        Attack("FGSM", fgsm, iterative=False),
        Attack("PGD-L∞", pgd, bound={"norm": "linf", "loss": "ce"}),
        Attack("PGD-L2", pgd, norm="l2", bound={"norm": "l2", "loss": "ce"}),
        Attack("CW-L∞", pgd, bound={"norm": "linf", "loss": "cw"}),
        Attack("APGD-CE", autoattack, iterative=False, targetable=False, cost="slow", bound={"attacks": ("apgd-ce",)}),
        Attack("Square", autoattack, iterative=False, targetable=False, cost="slow", bound={"attacks": ("square",)}),
        Attack("AutoAttack", autoattack, iterative=False, targetable=False, cost="slow", bound={"attacks": "standard"}),
    )
}


def get_attack(name: str) -> Attack:
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; choose one of {list(ATTACKS)}")
    return ATTACKS[name]
