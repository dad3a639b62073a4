import os

import pytest
import torch

from rcm_demo import zoo
from rcm_demo.zoo import ModelSpec

# In-process tests (AppTest pages, the library) compute in the worker's thread, where a test's monkeypatches
# (a function that must not be called, a temporary zoo) reach every computation. The model process (the
# default on 3+ cores) has its own tests (test_worker.py, an AppTest run in test_pages.py) and the browser test.
os.environ.setdefault("RCM_WORKER", "thread")

TINY = ModelSpec(arch="resnet18", width=4)
TINY_ZOO = [
    (ModelSpec(width=4), "std"),
    (ModelSpec(width=4, strides="1122"), "std"),
    (ModelSpec(width=4, pool="max"), "at"),
]


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """Three width-4 checkpoints (random weights) in a temporary zoo directory."""
    d = tmp_path_factory.mktemp("tinyzoo")
    for i, (spec, recipe) in enumerate(TINY_ZOO):
        torch.manual_seed(i)
        zoo.save_checkpoint(spec.build().eval(), spec, recipe, {"command": "tests", "epochs": 0}, d)
    return d


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    # Once per run, the app's own setting (rcm_demo.worker.torch_threads: one thread per op, the fast
    # choice outside the main thread, where AppTest runs the pages): the model worker's threads may still
    # be finishing a job when the next test starts, and torch's thread count should not change under a
    # running parallel op. RCM_TEST_THREADS overrides it.
    from rcm_demo.serve.worker import torch_threads

    torch.set_num_threads(int(os.environ.get("RCM_TEST_THREADS", 0)) or torch_threads())


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return TINY.build().eval()


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(6, 3, 32, 32, generator=g), torch.randint(0, 10, (6,), generator=g)


def model_state(model):
    """Everything an attack must leave untouched."""
    return {
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "params": [p.detach().clone() for p in model.state_dict().values()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()],
        "grads": [p.grad for p in model.parameters()],
    }


def assert_same_state(a, b):
    assert a["training"] == b["training"]
    assert a["requires_grad"] == b["requires_grad"]
    assert a["hooks"] == b["hooks"]
    assert all(g is None for g in b["grads"]) == all(g is None for g in a["grads"])
    for p, q in zip(a["params"], b["params"]):
        assert torch.equal(p, q)
