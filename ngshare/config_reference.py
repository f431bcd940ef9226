"""The configuration reference page (docs/config-reference.md), generated from the traits' help.

Run ``python -m ngshare.config_reference docs/config-reference.md`` (or
``scripts/config-reference``) after changing a setting;
``tests/test_config_reference.py`` fails while the page is out of date.
Every configurable class of the core and of the bundled plugins has a
section; each setting gives its type, default and help, as ``--help-all``
does.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from traitlets import HasTraits, TraitType

HEADER = """# Configuration reference

Every setting of ngshare, its services and its bundled plugins, as
`c.<Class>.<setting> = value` in `ngshare_config.py` (or
`--<Class>.<setting>=value` on the command line). `ngshare --generate-config`
writes a config file with all of them commented out; `ngshare --help-all`
lists them too, installed third-party plugins' included; `ngshare
--show-config` shows what a config file and command line set.

This page is generated from the settings' own help by
`python -m ngshare.config_reference docs/config-reference.md`; do not edit it
by hand.
"""


def _default(trait: TraitType, cls: type[HasTraits]) -> str:
    """The default as written in the code; dynamic ones (from the environment, other
    settings) are described by the help text instead."""
    if f"_default_{trait.name}" in dir(cls) or trait.name in getattr(
        cls, "_trait_default_generators", {}
    ):
        return "(computed; see the description)"
    text = trait.default_value_repr()
    return text if len(text) <= 60 else text[:57] + "..."


def _help(trait: TraitType) -> str:
    return " ".join(inspect.cleandoc(trait.help or "").split()) or "(no description)"


def class_section(cls: type[HasTraits]) -> str:
    """One class's settings: those it defines itself (inherited ones are in its parents')."""
    own = {
        name: trait
        for name, trait in sorted(cls.class_traits(config=True).items())
        if trait.this_class is cls
    }
    parents = ", ".join(b.__name__ for b in cls.__bases__)
    lines = [f"## {cls.__name__}", "", f"Inherits from {parents}.", ""]
    if cls.__doc__:
        lines[2:2] = [inspect.cleandoc(cls.__doc__).split("\n\n")[0].replace("\n", " "), ""]
    changed = changed_defaults(cls)
    if changed:
        lines += ["Defaults it changes:", "", *changed, ""]
    if not own:
        lines.append("No settings of its own.")
    for name, trait in own.items():
        kind = type(trait).__name__
        lines += [
            f"### `{cls.__name__}.{name}`",
            "",
            f"{kind}, default `{_default(trait, cls)}`.",
            "",
            _help(trait),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def render() -> str:
    """The whole page, for the core's classes and the bundled plugins' (never third parties')."""
    from ngshare.cli import configurable_classes

    sections = [HEADER]
    for cls in with_parents(configurable_classes(bundled_only=True)):
        sections.append(class_section(cls))
    return "\n".join(sections)


def with_parents(classes: list[type]) -> list[type]:
    """``classes`` and their configurable parents (whose settings they inherit), parents first."""
    out: list[type] = []
    for cls in classes:
        for parent in reversed(cls.__mro__):
            if (
                isinstance(parent, type)
                and issubclass(parent, HasTraits)
                and parent not in out
                and any(t.this_class is parent for t in parent.class_traits(config=True).values())
            ):
                out.append(parent)
    return out


def changed_defaults(cls: type[HasTraits]) -> list[str]:
    """Inherited settings whose default ``cls`` changes (``NgShare.log_level`` is INFO)."""
    generators = vars(cls).get("_trait_default_generators", {})
    lines = []
    for name, trait in sorted(cls.class_traits(config=True).items()):
        if trait.this_class is not cls and name in generators:
            value = getattr(cls(), name)
            lines.append(f"- `{trait.this_class.__name__}.{name}`: `{value!r}` here.")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Write the page to the path given (default docs/config-reference.md)."""
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else "docs/config-reference.md")
    path.write_text(render())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
