"""``ngshare-course`` against a real vngshare: output, exit status, per-row reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ngshare.clients.coursectl import main, table


@pytest.fixture
def ctl(api_url, capsys, tmp_path, monkeypatch):
    """``ctl(user, *args)`` -> (exit status, stdout, stderr), run in a fresh folder.

    Enrolling writes the nbgrader gradebook of the current folder: each test has its own.
    """
    monkeypatch.chdir(tmp_path)

    def run(user: str, *args: str) -> tuple[int, str, str]:
        status = main(["--url", api_url, "--token", "", "--dev-user", user, *args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_admin_creates_a_course_and_lists_it(ctl):
    assert ctl("root", "create-course", "ctl1", "kevin", "lisa")[:2] == (
        0,
        "Created course ctl1 taught by kevin, lisa\n",
    )
    status, out, _ = ctl("kevin", "--json", "courses")
    assert (status, json.loads(out)) == (0, ["ctl1"])
    status, out, _ = ctl("kevin", "instructors", "ctl1")
    assert status == 0
    assert out.splitlines()[0].split() == ["username", "first_name", "last_name", "email"]
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["kevin", "lisa"]


def test_failure_prints_the_servers_message_and_exits_1(ctl):
    status, out, err = ctl("kevin", "create-course", "nope")
    assert (status, out) == (1, "")
    assert err == "ngshare-course: error: Permission denied (not admin)\n"
    assert ctl("root", "delete-course", "never-made")[2].endswith("Course not found\n")


def test_instructors_with_names_added_and_removed(ctl):
    ctl("root", "create-course", "ctl2", "kevin")
    args = ["--first-name", "Lisa", "--last-name", "L", "--email", "lisa@x.org"]
    assert ctl("root", "add-instructor", "ctl2", "lisa", *args)[0] == 0
    status, out, _ = ctl("kevin", "--json", "instructors", "ctl2")
    assert json.loads(out)[1] == {
        "username": "lisa",
        "first_name": "Lisa",
        "last_name": "L",
        "email": "lisa@x.org",
    }
    assert ctl("kevin", "remove-instructor", "ctl2", "lisa")[2].endswith(
        "Permission denied (not admin)\n"
    )
    assert ctl("root", "remove-instructor", "ctl2", "lisa")[0] == 0
    assert "lisa" not in ctl("kevin", "instructors", "ctl2")[1]


def test_students_added_one_with_names_several_without_and_removed(ctl):
    ctl("root", "create-course", "ctl3", "kevin")
    assert ctl("kevin", "add-student", "ctl3", "alice", "--first-name", "Alice")[0] == 0
    status, out, err = ctl("kevin", "add-student", "ctl3", "bob", "carol", "kevin")
    assert status == 1
    rows = [line.split(None, 2) for line in out.splitlines()[2:]]
    assert rows == [
        ["bob", "yes", "enrolled"],
        ["carol", "yes", "enrolled"],
        ["kevin", "no", "Cannot add instructor as student"],
    ]
    assert "1 of 3 row(s) failed" in err
    assert ctl("kevin", "add-student", "ctl3", "a", "b", "--email", "x")[0] == 2
    status, out, _ = ctl("kevin", "--json", "students", "ctl3")
    students = json.loads(out)
    assert [s["username"] for s in students] == ["alice", "bob", "carol"]
    assert students[0]["first_name"] == "Alice"
    status, out, _ = ctl("kevin", "remove-student", "ctl3", "bob", "nobody")
    assert status == 1
    assert "Student not found" in out and "removed" in out


def test_import_students_reports_each_row(ctl, tmp_path):
    ctl("root", "create-course", "ctl4", "kevin")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\ufeffusername,first_name,last_name,email\n"
        "alice,Alice,Adams,alice@x.org\n"
        ",No,Name,none@x.org\n"
        "kevin,Kevin,K,kevin@x.org\n"
        "bob,Bob,Brown,bob@x.org\n",
        encoding="utf-8",
    )
    status, out, err = ctl("kevin", "--json", "import-students", "ctl4", str(roster))
    assert status == 1
    assert json.loads(out) == [
        {"row": "2", "username": "alice", "success": True, "message": "enrolled"},
        {"row": "3", "username": "", "success": False, "message": "no username"},
        {"row": "4", "username": "kevin", "success": False,
         "message": "Cannot add instructor as student"},
        {"row": "5", "username": "bob", "success": True, "message": "enrolled"},
    ]  # fmt: skip
    status, out, _ = ctl("kevin", "--json", "students", "ctl4")
    assert json.loads(out) == [
        {"username": "alice", "first_name": "Alice", "last_name": "Adams", "email": "alice@x.org"},
        {"username": "bob", "first_name": "Bob", "last_name": "Brown", "email": "bob@x.org"},
    ]


def test_import_students_all_good_exits_0_and_bad_files_exit_2(ctl, tmp_path):
    ctl("root", "create-course", "ctl5", "kevin")
    good = tmp_path / "good.csv"
    good.write_text("email,username\nd@x.org,dan\n")
    status, out, _ = ctl("kevin", "import-students", "ctl5", str(good))
    assert status == 0 and "dan" in out and "enrolled" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("name,mail\nx,y\n")
    status, _, err = ctl("kevin", "import-students", "ctl5", str(bad))
    assert status == 2 and "'username' or 'student_id'" in err
    assert ctl("kevin", "import-students", "ctl5", str(tmp_path / "missing.csv"))[0] == 2


def test_assignments_and_submissions(ctl, client_for):
    ctl("root", "create-course", "ctl6", "kevin")
    ctl("kevin", "add-student", "ctl6", "alice")
    client_for("kevin").release_assignment("ctl6", "ps1", [])
    ts = client_for("alice").submit("ctl6", "ps1", [])
    assert ctl("kevin", "assignments", "ctl6")[1] == "assignment\n----------\nps1\n"
    status, out, _ = ctl("kevin", "--json", "submissions", "ctl6", "ps1")
    assert json.loads(out) == [{"student_id": "alice", "timestamp": ts}]
    status, out, _ = ctl("alice", "submissions", "ctl6", "ps1", "--student", "alice")
    assert status == 0 and ts in out
    assert ctl("alice", "submissions", "ctl6", "ps1")[2].endswith(
        "Permission denied (not course instructor)\n"
    )


def test_delete_course(ctl):
    ctl("root", "create-course", "ctl7")
    assert ctl("root", "--json", "delete-course", "ctl7")[1] == (
        '{"success": true, "course": "ctl7"}\n'
    )
    assert "ctl7" not in ctl("root", "courses")[1]


def test_console_script_uses_env_url_and_token(api_url):
    script = Path(sys.executable).parent / "ngshare-course"
    env = {**os.environ, "NGSHARE_URL": api_url, "JUPYTERHUB_API_TOKEN": "unused"}
    done = subprocess.run(
        [str(script), "--dev-user", "kevin", "create-course", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (
        1,
        "ngshare-course: error: Permission denied (not admin)\n",
    )


def test_no_url_is_a_usage_error(monkeypatch, capsys):
    for name in ("NGSHARE_URL", "JUPYTERHUB_PUBLIC_HUB_URL", "JUPYTERHUB_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PROXY_PUBLIC_SERVICE_HOST", raising=False)
    assert main(["courses"]) == 2
    assert "pass --url or set NGSHARE_URL" in capsys.readouterr().err


def test_table_formats_none_and_booleans():
    assert table([], ["a"]) == "(none)"
    assert table([{"a": None, "b": True}], ["a", "b"]) == "a  b\n-  ---\n   yes"
