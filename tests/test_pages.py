"""Every page under streamlit's AppTest, with defaults and one interaction each (tiny synthetic zoo)."""
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from rcm_demo import zoo
from rcm_demo.zoo import ModelSpec

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180
TINY_ZOO = [(ModelSpec(width=4), "std"), (ModelSpec(width=4, strides="1122"), "std"),
            (ModelSpec(width=4, pool="max"), "at")]


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    d = tmp_path_factory.mktemp("tinyzoo")
    for i, (spec, recipe) in enumerate(TINY_ZOO):
        torch.manual_seed(i)
        zoo.save_checkpoint(spec.build().eval(), spec, recipe, {"command": "tests", "epochs": 0}, d)
    return d


@pytest.fixture(autouse=True)
def _use_tiny_zoo(tiny_zoo, monkeypatch):
    monkeypatch.setattr(zoo, "PRETRAINED_DIR", tiny_zoo)


def run_page(name, query=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / name), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_home():
    at = run_page("app.py")
    assert_clean(at)
    assert any("zoo" in s.value.lower() for s in at.subheader)
    assert len(at.dataframe) == 1
    at.radio(key="device").set_value("cpu").run()
    assert_clean(at)


def test_attack_lab_defaults_and_fgsm():
    at = run_page("pages/1_Attack_lab.py")
    assert_clean(at)
    assert len([m for m in at.metric if m.label == "Attack"]) == 3
    at.selectbox(key="attack").set_value("FGSM").run()
    assert_clean(at)
    assert "FGSM" in " ".join(c.value for c in at.caption)


def test_attack_lab_restores_state_from_url():
    names = zoo.list_checkpoints()
    at = run_page("pages/1_Attack_lab.py", {"models": names[1], "eps": "4.0", "steps": "3", "sample_id": "7",
                                              "attack": "CW-L∞", "seed": "5"})
    assert_clean(at)
    assert at.multiselect(key="models").value == [names[1]]
    assert at.slider(key="eps").value == 4.0 and at.slider(key="steps").value == 3
    assert at.selectbox(key="attack").value == "CW-L∞" and at.number_input(key="seed").value == 5
    assert "sample #7" in " ".join(c.value for c in at.caption)
    assert at.query_params["eps"] in ("4.0", ["4.0"])


def test_attack_lab_targeted():
    at = run_page("pages/1_Attack_lab.py")
    at.toggle(key="targeted").set_value(True).run()
    at.selectbox(key="target").set_value(3).run()
    assert_clean(at)
    assert "target cat" in " ".join(c.value for c in at.caption)


def test_bad_url_values_fall_back_to_defaults():
    at = run_page("pages/1_Attack_lab.py", {"eps": "lots", "steps": "-3", "models": "nonexistent.at"})
    assert not at.exception


def test_energy_page_shared_perturbation():
    at = run_page("pages/2_Feature_map_energy.py")
    assert_clean(at)
    at.toggle(key="shared").set_value(True).run()
    assert_clean(at)
    assert "One δ crafted on" in " ".join(c.value for c in at.caption)


def test_pooling_lab_synthetic_slider():
    at = run_page("pages/3_Pooling_lab.py")
    assert_clean(at)
    first = zoo.get_checkpoint(zoo.list_checkpoints()[0]).meta["pre_pool_hw"]
    assert any(m.label == "pre-pool map" and m.value == "{}×{}".format(*first) for m in at.metric)
    at.slider(key="syn_side").set_value(16).run()
    assert_clean(at)
    assert any(m.label == "bound 1/√(HW)" and m.value == "0.0625" for m in at.metric)


def test_robustness_curves_fewer_images():
    at = run_page("pages/4_Robustness_curves.py", {"curve_n": "16", "curve_steps": "2"})
    assert_clean(at)
    at.slider(key="curve_n").set_value(8).run()
    assert_clean(at)
    assert len(at.dataframe) == 1


def test_model_zoo_switch_card():
    at = run_page("pages/5_Model_zoo.py")
    assert_clean(at)
    at.selectbox(key="zoo_card").set_value(zoo.list_checkpoints()[2]).run()
    assert_clean(at)
    assert any(m.label == "pre-pool map" for m in at.metric)


def test_tampered_checkpoint_is_reported_and_others_work(tiny_zoo):
    name = zoo.list_checkpoints()[0]
    w = tiny_zoo / f"{name}.safetensors"
    good = w.read_bytes()
    try:
        w.write_bytes(good[:-8] + b"\x00" * 8)
        at = AppTest.from_file(str(ROOT / "pages/1_Attack_lab.py"), default_timeout=TIMEOUT)
        at.run()
        assert not at.exception
        assert any("sha256" in e.value for e in at.error)
        assert len([m for m in at.metric if m.label == "Attack"]) == 2  # the other two still run
    finally:
        w.write_bytes(good)


def test_url_rules_cover_every_url_key():
    from rcm_demo import ui
    for page in (ROOT / "pages").glob("*.py"):
        text = page.read_text()
        if "url_state" in text:
            for key in ui.ATTACK_DEFAULTS:
                assert key in ui.URL_RULES or key == "targeted", key


def _attack_page_summary(query):
    at = run_page("pages/1_Attack_lab.py", query)
    assert_clean(at)
    return [(m.value, m.delta) for m in at.metric] + [c.value for c in at.caption]


def test_concurrent_app_sessions_match_alone():
    from concurrent.futures import ThreadPoolExecutor
    queries = [{"seed": str(k), "eps": str(2.0 + k), "attack": ["PGD-L∞", "CW-L∞", "FGSM"][k % 3],
                "sample_id": str(10 * k)} for k in range(6)]
    alone = [_attack_page_summary(q) for q in queries]
    import streamlit as st
    st.cache_data.clear()  # make the concurrent sessions compute, not replay the cache
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(_attack_page_summary, queries))
    assert together == alone


def test_upload_mode_without_file_keeps_the_other_settings():
    at = run_page("pages/1_Attack_lab.py", {"eps": "4.0", "steps": "7"})
    at.radio(key="img_source").set_value("Upload").run()
    assert_clean(at)
    assert any("Upload an image" in i.value for i in at.info)
    assert at.slider(key="eps").value == 4.0 and at.slider(key="steps").value == 7
    at.radio(key="img_source").set_value("Bundled CIFAR-10 sample").run()
    assert_clean(at)
    assert at.slider(key="eps").value == 4.0 and len([m for m in at.metric if m.label == "Attack"]) == 3
