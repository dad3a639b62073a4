from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_same_state, model_state
from torch import nn

from rcm_demo import attacks as A


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.fc = nn.Linear(3 * 32 * 32, 10)
        with torch.no_grad():
            self.fc.weight.copy_(torch.randn(10, 3072, generator=g) * 0.01)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_fgsm_is_exact_on_a_linear_model(batch):
    x, y = batch
    model = Linear()
    eps = 8 / 255
    p = F.softmax(model(x), 1)
    grad = (p - F.one_hot(y, 10).float()) @ model.fc.weight  # d CE / d x, analytically
    expected = (x + eps * grad.sign().view_as(x)).clamp(0, 1)
    got = A.fgsm(model, x, y, eps=eps, precision="fp32")
    assert torch.allclose(got, expected, atol=1e-6)
    targeted = A.fgsm(model, x, y, eps=eps, targeted=True, precision="fp32")
    assert torch.allclose(targeted, (x - eps * grad.sign().view_as(x)).clamp(0, 1), atol=1e-6)


CASES = {
    "fgsm": lambda m, x, y, g: A.fgsm(m, x, y, eps=8 / 255),
    "pgd_linf": lambda m, x, y, g: A.pgd(m, x, y, eps=8 / 255, alpha=2 / 255, steps=5, generator=g),
    "pgd_l2": lambda m, x, y, g: A.pgd(m, x, y, eps=0.5, alpha=0.1, steps=5, norm="l2", generator=g),
    "cw": lambda m, x, y, g: A.pgd(m, x, y, eps=8 / 255, steps=5, loss="cw", generator=g),
    "targeted": lambda m, x, y, g: A.pgd(m, x, (y + 1) % 10, eps=8 / 255, steps=5, targeted=True, generator=g),
    "fp32": lambda m, x, y, g: A.pgd(m, x, y, eps=8 / 255, steps=3, generator=g, precision="fp32"),
    "apgd_ce": lambda m, x, y, g: A.autoattack(m, x, y, eps=8 / 255, attacks=("apgd-ce",), generator=g),
    "trades": lambda m, x, y, g: A.trades_adv(m, x, eps=8 / 255, alpha=2 / 255, steps=5, generator=g),
}


def cheap(entry: A.Attack) -> A.Attack:
    """The same registry entry with a small AutoAttack budget, so the contract test stays fast."""
    if entry.fn is A.autoattack:
        return replace(entry, bound={**entry.bound, "n_iter": 3, "n_queries": 20})
    return entry


for _name, _entry in A.ATTACKS.items():  # every registry entry joins the contract test
    CASES[f"registry:{_name}"] = (lambda e: lambda m, x, y, g: cheap(e)(m, x, y, eps=e_for(e), steps=4, generator=g))(
        _entry
    )


def e_for(entry):
    return 8 / 255 if entry.norm == "linf" else 0.5


@pytest.mark.parametrize("name", sorted(CASES))
def test_attack_contract(name, tiny_model, batch):
    x, y = batch
    x0 = x.clone()
    before = model_state(tiny_model)
    x_adv = CASES[name](tiny_model, x, y, torch.Generator().manual_seed(3))
    assert_same_state(before, model_state(tiny_model))
    assert torch.equal(x, x0)
    assert not x_adv.requires_grad and x_adv.grad_fn is None
    assert x_adv.shape == x.shape and 0 <= x_adv.min() and x_adv.max() <= 1
    d = x_adv - x
    if name in ("pgd_l2", "registry:PGD-L2"):
        assert d.flatten(1).norm(dim=1).max() <= 0.5 + 1e-5
    else:
        assert d.abs().max() <= 8 / 255 + 1e-6
    again = CASES[name](tiny_model, x, y, torch.Generator().manual_seed(3))
    assert torch.equal(x_adv, again)  # same seed, same result


def test_contract_holds_for_a_model_in_train_mode_with_grads(batch):
    x, y = batch
    model = nn.Sequential(nn.Flatten(), nn.Linear(3072, 10), nn.BatchNorm1d(10)).train()
    before = model_state(model)
    A.pgd(model, x, y, eps=4 / 255, steps=2)
    after = model_state(model)
    assert after["training"] == before["training"] and after["requires_grad"] == before["requires_grad"]
    assert all(p.grad is None for p in model.parameters())


def test_pgd_is_stronger_than_nothing_and_random_start_uses_generator(tiny_model, batch):
    x, y = batch
    a = A.pgd(tiny_model, x, y, eps=8 / 255, steps=1, alpha=0.0, generator=torch.Generator().manual_seed(1))
    b = A.pgd(tiny_model, x, y, eps=8 / 255, steps=1, alpha=0.0, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(a, b)
    loss = lambda z: F.cross_entropy(tiny_model(z), y).item()  # noqa: E731
    assert loss(A.pgd(tiny_model, x, y, eps=8 / 255, steps=10, precision="fp32")) > loss(x)


def test_targeted_moves_towards_the_target(tiny_model, batch):
    x, y = batch
    t = (y + 3) % 10
    x_adv = A.pgd(tiny_model, x, t, eps=16 / 255, steps=10, targeted=True, precision="fp32")
    assert F.cross_entropy(tiny_model(x_adv), t) < F.cross_entropy(tiny_model(x), t)


def test_bf16_auto_tracks_fp32(tiny_model, batch):
    x, y = batch
    a = A.pgd(tiny_model, x, y, eps=8 / 255, steps=5, precision="auto")
    b = A.pgd(tiny_model, x, y, eps=8 / 255, steps=5, precision="fp32")
    # sign steps on slightly different gradients: most coordinates agree
    assert ((a - b).abs() < 1e-6).float().mean() > 0.7


def test_per_image_eps(tiny_model, batch):
    x, y = batch
    eps = torch.linspace(0, 8 / 255, len(y))
    d = (A.pgd(tiny_model, x, y, eps=eps, steps=3) - x).flatten(1).abs().amax(1)
    assert (d <= eps + 1e-6).all() and d[0] == 0


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(eps=-0.1), "eps"),
        (dict(eps=1.0), "eps"),
        (dict(eps=float("nan")), "eps"),
        (dict(eps=8 / 255, steps=0), "steps"),
        (dict(eps=8 / 255, steps=10_000), "steps"),
        (dict(eps=8 / 255, norm="l7"), "norm"),
        (dict(eps=8 / 255, loss="hinge"), "loss"),
        (dict(eps=8 / 255, precision="fp8"), "precision"),
    ],
)
def test_out_of_range_requests_are_refused(tiny_model, batch, kw, msg):
    x, y = batch
    with pytest.raises(ValueError, match=msg):
        A.pgd(tiny_model, x, y, **kw)


def test_inputs_outside_unit_range_are_refused(tiny_model, batch):
    x, y = batch
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        A.pgd(tiny_model, x * 255, y, eps=8 / 255)
    with pytest.raises(ValueError, match="unknown attack"):
        A.get_attack("DeepFool")
    with pytest.raises(ValueError, match="untargeted"):
        A.ATTACKS["APGD-CE"](tiny_model, x, y, eps=0.1, targeted=True)


def test_min_epsilon_flips_at_the_reported_budget(tiny_model, batch):
    x, y = batch
    y = A.predict(tiny_model, x).argmax(1)  # correctly classified by construction
    eps = A.min_epsilon(tiny_model, x, y, hi=32 / 255, iters=5, steps=5, precision="fp32")
    with pytest.raises(ValueError, match="L∞"):
        A.min_epsilon(tiny_model, x, y, attack="PGD-L2")
    assert eps.shape == (len(y),) and (eps > 0).all()
    finite = torch.isfinite(eps)
    assert finite.any()
    x_adv = A.pgd(tiny_model, x[finite], y[finite], eps=eps[finite], steps=5, precision="fp32")
    assert (A.predict(tiny_model, x_adv).argmax(1) != y[finite]).float().mean() >= 0.5


def test_registry_records_are_complete_and_settings_follow_them():
    for name, entry in A.ATTACKS.items():
        assert entry.label == name and entry.norm in ("linf", "l2") and entry.cost in ("fast", "slow")
        s = entry.settings(8 / 255, 10)
        assert ("steps" in s) == entry.iterative and ("alpha" in s) == entry.iterative
    assert "steps" not in A.ATTACKS["FGSM"].settings(8 / 255, 10)


def test_fgsm_cw_and_trades_are_pgd_configurations(tiny_model, batch):
    x, y = batch
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(
        A.fgsm(tiny_model, x, y, eps=4 / 255),
        A.pgd(tiny_model, x, y, eps=4 / 255, alpha=4 / 255, steps=1, random_start=False),
    )
    assert torch.equal(
        A.ATTACKS["CW-L∞"](tiny_model, x, y, eps=4 / 255, steps=3, generator=g()),
        A.pgd(tiny_model, x, y, eps=4 / 255, steps=3, loss="cw", generator=g()),
    )
    kl = lambda z: F.kl_div(F.log_softmax(tiny_model(z), 1), F.softmax(tiny_model(x), 1), reduction="sum")  # noqa
    assert kl(A.trades_adv(tiny_model, x, eps=8 / 255, alpha=2 / 255, steps=5)) > kl(x + 0.001)


def test_standard_autoattack_and_square(tiny_model):
    x = torch.rand(2, 3, 32, 32)
    y = A.predict(tiny_model, x).argmax(1)
    for run in (
        lambda: A.autoattack(tiny_model, x, y, eps=8 / 255, attacks=("square",), n_queries=20),
        lambda: A.autoattack(tiny_model, x, y, eps=8 / 255, n_iter=3, n_queries=20),
    ):
        x_adv = run()
        assert (x_adv - x).abs().max() <= 8 / 255 + 1e-6


def test_robust_accuracy_helpers(tiny_model, batch):
    from rcm_demo.analysis import metrics

    x, y = batch
    clean = metrics.accuracy(tiny_model, x, y)
    assert metrics.robust_accuracy(tiny_model, x, y, lambda m, xb, yb: xb, batch_size=4) == clean
    seen = []
    c = metrics.robust_correct(tiny_model, x, y, A.pgd, batch_size=4, progress=seen.append, eps=8 / 255, steps=3)
    assert c.dtype == torch.bool and c.shape == (6,) and seen == [4, 2]
