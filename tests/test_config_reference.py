"""docs/config-reference.md is generated from the settings' help and kept up to date."""

from pathlib import Path

from ngshare.cli import configurable_classes
from ngshare.config_reference import render, with_parents

PAGE = Path(__file__).parent.parent / "docs" / "config-reference.md"


def test_the_config_reference_page_is_up_to_date():
    assert PAGE.read_text() == render(), (
        "docs/config-reference.md is out of date: run scripts/config-reference"
    )


def test_every_setting_of_every_bundled_class_has_a_heading():
    text = PAGE.read_text()
    for cls in with_parents(configurable_classes(bundled_only=True)):
        for name, trait in cls.class_traits(config=True).items():
            if trait.this_class is cls:
                assert f"### `{cls.__name__}.{name}`" in text


def test_third_party_plugins_stay_out_of_the_reference():
    names = {c.__name__ for c in configurable_classes(bundled_only=True)}
    assert {"NgShare", "HubIdentity", "EventBus", "NotificationService", "Exchange"} <= names
    everything = {c.__name__ for c in configurable_classes()}
    assert "Example" not in names and (everything - names) <= {"Example"}
