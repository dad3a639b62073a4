"""What one chart costs a page view in the browser (run by hand): the reference page alone, with one small
plotly chart, and with the same line as a static SVG (``bench/reference_app.py?chart=...``), each opened in
a new tab of the same headless Chromium, interleaved, median of ``--rounds``. This is the measurement behind
the default views' static figures (docs/decisions.md).

    python bench/chart_cost.py [--rounds 7]
"""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from devtools.server import CHROMIUM, CHROMIUM_ARGS, serve, timed  # noqa: E402

VARIANTS = {"reference (one title)": "", "+ one plotly chart": "?chart=plotly", "+ the same line as SVG": "?chart=svg"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    times = {k: [] for k in VARIANTS}
    with serve("bench/reference_app.py") as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.new_page()
        for r in range(a.rounds + 1):  # round 0 warms the server and the browser cache
            for name, q in VARIANTS.items():
                page = ctx.new_page()
                t = timed(page, lambda: page.goto(url + "/" + q))  # noqa: B023 - called at once
                page.close()
                if r:
                    times[name].append(t)
        browser.close()
    ref = statistics.median(times["reference (one title)"])
    print(f"new tab of the same browser, median of {a.rounds}")
    print("| page | median (s) | ratio to reference |\n|---|---|---|")
    for name, v in times.items():
        print(f"| {name} | {statistics.median(v):.2f} | {statistics.median(v) / ref:.2f} |")


if __name__ == "__main__":
    main()
