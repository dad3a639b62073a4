"""Default-view screenshots for the docs (run by hand after a change to a page or to the zoo):
each page opened in headless Chromium against `streamlit run app.py`, waited on until its script has
finished, and photographed at 1400 px wide (and at 1024×768, a projector) with a viewport tall enough for
what the docs show (Streamlit scrolls inside its own container, so a short viewport's "full page" shot
shows only the top).

    python -m devtools.screenshots                 # all of them, into docs/
    python -m devtools.screenshots --only home     # one of them
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from devtools.server import CHROMIUM, CHROMIUM_ARGS, ROOT, serve, wait_done

# file in docs/ -> (page path, viewport width, height): heights show each page's default view down to its
# first figure row, as docs/pages.md describes them; "*_projector" is what a 1024x768 projector shows first.
SHOTS = {
    "home": ("", 1400, 2600),
    "home_projector": ("", 1024, 768),
    "attack_lab": ("Attack_lab", 1400, 1320),
    "energy": ("Feature_map_energy", 1400, 1800),
    "pooling_synthetic": ("Pooling_lab", 1400, 1800),
    "model_zoo": ("Model_zoo", 1400, 2600),
    "lesson_step5": ("Lesson?step=5", 1400, 1700),
    "lesson_step5_projector": ("Lesson?step=5", 1024, 768),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=sorted(SHOTS), help="these screenshots only")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    with serve() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in args.only or SHOTS:
            path, width, height = SHOTS[name]
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{url}/{path}")
            wait_done(page)
            page.wait_for_timeout(1000)  # plotly draws after the script has finished
            out = args.out_dir / f"{name}.png"
            page.screenshot(path=str(out))
            print(out)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
