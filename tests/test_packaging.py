"""A non-editable install carries every module, migration and data file.

The suite imports ngshare from the source tree, where a folder without
``__init__.py`` still imports; a wheel built from it would lack that folder.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = out.glob("ngshare-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_every_source_module_is_in_the_wheel(wheel_names):
    missing = []
    for path in (ROOT / "ngshare").rglob("*.py"):
        if "__pycache__" not in path.parts:
            rel = path.relative_to(ROOT).as_posix()
            if rel not in wheel_names:
                missing.append(rel)
    assert not missing


def test_migrations_and_alembic_files_are_in_the_wheel(wheel_names):
    assert "ngshare/alembic/env.py" in wheel_names
    assert "ngshare/alembic/script.py.mako" in wheel_names
    assert any(n.startswith("ngshare/exchange/migrations/versions/e0c4") for n in wheel_names)


def test_bundled_plugins_install_as_their_own_packages(wheel_names):
    for plugin in (ROOT / "plugins").iterdir():
        if (plugin / "__init__.py").exists():
            assert f"ngshare_{plugin.name}/__init__.py" in wheel_names
