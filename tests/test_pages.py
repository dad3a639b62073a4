"""Every page under streamlit's AppTest, with defaults and one interaction each (tiny synthetic zoo)."""

import json
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from rcm_demo import ui, zoo

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _use_tiny_zoo(tiny_zoo, monkeypatch):
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", tiny_zoo)


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
    assert any("this server's in-process model worker" in c.value for c in at.caption)  # the backend, named
    at.radio(key="device").set_value("cpu").run()
    assert_clean(at)


def test_attack_lab_defaults_and_fgsm():
    at = run_page("pages/1_Attack_lab.py")
    assert_clean(at)
    assert len([m for m in at.metric if m.label == "Attack"]) == 3
    at.selectbox(key="attack").set_value("FGSM").run()
    assert_clean(at)
    assert "FGSM" in " ".join(c.value for c in at.caption)


def test_attack_lab_in_process_mode_computes_in_the_model_process(monkeypatch):
    from rcm_demo.serve import worker

    monkeypatch.setenv("RCM_WORKER", "process")  # the default of `streamlit run app.py` on 3+ cores
    at = run_page("pages/1_Attack_lab.py", {"seed": "17"})  # a seed no other test uses: no cache hit
    assert_clean(at)
    assert len([m for m in at.metric if m.label == "Attack"]) == 3
    proc = worker.get_worker("cpu").process
    assert proc is not None and proc.batches >= 3  # one batch per checkpoint, computed in the child


def test_attack_lab_restores_state_from_url():
    names = zoo.list_checkpoints()
    at = run_page(
        "pages/1_Attack_lab.py",
        {"models": names[1], "eps": "4.0", "steps": "3", "sample_id": "7", "attack": "CW-L∞", "seed": "5"},
    )
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


def test_energy_page_shared_perturbation():
    at = run_page("pages/2_Feature_map_energy.py")
    assert_clean(at)
    at.toggle(key="shared").set_value(True).run()
    assert_clean(at)
    assert "One δ crafted on" in " ".join(c.value for c in at.caption)


def svg_images(at) -> list:
    """The static figures of a page (viz.svg: an <img> with an SVG data URI in st.html)."""
    return [h for h in at.get("html") if "data:image/svg+xml" in h.proto.body]


def test_pooling_lab_synthetic_slider_moves_the_marker_without_model_work(monkeypatch):
    at = run_page("pages/3_Pooling_lab.py")
    assert_clean(at)
    from rcm_demo.analysis import lab, sweeps

    def refuse(*a, **k):
        raise AssertionError("the synthetic panel ran model work")

    monkeypatch.setattr(sweeps, "zoo_pooling", refuse)
    monkeypatch.setattr(sweeps, "run", refuse)
    monkeypatch.setattr(lab, "run", refuse)
    at.slider(key="syn_side").set_value(16).run()
    assert_clean(at)
    assert any(m.label == "1/√(HW)" and m.value == "0.0625" for m in at.metric)
    assert len(svg_images(at)) == 1 and not at.get("plotly_chart")  # the default view: a static SVG
    at.toggle(key="syn_interactive").set_value(True).run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    marker = [t for t in fig["data"] if t["name"].startswith("your map")][0]
    assert marker["x"] == [256, 256]


def test_pooling_lab_draws_the_normalised_view_only_on_request():
    # One static chart in the default view (no chart library): a chart in a closed expander is drawn by
    # the browser all the same.
    at = run_page("pages/3_Pooling_lab.py")
    assert len(svg_images(at)) == 1 and not at.get("plotly_chart")
    at.toggle(key="syn_norm").set_value(True).run()
    assert_clean(at)
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figs) == 1 and "/ ‖ΔZ‖_F" in json.dumps(figs[0], ensure_ascii=False)
    assert at.query_params["syn_norm"] == "1"


def test_pooling_lab_across_the_whole_zoo_is_not_limited_to_four(monkeypatch):
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", ROOT / "pretrained")
    at = run_page("pages/3_Pooling_lab.py", {"pool_view": "Across the zoo", "pool_n": "4"})
    assert_clean(at)
    at.button(key="zoo_go").click().run()
    assert_clean(at)
    rows = at.dataframe[0].value
    assert len(rows) == len(zoo.list_checkpoints()) > 4
    assert "avg ‖Δa‖/‖ΔZ‖" in rows.columns and not any(c.startswith("delta_") for c in rows.columns)


def test_pooling_lab_across_the_zoo_says_when_it_measures_only_part(monkeypatch):
    """Past its cap the view says how many it measures: it silently dropped the 17th checkpoint before."""
    from rcm_demo import limits

    monkeypatch.setattr(limits, "ZOO_SWEEP", 2)
    at = run_page("pages/3_Pooling_lab.py", {"pool_view": "Across the zoo", "pool_n": "2"})
    assert any(c.value.startswith("The first 2 of 3 checkpoints.") for c in at.caption)
    at.button(key="zoo_go").click().run()
    assert_clean(at)
    assert len(at.dataframe[0].value) == 2


def test_pooling_lab_one_model_view():
    at = run_page("pages/3_Pooling_lab.py", {"pool_view": "One model", "pool_n": "4"})
    assert_clean(at)
    first = zoo.get_checkpoint(at.selectbox(key="pool_model").value).meta["pre_pool_hw"]
    assert any(m.label == "pre-pool map" and m.value == "{}×{}".format(*first) for m in at.metric)


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
        ui.forget_stamps()  # the lab reads file stamps at most once a second; this test cannot wait
        at = AppTest.from_file(str(ROOT / "pages/1_Attack_lab.py"), default_timeout=TIMEOUT)
        at.run()
        assert not at.exception
        assert any("sha256" in e.value for e in at.error)
        assert len([m for m in at.metric if m.label == "Attack"]) == 2  # the other two still run
    finally:
        w.write_bytes(good)
        ui.forget_stamps()


# Every URL key each page owns. Removing a key's rule from a page removes it from the link: this fails.
# The image picker's and the attack panel's keys, which both attack pages carry.
SHARED_KEYS = {
    "models",
    "img_source",
    "class_filter",
    "sample_id",
    "attack",
    "eps",
    "eps_l2",
    "steps",
    "alpha_auto",
    "alpha",
    "alpha_l2",
    "targeted",
    "target",
    "seed",
}
URL_KEYS = {
    "pages/0_Lesson.py": {"step", "present", "lesson_eps", "lesson_kind", "lesson_side"},
    "pages/1_Attack_lab.py": SHARED_KEYS | {"min_attack", "min_steps"},
    "pages/2_Feature_map_energy.py": SHARED_KEYS | {"shared", "energy_scale", "eps_layer_model"},
    "pages/3_Pooling_lab.py": {"pool_view", "pool_model", "pool_n", "pool_eps", "syn_kind", "syn_side", "syn_norm"},
    "pages/4_Robustness_curves.py": {"models", "curve_n", "curve_steps", "curve_max", "seed"},
    "pages/5_Model_zoo.py": {"zoo_card"},
}
BOGUS = {
    "models": "nonexistent.at",
    "sample_id": "-5",
    "eps": "999",
    "eps_l2": "nan",
    "steps": "0",
    "alpha": "x",
    "alpha_l2": "-1",
    "alpha_auto": "maybe",
    "targeted": "2",
    "target": "10",
    "seed": "-1",
    "attack": "DeepFool",
    "img_source": "Camera",
    "class_filter": "unicorn",
    "min_attack": "FGSM",
    "min_steps": "7",
    "shared": "yes",
    "energy_scale": "loud",
    "eps_layer_model": "nope.at",
    "pool_view": "Everything",
    "pool_model": "nope.at",
    "pool_n": "1000",
    "pool_eps": "0",
    "syn_kind": "plasma",
    "syn_side": "64",
    "syn_norm": "perhaps",
    "curve_n": "12",
    "curve_steps": "101",
    "curve_max": "1",
    "zoo_card": "../../etc/passwd",
    "step": "9",
    "present": "sometimes",
    "lesson_eps": "-2",
    "lesson_kind": "plasma",
    "lesson_side": "0",
}


def test_pages_cover_every_page_file():
    assert set(URL_KEYS) == {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}


@pytest.mark.parametrize("page", sorted(URL_KEYS))
def test_every_url_key_has_a_rule_and_bad_values_are_named_and_replaced(page):
    at = run_page(page)
    assert set(at.query_params) == URL_KEYS[page]
    defaults = {k: at.session_state[k] for k in URL_KEYS[page]}
    bad = run_page(page, {k: BOGUS[k] for k in URL_KEYS[page]})
    notice = " ".join(i.value for i in bad.info)
    assert "replaced by defaults" in notice
    for k in URL_KEYS[page]:
        assert f"{k} = {BOGUS[k]}" in notice, k
        assert bad.session_state[k] == defaults[k], k


def test_valid_links_restore_tab_and_class_filter():
    at = run_page("pages/3_Pooling_lab.py", {"pool_view": "One model", "pool_n": "3"})
    assert at.session_state["pool_view"] == "One model" and not at.info
    at = run_page("pages/1_Attack_lab.py", {"class_filter": "ship", "sample_id": "8"})
    assert at.selectbox(key="class_filter").value == "ship"
    assert at.query_params["class_filter"] in ("ship", ["ship"])


def _walk(node):
    for c in getattr(node, "children", {}).values():
        yield c
        yield from _walk(c)


@pytest.mark.parametrize("page", ["app.py", *sorted(URL_KEYS)])
def test_no_page_renders_library_help_or_code_like_text_and_charts_keep_their_colours(page):
    at = run_page(page)
    for el in _walk(at.main):
        assert getattr(el, "type", None) != "help_info", f"{page} renders library documentation (Streamlit magic)"
        value = getattr(el, "value", "")
        text = value if isinstance(value, str) else ""
        assert "DeltaGenerator" not in text and "<function" not in text and "object at 0x" not in text, page
    for ch in at.get("plotly_chart"):
        assert ch.proto.theme == "", f"{page}: a chart uses Streamlit's theme, which replaces its colour scales"


def test_checkpoints_are_shown_by_their_labels():
    at = run_page("pages/1_Attack_lab.py")
    shown = " ".join(m.value for m in at.markdown)
    for name in at.multiselect(key="models").value:
        assert zoo.get_checkpoint(name).label in shown


@pytest.mark.parametrize("page", ["pages/1_Attack_lab.py", "pages/2_Feature_map_energy.py", "pages/0_Lesson.py"])
def test_default_image_is_classified_correctly_by_the_default_models(page, monkeypatch):
    """With the bundled zoo: the pages open on an image the default trio gets right."""
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", ROOT / "pretrained")
    at = run_page(page)
    assert_clean(at)
    names = zoo.default_checkpoints(3, "cpu")
    if "Lesson" in page:  # the lesson names its image in the first step's caption: "... bundled image #12 ..."
        i = int(next(c.value for c in at.caption if "bundled image #" in c.value).split("#")[1].split()[0])
        pgd = zoo.get_checkpoint(names[0]).meta["metrics"]["pgd20"]  # step 1's notice reads its model's card
        assert f"{100 * pgd['value']:.1f}% under PGD-20" in at.info[0].value
    else:
        assert at.multiselect(key="models").value == names
        i = at.session_state["sample_id"]
    if "Attack" in page:  # one image's verdicts stand beside the cards' test-set accuracy of the same models
        context = next(c.value for c in at.caption if c.value.startswith("One image is one draw"))
        pgd = zoo.get_checkpoint(names[0]).meta["metrics"]["pgd20"]
        assert f"{100 * pgd['value']:.1f}%" in context
    from rcm_demo.analysis.lab import clean_correct
    from rcm_demo.data import load_sample

    s = load_sample()
    for n in names:
        assert clean_correct(zoo.load_model(n), s.float()[i : i + 1], s.y[i : i + 1]).all(), (n, i)


def _attack_page_summary(query):
    at = run_page("pages/1_Attack_lab.py", query)
    assert_clean(at)
    return [(m.value, m.delta) for m in at.metric] + [c.value for c in at.caption]


@pytest.mark.slow
def test_concurrent_app_sessions_match_alone():
    from concurrent.futures import ThreadPoolExecutor

    from rcm_demo.serve import worker

    queries = [
        {"seed": str(k), "eps": str(2.0 + k), "attack": ["PGD-L∞", "CW-L∞", "FGSM"][k % 3], "sample_id": str(10 * k)}
        for k in range(6)
    ] + [{"seed": str(k), "sample_id": str(7 * k)} for k in range(8)]  # same settings: the worker batches these
    alone = [_attack_page_summary(q) for q in queries]
    import streamlit as st

    from rcm_demo.ui import compute as ui_cache

    st.cache_data.clear()  # make the concurrent sessions compute, not replay the cache
    ui_cache._attack_results.clear()
    w = worker.get_worker("cpu")
    before = len(w.batches)
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        together = list(pool.map(_attack_page_summary, queries))
    assert together == alone  # every session got its own result, as if alone
    assert max(w.batches[before:]) > 1  # and some of them were computed together


def test_upload_mode_without_file_keeps_the_other_settings():
    at = run_page("pages/1_Attack_lab.py", {"eps": "4.0", "steps": "7"})
    at.radio(key="img_source").set_value("Upload").run()
    assert_clean(at)
    assert any("Upload an image" in i.value for i in at.info)
    assert at.slider(key="eps").value == 4.0 and at.slider(key="steps").value == 7
    at.radio(key="img_source").set_value("Bundled CIFAR-10 sample").run()
    assert_clean(at)
    assert at.slider(key="eps").value == 4.0 and len([m for m in at.metric if m.label == "Attack"]) == 3


def _first_image_a_default_model_gets_wrong() -> int:
    """From the bundled zoo's own predictions (the zoo is retrained now and then: no fixed image index)."""
    from rcm_demo.analysis import lab
    from rcm_demo.data import load_sample

    s = load_sample()
    x = s.float(torch.arange(len(s)))
    right = torch.stack([lab.clean_correct(zoo.load_model(n), x, s.y) for n in zoo.default_checkpoints(3, "cpu")])
    return int((~right.all(0)).nonzero()[0])


def test_already_wrong_is_explained_with_a_one_click_switch(monkeypatch):
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", ROOT / "pretrained")
    at = run_page("pages/1_Attack_lab.py", {"sample_id": str(_first_image_a_default_model_gets_wrong())})
    verdicts = [m.value for m in at.metric if m.label == "Attack"]
    assert "already wrong" in verdicts
    assert any("nothing left for the attack" in i.value for i in at.info)
    at.button(key="to_correct").click().run()
    assert_clean(at)
    assert at.session_state["sample_id"] > 0
    assert "already wrong" not in [m.value for m in at.metric if m.label == "Attack"]


def test_lesson_walks_every_step_with_an_interaction_each():
    at = run_page("pages/0_Lesson.py")
    assert_clean(at)
    from rcm_demo.analysis import lesson

    interactions = {
        1: lambda: at.slider(key="lesson_eps").set_value(8.0),
        3: lambda: at.slider(key="lesson_side").set_value(16),
    }
    for k, step in enumerate(lesson.STEPS, 1):
        assert at.session_state["step"] == k
        assert any(step.title in h.value for h in at.header)
        assert any("What to notice" in i.value for i in at.info)
        if k == 2:  # written from the energy profile drawn above it
            assert any("Measured here: the relative change of" in i.value for i in at.info)
        if k == 4:  # written from the pooling measurement drawn above it
            assert any("Measured here: average pooling passes" in i.value for i in at.info)
        if k == 6:  # written from the cards' counts of the models drawn above it
            assert any("multiply-adds per image" in i.value for i in at.info)
        # The tiny test zoo has no evaluated cards: step 5 then says so instead of drawing.
        no_cards = k == 5 and any("cards hold no enlarged" in i.value for i in at.info)
        assert at.get("plotly_chart") or svg_images(at) or at.get("html") or no_cards, f"step {k} shows no figure"
        if k in interactions:
            interactions[k]().run()
            assert_clean(at)
        if k < len(lesson.STEPS):
            at.button(key="step_next").click().run()
            assert_clean(at)
    assert at.query_params["step"] in ("6", ["6"])
    at.button(key="step_prev").click().run()
    assert at.session_state["step"] == 5


def test_lesson_step_and_presentation_come_from_the_link_and_export_is_self_contained():
    at = run_page("pages/0_Lesson.py", {"step": "3", "present": "1"})
    assert_clean(at)
    assert at.session_state["step"] == 3 and at.toggle(key="present").value
    assert at.query_params["present"] in ("1", ["1"])
    at.button(key="lesson_html").click().run()
    assert_clean(at)
    assert at.get("download_button")
    from rcm_demo import ui
    from rcm_demo.analysis import lesson

    html = ui.lesson_html(zoo.list_checkpoints()[:3], 0)
    assert all(s.title in html for s in lesson.STEPS) and "Plotly.newPlot" in html and "<script src=" not in html
    assert "Measured here: average pooling passes" in html and "multiply-adds per image" in html


def test_surprise_me_picks_an_image_the_models_disagree_on(monkeypatch):
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", ROOT / "pretrained")
    at = run_page("pages/1_Attack_lab.py")
    before = at.session_state["sample_id"]
    at.button(key="surprise").click().run()
    assert_clean(at)
    assert at.session_state["sample_id"] != before
    verdicts = [m.value for m in at.metric if m.label == "Attack"]
    assert "held" in verdicts and set(verdicts) - {"held"}, verdicts  # the models disagree under PGD-10 at 8/255


def test_disagreements_and_marks_helpers():
    from rcm_demo.analysis import lab

    held = [torch.tensor([True, False, True, False]), torch.tensor([True, False, False, True])]
    assert lab.disagreements(held) == [2, 3]


def test_gallery_marks_of_a_new_window_are_lookups_not_model_work(monkeypatch):
    # The clean predictions of the whole bundled sample are computed once per checkpoint (in the background
    # after the first view); moving the gallery (or a new session on another image) then costs no forward
    # pass for the marks.
    at = run_page("pages/1_Attack_lab.py", {"attack": "FGSM"})
    from rcm_demo.analysis import lab

    names = at.multiselect(key="models").value
    for _ in range(600):  # the whole-sample predictions are computed in the background after the first view
        if ui.clean_bits_ready(names):
            break
        time.sleep(0.05)
    assert ui.clean_bits_ready(names)

    def refuse(*a, **k):
        raise AssertionError("gallery marks ran the model again")

    monkeypatch.setattr(lab, "clean_correct", refuse)
    at.select_slider(key="sample_id").set_value(300).run()
    assert_clean(at)
    import re

    gallery = next(h.proto.body for h in at.sidebar.get("html") if "<figcaption" in h.proto.body)
    marks = [c for c in re.findall(r"<figcaption[^>]*>([^<]*)</figcaption>", gallery) if c.startswith("#300 ")]
    assert marks and marks[0].count("✓") + marks[0].count("✗") == 3, marks


@pytest.mark.parametrize("page", ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))])
def test_default_views_load_no_chart_library(page):
    """A plotly chart costs a new browser tab about 0.9 s (docs/decisions.md): default views draw static SVGs
    and the interactive chart is one toggle away."""
    at = run_page(page)
    assert_clean(at)
    assert not at.get("plotly_chart"), [c.proto.id for c in at.get("plotly_chart")]


@pytest.mark.parametrize("page", ["app.py", "pages/5_Model_zoo.py", "pages/0_Lesson.py"])
def test_the_answer_comes_first_and_the_evidence_one_click_below(page, monkeypatch):
    """Home, Model zoo and lesson step 5 with the bundled zoo: the headline and the one figure, then every
    pair, seed and attack under "Details" (one row per pair, each seed behind a toggle)."""
    from rcm_demo.zoo import findings, glance, tables

    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", ROOT / "pretrained")
    at = run_page(page, {"step": "5"} if "Lesson" in page else None)
    assert_clean(at)
    rows = tables.comparison_rows(directory=ROOT / "pretrained")
    said = [m.value for m in at.markdown]
    first, second = glance.headline(rows)
    assert first in said and second in said and said.count(findings.finding(rows)) == 1
    (details,) = [e for e in at.expander if e.label.startswith("Details")]
    assert findings.finding(rows) in [m.value for m in details.markdown]  # only there: one click below
    claim = [h for h in svg_images(at) if "What the enlarged final map adds" in h.proto.body]
    assert len(claim) == 1
    key = "lesson_diff" if "Lesson" in page else "paired"
    forest = lambda: [h.proto.body for h in svg_images(at) if "Enlarged map minus its baseline" in h.proto.body]  # noqa: E731
    one_per_pair = forest()
    at.toggle(key=f"{key}_seeds").set_value(True).run()
    assert_clean(at)
    assert len(forest()) == 1 and forest() != one_per_pair  # the per-seed rows are back on demand


def test_the_lesson_export_carries_step_5s_headline_and_figure():
    from rcm_demo.ui import compute
    from rcm_demo.zoo import glance, tables

    rows = tables.comparison_rows(directory=ROOT / "pretrained")
    block = compute._claim_html(rows)
    assert block.count("<p><b>") == 2 and "data:image/svg+xml;base64," in block
    assert "not resolved" in block and glance.headline(rows)[1].split("**")[-1].strip() in block


def test_home_with_the_trades_pair_beside_the_real_zoo(monkeypatch):
    """The bundled zoo with its TRADES pair: Home renders, and the TRADES pair gets its row and sentence. A
    contrast against the main pair's seed mean once crashed this page. (Its first version wrote a stand-in
    TRADES card through a symlink into the checkout: no test writes beside the bundled cards.)"""
    from rcm_demo.zoo import tables, variants

    d = ROOT / "pretrained"
    assert (d / "resnet18w16_s1122_x1_avg.trades.json").exists() and (
        d / "resnet18w16_s1222_x1_avg.trades.json"
    ).exists()
    monkeypatch.setattr(zoo.checkpoints, "PRETRAINED_DIR", d)
    at = run_page("app.py")
    assert_clean(at)
    rows = tables.comparison_rows(directory=d)
    text = variants.variants_finding(rows, variants.variant_contrast(rows, d))
    assert text.startswith("The ResNet18 pair with TRADES") and "Its enlargement minus the main pair's" in text
    (details,) = [e for e in at.expander if e.label.startswith("Details")]
    assert "| ResNet18 · TRADES |" in " ".join(m.value for m in details.markdown)
    assert text in [c.value for c in details.caption]
