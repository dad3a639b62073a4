"""Many users at once: 20 concurrent jobs on shared (cached) models give exactly the results of the same
work done alone, and leave no hook, mode or gradient flag behind. Also: same seed, same result."""

from concurrent.futures import ThreadPoolExecutor

import torch
from conftest import assert_same_state, model_state

from rcm_demo.analysis import lab, sweeps
from rcm_demo.zoo import ModelSpec

SPECS = [ModelSpec(width=4), ModelSpec(width=4, strides="1122"), ModelSpec(width=4, scale=2, pool="max")]
ATTACKS = ["PGD-L∞", "FGSM", "CW-L∞", "PGD-L2"]


def shared_models():
    out = {}
    for i, spec in enumerate(SPECS):
        torch.manual_seed(i)
        out[spec.name] = spec.build().eval().requires_grad_(False)
    return out


def jobs():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 1, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (20, 1), generator=g)
    for k in range(20):
        attack = ATTACKS[k % len(ATTACKS)]
        eps = 0.5 if attack == "PGD-L2" else float(2 + k % 6)
        s = lab.AttackSettings(attack=attack, eps_input=eps, steps=3 + k % 3, alpha_input=None, seed=k)
        names = [spec.name for spec in SPECS][: 1 + k % 3]
        yield k, names, x[k], y[k], s


def work(models, job):
    k, names, x, y, s = job
    res = lab.attack_models({n: models[n] for n in names}, x, y, s)
    return k, {
        n: (r["x_adv"], r["p_adv"], r["energy"]["layer4"]["relative"], r["pooling"]["ratio_avg"])
        for n, r in res.items()
    }


def test_twenty_concurrent_sessions_match_sequential_results():
    models = shared_models()
    before = {n: model_state(m) for n, m in models.items()}
    alone = dict(work(models, j) for j in jobs())
    with ThreadPoolExecutor(max_workers=20) as pool:
        together = dict(pool.map(lambda j: work(models, j), list(jobs())))
    for k, res in alone.items():
        for n, (x_adv, p, e, r) in res.items():
            x2, p2, e2, r2 = together[k][n]
            assert torch.equal(x_adv, x2), (k, n)
            assert torch.allclose(p, p2) and e == e2 and r == r2, (k, n)
    for n, m in models.items():
        assert_same_state(before[n], model_state(m))


def test_same_seed_same_numbers_different_seed_differs():
    models = shared_models()
    x, y = torch.rand(1, 3, 32, 32), torch.tensor([3])
    s = lab.AttackSettings(eps_input=8, steps=5, seed=11)
    a, b = lab.attack_models(models, x, y, s), lab.attack_models(models, x, y, s)
    c = lab.attack_models(models, x, y, lab.AttackSettings(eps_input=8, steps=5, seed=12))
    for n in models:
        assert torch.equal(a[n]["x_adv"], b[n]["x_adv"]) and a[n]["energy"] == b[n]["energy"]
        assert not torch.equal(a[n]["x_adv"], c[n]["x_adv"])


def test_library_limits_refuse_oversized_requests():
    import pytest

    models = shared_models()
    x, y = torch.rand(600, 3, 32, 32), torch.zeros(600, dtype=torch.long)
    with pytest.raises(ValueError, match="images"):
        sweeps.robustness_curves(models, x, y, [0, 8])
    with pytest.raises(ValueError, match="models"):
        lab.check_models([f"m{i}" for i in range(5)])
    for bad in (
        dict(eps_input=40),
        dict(steps=1000),
        dict(seed=-1),
        dict(target=10),
        dict(attack="DeepFool"),
        dict(attack="Square", targeted=True),
    ):
        with pytest.raises(ValueError):
            lab.AttackSettings(**bad)
