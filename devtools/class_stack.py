"""The whole class stack on one machine, loopback only: a Ray head, the Serve application (``rcm_demo.serve.
ray_app``), N Streamlit web replicas started exactly as the README starts the app (``streamlit run app.py``,
with ``RCM_BACKEND=ray``), and Debian's nginx in front with cookie affinity and websocket upgrades.

    python -m devtools.class_stack --replicas 2 --port 8600     # until Ctrl-C; then open http://127.0.0.1:8600
    with class_stack(replicas=2) as (url, info): ...            # bench/class_load.py

Affinity: nginx hashes a cookie (``rcm_replica``) that it sets on a browser's first request (a random
``$request_id``), so every request of that browser (page, static files, the websocket ``/_stcore/stream``,
media) reaches the same replica; a client that opens only the websocket is kept on its replica by the
connection itself. ``/_stcore/health`` through nginx answers once a replica is up; each replica's own port
too. Logs go to a temporary folder named on start (nginx, each replica, the deploy).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from devtools.server import ROOT, free_port, server_command

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian's package

NGINX_CONF = """worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  client_max_body_size 16m;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  map $cookie_rcm_replica $rcm_key {{ "" $request_id; default $cookie_rcm_replica; }}
  upstream streamlit {{
    hash $rcm_key consistent;
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://streamlit;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
      proxy_buffering off;
      add_header Set-Cookie "rcm_replica=$rcm_key; Path=/; HttpOnly; SameSite=Lax" always;
    }}
  }}
}}
"""


def _wait_ok(url: str, what: str, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if urllib.request.urlopen(url, timeout=1).read() == b"ok":
                return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{what} did not answer at {url}")


@contextlib.contextmanager
def class_stack(replicas: int = 2, serve_replicas: int = 1, threads: int = 1, port: int = 0, cpus: int = 0):
    """Start the stack; yields (proxy url, info: ray address, replica urls, log folder); stops it all."""
    tmp = Path(tempfile.mkdtemp(prefix="rcm-class-"))
    procs: list[subprocess.Popen] = []
    ray_port = free_port()
    address = f"127.0.0.1:{ray_port}"  # Ray's own processes announce the machine's address; web traffic: loopback
    # Token authentication (Ray's default since 2.5x) off: everything here is one machine's own processes.
    # A real cluster keeps it on and gives every node and web replica the token (docs/operations.md).
    env = {**os.environ, "RCM_BACKEND": "ray", "RCM_RAY_ADDRESS": address, "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "disabled"}  # fmt: skip
    ray = [sys.executable, "-m", "ray.scripts.scripts"]
    try:
        subprocess.run(
            [*ray, "start", "--head", f"--port={ray_port}",
             f"--num-cpus={cpus or os.cpu_count()}", "--include-dashboard=false", "--disable-usage-stats"],
            check=True, cwd=ROOT, env=env, stdout=open(tmp / "ray-start.log", "wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "rcm_demo.serve.ray_app", "--address", address, "--replicas", str(serve_replicas),
             "--threads", str(threads)],
            check=True, cwd=ROOT, env=env, stdout=open(tmp / "deploy.log", "wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        ports = [free_port() for _ in range(replicas)]
        for i, p in enumerate(ports):
            log = open(tmp / f"replica-{i}.log", "wb")
            procs.append(subprocess.Popen(server_command("app.py", p), cwd=ROOT, env=env, stdout=log, stderr=log))
        for p in ports:
            _wait_ok(f"http://127.0.0.1:{p}/_stcore/health", f"web replica on port {p}")
        port = port or free_port()
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in ports)
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, port=port, servers=servers))
        procs.append(subprocess.Popen([NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"]))
        url = f"http://127.0.0.1:{port}"
        _wait_ok(url + "/_stcore/health", "nginx")
        yield url, {"ray_address": address, "replicas": [f"http://127.0.0.1:{p}" for p in ports], "logs": tmp}
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(15)
            if p.poll() is None:
                p.kill()
        subprocess.run([*ray, "stop", "--force"], cwd=ROOT, env=env, capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=2, help="Streamlit web replicas behind nginx")
    ap.add_argument("--serve-replicas", type=int, default=1, help="ModelService replicas in Ray Serve")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per ModelService replica")
    ap.add_argument("--port", type=int, default=8600, help="nginx's loopback port")
    a = ap.parse_args()
    with class_stack(a.replicas, a.serve_replicas, a.threads, a.port) as (url, info):
        print(f"the class stack is up at {url} ({len(info['replicas'])} web replicas, Ray at {info['ray_address']}; "
              f"logs in {info['logs']}); Ctrl-C stops it", flush=True)  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)


if __name__ == "__main__":
    main()
