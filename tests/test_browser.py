"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
start `streamlit run app.py` with the bundled zoo, open every page, run an attack, upload files."""

import json
import os
import sys
from pathlib import Path

import pytest

from devtools.server import CHROMIUM, CHROMIUM_ARGS, PAGES, serve, timed, wait_done

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("RCM_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# A hang guard, not a speed target (those live in bench/page_views.py, as ratios measured in one run): a view
# this slow is broken (a rerun loop, a cache missed on every view), whatever machine CI lands on. The
# Attack lab's first view, which attacks three models, took 9.4 s on an AVX2-only 2-core EPYC.
HANG_S = float(os.environ.get("RCM_VIEW_HANG_S", "45"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser test: apt-get install chromium chromium-driver")
    env = {"RCM_WORKER": "process"}  # end to end through the model process (AppTest runs cover the thread worker)
    if os.environ.get("RCM_TEST_THREADS"):
        env["RCM_TORCH_THREADS"] = os.environ["RCM_TEST_THREADS"]
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    try:
        with serve(env=env, log_path=log_path) as (url, _):
            yield url
    except RuntimeError as e:
        pytest.fail(str(e))


def wait_text(page, text, timeout=180):
    """Wait until ``text`` is on the page (a quiet moment alone can come before the first render on a
    loaded machine), then until the run is over."""
    page.get_by_text(text).first.wait_for(timeout=timeout * 1000)
    wait_done(page)


def assert_healthy(page, name):
    assert page.locator('[data-testid="stException"]').count() == 0, name
    body = page.inner_text("body")
    assert "Traceback" not in body and "DeltaGenerator" not in body, name


# One interaction per page: what a user does first after the page opens.
INTERACTIONS = {
    "": ("open the Model zoo from the page list", lambda p: p.get_by_role("link", name="Model zoo:").click()),
    "Lesson": ("next step", lambda p: p.get_by_role("button", name="Next ▶").click()),
    "Attack_lab": ("minimal-ε bound, PGD-10", lambda p: p.get_by_role("button", name="Compute").click()),
    "Feature_map_energy": ("shared-δ toggle", lambda p: p.get_by_text("Apply one perturbation").click()),
    "Pooling_lab": ("switch to the One model view", lambda p: p.get_by_text("One model", exact=True).click()),
    "Robustness_curves": ("measure latency", lambda p: p.get_by_role("button", name="Measure latency").click()),
    "Model_zoo": (
        "show another card",
        # scrolled into view first: a click on a box below the fold did not open its list
        lambda p: (
            p.locator('[data-testid="stSelectbox"]').last.scroll_into_view_if_needed(),
            p.wait_for_timeout(500),
            p.locator('[data-testid="stSelectbox"]').last.get_by_role("combobox").click(),
            p.get_by_role("option").nth(1).click(),
        ),
    ),
}


def test_every_page_timed_with_one_interaction_then_attack_and_uploads(server, tmp_path):
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).parent))
    from upload_corpus import hostile_files, valid_files

    SHOTS.mkdir(parents=True, exist_ok=True)
    timings = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(f"{server}/")  # warm-up: imports and first model loads are not any page's cost
        wait_done(page)
        for name in PAGES:
            default_s = timed(page, lambda name=name: page.goto(f"{server}/{name}"))
            assert_healthy(page, name)
            page.screenshot(path=str(SHOTS / f"{name or 'home'}.png"), full_page=True)
            # Checkpoint labels are read whole: no tag of the model picker is cut with an ellipsis.
            cut = page.eval_on_selector_all(
                '[data-testid="stMultiSelect"] [data-tag] span[title]',
                "els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.title)",
            )
            assert not cut, f"{name}: checkpoint labels cut: {cut}"
            what, act = INTERACTIONS[name]
            interaction_s = timed(page, lambda act=act: act(page))
            assert_healthy(page, name)
            page.screenshot(path=str(SHOTS / f"{name or 'home'}_interaction.png"), full_page=True)
            # A second student opening the same default view: a new browser session, the server's caches warm.
            other = browser.new_page(viewport={"width": 1400, "height": 2400})
            warm_s = timed(other, lambda name=name, other=other: other.goto(f"{server}/{name}"))
            assert_healthy(other, name)
            other.close()
            timings.append(
                {
                    "page": name or "Home",
                    "first_view_s": round(default_s, 2),
                    "default_view_s": round(warm_s, 2),
                    "interaction": what,
                    "interaction_s": round(interaction_s, 2),
                }
            )
        (SHOTS / "timings.json").write_text(json.dumps(timings, indent=2))
        print(json.dumps(timings, indent=2))

        # The lesson, step by step, in presentation mode (the step and the mode come from the link).
        from rcm_demo.analysis.lesson import STEPS

        page.goto(f"{server}/Lesson?step=1&present=1")
        wait_text(page, "What to notice")
        for k in range(1, 7):
            body = page.inner_text("body")
            assert f"{k}. " in body and "What to notice" in body, k
            # Presentation mode hides the sidebar with CSS injected by the page: wait for it to apply.
            page.wait_for_function(
                "() => { const s = document.querySelector('[data-testid=\"stSidebar\"]');"
                " return !s || getComputedStyle(s).display === 'none'; }",
                timeout=15_000,
            )
            assert_healthy(page, f"lesson step {k}")
            page.screenshot(path=str(SHOTS / f"lesson_step{k}.png"), full_page=True)
            if k < 6:
                page.get_by_role("button", name="Next ▶").click()
                wait_text(page, f"{k + 1}. {STEPS[k].title}")

        # One attack, chosen through the URL (shareable state), rendered for every model.
        page.goto(f"{server}/Attack_lab?attack=FGSM&eps=4.0&sample_id=12")
        wait_text(page, "FGSM, ε = 4/255")
        body = page.inner_text("body")
        assert "FGSM, ε = 4/255" in body and "sample #12" in body
        assert page.locator('[data-testid="stMetric"]').count() >= 2
        assert_healthy(page, "attack")
        page.screenshot(path=str(SHOTS / "attack_fgsm.png"), full_page=True)

        # A bad link: the page says which values it replaced.
        page.goto(f"{server}/Attack_lab?eps=999&sample_id=-5&models=bogus.at")
        wait_text(page, "replaced by defaults")
        body = page.inner_text("body")
        assert "replaced by defaults" in body and "eps = 999" in body and "sample_id = -5" in body
        page.screenshot(path=str(SHOTS / "invalid_link.png"), full_page=True)

        # Uploads: a hostile file gets a clear message, then a valid one works again.
        page.goto(f"{server}/Attack_lab")
        wait_done(page)
        page.get_by_text("Upload", exact=True).click()
        wait_done(page)
        bad = tmp_path / "vector.svg"
        bad.write_bytes(hostile_files(big=False)["vector.svg"])
        page.locator('input[type="file"]').set_input_files(str(bad))
        wait_text(page, "not an image file we can read")
        assert "not an image file we can read" in page.inner_text("body")
        page.screenshot(path=str(SHOTS / "upload_refused.png"), full_page=True)
        good = tmp_path / "cmyk.jpg"
        good.write_bytes(valid_files()["cmyk.jpg"])
        page.locator('input[type="file"]').set_input_files(str(good))
        wait_text(page, "upload cmyk.jpg")
        body = page.inner_text("body")
        assert "upload cmyk.jpg" in body and "not an image" not in body
        assert_healthy(page, "upload")
        page.screenshot(path=str(SHOTS / "upload_ok.png"), full_page=True)
        browser.close()
    # Every timing (open tab, new tab, interaction) is written to timings.json; only a hang fails the test.
    hung = [t for t in timings if max(t["first_view_s"], t["default_view_s"], t["interaction_s"]) > HANG_S]
    assert not hung, f"page views or interactions over {HANG_S} s: {hung}"
