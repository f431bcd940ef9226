"""``ngshare import ngshare06``: arguments and sources it cannot use give exit status 2.

Each case prints one clear line on stderr, writes nothing and creates no
file where a source was named (a missing SQLite source is not created).
These need no ngshare 0.6; the imports themselves are tested in
test_ngshare06_import.py.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from tests.importers.command_line import run_import


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give --from-database URL and --from-storage DIR"),
        (
            ["--from-database", "sqlite:///{tmp}/absent.db", "--from-storage", "{tmp}"],
            "cannot read",
        ),
        (["--from-database", "sqlite:///{tmp}/text.db", "--from-storage", "{tmp}"], "cannot read"),
        (
            ["--from-database", "sqlite:///{tmp}/other.db", "--from-storage", "{tmp}"],
            "not an ngshare 0.6 database: missing table(s)",
        ),  # fmt: skip
        (["--from-database", "nonsense://", "--from-storage", "{tmp}"], "cannot open"),
        (
            ["--from-database", "sqlite:///{tmp}/other.db", "--from-storage", "{tmp}/nope"],
            "is not a folder",
        ),  # fmt: skip
        (
            ["--from-database", "sqlite:///x.db", "--from-storage", "{tmp}", "extra"],
            "unexpected argument",
        ),  # fmt: skip
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message_and_create_nothing(args, message, tmp_path):
    (tmp_path / "text.db").write_text("not a database at all, just some text " * 100)
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE users (id TEXT)")
    other.close()
    target = {"url": f"sqlite:///{tmp_path / 'target.db'}", "storage": tmp_path / "files"}
    filled = [a.format(tmp=tmp_path) for a in args]
    status, _, err = run_import(target, *filled)
    assert status == 2
    assert message in err
    assert not (tmp_path / "absent.db").exists()


def test_an_unknown_source_names_the_known_ones(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ngshare", "import", "ngshare05"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown source 'ngshare05'; sources: ngshare06" in done.stderr
