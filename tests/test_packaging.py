"""A non-editable install carries every module, migration and data file.

The suite imports ngshare from the source tree, where a folder without
``__init__.py`` still imports and the core's migrations sit in the top-level
``alembic/`` folder; a wheel must carry them all. Two wheels are built with
``python -m build`` from a copy of the checkout: one straight from it, one
from the sdist built from it (as CI publishes them), and the second must hold
every file of the first, byte for byte (``MANIFEST.in``). None of these tests
reaches the test database, so they run in the SQLite pass only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

#: What a checkout holds besides its sources: never copied for a build.
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".venv-*",
    ".cache",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "*.py[cod]",
    "build",
    "dist",
    "*.egg-info",
    "node_modules",
    "vngshare-data",
)


def _build(source: Path, outdir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "build", *args, "--outdir", str(outdir), str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``{"sdist": Path, "from_sdist": Path, "direct": Path}``: the built archives.

    Each build gets its own copy of the checkout (they write ``*.egg-info``
    into it, and a stale ``build/`` would leak old files into a wheel); the
    two run at once.
    """
    pytest.importorskip("build")
    tmp = tmp_path_factory.mktemp("packaging")
    jobs = {}
    for name, args in (("via_sdist", ()), ("direct", ("--wheel",))):
        source = tmp / f"src-{name}"
        shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
        # with no --sdist/--wheel, build makes the sdist, then the wheel from it
        jobs[name] = _build(source, tmp / name, *args)
    for name, job in jobs.items():
        out, _ = job.communicate(timeout=300)
        assert job.returncode == 0, f"{name}:\n{out[-3000:]}"
    (sdist,) = (tmp / "via_sdist").glob("ngshare-*.tar.gz")
    (from_sdist,) = (tmp / "via_sdist").glob("ngshare-*.whl")
    (direct,) = (tmp / "direct").glob("ngshare-*.whl")
    return {"sdist": sdist, "from_sdist": from_sdist, "direct": direct}


def _contents(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as z:
        return {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}


@pytest.fixture(scope="module")
def wheel_names(built):
    """The files of the wheel built from the sdist (what CI publishes)."""
    return set(_contents(built["from_sdist"]))


def test_the_wheel_from_the_sdist_has_every_file_of_the_wheel_from_the_checkout(built):
    direct = _contents(built["direct"])
    from_sdist = _contents(built["from_sdist"])
    assert sorted(set(direct) - set(from_sdist)) == []
    assert sorted(set(from_sdist) - set(direct)) == []
    assert sorted(n for n in direct if direct[n] != from_sdist[n]) == []


def test_every_source_module_is_in_the_wheel(wheel_names):
    """Every ``.py`` of ngshare/, alembic/ and the bundled plugins, where it installs."""
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ngshare").rglob("*.py")}
    expected |= {
        "ngshare/" + p.relative_to(ROOT).as_posix() for p in (ROOT / "alembic").rglob("*.py")
    }
    for plugin in _bundled_plugins():
        top = f"ngshare_{plugin.name}"
        expected |= {f"{top}/{p.relative_to(plugin).as_posix()}" for p in plugin.rglob("*.py")}
    assert sorted(n for n in expected if "__pycache__" not in n and n not in wheel_names) == []


def test_migrations_and_alembic_files_are_in_the_wheel(wheel_names):
    assert "ngshare/alembic/env.py" in wheel_names
    assert "ngshare/alembic/script.py.mako" in wheel_names
    for revision in (ROOT / "alembic" / "versions").glob("*.py"):
        assert f"ngshare/alembic/versions/{revision.name}" in wheel_names
    assert any(n.startswith("ngshare/exchange/migrations/versions/e0c4") for n in wheel_names)
    for plugin in _bundled_plugins():
        for revision in plugin.glob("migrations/versions/*.py"):
            assert f"ngshare_{plugin.name}/migrations/versions/{revision.name}" in wheel_names


def test_bundled_plugins_install_as_their_own_packages(wheel_names):
    for plugin in _bundled_plugins():
        assert f"ngshare_{plugin.name}/__init__.py" in wheel_names


def test_the_sdist_carries_the_readme_and_the_docs_it_links(built):
    with tarfile.open(built["sdist"]) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    linked = set(re.findall(r"\]\((docs/[^)#]+)", (ROOT / "README.md").read_text()))
    assert linked
    assert sorted({"README.md", "MANIFEST.in", *linked} - names) == []


def test_the_wheel_migrates_a_database_outside_the_source_tree(built, tmp_path):
    """The wheel's ngshare finds its alembic folder (``ngshare/alembic``) and upgrades."""
    site = tmp_path / "site"
    with zipfile.ZipFile(built["from_sdist"]) as z:
        z.extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = (
        "import sys, ngshare.migrations as m\n"
        "print(m.ALEMBIC_DIR)\n"
        "sys.argv = ['ngshare', 'db', 'upgrade', '--database=sqlite:///' + sys.argv[1]]\n"
        "from ngshare.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(work / "smoke.db")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0] == str(site / "ngshare" / "alembic")
    assert (work / "smoke.db").stat().st_size > 0


def test_the_alembic_folder_does_not_shadow_the_alembic_library():
    """The checkout's ``alembic/`` has no ``__init__.py``: ``import alembic`` from the root
    (on ``sys.path`` as pytest's rootdir, or as ``python -c``'s cwd) is the library."""
    assert not (ROOT / "alembic" / "__init__.py").exists()
    done = subprocess.run(
        [sys.executable, "-c", "import alembic, alembic.command; print(alembic.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).parent != ROOT / "alembic"


def _bundled_plugins() -> list[Path]:
    return [p for p in sorted((ROOT / "plugins").iterdir()) if (p / "__init__.py").exists()]
