"""Expected wire shapes shared by the exchange tests (what ngshare's clients send and get)."""

import base64
import hashlib
import json

from tests.conftest import encode_files as encoded  # noqa: F401 - re-exported for the tests


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def entries(*pairs) -> str:
    """A files field from raw (path, content) pairs, valid or not."""
    return json.dumps([{"path": p, "content": c} for p, c in pairs])


def full(files: dict[str, bytes]) -> list[dict]:
    return [
        {"path": p, "checksum": hashlib.md5(c).hexdigest(), "content": b64(c)}
        for p, c in files.items()
    ]


def listed(files: dict[str, bytes]) -> list[dict]:
    return [{"path": p, "checksum": hashlib.md5(c).hexdigest()} for p, c in files.items()]


def error(message: str) -> dict:
    return {"success": False, "message": message}
