"""The docs keep up with the code: every Plugin field, config trait and Plugin API name."""

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from ngshare import plugin_api
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


# -- the published Plugin API (Datasette's hook-docs test, for our module) -----

#: The methods docs/plugins.md publishes for plugin authors, by class.
PUBLISHED_METHODS = {
    "ServerContext": ["state", "set_state", "has_state", "run_blocking"],
    "Database": ["run", "run_sync"],
    "NotificationService": [
        "send",
        "submit",
        "send_to_user",
        "send_to_subscribers",
        "enabled_channels",
        "add_address",
        "remove_address",
        "remove_push_subscription",
        "addresses",
        "set_preference",
        "preferences",
    ],
    "PageHandler": ["render_page", "page_url", "static_url"],
    "APIHandler": [
        "json_body",
        "raw_body",
        "argument",
        "argument_chunks",
        "argument_is_large",
        "argument_size",
        "write_json",
        "send_bytes",
        "error_envelope",
    ],
}


def _signature(fn) -> str:
    return str(inspect.signature(fn)).replace("'", "")


def _api_headings() -> set[str]:
    text = (DOCS / "plugins.md").read_text()
    return {h.strip("`") for h in re.findall(r"^####\s+(.+?)\s*$", text, re.M)}


@pytest.mark.parametrize("name", plugin_api.__all__)
def test_every_published_name_has_a_section_with_its_exact_signature(name):
    obj = getattr(plugin_api, name)
    if inspect.isclass(obj):
        expected = f"class {name}"
    elif inspect.isfunction(obj):
        expected = name + _signature(obj)
    else:
        expected = name
    assert expected in _api_headings(), f"docs/plugins.md has no '#### `{expected}`' section"


@pytest.mark.parametrize(
    "cls, method", [(c, m) for c, methods in PUBLISHED_METHODS.items() for m in methods]
)
def test_every_published_method_is_documented_with_its_exact_signature(cls, method):
    fn = getattr(getattr(plugin_api, cls), method)
    line = f"`{method}{_signature(fn)}`"
    assert line in (DOCS / "plugins.md").read_text(), f"docs/plugins.md lacks {line}"


def test_the_plugin_api_exports_exactly_what_it_lists():
    assert len(set(plugin_api.__all__)) == len(plugin_api.__all__)
    for name in plugin_api.__all__:
        assert hasattr(plugin_api, name), name
