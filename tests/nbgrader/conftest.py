"""Fixtures for running the real ``nbgrader`` commands against a vngshare process.

- ``classroom``: a running vngshare with course ``course1`` taught by
  ``kevin`` (students ``alice``, ``bob``, ``carol``), and a :class:`Person`
  per user, each with their own HOME, Jupyter dirs and working folder holding
  an ``nbgrader_config.py`` made with :func:`ngshare.clients.nbgrader.configure`.
  Module-scoped: the tests of a module are the steps of one course, in order.

:func:`make_person` and :class:`Person` are also used by
``tests/integration/test_nbgrader_hub.py``, with another ``nbgrader_config.py``,
environment and ``nbgrader`` (the stock client's venv).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ngshare.clients.api import ExchangeClient
from tests.servers import running_server

BIN = str(Path(sys.executable).parent)
NBGRADER = str(Path(BIN) / "nbgrader")
COURSE = "course1"
STUDENTS = ("alice", "bob", "carol")

#: Environment variables that could point nbgrader or the plugin elsewhere.
SCRUBBED_PREFIXES = ("JUPYTER", "NGSHARE_URL", "IPYTHON", "PROXY_PUBLIC")

CONFIG = """\
from ngshare.clients.nbgrader import configure

c = get_config()
configure(c, url={url!r}, dev_user={user!r})
"""


@dataclass
class Person:
    """One user: their folders and a way to run nbgrader as them."""

    name: str
    home: Path
    cwd: Path
    env: dict[str, str] = field(repr=False)
    nbgrader: str = NBGRADER

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        """Run ``nbgrader *args``; with ``ok`` (default) fail the test unless it succeeds."""
        done = self.start(*args).result()
        if ok and done.returncode != 0:
            pytest.fail(f"{self.name}: nbgrader {' '.join(args)} failed:\n{done.stderr}")
        return done

    def start(self, *args: str):
        return _pool.submit(
            subprocess.run,
            [self.nbgrader, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )


_pool = ThreadPoolExecutor(max_workers=4)


def run_together(*calls: tuple[Person, tuple[str, ...]]) -> list[subprocess.CompletedProcess]:
    """Run several users' commands at once (they are independent); all must succeed."""
    futures = [(person, args, person.start(*args)) for person, args in calls]
    results = []
    for person, args, future in futures:
        done = future.result()
        if done.returncode != 0:
            pytest.fail(f"{person.name}: nbgrader {' '.join(args)} failed:\n{done.stderr}")
        results.append(done)
    return results


@dataclass
class Classroom:
    api_url: str
    people: dict[str, Person]

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    def client(self, user: str) -> ExchangeClient:
        return ExchangeClient(self.api_url, token="", dev_user=user, timeout=30)


def make_person(
    root: Path,
    name: str,
    api_url: str,
    workdir: str = "",
    *,
    config: str | None = None,
    env: dict[str, str] | None = None,
    bin_dir: str = BIN,
) -> Person:
    """A user with their own HOME and Jupyter dirs, and ``nbgrader_config.py`` in ``cwd``.

    Default config: the plugin on vngshare as ``dev_user=name``. ``env`` is
    added to the scrubbed environment; ``bin_dir`` holds the ``nbgrader`` to run.
    """
    home = root / name
    cwd = home / workdir if workdir else home
    cwd.mkdir(parents=True)
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    env.pop("JUPYTERHUB_API_TOKEN", None)
    env.update(
        HOME=str(home),
        USER=name,
        LOGNAME=name,
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
        IPYTHONDIR=str(home / ".ipython"),
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),  # the gradebook runs `alembic`
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    if config is None:
        config = CONFIG.format(url=api_url, user=name)
    (cwd / "nbgrader_config.py").write_text(config)
    return Person(name, home, cwd, env, str(Path(bin_dir) / "nbgrader"))


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    root = tmp_path_factory.mktemp("classroom")
    with pytest.MonkeyPatch.context() as mp, running_server(root) as base:
        # the tests open the gradebook too, and nbgrader's Gradebook runs `alembic`
        mp.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
        api_url = base + "/api/"
        people = {"kevin": make_person(root / "homes", "kevin", api_url, COURSE)}
        for name in STUDENTS:
            people[name] = make_person(root / "homes", name, api_url)
        with open(people["kevin"].cwd / "nbgrader_config.py", "a") as fh:
            fh.write(f"c.CourseDirectory.course_id = {COURSE!r}\n")
        room = Classroom(api_url, people)
        room.client("root").create_course(COURSE, ["kevin"])
        room.client("kevin").add_students(
            COURSE,
            [
                {"username": n, "first_name": n.title(), "last_name": "S", "email": f"{n}@x.org"}
                for n in STUDENTS
            ],
        )
        yield room
