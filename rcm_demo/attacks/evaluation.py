"""The evaluation's attacks at fixed settings: one ``EvalSetting`` per column of the model cards (clean,
FGSM, PGD-20, CW-30, PGD-20 L2, AutoAttack), as the reference code evaluates."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .autoattack import AA_ATTACKS
from .registry import Attack, get_attack

EPS = 8 / 255


@dataclass(frozen=True)
class EvalSetting:
    """One column of the cards: a registry attack (``None`` = clean images) at fixed settings."""

    key: str
    label: str
    attack: str | None = None
    eps: float = EPS
    steps: int | None = None
    alpha: float | None = None

    def entry(self, aa_attacks="standard") -> Attack:
        entry = get_attack(self.attack)
        if self.attack == "AutoAttack" and aa_attacks != "standard":
            entry = replace(entry, bound={**entry.bound, "attacks": tuple(aa_attacks)})
        return entry

    def run(self, model, x, y, aa_attacks, generator):
        if self.attack is None:
            return x
        return self.entry(aa_attacks)(
            model, x, y, eps=self.eps, steps=self.steps, alpha=self.alpha, generator=generator
        )

    def card_settings(self, aa_attacks="standard") -> dict:
        if self.attack is None:
            return {}
        out = self.entry(aa_attacks).settings(self.eps, self.steps, self.alpha)
        if self.attack == "AutoAttack":
            out["attacks"] = list(AA_ATTACKS if aa_attacks == "standard" else aa_attacks)
            out["package"] = "pyautoattack 0.2.0 (version='standard' settings)"
        return out


# The reference code's evaluation: PGD-20 (step 2/255), CW-L∞ (30 steps, step 0.8/255), AutoAttack.
EVAL_ATTACKS = {
    a.key: a
    for a in (
        EvalSetting("clean", "Clean"),
        EvalSetting("fgsm", "FGSM", "FGSM"),
        EvalSetting("pgd20", "PGD-20", "PGD-L∞", steps=20, alpha=2 / 255),
        EvalSetting("cw30", "CW-L∞ (PGD-30, margin)", "CW-L∞", steps=30, alpha=0.8 / 255),
        EvalSetting("l2", "PGD-20 L2", "PGD-L2", eps=0.5, steps=20, alpha=0.1),
        EvalSetting("autoattack", "AutoAttack", "AutoAttack"),
    )
}
