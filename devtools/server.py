"""Development tooling, not part of the library: a local Streamlit server started exactly as the README
starts the app, page-timing helpers for the browser test and the benchmarks (they take a Playwright
page), and a client of Streamlit's websocket protocol.

    with serve(env={"RCM_WORKER": "off"}) as (url, proc):
        page.goto(url + "/Attack_lab"); wait_done(page)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The only flags serve() adds to the README's `streamlit run app.py`: where to listen. Everything that
# changes how the server performs (watcher, magic, GC, upload limit) comes from .streamlit/config.toml, as
# for a user; tests/test_layering.py holds serve() to this.
PLACEMENT_FLAGS = ("--server.port", "--server.address")
CHROMIUM = "/usr/bin/chromium"  # Debian's package: browser downloads are not available here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]
# Every page's URL path, Home first: the file name without its order prefix (pages/1_Attack_lab.py ->
# "Attack_lab"), as Streamlit serves it.
PAGES = ["", *(p.stem.split("_", 1)[1] for p in sorted((ROOT / "pages").glob("*.py")))]
# Running, computing, or elements not drawn yet: while any of these is on the page it is not done.
BUSY = ("stStatusWidget", "stSpinner", "stSkeleton")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(script: str, port: int) -> list[str]:
    """The README's command, ``streamlit run app.py``, on a loopback port: nothing else."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]


@contextlib.contextmanager
def serve(
    script: str = "app.py",
    env: dict | None = None,
    log_path: Path | None = None,
    cpus: str | None = None,
    root: Path | None = None,
):
    """``streamlit run script`` as the README starts it (the project's .streamlit/config.toml decides
    everything but the port) on a free loopback port. Output goes to ``log_path`` (or is discarded),
    never to an unread pipe, which would block the server once full. ``cpus``: pin the server to these
    cores with ``taskset`` (e.g. "1"). ``root``: serve another checkout (a benchmark's reference). Yields
    (url, process); killed after a grace period on exit."""
    port = free_port()
    cmd = server_command(script, port)
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        cmd, cwd=root or ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(480):
            if proc.poll() is not None:
                break
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.25)
        else:
            raise RuntimeError("streamlit did not start")
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path else ""
            raise RuntimeError(f"streamlit exited with {proc.returncode}: {tail}")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if log_path:
            log.close()


def wait_done(page, timeout: float = 240, quiet_s: float = 1.0) -> float:
    """Wait until the page is drawn and its script run is finished: its title is there and there is no
    running indicator, spinner or placeholder skeleton for ``quiet_s``. Returns the moment the page
    first became quiet (time.perf_counter). (Before the front end has connected there is no running
    indicator either: without the title check a quiet moment then was taken for a finished page.)"""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=60_000)
    quiet_since, t0 = None, time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        drawn = page.locator('[data-testid="stHeading"]').count() > 0
        busy = not drawn or sum(page.locator(f'[data-testid="{t}"]').count() for t in BUSY)
        now = time.perf_counter()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_s:
            return quiet_since
        time.sleep(0.05)
    raise TimeoutError("page still running")


def timed(page, action, settle_ms: int = 300) -> float:
    """Seconds from ``action()`` until the page is drawn and quiet (``wait_done``)."""
    t = time.perf_counter()
    action()
    page.wait_for_timeout(settle_ms)  # let the rerun start before watching for quiet
    return wait_done(page) - t


def _descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *_descendants(k)]
    return out


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the server process, by its child processes (the model
    process) and by the whole machine (every process, from /proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")

    def proc(p):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    machine = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(v) for i, v in enumerate(machine[:8]) if i not in (3, 4))  # all but idle and iowait
    return {"server": proc(pid), "children": sum(proc(k) for k in _descendants(pid)), "machine": busy / tick}


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of the server and of its child processes (the model process), summed:
    an upper bound of what they held at once."""
    total = 0.0
    for p in [pid, *_descendants(pid)]:
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:  # ended meanwhile
            continue
        total += sum(int(line.split()[1]) / 1024 for line in lines if line.startswith("VmHWM:"))
    return total or float("nan")


async def protocol_view(url: str, page_name: str, query: str = "", timeout: float = 240) -> dict:
    """Open one page as a new session over Streamlit's own websocket protocol, without a browser (the
    front end's first message: rerun the script with the page and the query string), and wait until the
    script has finished. This is the server's side of a page view, as seen by a student whose browser
    runs on their own machine. Returns seconds, the exceptions and the alert texts the page showed."""
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    t0 = time.perf_counter()
    exceptions, alerts = [], []
    async with websockets.connect(
        url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], max_size=None
    ) as ws:
        back = BackMsg()
        back.rerun_script.query_string = query
        back.rerun_script.page_name = page_name
        await ws.send(back.SerializeToString())
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await asyncio.wait_for(ws.recv(), timeout))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                if element.WhichOneof("type") == "exception":
                    exceptions.append(element.exception.message)
                elif element.WhichOneof("type") == "alert":
                    alerts.append(element.alert.body)
            elif kind == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                ok = msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY and not exceptions
                return {"seconds": time.perf_counter() - t0, "ok": ok, "exceptions": exceptions, "alerts": alerts}
