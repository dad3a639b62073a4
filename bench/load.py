"""Load benchmark (run by hand): N concurrent sessions against `streamlit run app.py` on loopback. Every
session opens the Attack lab on its own bundled image (a URL with its own sample_id; default attack
PGD-10 at 8/255 on the three default checkpoints), so nothing is served from cache. Two kinds of client:

- ``protocol``: each session speaks Streamlit's websocket protocol itself, as the front end does (asks
  for the page with its query string, reads the messages until the script has finished), without a
  browser. This is the class as the server sees it: each student's browser draws on its own machine.
- ``browser``: N real sessions in headless Chromium on the *same* machine (time from navigation until
  the verdicts are shown and the script has finished): the browsers' drawing then competes with the
  server for the same cores.

Reports p50/p95 time to result and errors per N, the single-session time of the same run, the server's
peak memory (with its model process), and the CPU seconds each round used: the server process, its model
process, and the whole machine (clients included). The whole machine's CPU divided by the cores is a
floor under the round's time: no schedule finishes the round's work sooner on these cores.

    python bench/load.py --sessions 1 10 20 30 --modes process thread direct --clients protocol browser
    python bench/load.py --url http://127.0.0.1:8501 --sessions 1 10    # against a running server

Modes (``RCM_WORKER``): ``process`` (one model worker batches all sessions' attacks and computes the batches
in its model process: the default on 3+ cores), ``thread`` (the same worker computing in its light-lane
thread inside the server: the default on 2 cores) and ``direct`` (RCM_WORKER=off: every session attacks
in its own thread, the behaviour before the worker). Only loopback addresses are accepted.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from devtools.server import CHROMIUM, CHROMIUM_ARGS, cpu_seconds, peak_rss_mb, protocol_view, serve  # noqa: E402

MODES = {"process": "process", "thread": "thread", "direct": "off"}  # bench label -> RCM_WORKER


async def one_session(browser, url, k, timeout_ms, offset):
    ctx = await browser.new_context(viewport={"width": 1200, "height": 1000})
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(f"{url}/Attack_lab?sample_id={(offset + 37 * k) % 500}", timeout=timeout_ms)
        await page.get_by_text("computed live").first.wait_for(timeout=timeout_ms)
        quiet = 0
        while quiet < 3:  # script finished: no running indicator for a moment
            busy = await page.locator('[data-testid="stStatusWidget"]').count()
            quiet = 0 if busy else quiet + 1
            await asyncio.sleep(0.2)
        body = await page.inner_text("body")
        ok = await page.locator('[data-testid="stException"]').count() == 0 and "busy" not in body
        return time.perf_counter() - t0 - 0.6, ok  # minus the quiet window
    except Exception:  # noqa: BLE001 - a load test counts failures, it does not stop at the first
        return time.perf_counter() - t0, False
    finally:
        await ctx.close()


async def one_protocol_session(url, k, timeout_s, offset):
    try:
        r = await protocol_view(url, "Attack_lab", f"sample_id={(offset + 37 * k) % 500}", timeout_s)
        return r["seconds"], r["ok"] and not any("busy" in a for a in r["alerts"])
    except Exception:  # noqa: BLE001 - a load test counts failures, it does not stop at the first
        return float("nan"), False


async def run(url, n, timeout_s, offset, client="browser"):
    if client == "protocol":
        results = await asyncio.gather(*[one_protocol_session(url, k, timeout_s, offset) for k in range(n)])
    else:
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results = await asyncio.gather(*[one_session(browser, url, k, timeout_s * 1000, offset) for k in range(n)])
            await browser.close()
    times = sorted(t for t, ok in results if ok)
    errors = sum(not ok for _, ok in results)
    p50 = statistics.median(times) if times else float("nan")
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else float("nan")
    return p50, p95, errors


def measure(url, sessions, timeout_s, label, pid=None, client="browser", offset=0, settle_s=5.0):
    asyncio.run(run(url, 1, timeout_s, 499, client))  # warm-up: models loaded, caches of the frame filled
    time.sleep(settle_s)  # let the background work the first view starts (whole-sample predictions) finish
    rows = []
    cores = len(os.sched_getaffinity(0))
    for k, n in enumerate(sessions):
        before = cpu_seconds(pid or os.getpid())
        p50, p95, errors = asyncio.run(run(url, n, timeout_s, offset + 100 * k, client))
        used = {key: v - before[key] for key, v in cpu_seconds(pid or os.getpid()).items()}
        rows.append((n, p50, p95, errors))
        cpu = f"{used['server']:.1f} | {used['children']:.1f} | {used['machine']:.1f} | {used['machine'] / cores:.1f}"
        print(f"| {label} | {n} | {p50:.1f} | {p95:.1f} | {errors} | {cpu if pid else '| | |'} |", flush=True)
    if pid:
        print(f"| {label} | peak server memory {peak_rss_mb(pid):.0f} MB | | | |", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="", help="a running server (else one is started per mode)")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 20, 30])
    ap.add_argument("--modes", nargs="+", default=["process", "thread", "direct"], choices=list(MODES))
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds per session")
    ap.add_argument("--clients", nargs="+", default=["protocol", "browser"], choices=["protocol", "browser"])
    a = ap.parse_args()
    print(f"{os.cpu_count()} cores; Attack lab default view, one bundled image per session")
    print(
        "| server | clients | sessions | p50 time to result (s) | p95 (s) | errors | server CPU (s) "
        "| model process CPU (s) | machine CPU (s) | machine CPU / cores (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    if a.url:
        host = urlparse(a.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1") and not (host or "").startswith("127."):
            raise SystemExit("load tests only target loopback addresses")
        for i, client in enumerate(a.clients):
            measure(a.url, a.sessions, a.timeout, f"given server | {client}", client=client, offset=50 * i)
        return
    for mode in a.modes:
        # A fresh server per mode and kind of client: the second must not find the first one's results cached.
        for client in a.clients:
            with serve(env={"RCM_WORKER": MODES[mode]}) as (url, proc):
                measure(url, a.sessions, a.timeout, f"{mode} | {client}", proc.pid, client)


if __name__ == "__main__":
    main()
