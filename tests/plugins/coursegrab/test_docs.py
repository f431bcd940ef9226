"""docs/coursegrab.md's walk-through works as written, against vngshare --plugins coursegrab."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import running_server

DOCS = Path(__file__).parents[3] / "docs" / "coursegrab.md"


def block(marker: str, language: str) -> str:
    found = re.search(
        rf"<!-- {marker} -->\s*```{language}\n(.*?)```\s*<!-- /{marker} -->", DOCS.read_text(), re.S
    )
    assert found, marker
    return found.group(1)


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_the_walkthrough_works(tmp_path):
    (tmp_path / "roster.json").write_text(block("roster", "json"))
    args = (
        "--plugins=coursegrab",
        f"--CourseGrab.roster_file={tmp_path / 'roster.json'}",
        "--CourseGrab.poll_interval_seconds=10",
    )
    with running_server(tmp_path, *args) as base:
        port = base.rsplit(":", 1)[1]
        script = block("walkthrough", "bash").replace("127.0.0.1:10101", f"127.0.0.1:{port}")
        script = script.replace("curl -s ", "curl -s -w '\\n' ")
        path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**os.environ, "PATH": path},
        )
    assert done.returncode == 0, done.stderr + done.stdout
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    found, tracked, tracking, outbox = answers
    assert found["data"]["courses"][0]["sections"][1]["status"] == "CLOSED"
    assert tracked["data"]["is_tracking"] is True and tracked["data"]["catalog_num"] == 12403
    assert [s["catalog_num"] for s in tracking["data"]["sections"]] == [12403]
    [message] = outbox["messages"]
    assert (message["channel"], message["to"]) == ("apns", "ad1a" * 16)
    assert message["subject"] == "CS 3110 DIS 212 is Now Open"
    assert message["body"] == "Class Nbr: 12403. Grab your spot right now!"
    assert (message["status"], message["provider"]) == ("sent", "log")
