"""docs/vivere.md's walk-through works as written, against a real vngshare --plugins vivere."""

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

DOCS = Path(__file__).parents[3] / "docs" / "vivere.md"


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl"
)
def test_the_walkthrough_works(tmp_path):
    block = re.search(
        r"<!-- walkthrough -->\s*```bash\n(.*?)```\s*<!-- /walkthrough -->",
        DOCS.read_text(),
        re.S,
    ).group(1)
    args = (
        "--plugins=vivere",
        "--Vivere.twilio_auth_token=walkthrough-secret",
        "--Vivere.organiser_phone_numbers=+16505550100",
    )
    with running_server(tmp_path, *args) as base:
        port = base.rsplit(":", 1)[1]
        script = block.replace("127.0.0.1:10101", f"127.0.0.1:{port}")
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
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    answers = [json.loads(line) for line in lines if line.startswith('{"data"')]
    assert all(a["success"] is True for a in answers), answers
    created, ticket, queue, claimed, closed, mine, *rest = answers
    assert created["data"]["token"].startswith("ngs_")
    assert ticket["data"]["is_mine"] is True and queue["data"] == [
        {**ticket["data"], "is_mine": False}
    ]
    assert claimed["data"]["claimed_by_me"] is True
    assert closed["data"]["time_complete"] is not None
    assert [t["id"] for t in mine["data"]["tickets"]["closed"]] == ["1"]
    location, mapped, event, events, announced, listed = rest
    assert mapped["data"]["map"].endswith("/api/vivere/location/image/1")
    assert events["data"] == [event["data"]]
    assert [a["message"] for a in listed["data"]] == [
        "Dinner is served",
        "Opening ceremony in 10 minutes",
    ]
    assert '<?xml version="1.0" encoding="UTF-8"?><Response/>' in lines
    live = [json.loads(line) for line in lines if line.startswith('{"channel"')]
    assert [e["event"] for e in live] == ["ticket.created", "ticket.claimed", "ticket.closed"]
    streamed = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    assert [e["data"]["message"] for e in streamed] == [
        "Opening ceremony in 10 minutes",
        "Dinner is served",
    ]
