"""The server as users start it (`streamlit run app.py`, the README's command) runs with the fast settings:
read back from the running server, through Streamlit's own config API (ui.frame.report_settings)."""

import asyncio
import json

import pytest

from devtools import server


def test_serve_adds_only_where_to_listen():
    cmd = server.server_command("app.py", 8765)
    assert cmd[1:5] == ["-m", "streamlit", "run", "app.py"]
    flags = [a for a in cmd if a.startswith("--")]
    assert flags and set(flags) <= set(server.PLACEMENT_FLAGS), flags


@pytest.mark.slow
def test_streamlit_run_app_reports_the_fast_settings(tmp_path):
    log = tmp_path / "server.log"
    with server.serve(env={"RCM_WORKER": "thread"}, log_path=log) as (url, _proc):
        view = asyncio.run(server.protocol_view(url, "", timeout=120))
        assert view["ok"], view
    line = next(x for x in log.read_text().splitlines() if x.startswith("rcm-demo server settings: "))
    got = json.loads(line.split(": ", 1)[1])
    assert got == {
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "runner.magicEnabled": False,
        "runner.postScriptGC": False,
        "server.maxUploadSize": 20,
    }
