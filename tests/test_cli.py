"""The ``ngshare`` command as an admin meets it: exit codes and one-line messages.

Every test runs the real command in a subprocess (``python -m ngshare``) on a
SQLite file of its own.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from datetime import datetime
from pathlib import Path

from tests.servers import running_server


def ngshare(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ngshare", *args, f"--data-dir={tmp_path / 'data'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=timeout,
    )


def test_jobs_with_an_unknown_action_prints_its_usage_and_exits_2(tmp_path):
    result = ngshare(tmp_path, "jobs", "frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "usage: ngshare jobs list [json] | ngshare jobs run JOB_ID [json]"
    ]


def test_jobs_with_no_action_lists_the_jobs_like_db_and_trash_do(tmp_path):
    result = ngshare(tmp_path, "jobs")
    assert result.returncode == 0, result.stderr
    assert "exchange.purge_deleted" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_bad_prefix_is_one_line_and_exit_2(tmp_path):
    result = ngshare(tmp_path, "--prefix=api")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: prefix must start and end with '/': 'api'"
    ]


def test_a_port_in_use_is_one_line_and_exit_1_before_the_database_is_touched(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = ngshare(tmp_path, f"--port={port}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"cannot start: cannot listen on 127.0.0.1:{port}: Address already in use" in lines[0]
    assert not (tmp_path / "data" / "ngshare.db").exists()


def test_trash_list_uses_the_retention_of_the_config_file(tmp_path):
    (tmp_path / "ngshare_config.py").write_text("c.Exchange.retention_days = 3\n")
    data = tmp_path / "data"
    data.mkdir()
    with running_server(data, "--config=../ngshare_config.py") as base:
        for method in ("POST", "DELETE"):
            request = urllib.request.Request(f"{base}/api/course/c1?user=root", method=method)
            assert json.loads(urllib.request.urlopen(request, timeout=30).read())["success"]
    result = ngshare(tmp_path, "trash", "list")
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)
    deleted, purge = (datetime.fromisoformat(item[k]) for k in ("deleted_at", "purge_after"))
    assert (purge - deleted).days == 3


def test_generate_config_writes_every_class_and_never_overwrites(tmp_path):
    first = ngshare(tmp_path, "--generate-config")
    assert first.returncode == 0, first.stderr
    text = (tmp_path / "ngshare_config.py").read_text()
    for section in ("NgShare", "HubIdentity", "EventBus", "TokenService", "AccountService"):
        assert f"# {section}(" in text, section
    for section in ("NotificationService", "SmtpProvider", "Exchange", "Vivere"):
        assert f"# {section}(" in text, section
    assert "# c.EventBus.allowed_origins" in text
    again = ngshare(tmp_path, "--generate-config")
    assert again.returncode == 1 and "exists" in again.stderr
    assert (tmp_path / "ngshare_config.py").read_text() == text


def test_show_config_shows_what_the_config_file_sets(tmp_path):
    (tmp_path / "ngshare_config.py").write_text("c.Exchange.retention_days = 3\n")
    result = ngshare(tmp_path, "--show-config")
    assert result.returncode == 0, result.stderr
    assert "retention_days = 3" in result.stdout
    as_json = ngshare(tmp_path, "--show-config-json")
    assert json.loads(as_json.stdout)["Exchange"]["retention_days"] == 3


def test_help_all_lists_every_configurable_class(tmp_path):
    result = ngshare(tmp_path, "--help-all")
    assert result.returncode == 0
    for cls in ("NgShare", "HubIdentity", "EventBus", "NotificationService", "Exchange", "Vivere"):
        assert f"{cls}(" in result.stdout, cls
