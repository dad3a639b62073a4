"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
start `streamlit run app.py` with the bundled zoo, open every page, run an attack, upload files."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("RCM_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
PAGES = ["", "Attack_lab", "Feature_map_energy", "Pooling_lab", "Robustness_curves", "Model_zoo"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser test: apt-get install chromium chromium-driver")
    port = free_port()
    env = {**os.environ, "RCM_TORCH_THREADS": os.environ.get("RCM_TEST_THREADS", "2")}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    yield url
    proc.terminate()
    proc.wait(10)


def wait_done(page, timeout=240):
    """Wait until the script run is finished: no running indicator, no spinner, for a moment."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=60_000)
    quiet, t0 = 0, time.time()
    while time.time() - t0 < timeout:
        busy = page.locator('[data-testid="stStatusWidget"]').count() + page.locator('[data-testid="stSpinner"]').count()
        quiet = 0 if busy else quiet + 1
        if quiet >= 4:
            return
        time.sleep(0.5)
    raise TimeoutError("page still running")


def test_every_page_attack_and_uploads(server, tmp_path):
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).parent))
    from upload_corpus import hostile_files, valid_files

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        for name in PAGES:
            page.goto(f"{server}/{name}")
            wait_done(page)
            page.screenshot(path=str(SHOTS / f"{name or 'home'}.png"), full_page=True)
            assert page.locator('[data-testid="stException"]').count() == 0, name
            assert "Traceback" not in page.content(), name

        # One attack, chosen through the URL (shareable state), rendered for every model.
        page.goto(f"{server}/Attack_lab?attack=FGSM&eps=4.0&sample_id=12")
        wait_done(page)
        body = page.inner_text("body")
        assert "FGSM, ε = 4/255" in body and "sample #12" in body
        assert page.locator('[data-testid="stMetric"]').count() >= 2
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(SHOTS / "attack_fgsm.png"), full_page=True)

        # Uploads: a hostile file gets a clear message, then a valid one works again.
        page.get_by_text("Upload", exact=True).click()
        wait_done(page)
        bad = tmp_path / "vector.svg"
        bad.write_bytes(hostile_files(big=False)["vector.svg"])
        page.locator('input[type="file"]').set_input_files(str(bad))
        wait_done(page)
        assert "not an image file we can read" in page.inner_text("body")
        page.screenshot(path=str(SHOTS / "upload_refused.png"), full_page=True)
        good = tmp_path / "cmyk.jpg"
        good.write_bytes(valid_files()["cmyk.jpg"])
        page.locator('input[type="file"]').set_input_files(str(good))
        wait_done(page)
        body = page.inner_text("body")
        assert "upload cmyk.jpg" in body and "not an image" not in body
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(SHOTS / "upload_ok.png"), full_page=True)
        browser.close()
