"""One optimisation step of each recipe (standard, adversarial, TRADES), the training attacks as
configurations of ``attacks.pgd``, augmentation, initialisation, and the held-out monitor with its
catastrophic-overfitting check."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..attacks import fgsm, fgsm_rs, nfgsm, pgd, trades_adv
from ..hardware import autocast_for
from .config import TrainConfig


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random crop (zero padding 4) and horizontal flip of a uint8 batch, vectorised."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    oy = torch.randint(0, 9, (n,), generator=g)
    ox = torch.randint(0, 9, (n,), generator=g)
    ar = torch.arange(32)
    rows = (oy[:, None] + ar)[:, None, :, None]  # (N, 1, 32, 1)
    cols = (ox[:, None] + ar)[:, None, None, :]  # (N, 1, 1, 32)
    out = padded[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def adversarial_batch(model, x, y, cfg: TrainConfig, g: torch.Generator) -> torch.Tensor:
    """The training inputs of the "at" recipe: each method is a configuration of ``attacks.pgd``."""
    kw = dict(eps=cfg.eps, alpha=cfg.at_alpha, generator=g, precision=cfg.precision)
    if cfg.at_method == "nfgsm":
        return nfgsm(model, x, y, noise=cfg.at_noise, **kw)
    if cfg.at_method == "fgsm-rs":
        return fgsm_rs(model, x, y, **kw)
    return pgd(model, x, y, steps=cfg.at_steps, **kw)


def collapsed(history: list[dict], drop: float = 0.15) -> bool:
    """Catastrophic overfitting in the last epoch of ``history``: held-out PGD-10 accuracy fell at least
    ``drop`` below its best epoch while FGSM accuracy did not fall (the single-step attack the model was
    trained on still fails, a multi-step one now succeeds: the loss surface has been bent locally)."""
    if len(history) < 2 or "pgd10" not in history[-1] or "fgsm" not in history[-1]:
        return False
    best = max(history[:-1], key=lambda e: e.get("pgd10", -1.0))
    last = history[-1]
    return last["pgd10"] <= best["pgd10"] - drop and last["fgsm"] >= best.get("fgsm", 0.0) - 0.02


def train_step(model, net, opt, x, y, cfg: TrainConfig, g: torch.Generator) -> torch.Tensor:
    """One optimisation step of the recipe. ``model`` is the bare module (attacks are crafted on it, in
    eval mode, so no gradient synchronisation happens for them); ``net`` is what is trained (DDP or model)."""
    device = x.device
    if cfg.recipe == "at":
        model.eval()  # craft the attack with fixed BN statistics
        x_in = adversarial_batch(model, x, y, cfg, g)
        model.train()
    elif cfg.recipe == "trades":
        model.eval()
        x_in = trades_adv(
            model, x, eps=cfg.eps, alpha=cfg.at_alpha, steps=cfg.at_steps, generator=g, precision=cfg.precision
        )
        model.train()
    else:
        x_in = x
    with autocast_for(device, cfg.precision):
        if cfg.recipe == "trades":
            both = net(torch.cat([x, x_in])).float()
            lc, la = both[: len(x)], both[len(x) :]
            loss = F.cross_entropy(lc, y) + cfg.trades_beta * F.kl_div(
                F.log_softmax(la, 1), F.softmax(lc, 1), reduction="batchmean"
            )
        else:
            loss = F.cross_entropy(net(x_in).float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def heldout_accuracy(model, x, y, cfg) -> dict:
    """Clean, FGSM and PGD-10 (step eps/4) accuracy on the fixed held-out batch, in eval mode."""
    was_training = model.training
    model.eval()

    def acc(inputs):
        with torch.no_grad(), autocast_for(x.device, cfg.precision):
            return (model(inputs).argmax(1) == y).float().mean().item()

    try:
        out = {"clean": acc(x), "fgsm": acc(fgsm(model, x, y, eps=cfg.eps, precision=cfg.precision))}
        g = torch.Generator().manual_seed(0)
        out["pgd10"] = acc(
            pgd(model, x, y, eps=cfg.eps, alpha=cfg.eps / 4, steps=10, generator=g, precision=cfg.precision)
        )
    finally:
        model.train(was_training)
    return out
