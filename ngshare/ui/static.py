"""The layout's static files (and each plugin's) under ``{prefix}static/<owner>/``.

A versioned URL (``?v=<digest>``, as :meth:`PageHandler.static_url` writes
it) is cached by browsers for a year; an unversioned one for five minutes.
A missing file is a JSON 404, like every non-page answer under the prefix.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tornado import web

#: The core's files: ``ngshare.css`` and ``ngshare.js``, served at ``{prefix}static/core/``.
CORE_STATIC = Path(__file__).parent / "static"
CORE_OWNER = "core"
VERSIONED_MAX_AGE_SECONDS = 365 * 24 * 3600
UNVERSIONED_MAX_AGE_SECONDS = 300


@dataclass
class StaticFolders:
    """Static folders by owner (``core`` and each plugin that has one); kept on the context."""

    folders: dict[str, Path] = field(default_factory=dict)
    _digests: dict[Path, str] = field(default_factory=dict)

    def url(self, prefix: str, owner: str, path: str) -> str:
        """``{prefix}static/<owner>/<path>?v=<digest>`` (digest of the file, cached)."""
        url = f"{prefix}static/{owner}/{path}"
        folder = self.folders.get(owner)
        if folder is None:
            return url
        file = (folder / path).resolve()
        digest = self._digests.get(file)
        if digest is None:
            try:
                digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
            except OSError:
                return url
            self._digests[file] = digest
        return f"{url}?v={digest}"


class UIStaticHandler(web.StaticFileHandler):
    """One owner's static folder; public, long-cached when versioned."""

    def set_default_headers(self) -> None:
        self.clear_header("Server")

    def get_cache_time(self, path: str, modified: Any, mime_type: str) -> int:
        if "v" in self.request.arguments:
            return VERSIONED_MAX_AGE_SECONDS
        return UNVERSIONED_MAX_AGE_SECONDS

    def set_extra_headers(self, path: str) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        if "v" in self.request.arguments:
            self.set_header(
                "Cache-Control", f"public, max-age={VERSIONED_MAX_AGE_SECONDS}, immutable"
            )

    async def get(self, path: str, include_body: bool = True) -> None:
        await super().get(path, include_body)

    async def head(self, path: str) -> None:
        await super().get(path, include_body=False)

    get.ngshare_access = "public"  # type: ignore[attr-defined]
    head.ngshare_access = "public"  # type: ignore[attr-defined]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        message = "Not found" if status_code == 404 else "Error"
        self.finish(json.dumps({"success": False, "message": message}))


def static_folders(plugins: list[Any]) -> StaticFolders:
    """The core's folder and every plugin's declared ``static`` folder."""
    folders = {CORE_OWNER: CORE_STATIC}
    for plugin in plugins:
        if getattr(plugin, "static", None):
            folders[plugin.name] = Path(os.fspath(plugin.static))
    return StaticFolders(folders)


def routes(prefix: str, folders: StaticFolders) -> list[tuple]:
    return [
        (prefix + f"static/{owner}/(?P<path>.*)", UIStaticHandler, {"path": str(folder)})
        for owner, folder in folders.folders.items()
    ]
