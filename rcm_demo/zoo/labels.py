"""How checkpoints are named to people and paired with each other, from their cards: the training budget
that a fair comparison holds fixed, the training method in words, display labels, and (enlarged, baseline)
pairs."""

from __future__ import annotations

from pathlib import Path

from .checkpoints import (
    TIERS,
    Checkpoint,
    CheckpointError,
    _card_names,
    get_checkpoint,
    parse_checkpoint_name,
    read_checkpoints,
)

# The training settings two checkpoints must share to be compared (everything but the architecture
# knobs, the seed and where things were read or written).
BUDGET_KEYS = (
    "epochs", "batch_size", "lr", "schedule", "momentum", "nesterov", "weight_decay", "eps",
    "at_method", "at_noise", "at_steps", "at_alpha", "trades_beta", "max_train_images", "init",
)  # fmt: skip


# Settings added after cards were written: a card without one was trained with this value.
LATER_DEFAULTS = {"init": "default"}


def training_budget(ck: Checkpoint) -> tuple:
    """The card's training settings that a fair comparison holds fixed (None where the card lacks one)."""
    cfg = ck.meta.get("train", {}).get("config", {})
    epochs = cfg.get("epochs", ck.meta.get("train", {}).get("epochs"))
    return (epochs, *(cfg.get(k, LATER_DEFAULTS.get(k)) for k in BUDGET_KEYS[1:]))


AT_METHODS = {"nfgsm": "N-FGSM", "fgsm-rs": "FGSM-RS"}  # train --at-method -> its name ("pgd": PGD-<steps>)


def at_method_name(cfg: dict) -> str:
    """The adversarial-training attack of a card's ``train.config``: 'N-FGSM', 'FGSM-RS', 'PGD-3'."""
    method = cfg.get("at_method", "pgd")
    return AT_METHODS.get(method, f"PGD-{cfg.get('at_steps', '?')}")


# The one mapping from a card's recipe to its training method in words (the "at" recipe names its attack).
METHODS = {"std": "standard training", "trades": "TRADES"}


def training_method(meta: dict) -> str:
    """A card's training method: 'standard training', 'N-FGSM AT', 'PGD-3 AT', 'TRADES'."""
    return METHODS.get(meta["recipe"]) or f"{at_method_name(meta.get('train', {}).get('config', {}))} AT"


def trained_epochs(meta: dict):
    """The epochs a card records (its config first, then the run's own count; None for an import)."""
    return meta.get("train", {}).get("config", {}).get("epochs", meta.get("train", {}).get("epochs"))


def budget_tag(meta: dict) -> str:
    """The training budget in a few characters: '15 ep N-FGSM', '3 ep PGD-3', '15 ep' (the label beside it
    already names the recipe, so only the AT attack is added)."""
    epochs = trained_epochs(meta)
    tag = f"{epochs} ep" if epochs else "imported"
    known = meta["recipe"] == "at" and meta.get("train", {}).get("config")
    return tag + (f" {training_method(meta).removesuffix(' AT')}" if known else "")


def display_labels(names=None, directory: Path | None = None, cks: dict | None = None) -> dict[str, str]:
    """``Checkpoint.label`` of each checkpoint, plus its training budget while the zoo holds checkpoints of
    the same tier, recipe and architecture trained with different budgets (so side-by-side views never hide that they
    differ). Reads every card once, whatever the number of names; not at all when given the table's ``cks``
    (``read_checkpoints``)."""
    cks = read_checkpoints(directory) if cks is None else cks
    budgets: dict[tuple, set] = {}
    # Per architecture: models of one network are what a view compares; another network says so in its label.
    for c in cks.values():
        budgets.setdefault((c.tier, c.recipe, c.spec.arch), set()).add(training_budget(c))
    out = {}
    for n in cks if names is None else names:
        ck = cks.get(n) or get_checkpoint(n, directory)  # an unknown name raises CheckpointError here
        mixed = len(budgets.get((ck.tier, ck.recipe, ck.spec.arch), ())) > 1
        out[n] = ck.label + (f" · {budget_tag(ck.meta)}" if mixed else "")
    return out


def display_label(name: str, directory: Path | None = None) -> str:
    """One checkpoint's ``display_labels`` entry, reading only the cards of its architecture and recipe (the
    names say which), not the whole zoo."""
    ck = get_checkpoint(name, directory)  # an unknown name raises CheckpointError here
    kin = {}
    for n in _card_names(ck.card.parent):
        try:
            spec, recipe, _ = parse_checkpoint_name(n)
            if (spec.arch, recipe) == (ck.spec.arch, ck.recipe):
                kin[n] = get_checkpoint(n, directory)
        except (ValueError, CheckpointError):
            continue  # not a usable checkpoint (scan_checkpoints reports it)
    return display_labels([name], directory, kin)[name]


def baseline_of(ck: Checkpoint, cks: list[Checkpoint]) -> Checkpoint | None:
    """The 4x4 checkpoint that differs from ``ck`` only in the map-enlarging knobs (same recipe, tier,
    seed, architecture, width, pooling and training budget)."""
    s = ck.spec
    for c in cks:
        if (
            c.spec.is_baseline
            and c.recipe == ck.recipe
            and c.tier == ck.tier
            and c.seed == ck.seed
            and (c.spec.arch, c.spec.width, c.spec.pool) == (s.arch, s.width, s.pool)
            and training_budget(c) == training_budget(ck)
        ):
            return c
    return None


def comparisons(names=None, directory: Path | None = None, cks: dict | None = None) -> list[tuple[str, str]]:
    """(enlarged, its baseline) pairs present in the zoo, derived from the cards' specs (``cks``: the cards
    already read, ``read_checkpoints``)."""
    every = read_checkpoints(directory) if cks is None else cks
    cks = list(every.values()) if names is None else [every.get(n) or get_checkpoint(n, directory) for n in names]
    pairs = [(c, b) for c in cks if not c.spec.is_baseline and (b := baseline_of(c, cks)) is not None]
    pairs.sort(key=lambda p: (TIERS.index(p[0].tier), p[0].recipe != "at", p[0].spec.pool, p[0].seed, p[0].name))
    return [(c.name, b.name) for c, b in pairs]
