"""Page-view benchmark (run by hand): the time to open each page's default view in a tab of headless
Chromium against `streamlit run app.py`, until the page is drawn and its script has finished
(`devtools.server.wait_done`), median of repeats, with a one-title Streamlit page
(`bench/reference_app.py`) timed the same way in the same run as the reference.

    python bench/page_views.py                  # 5 rounds, open tab (same tab navigates between pages)
    python bench/page_views.py --new-tab        # every view in a new tab of the same browser (cache warm)
    python bench/page_views.py --fresh          # every view in a new browser context (a first visit)
    python bench/page_views.py --server-cpus 1 --browser-cpus 0   # server and browser on separate cores

The first round after the server starts (imports, model loading) is reported apart; rounds cycle
through the pages so that no page profits from being opened twice in a row.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from devtools.server import CHROMIUM, CHROMIUM_ARGS, PAGES, serve, timed  # noqa: E402


def view(browser, page, url, how):
    if how != "open tab":
        p = browser.new_page() if how == "fresh" else page.context.new_page()  # browser.new_page: a new context
        p.set_viewport_size({"width": 1400, "height": 1000})
        try:
            return timed(p, lambda: p.goto(url))
        finally:
            p.close()
    return timed(page, lambda: page.goto(url))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--new-tab", action="store_true", help="a new tab of the same browser for every view")
    ap.add_argument("--fresh", action="store_true", help="a new browser context (empty cache) for every view")
    ap.add_argument("--server-cpus", default=None, help="taskset core list for the server, e.g. 1")
    ap.add_argument("--browser-cpus", default=None, help="taskset core list for Chromium, e.g. 0")
    ap.add_argument("--json", default="", help="also write the figures to this file")
    a = ap.parse_args()
    how = "fresh" if a.fresh else "new tab" if a.new_tab else "open tab"
    from playwright.sync_api import sync_playwright

    if a.browser_cpus:  # Chromium inherits this process's affinity
        os.sched_setaffinity(0, {int(c) for c in a.browser_cpus.split(",")})
    times = {name: [] for name in PAGES + ["reference"]}
    first = {}
    with serve(cpus=a.server_cpus) as (url, _), serve("bench/reference_app.py", cpus=a.server_cpus) as (ref, _):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # A context of its own for the open tab, so that "new tab" can open more pages in it.
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            for name in PAGES:
                first[name or "Home"] = view(browser, page, f"{url}/{name}", how)
            view(browser, page, ref, how)
            for _ in range(a.rounds):
                times["reference"].append(view(browser, page, ref, how))
                for name in PAGES:
                    times[name].append(view(browser, page, f"{url}/{name}", how))
            browser.close()
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"], capture_output=True, text=True)
    print(
        f"{os.cpu_count()} cores ({cpu.stdout.split(':')[-1].strip()}); {how}; "
        f"median of {a.rounds}; server cores {a.server_cpus or 'all'}, browser cores {a.browser_cpus or 'all'}"
    )
    ref_s = statistics.median(times["reference"])
    print("| page | first view after start (s) | median (s) | max (s) | ratio to reference |\n|---|---|---|---|---|")
    out = []
    for name in PAGES + ["reference"]:
        label = name or "Home"
        med, mx = statistics.median(times[name]), max(times[name])
        f = f"{first[label]:.2f}" if label in first else ""
        print(f"| {label.replace('_', ' ')} | {f} | {med:.2f} | {mx:.2f} | {med / ref_s:.2f} |")
        out.append({"page": label, "first_s": first.get(label), "median_s": med, "max_s": mx, "ratio": med / ref_s})
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
