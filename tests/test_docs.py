"""The docs keep up with the code: every Plugin field and config trait is documented."""

import dataclasses
import re
from pathlib import Path

import pytest

from ngshare.config import NgShare
from ngshare.plugin import Plugin

DOCS = Path(__file__).parent.parent / "docs"


def headings(path: Path) -> set[str]:
    return set(re.findall(r"^###\s+(.+?)\s*$", path.read_text(), re.M))


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Plugin)])
def test_every_plugin_field_has_a_section_in_the_plugin_guide(field):
    documented = {name.strip() for h in headings(DOCS / "plugins.md") for name in h.split("/")}
    assert field in documented, f"docs/plugins.md has no '### {field}' section"


@pytest.mark.parametrize(
    "trait",
    sorted(n for n, t in NgShare.class_traits(config=True).items() if t.this_class is NgShare),
)
def test_every_server_setting_is_in_the_configuration_reference(trait):
    assert f"NgShare.{trait}" in (DOCS / "index.md").read_text()
