"""The Ray Serve backend on a local Ray (2 CPUs) with a tiny checkpoint: concurrent requests from several
threads are batched across callers, give the same x_adv bits as the in-process worker, and a full queue
reaches the caller as the app's usual "busy" message. Skipped where ray[serve] is not installed (it is an
optional extra: requirements-serve.txt; .ci/run installs it)."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

ray = pytest.importorskip("ray")
serve = pytest.importorskip("ray.serve")

from rcm_demo import zoo  # noqa: E402
from rcm_demo.analysis import lab  # noqa: E402
from rcm_demo.serve import backend, ray_app, worker  # noqa: E402

pytestmark = pytest.mark.slow  # Ray's start takes ~10 s on 2 cores


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("pt")
    spec = zoo.ModelSpec(width=4)
    torch.manual_seed(0)
    zoo.save_checkpoint(spec.build().eval(), spec, "at", {"command": "t", "seed": 0, "epochs": 1, "config": {}}, d)
    env = {"RCM_PRETRAINED_DIR": str(d), "PYTHONPATH": os.getcwd()}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    serve.run(ray_app.app(), name=ray_app.APP_NAME, route_prefix=None)
    yield d, "resnet18w4_s1222_x1_avg.at"
    serve.shutdown()
    ray.shutdown()


def test_batched_across_threads_with_the_in_process_workers_bits(cluster, monkeypatch):
    d, name = cluster
    monkeypatch.setenv("RCM_BACKEND", "ray")
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", d)
    model = zoo.load_model(name, directory=d)
    ray_side = backend.get_backend("cpu")
    assert isinstance(ray_side, backend.RayBackend) and "Ray Serve" in backend.describe("cpu")
    x = torch.rand(12, 1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    settings = [lab.pgd_settings(8.0, steps=5, seed=s) for s in range(12)]
    start = threading.Barrier(12)

    def ask(i):
        start.wait()  # every thread at once: one batch for several sessions
        return ray_side.attack(name, model, x[i], None, settings[i], owner=f"s{i}").result(timeout=120)

    with ThreadPoolExecutor(12) as pool:
        remote = list(pool.map(ask, range(12)))
    local = worker.ModelWorker(max_batch=32)
    try:
        here = [local.attack(name, model, x[i], None, settings[i]).result(timeout=120) for i in range(12)]
    finally:
        local.close()
    for r, h in zip(remote, here):
        assert torch.equal(r["x_adv"], h["x_adv"]) and r["pred_adv"] == h["pred_adv"]
    stats = serve.get_app_handle(ray_app.APP_NAME).stats.remote().result()
    assert sum(stats["batches"]) >= 12 and max(stats["batches"]) > 1  # requests from several threads merged
    assert stats["models"] == [name]


def test_a_full_queue_says_busy(cluster):
    d, name = cluster
    tiny = ray_app.ModelService.options(name="Tiny", max_ongoing_requests=1, max_queued_requests=1)
    handle = serve.run(tiny.bind(), name="tiny", route_prefix=None)
    x = torch.rand(1, 3, 32, 32)
    responses = [handle.attack.remote((name, x, None, lab.pgd_settings(8.0, steps=20, seed=s))) for s in range(12)]
    outcomes = []
    for r in responses:
        try:
            backend._result(r)
            outcomes.append("done")
        except worker.Busy as e:
            outcomes.append(str(e))
    assert "done" in outcomes and "the lab is busy, retry in a few seconds" in outcomes
    serve.delete("tiny")


def test_forward_passes_and_long_jobs_run_in_serve_with_the_models_sent_by_name(cluster, monkeypatch):
    from rcm_demo.analysis import metrics, tasks

    d, name = cluster
    monkeypatch.setenv("RCM_BACKEND", "ray")
    model = zoo.load_model(name, directory=d)
    ray_side = backend.get_backend("cpu")
    before = serve.get_app_handle(ray_app.APP_NAME).stats.remote().result()
    shapes = ray_side.quick(metrics.stage_shapes, model).result(timeout=120)
    assert shapes == metrics.stage_shapes(model)
    x, y = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(2)), torch.tensor([0, 1, 2, 3])
    job = ray_side.heavy(tasks.pooling_job, {name: model}, x, y, 8.0)
    assert isinstance(job, backend.RemoteJob)
    remote = job.future.result(timeout=120)
    local = tasks.pooling_job({name: model}, x, y, 8.0, progress=lambda f: None)
    assert [r["checkpoint"] for r in remote] == [name]
    for key in ("H", "W", "ratio_avg", "ratio_max"):
        assert remote[0][key] == pytest.approx(local[0][key], rel=1e-4), key
    assert serve.get_app_handle(ray_app.APP_NAME).stats.remote().result()["models"] == before["models"]
    # What cannot leave this server stays here: a model built in code, or a function outside the package's tasks.
    built = zoo.ModelSpec(width=2).build().eval()
    assert not isinstance(ray_side.heavy(tasks.pooling_job, {"x": built}, x, y, 8.0), backend.RemoteJob)
    assert not isinstance(ray_side.heavy(lambda m, progress: 1, model), backend.RemoteJob)
