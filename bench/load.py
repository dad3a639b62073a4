"""Load benchmark (run by hand): N concurrent browser sessions (headless Chromium) against a running
`streamlit run app.py` on loopback; each opens the attack lab with its own seed (no cache hits), runs the
attack and waits for the result. Reports p50/p95 time to result and the error count.

    streamlit run app.py --server.port 8501 &
    python bench/load.py --url http://127.0.0.1:8501 --sessions 1 5 10

Only loopback addresses are accepted.
"""

import argparse
import asyncio
import statistics
import time
from urllib.parse import urlparse

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


async def one_session(browser, url, k, timeout):
    ctx = await browser.new_context(viewport={"width": 1200, "height": 1000})
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(f"{url}/Attack_lab?seed={1000 + k}&eps={4 + k % 5}.0&sample_id={k % 500}", timeout=timeout)
        await page.wait_for_selector('[data-testid="stMetric"]', timeout=timeout)
        quiet = 0
        while quiet < 3:  # script finished: no running indicator for a moment
            busy = await page.locator('[data-testid="stStatusWidget"]').count()
            quiet = 0 if busy else quiet + 1
            await asyncio.sleep(0.2)
        ok = await page.locator('[data-testid="stException"]').count() == 0
        return time.perf_counter() - t0, ok
    except Exception:  # noqa: BLE001 - a load test counts failures, it does not stop at the first
        return time.perf_counter() - t0, False
    finally:
        await ctx.close()


async def run(url, n, timeout):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        results = await asyncio.gather(*[one_session(browser, url, k, timeout) for k in range(n)])
        await browser.close()
    times = sorted(t for t, ok in results if ok)
    errors = sum(not ok for _, ok in results)
    p50 = statistics.median(times) if times else float("nan")
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else float("nan")
    return p50, p95, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10])
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per session")
    a = ap.parse_args()
    host = urlparse(a.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1") and not (host or "").startswith("127."):
        raise SystemExit("load tests only target loopback addresses")
    print("| sessions | p50 time to result (s) | p95 (s) | errors |\n|---|---|---|---|")
    for n in a.sessions:
        p50, p95, errors = asyncio.run(run(a.url, n, a.timeout * 1000))
        print(f"| {n} | {p50:.1f} | {p95:.1f} | {errors} |", flush=True)


if __name__ == "__main__":
    main()
