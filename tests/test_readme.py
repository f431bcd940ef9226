"""The README's curl walk-through works as written."""

import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.servers import running_server

README = Path(__file__).parent.parent / "README.md"


def _page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/html")
        return r.read().decode()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_curl_walkthrough_works(tmp_path):
    block = re.search(
        r"<!-- walkthrough -->\s*```bash\n(.*?)```\s*<!-- /walkthrough -->",
        README.read_text(),
        re.S,
    ).group(1)
    with running_server(tmp_path) as base:
        port = base.rsplit(":", 1)[1]
        script = block.replace("127.0.0.1:10101", f"127.0.0.1:{port}")
        script = script.replace("curl -s ", "curl -s -w '\\n' ")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
        )
        dashboard = _page(base + "/api/ui/course1/ps1?user=kevin")
    assert done.returncode == 0, done.stderr
    # the page the walk-through ends on shows what the API said
    alice = re.search(r'<tr data-student="alice">(.*?)</tr>', dashboard, re.S).group(1)
    assert re.search(r'data-col="submissions">1<', alice)
    assert re.search(r'data-col="fetched"[^>]*>yes<', alice)
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(answers) == 8
    assert all(a["success"] is True for a in answers), answers
    assert answers[3] == {"success": True, "assignments": ["ps1"]}
    assert answers[4]["files"][0]["path"] == "problem1.ipynb"
    submitted = answers[5]["timestamp"]
    assert answers[6]["submissions"] == [{"student_id": "alice", "timestamp": submitted}]
    assert answers[7]["files"] == [
        {"path": "problem1.ipynb", "checksum": answers[4]["files"][0]["checksum"]}
    ]
