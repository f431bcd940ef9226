"""The exchange's handler base: ngshare's envelope and file-list responses."""

from __future__ import annotations

import base64
import json
from typing import Any

from ngshare.exchange import errors
from ngshare.exchange.models import StoredFile
from ngshare.web import APIHandler

#: Flush a streamed file list whenever this much is buffered.
FLUSH_BYTES = 1 << 20


class ExchangeHandler(APIHandler):
    """Base of every exchange route: ``{"success": ..}`` envelopes, files streamed."""

    unauthenticated_message = errors.ERR_LOGIN_REQUIRED

    def success(self, **fields: Any) -> None:
        self.write_json({"success": True, **fields})

    def list_only(self) -> bool:
        return self.get_query_argument("list_only", "false") == "true"

    async def write_files(self, files: list[StoredFile], list_only: bool, **fields: Any) -> None:
        """Send ``{"success": true, **fields, "files": [...]}``, one file at a time.

        Content is read and base64-encoded on a worker thread per file, so a
        large download neither blocks the loop nor sits in memory whole.
        """
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        head = json.dumps({"success": True, **fields}, separators=(",", ":"))
        self.write(head[:-1] + ',"files":[')
        if list_only:
            self.write(",".join(_entry_json(f, None) for f in files))
        else:
            pending = 0
            for i, f in enumerate(files):
                content = await self.ctx.run_blocking(_encoded_content, self.ctx.storage, f.sha256)
                self.write(("," if i else "") + _entry_json(f, content))
                pending += len(content)
                del content
                if pending >= FLUSH_BYTES:
                    await self.flush()
                    pending = 0
        self.finish("]}")


def _encoded_content(storage: Any, sha256: str) -> str:
    return base64.b64encode(storage.read(sha256)).decode("ascii")


def _entry_json(f: StoredFile, content: str | None) -> str:
    entry = {"path": f.path, "checksum": f.md5}
    if content is not None:
        entry["content"] = content
    return json.dumps(entry, separators=(",", ":"))
