"""Feature sets import the core only through ``ngshare.plugin_api``.

The exchange, the bundled plugins and the example third-party plugin are
parsed (not imported), and every ``import``/``from ... import`` that names an
``ngshare`` module is checked. Their own packages (``ngshare.exchange``,
``ngshare_<name>``) are theirs to import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PUBLISHED = "ngshare.plugin_api"

#: Each feature set: its folder, and the package name it may import freely.
FEATURE_SETS = {
    "exchange": (ROOT / "ngshare" / "exchange", "ngshare.exchange"),
    "vivere": (ROOT / "plugins" / "vivere", "ngshare_vivere"),
    "example": (ROOT / "tests" / "plugins" / "example_dist" / "ngshare_example", "ngshare_example"),
}


def core_imports(folder: Path, own: str) -> list[str]:
    """``path:line module`` for every import of an ngshare module other than the published one."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                if node.module == "ngshare":
                    modules = [f"ngshare.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                is_core = module == "ngshare" or module.startswith("ngshare.")
                if not is_core or module == PUBLISHED or module.startswith(own):
                    continue
                found.append(f"{path.relative_to(folder).as_posix()}:{node.lineno} {module}")
    return found


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
def test_feature_sets_import_only_the_published_plugin_api(name):
    folder, own = FEATURE_SETS[name]
    assert folder.is_dir()
    assert core_imports(folder, own) == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    (tmp_path / "bad.py").write_text(
        "from ngshare.plugin_api import Plugin\nfrom ngshare.web import APIHandler\n"
        "import ngshare.db\nfrom ngshare import storage\n"
    )
    assert core_imports(tmp_path, "ngshare_bad") == [
        "bad.py:2 ngshare.web",
        "bad.py:3 ngshare.db",
        "bad.py:4 ngshare.storage",
    ]
