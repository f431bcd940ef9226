"""docs/index.md tells people how to install *this* server and what comes with it.

``pip install ngshare`` from the package index installs LibreTexts' ngshare
0.6.0, so no command in the docs may say that; every console script, every
extra and every ``ngshare-course`` command the package has must be documented,
and every extra the docs name must exist.
"""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

import pytest

from ngshare.clients.coursectl import ALIASES, COMMANDS

ROOT = Path(__file__).resolve().parent.parent
INDEX = (ROOT / "docs" / "index.md").read_text()
DIST = distribution("ngshare")
SCRIPTS = sorted(e.name for e in DIST.entry_points if e.group == "console_scripts")
EXTRAS = set(DIST.metadata.get_all("Provides-Extra") or [])
#: A bare install from the index: `pip install ngshare`, `pip install 'ngshare[curl]'` ...
FROM_THE_INDEX = re.compile(r"pip install\s+['\"]?ngshare(\[[^\]]*\])?['\"]?(\s|$)(?!.*@)")


def code_lines(text: str) -> list[str]:
    """Lines of fenced code blocks, and inline code spans."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


@pytest.mark.parametrize("page", ["docs/index.md", "README.md", "docs/deployment.md"])
def test_no_command_installs_ngshare_from_the_package_index(page):
    lines = code_lines((ROOT / page).read_text())
    offending = [line for line in lines if FROM_THE_INDEX.search(line)]
    # the one warning sentence quotes it as what not to do
    assert offending in ([], ["pip install ngshare"]), offending
    if offending:
        assert "installs\na different program" in INDEX or "installs a different program" in INDEX


def test_the_pattern_catches_what_it_should():
    assert FROM_THE_INDEX.search("pip install 'ngshare[curl]'")
    assert FROM_THE_INDEX.search("pip install ngshare")
    assert not FROM_THE_INDEX.search("pip install 'ngshare[postgresql] @ git+https://x/y'")
    assert not FROM_THE_INDEX.search("pip install '.[curl]'")


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_console_script_is_documented(script):
    assert f"`{script}" in INDEX


def test_the_extras_named_in_the_docs_exist_and_each_is_documented():
    named = set(re.findall(r"`\[(\w+)\]`", INDEX))
    assert named <= EXTRAS, named - EXTRAS
    assert EXTRAS - {"test"} <= named, (EXTRAS - {"test"}) - named


def test_every_ngshare_course_command_and_alias_is_documented():
    section = INDEX.split("## Courses and rosters: `ngshare-course`", 1)[1].split("\n## ", 1)[0]
    for name in COMMANDS:
        assert f"`{name}" in section, name
    for alias in (a for aliases in ALIASES.values() for a in aliases):
        assert f"`{alias}`" in section, alias
