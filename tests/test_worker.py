"""The model worker: batched results equal solo runs, nothing lost or swapped, bounded queue, cancellation,
and a heavy job that does not block light ones (tiny synthetic models); the model process: the same
results, a killed child replaced, a retrained checkpoint loaded again (a tiny zoo on disk)."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from conftest import assert_same_state, model_state

from rcm_demo import zoo
from rcm_demo.analysis import lab
from rcm_demo.serve.modelproc import threads_for
from rcm_demo.serve.worker import Busy, ModelWorker
from rcm_demo.zoo import ModelSpec

ATTACKS = ["PGD-L∞", "CW-L∞", "PGD-L2", "FGSM"]


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {
        "a": ModelSpec(width=4).build().eval().requires_grad_(False),
        "b": ModelSpec(width=4, strides="1122").build().eval().requires_grad_(False),
    }


def requests(n=24):
    g = torch.Generator().manual_seed(0)
    out = []
    for k in range(n):
        attack = ATTACKS[k % 2] if k < 16 else ATTACKS[k % len(ATTACKS)]  # most share settings: batches form
        eps = 0.5 if attack == "PGD-L2" else 8.0
        x = torch.rand(1, 3, 32, 32, generator=g)
        y = None if k % 5 == 0 else torch.randint(0, 10, (1,), generator=g)  # some "uploads" without a label
        out.append(("a" if k % 3 else "b", x, y, lab.AttackSettings(attack=attack, eps_input=eps, steps=3, seed=k)))
    return out


def test_many_threads_get_their_own_results_equal_to_solo_runs(models):
    reqs = requests()
    before = {n: model_state(m) for n, m in models.items()}
    alone = [lab.attack_models({n: models[n]}, x, y, s)[n] for n, x, y, s in reqs]
    w = ModelWorker(window_s=0.05)
    try:
        with ThreadPoolExecutor(max_workers=len(reqs)) as pool:
            futures = list(pool.map(lambda r: w.attack(r[0], models[r[0]], r[1], r[2], r[3], owner=str(id(r))), reqs))
            together = [f.result(timeout=120) for f in futures]
    finally:
        w.close()
    assert max(w.batches) > 1, w.batches  # requests were batched
    for (_n, x, _y, s), a, b in zip(reqs, alone, together):
        # Same image, same verdict, same prediction. Floating point: a batch may run other convolution
        # kernels than a single image; measured bitwise equal on CPU, bounded here at 0.1% of the pixels
        # (a sign flip of a near-zero gradient moves a pixel by one step) and 1e-4 in the pooling ratio.
        differ = (a["x_adv"] != b["x_adv"]).float().mean().item()
        assert differ <= 1e-3, (s, differ)
        assert (a["pred_clean"], a["pred_adv"], lab.verdict(a)) == (b["pred_clean"], b["pred_adv"], lab.verdict(b))
        assert abs(a["pooling"]["ratio_avg"] - b["pooling"]["ratio_avg"]) < 1e-4
        assert (b["x_adv"] - x[0]).abs().max() <= s.eps + 1e-6  # the attack contract still holds
    for n, m in models.items():
        assert_same_state(before[n], model_state(m))


def _blocked_worker(**kw):
    """A worker whose heavy lane is held by a job until the returned event is set."""
    w = ModelWorker(**kw)
    release = threading.Event()
    started = threading.Event()

    def hold(progress):
        started.set()
        release.wait(30)
        return "released"

    job = w.heavy(hold, owner="holder")
    assert started.wait(10)
    return w, release, job


def test_a_heavy_job_does_not_block_light_ones(models):
    w, release, job = _blocked_worker()
    try:
        n, x, y, s = requests(1)[0]
        r = w.attack(n, models[n], x, y, s).result(timeout=60)  # served while the heavy lane is busy
        assert "x_adv" in r and not job.future.done()
    finally:
        release.set()
        assert job.future.result(timeout=10) == "released"
        w.close()


def test_queue_bound_and_cancellation(models):
    w, release, _ = _blocked_worker(max_pending=3)
    try:
        # The heavy lane is held, so further heavy jobs wait: fill the queue to its bound.
        waiting = [w.heavy(lambda progress: "done", owner=o) for o in ("a", "a", "b")]
        with pytest.raises(Busy, match="busy"):
            w.heavy(lambda progress: "too many", owner="c")
        assert w.cancel("a") == 2 and w.pending() == 1
        assert all(j.future.cancelled() for j in waiting[:2])
        release.set()
        assert waiting[2].future.result(timeout=10) == "done"
    finally:
        release.set()
        w.close()


def test_batch_rejects_mixed_settings(models):
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match="one attack setting"):
        lab.attack_batch(
            models["a"], [x, x], [None, None], [lab.AttackSettings(eps_input=4), lab.AttackSettings(eps_input=8)]
        )


def test_quick_and_attack_jobs_queued_together_all_complete(models):
    """Regression: a quick job (no image) waiting behind an attack once killed the light lane."""
    w = ModelWorker(window_s=0.01)
    release, started = threading.Event(), threading.Event()

    def hold():
        started.set()
        release.wait(30)
        return "held"

    try:
        first = w.quick(hold)
        assert started.wait(10)
        n, x, y, s = requests(1)[0]
        jobs = [w.attack(n, models[n], x, y, s), w.quick(lambda: "quick"), w.attack(n, models[n], x, y, s)]
        release.set()
        assert first.result(timeout=10) == "held"
        results = [f.result(timeout=60) for f in jobs]
        assert results[1] == "quick" and torch.equal(results[0]["x_adv"], results[2]["x_adv"])
    finally:
        release.set()
        w.close()


def test_gathering_window_only_while_other_sessions_submit(models):
    # A lone user's jobs run without waiting for company; once another session is submitting, the light
    # lane waits its window to batch them.
    w = ModelWorker()
    try:
        gate, started = threading.Event(), threading.Event()

        def hold():
            started.set()
            return gate.wait(10)

        held = w.quick(hold, owner="alice")  # keeps the light lane busy while the queue is inspected
        assert started.wait(10)  # running, no longer first in the queue
        x, s = torch.rand(1, 3, 32, 32), lab.AttackSettings(steps=2)
        first = w.attack("a", models["a"], x, None, s, owner="alice")
        assert not w._worth_gathering()  # alice alone (her own earlier job does not count)
        second = w.attack("a", models["a"], x, None, s, owner="bob")
        assert w._worth_gathering()
        gate.set()
        held.result(10), first.result(60), second.result(60)
        assert w.batches[-1] == 2  # the two sessions' requests ran as one batch
    finally:
        w.close()


# ----------------------------------------------------------------------------- the model process (the default)


@pytest.fixture(scope="module")
def zoo_models(tiny_zoo):
    """Checkpoints of the tiny zoo loaded as the app loads them (they carry their source, so they travel)."""
    names = zoo.list_checkpoints(tiny_zoo)[:2]
    return {n: zoo.load_model(n, "cpu", directory=tiny_zoo) for n in names}


def test_model_process_results_equal_solo_runs_and_nothing_is_swapped(zoo_models):
    reqs = [(list(zoo_models)[k % 2], x, y, s) for k, (_, x, y, s) in enumerate(requests(12))]
    alone = [lab.attack_models({n: zoo_models[n]}, x, y, s)[n] for n, x, y, s in reqs]
    w = ModelWorker(window_s=0.05, process=True)
    try:
        with ThreadPoolExecutor(max_workers=len(reqs)) as pool:
            futures = list(
                pool.map(lambda r: w.attack(r[0], zoo_models[r[0]], r[1], r[2], r[3], owner=str(id(r))), reqs)
            )
            together = [f.result(timeout=120) for f in futures]
        assert w.process.batches == len(w.batches) and max(w.batches) > 1, w.batches  # batched, in the child
        pid = w.process.pid
    finally:
        w.close()
    for (_n, x, _y, s), a, b in zip(reqs, alone, together):
        # The child runs torch with all cores, the test with one: other kernels, same results (bounded as above).
        assert (a["x_adv"] != b["x_adv"]).float().mean().item() <= 1e-3, s
        assert (a["pred_clean"], a["pred_adv"], lab.verdict(a)) == (b["pred_clean"], b["pred_adv"], lab.verdict(b))
        assert (b["x_adv"] - x[0]).abs().max() <= s.eps + 1e-6
    with pytest.raises(ProcessLookupError):  # closing the worker ended its model process
        os.kill(pid, 0)


def test_models_built_in_code_are_computed_in_the_server(models):
    w = ModelWorker(process=True)
    try:
        n, x, y, s = requests(1)[0]
        assert "x_adv" in w.attack(n, models[n], x, y, s).result(timeout=60)
        assert w.process.batches == 0 and w.batches == [1]
    finally:
        w.close()


def test_a_dead_model_process_fails_its_batch_clearly_and_is_replaced(zoo_models):
    name, model = next(iter(zoo_models.items()))
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    slow = lab.AttackSettings(steps=100)  # long enough to be killed in the middle
    w = ModelWorker(process=True)
    try:
        futs = [w.attack(name, model, x[k : k + 1], None, slow, owner=str(k)) for k in range(8)]
        deadline = time.monotonic() + 60
        while not w.process._lock.locked():  # the batch is in the child
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(w.process.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match="model process stopped"):
            futs[0].result(timeout=60)
        r = w.attack(name, model, x[:1], None, lab.AttackSettings(steps=2)).result(timeout=60)
        assert "x_adv" in r and w.process.starts == 2
    finally:
        w.close()


def test_model_process_loads_a_retrained_checkpoint_again(tmp_path):
    spec = zoo.ModelSpec(width=4)
    x, s = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)), lab.AttackSettings(steps=2)
    w = ModelWorker(process=True)
    try:
        for seed in (0, 1):  # the same name, new weights
            torch.manual_seed(seed)
            name = zoo.save_checkpoint(
                spec.build().eval(), spec, "std", {"command": "tests", "epochs": 0}, tmp_path
            ).name
            model = zoo.load_model(name, "cpu", directory=tmp_path)
            remote = w.attack(name, model, x, None, s).result(timeout=60)
            local = lab.attack_models({name: model}, x, None, s)[name]
            assert torch.allclose(remote["p_clean"], local["p_clean"], atol=1e-5), seed
    finally:
        w.close()


def test_model_process_uses_one_thread_for_one_image_and_every_core_for_a_batch():
    assert threads_for(1, 8) == 1 and threads_for(2, 8) == 8 and threads_for(30, 2) == 2


def test_worker_mode_auto_uses_the_model_process_only_where_it_gets_two_threads(monkeypatch):
    from rcm_demo.serve.worker import worker_mode

    monkeypatch.delenv("RCM_WORKER", raising=False)
    for threads, mode in (("1", "thread"), ("2", "process")):
        monkeypatch.setenv("RCM_PROCESS_THREADS", threads)
        assert worker_mode() == mode
    monkeypatch.setenv("RCM_WORKER", "0")
    assert worker_mode() == "off"
    monkeypatch.setenv("RCM_WORKER", "threads")
    with pytest.raises(ValueError, match="RCM_WORKER"):
        worker_mode()


def test_backend_settings_env_first_then_rcm_toml_then_the_in_process_default(tmp_path, monkeypatch):
    from rcm_demo.serve import backend

    monkeypatch.delenv("RCM_BACKEND", raising=False)
    monkeypatch.delenv("RCM_RAY_ADDRESS", raising=False)
    missing = tmp_path / "none.toml"
    assert backend.settings(missing) == {"backend": "inprocess", "ray_address": "auto"}
    cfg = tmp_path / "rcm.toml"
    cfg.write_text('[rcm]\nbackend = "ray"\nray_address = "10.0.0.5:6379"\n')
    assert backend.settings(cfg) == {"backend": "ray", "ray_address": "10.0.0.5:6379"}
    monkeypatch.setenv("RCM_BACKEND", "inprocess")  # the environment wins over the file
    assert backend.settings(cfg)["backend"] == "inprocess"
    monkeypatch.setenv("RCM_BACKEND", "kubernetes")
    with pytest.raises(ValueError, match="use one of inprocess, ray"):
        backend.settings(cfg)
    monkeypatch.delenv("RCM_BACKEND")
    monkeypatch.setattr(backend, "CONFIG", missing)
    assert backend.get_backend("cpu") is zoo_worker("cpu")  # the default: this server's own worker
    assert backend.describe("cpu") == "this server's in-process model worker"


def zoo_worker(device):
    from rcm_demo.serve import worker

    return worker.get_worker(device)


def test_an_unreachable_ray_backend_is_said_in_words(monkeypatch):
    from rcm_demo.serve import backend

    def no_cluster(*a, **k):
        raise ConnectionError("Could not find any running Ray instance")

    monkeypatch.setenv("RCM_BACKEND", "ray")
    monkeypatch.setenv("RCM_RAY_ADDRESS", "127.0.0.1:1")
    monkeypatch.setattr(backend, "RayBackend", no_cluster)
    with pytest.raises(backend.BackendUnavailable, match="not reachable .*unset RCM_BACKEND"):
        backend.get_backend("cpu")
    assert issubclass(backend.BackendUnavailable, ValueError)  # the pages' user_errors show it as a message
    assert backend.describe("cpu").startswith("no backend (RCM_BACKEND=ray, but the Ray Serve application")
    monkeypatch.setenv("RCM_BACKEND", "nonsense")
    assert "use one of inprocess, ray" in backend.describe("cpu")
