"""Load benchmark (run by hand): N concurrent real browser sessions (headless Chromium) against
`streamlit run app.py` on loopback. Every session opens the Attack lab on its own bundled image (a URL
with its own sample_id, default attack: PGD-10 at 8/255 on the three default checkpoints), so nothing is
served from cache; the time to result runs from navigation until the verdicts are shown and the script
has finished. Reports p50/p95 and errors per N, the single-session time of the same run, and the
server's peak memory.

    python bench/load.py --sessions 1 10 20 30 --modes worker direct    # starts its own servers
    python bench/load.py --url http://127.0.0.1:8501 --sessions 1 10    # against a running server
    RCM_WORKER=1 python bench/load.py --server-only                     # no browser: AppTest sessions in
    RCM_WORKER=0 python bench/load.py --server-only                     # threads of this process (server cost)

Modes: ``worker`` (the shipped app: one model worker batches all sessions' attacks) and ``direct``
(RCM_WORKER=0: every session attacks in its own thread, the behaviour before the worker). Only loopback
addresses are accepted.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


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


async def run(url, n, timeout_s, offset):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        results = await asyncio.gather(*[one_session(browser, url, k, timeout_s * 1000, offset) for k in range(n)])
        await browser.close()
    times = sorted(t for t, ok in results if ok)
    errors = sum(not ok for _, ok in results)
    p50 = statistics.median(times) if times else float("nan")
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else float("nan")
    return p50, p95, errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(mode: str):
    port = free_port()
    env = {**os.environ, "RCM_WORKER": "1" if mode == "worker" else "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("streamlit did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(url, sessions, timeout_s, label, pid=None):
    asyncio.run(run(url, 1, timeout_s, offset=499))  # warm-up: models loaded, caches of the frame filled
    rows = []
    for k, n in enumerate(sessions):
        p50, p95, errors = asyncio.run(run(url, n, timeout_s, offset=100 * k))
        rows.append((n, p50, p95, errors))
        print(f"| {label} | {n} | {p50:.1f} | {p95:.1f} | {errors} |", flush=True)
    if pid:
        print(f"| {label} | peak server memory | {peak_rss_mb(pid):.0f} MB | | |", flush=True)
    return rows


def server_only(sessions, label):
    """The server's share alone: N AppTest sessions of the Attack lab in threads of this process (no
    browser rendering on the same cores), each on its own image."""
    from concurrent.futures import ThreadPoolExecutor

    from streamlit.testing.v1 import AppTest

    def one(k):
        at = AppTest.from_file(str(ROOT / "pages" / "1_Attack_lab.py"), default_timeout=600)
        at.query_params["sample_id"] = str((3 + 37 * k) % 500)
        t = time.perf_counter()
        at.run()
        return time.perf_counter() - t, not at.exception

    one(499)  # warm-up
    for n in sessions:
        with ThreadPoolExecutor(max_workers=n) as pool:
            res = list(pool.map(one, [1000 * n + k for k in range(n)]))
        times = sorted(t for t, ok in res if ok)
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(
            f"| {label} (server only) | {n} | {statistics.median(times):.1f} | {p95:.1f} | "
            f"{sum(not ok for _, ok in res)} |",
            flush=True,
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="", help="a running server (else one is started per mode)")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 20, 30])
    ap.add_argument("--modes", nargs="+", default=["worker", "direct"], choices=["worker", "direct"])
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds per session")
    ap.add_argument("--server-only", action="store_true", help="AppTest sessions in threads, no browser")
    a = ap.parse_args()
    print(f"{os.cpu_count()} cores; Attack lab default view, one bundled image per session")
    print("| mode | sessions | p50 time to result (s) | p95 (s) | errors |\n|---|---|---|---|---|")
    if a.server_only:
        sys.path.insert(0, str(ROOT))
        server_only(a.sessions, "worker" if os.environ.get("RCM_WORKER", "1") != "0" else "direct")
        return
    if a.url:
        host = urlparse(a.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1") and not (host or "").startswith("127."):
            raise SystemExit("load tests only target loopback addresses")
        measure(a.url, a.sessions, a.timeout, "given server")
        return
    for mode in a.modes:
        proc, url = start_server(mode)
        try:
            measure(url, a.sessions, a.timeout, mode, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
