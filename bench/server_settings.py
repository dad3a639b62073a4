"""Server-side cost of a page view (run by hand), as users start the app against a variant, in the same run.

Each page's default view is opened from a new session over Streamlit's own websocket protocol (the
server's side of a page view, no browser), one at a time, ``--rounds`` times, after one warm-up view of
every page. Both servers run `streamlit run app.py` from the project's config; the variant differs in
one thing:

    python bench/server_settings.py                              # variant: the file watcher turned back on
    python bench/server_settings.py --variant-root /tmp/old      # variant: another checkout (earlier code)

Prints the median seconds per page for the shipped server and the variant, and their ratio.
"""

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from devtools.server import PAGES, protocol_view, serve  # noqa: E402

QUERY = {"Attack_lab": "sample_id={k}", "Feature_map_energy": "sample_id={k}"}  # a new image per view: no cache


def views(url: str, rounds: int, offset: int) -> dict[str, list[float]]:
    out = {p or "Home": [] for p in PAGES}
    for p in PAGES:  # warm-up: imports, models, the whole-sample predictions the first view starts
        asyncio.run(protocol_view(url, p, "", 240))
    time.sleep(5)
    for r in range(rounds):
        for p in PAGES:
            q = QUERY.get(p, "").format(k=(offset + 37 * r) % 500)
            v = asyncio.run(protocol_view(url, p, q, 240))
            if not v["ok"]:
                raise RuntimeError(f"{p or 'Home'}: {v['exceptions'] or v['alerts']}")
            out[p or "Home"].append(v["seconds"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--variant-root", default="", help="a checkout to serve as the variant (default: this one)")
    a = ap.parse_args()
    if a.variant_root:
        variant, env = "checkout " + Path(a.variant_root).name, {}
    else:
        variant, env = "file watcher on", {"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "auto"}
    results = {}
    # Interleaved by server, not by page: each server is measured while the other is stopped.
    with serve() as (url, _):
        results["shipped"] = views(url, a.rounds, 0)
    with serve(env=env, root=Path(a.variant_root) if a.variant_root else None) as (url, _):
        results[variant] = views(url, a.rounds, 0)
    print(f"median of {a.rounds} protocol views per page, one at a time; variant: {variant}")
    print(f"| page | shipped (s) | {variant} (s) | variant / shipped |")
    print("|---|---|---|---|")
    for p in results["shipped"]:
        s, v = (statistics.median(results[k][p]) for k in ("shipped", variant))
        print(f"| {p} | {s:.3f} | {v:.3f} | {v / s:.2f}x |")


if __name__ == "__main__":
    main()
