"""docs/ekatra.md's walk-through works as written, against a real vngshare --plugins ekatra."""

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

DOCS = Path(__file__).parents[3] / "docs" / "ekatra.md"


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
        "--plugins=ekatra",
        "--Ekatra.day_seconds=10",  # the docs use 60: the same steps, six times faster
        "--Ekatra.twilio_auth_token=walkthrough-secret",
    )
    with running_server(tmp_path, *args) as base:
        port = base.rsplit(":", 1)[1]
        script = block.replace("127.0.0.1:10101", f"127.0.0.1:{port}")
        script = script.replace("timedelta(seconds=60)", "timedelta(seconds=3)")
        script = script.replace("sleep 3", "sleep 1")
        script = script.replace("curl -s ", "curl -s -w '\\n' ")
        path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,
            env={**os.environ, "PATH": path},
        )
    assert done.returncode == 0, done.stderr + done.stdout
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    answers = [json.loads(line) for line in lines if line.startswith('{"message"')]
    signup, course, group, delivery, listed, *rest = answers
    assert signup["message"] == "Success"
    assert course["message"] == "Course created successfully"
    assert (group["message"], delivery["message"]) == ("Success", "Success")
    assert listed["deliveries"][0]["status"] == "SCHEDULED"
    recorded, summary, final = rest
    (answer,) = recorded["answers"]
    assert (answer["student_name"], answer["day"], answer["answer"], answer["is_correct"]) == (
        "Tejas",
        1,
        "b",
        True,
    )
    assert summary["days"][0] == {
        "day": 1,
        "sent": 2,
        "late": 0,
        "skipped": 0,
        "answers": 1,
        "correct": 1,
        "incorrect": 0,
    }
    assert final["status"] == "COMPLETED"
    assert final["progress"]["days_sent"] == 2
    outbox = [line.split() for line in lines if re.match(r"^\d{4}-\d\d-\d\dT", line)]
    assert len(outbox) == 10 and all(row[2] == "sent" for row in outbox)
    assert sorted(row[1] for row in outbox) == ["+12125550100"] * 5 + ["whatsapp:+919380169981"] * 5
    assert '<?xml version="1.0" encoding="UTF-8"?><Response/>' in lines
