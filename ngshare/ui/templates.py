"""Template folders layered over the core's: a plugin's page can extend ``base.html``.

Tornado's :class:`~tornado.template.Loader` reads one folder; a plugin page
needs its own folder first and the core's layout behind it, so the loader
below looks through a list of folders, in order, and caches what it compiles.
"""

from __future__ import annotations

import os
from pathlib import Path

from tornado import template

#: The core's templates: ``base.html`` (the layout) and ``error.html``.
CORE_TEMPLATES = Path(__file__).parent / "templates"


class LayeredLoader(template.BaseLoader):
    """Load a template from the first folder of ``roots`` that has it."""

    def __init__(self, roots: list[str | os.PathLike], **kwargs) -> None:
        super().__init__(**kwargs)
        self.roots = [Path(r).resolve() for r in roots]

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        return name  # names are relative to the layers, never to the including file

    def _create_template(self, name: str) -> template.Template:
        for root in self.roots:
            path = (root / name).resolve()
            if root in path.parents and path.is_file():
                return template.Template(path.read_bytes(), name=name, loader=self)
        raise FileNotFoundError(f"template {name!r} not found in {[str(r) for r in self.roots]}")


_loaders: dict[tuple[str, ...], LayeredLoader] = {}


def loader_for(folders: list[str | os.PathLike]) -> LayeredLoader:
    """One loader (and template cache) per folder list, the core's last."""
    key = tuple(str(Path(f)) for f in folders) + (str(CORE_TEMPLATES),)
    if key not in _loaders:
        _loaders[key] = LayeredLoader(list(key), autoescape="xhtml_escape")
    return _loaders[key]
