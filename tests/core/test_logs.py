"""What the server logs: start-up lines per mode, the access log, text and JSON styles.

The server runs as a real process (``tests/servers.py``); its stderr is the log.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from pathlib import Path
from urllib.error import HTTPError

from ngshare.logs import JsonLogFormatter
from ngshare.startup_log import redacted_url
from tests.servers import running_server

#: A text line: level initial, date and time with milliseconds, logger, message.
TEXT_LINE = re.compile(r"^\[[DIWEC] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [\w.]+\] ")


def get(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=30).status
    except HTTPError as e:
        return e.code


def server_log(data_dir: Path) -> list[str]:
    (log,) = data_dir.glob("*ngshare-*.log")
    return log.read_text().splitlines()


def test_a_production_server_says_how_it_runs_and_why_it_refuses_everyone(tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    with running_server(tmp_path, command="ngshare") as base:
        assert get(base + "/api/courses") == 401
        assert get(base + "/api/healthz") == 200
    lines = server_log(tmp_path)
    ours = [line for line in lines if TEXT_LINE.match(line)]
    assert ours and len(ours) == len(lines), "every line has a level and a timestamp"
    text = "\n".join(lines)
    assert "identity: none - every request that needs a caller is refused (401): " in text
    assert "$JUPYTERHUB_API_TOKEN is not set" in text
    assert f"database: sqlite:///{tmp_path}/ngshare.db" in text
    assert f"storage: {tmp_path}/files" in text
    assert "plugins: exchange " in text
    assert re.search(r"listening on http://127\.0\.0\.1:\d+/api/", text)
    assert re.search(r"\[W [^]]+ ngshare\.access\] 401 GET /api/courses \(-@127\.0\.0\.1\) ", text)
    assert re.search(r"\[I [^]]+ ngshare\.access\] 200 GET /api/healthz ", text)


def test_json_style_gives_one_object_per_line_with_the_access_fields(tmp_path):
    with running_server(tmp_path, "--NgShare.log_style=json", "--plugins=vivere") as base:
        assert get(base + "/api/courses?user=kevin&token=never-logged") == 200
    entries = [json.loads(line) for line in server_log(tmp_path)]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    (access,) = [e for e in entries if e.get("path") == "/api/courses"]
    assert access["logger"] == "ngshare.access" and access["level"] == "INFO"
    assert (access["method"], access["status"], access["user"]) == ("GET", 200, "kevin")
    assert access["duration_ms"] >= 0 and access["time"].endswith("+00:00")
    assert not any("never-logged" in json.dumps(e) for e in entries)
    starts = [e["message"] for e in entries if e["logger"] == "VNgShare"]
    assert any(m.startswith("identity: dev") for m in starts)
    assert any(m.startswith("plugins: exchange") and "vivere" in m for m in starts)


def test_the_database_password_is_never_shown():
    shown = redacted_url("postgresql+psycopg://ngshare:s3cret@db.example:5432/ngshare")
    assert "s3cret" not in shown and "ngshare:***@db.example" in shown


def test_an_exception_goes_into_the_json_object():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, True)
        import sys

        record.exc_info = sys.exc_info()
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["message"] == "failed" and "ValueError: boom" in entry["exception"]
