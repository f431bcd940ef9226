"""A small synchronous client for the exchange API, for scripts and the nbgrader plugin.

Example::

    from ngshare.clients.api import ExchangeClient, encode_directory

    client = ExchangeClient("http://127.0.0.1:10101/api/", dev_user="kevin")
    client.release_assignment("course1", "ps1", encode_directory("release/ps1"))

Every method raises :class:`ExchangeApiError` on any failure (no answer, an
HTTP error, a body that is not JSON, ``success: false``), carrying the
server's own message, so callers never have to inspect responses for errors.
That is the main difference from ngshare_exchange, which logs a failure and
carries on.

The identity comes from ``Authorization: token <JupyterHub API token>``; a
``user=`` argument is sent only with ``dev_user``, for the ``vngshare``
development server (ngshare itself ignores it).

Only the standard library and ``requests`` are used: the server does not
depend on this module, and the nbgrader plugin builds on it.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

#: Where a JupyterHub deployment routes the service named ``ngshare``.
SERVICE_PATH = "services/ngshare/"

#: One ``files`` entry as the API carries it: ``{"path": ..., "content": base64}``.
FileEntry = dict[str, str]


class ExchangeApiError(Exception):
    """A failed API call.

    :arg message: the server's ``message`` when it sent one, else a description.
    :arg status: the HTTP status, or None when no answer came back.
    :arg request: ``"METHOD /path"`` of the failed call, for logs.
    """

    def __init__(self, message: str, status: int | None = None, request: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request = request

    def __str__(self) -> str:
        return self.message


class UnsafePathError(ValueError):
    """A file path from the server that would be written outside the destination."""


def default_url(environ: dict[str, str] | None = None) -> str:
    """The exchange URL a user's server should use when none is configured.

    In order: ``$NGSHARE_URL``; the hub's public address
    (``$JUPYTERHUB_PUBLIC_HUB_URL``, else ``$JUPYTERHUB_HOST``) with the hub's
    base URL and ``services/ngshare/``; on Zero to JupyterHub (Kubernetes, where
    ``$PROXY_PUBLIC_SERVICE_HOST`` is set) the in-cluster proxy
    ``http://proxy-public/…``, as ngshare_exchange does. Empty if none applies.
    """
    env = os.environ if environ is None else environ
    if env.get("NGSHARE_URL"):
        return with_trailing_slash(env["NGSHARE_URL"])
    base_path = "/" + env.get("JUPYTERHUB_BASE_URL", "/").strip("/")
    base_path = base_path.rstrip("/") + "/"
    public_hub = env.get("JUPYTERHUB_PUBLIC_HUB_URL", "")
    if public_hub:
        parts = urlsplit(public_hub)
        return f"{parts.scheme}://{parts.netloc}{base_path}{SERVICE_PATH}"
    host = env.get("JUPYTERHUB_HOST", "")
    if host:
        return host.rstrip("/") + base_path + SERVICE_PATH
    if env.get("PROXY_PUBLIC_SERVICE_HOST"):
        return "http://proxy-public" + base_path + SERVICE_PATH
    return ""


def with_trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class ExchangeClient:
    """One method per endpoint of the exchange API (ngshare 0.6 compatible).

    :arg base_url: the API root, e.g. ``http://127.0.0.1:10101/api/`` or
        ``https://hub.example.org/services/ngshare/``.
    :arg token: a JupyterHub API token; default ``$JUPYTERHUB_API_TOKEN``.
    :arg dev_user: for ``vngshare`` only: the ``user=`` to act as.
    :arg timeout: seconds to wait for the connection and for each read.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        dev_user: str | None = None,
        timeout: float = 120.0,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url:
            raise ExchangeApiError(
                "The ngshare URL is not configured (set NGSHARE_URL or c.Exchange.url)"
            )
        self.base_url = with_trailing_slash(base_url)
        self.token = token if token is not None else os.environ.get("JUPYTERHUB_API_TOKEN")
        self.dev_user = dev_user or None
        self.timeout = timeout
        self.session = session or requests.Session()

    # -- transport ------------------------------------------------------------

    def request(
        self,
        method: str,
        segments: Sequence[str],
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call ``base_url + segments`` and return the decoded success body.

        Each segment is percent-encoded on its own, so an id can never add a
        path level of its own.
        """
        path = "/".join(quote(s, safe="") for s in segments)
        described = f"{method} /{path}"
        params = dict(params or {})
        data = dict(data) if data is not None else None
        if self.dev_user:
            if method == "POST":
                data = {**(data or {}), "user": self.dev_user}
            else:
                params["user"] = self.dev_user
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params or None,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as e:
            raise ExchangeApiError(
                f"Cannot reach ngshare at {self.base_url}: {e}", None, described
            ) from e
        return _decode_response(response, described)

    def get(self, *segments: str, **params: str) -> dict[str, Any]:
        return self.request("GET", segments, params=params)

    def post(self, *segments: str, **data: str) -> dict[str, Any]:
        return self.request("POST", segments, data=data)

    def delete(self, *segments: str) -> dict[str, Any]:
        return self.request("DELETE", segments)

    # -- courses and rosters -------------------------------------------------

    def list_courses(self) -> list[str]:
        """Courses the caller teaches or takes (admins: every course)."""
        return self.get("courses")["courses"]

    def create_course(self, course_id: str, instructors: Iterable[str] = ()) -> None:
        """Admins only; the creator does not become an instructor."""
        self.post("course", course_id, instructors=json.dumps(list(instructors)))

    def delete_course(self, course_id: str) -> None:
        self.delete("course", course_id)

    def add_instructor(
        self,
        course_id: str,
        instructor_id: str,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
    ) -> None:
        """Add or update an instructor (admins), or update one's own names."""
        self.post(
            "instructor",
            course_id,
            instructor_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
        )

    def get_instructor(self, course_id: str, instructor_id: str) -> dict[str, Any]:
        return _person(self.get("instructor", course_id, instructor_id))

    def remove_instructor(self, course_id: str, instructor_id: str) -> None:
        self.delete("instructor", course_id, instructor_id)

    def list_instructors(self, course_id: str) -> list[dict[str, Any]]:
        return self.get("instructors", course_id)["instructors"]

    def add_student(
        self,
        course_id: str,
        student_id: str,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
    ) -> None:
        """Enrol a student or replace their names."""
        self.post(
            "student",
            course_id,
            student_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
        )

    def get_student(self, course_id: str, student_id: str) -> dict[str, Any]:
        return _person(self.get("student", course_id, student_id))

    def remove_student(self, course_id: str, student_id: str) -> None:
        self.delete("student", course_id, student_id)

    def list_students(self, course_id: str) -> list[dict[str, Any]]:
        return self.get("students", course_id)["students"]

    def add_students(self, course_id: str, students: Sequence[dict[str, str]]) -> list[dict]:
        """Bulk enrolment; returns one ``{username, success[, message]}`` per input, in order.

        Each student needs ``username``, ``first_name``, ``last_name`` and
        ``email`` (strings). A per-student failure (an instructor of the course)
        does not fail the call: check each status.
        """
        return self.post("students", course_id, students=json.dumps(list(students)))["status"]

    # -- assignments -----------------------------------------------------------

    def list_assignments(self, course_id: str) -> list[str]:
        return self.get("assignments", course_id)["assignments"]

    def get_assignment(
        self, course_id: str, assignment_id: str, list_only: bool = False
    ) -> list[dict[str, str]]:
        """The released files: ``{path, checksum[, content]}``."""
        return self.get("assignment", course_id, assignment_id, **_list_only(list_only))["files"]

    def release_assignment(
        self, course_id: str, assignment_id: str, files: Sequence[FileEntry]
    ) -> None:
        """Release; fails with 'Assignment already exists' if it is released."""
        self.post("assignment", course_id, assignment_id, files=json.dumps(list(files)))

    def delete_assignment(self, course_id: str, assignment_id: str) -> None:
        """Unrelease, together with every submission and feedback of it."""
        self.delete("assignment", course_id, assignment_id)

    # -- submissions and feedback -------------------------------------------

    def list_submissions(
        self, course_id: str, assignment_id: str, student_id: str | None = None
    ) -> list[dict[str, str]]:
        """``{student_id, timestamp}`` for every submission (instructors), or one student's."""
        segments = ["submissions", course_id, assignment_id]
        if student_id is not None:
            segments.append(student_id)
        return self.get(*segments)["submissions"]

    def submit(self, course_id: str, assignment_id: str, files: Sequence[FileEntry]) -> str:
        """Submit as the caller; returns the server's timestamp of the submission."""
        body = self.post("submission", course_id, assignment_id, files=json.dumps(list(files)))
        return body["timestamp"]

    def get_submission(
        self,
        course_id: str,
        assignment_id: str,
        student_id: str,
        timestamp: str | None = None,
        list_only: bool = False,
    ) -> dict[str, Any]:
        """``{timestamp, files}`` of one submission (the latest without ``timestamp``)."""
        params = _list_only(list_only)
        if timestamp is not None:
            params["timestamp"] = timestamp
        body = self.get("submission", course_id, assignment_id, student_id, **params)
        return {"timestamp": body["timestamp"], "files": body["files"]}

    def upload_feedback(
        self,
        course_id: str,
        assignment_id: str,
        student_id: str,
        timestamp: str,
        files: Sequence[FileEntry],
    ) -> None:
        """Replace the feedback of the submission made at ``timestamp``."""
        self.post(
            "feedback",
            course_id,
            assignment_id,
            student_id,
            timestamp=timestamp,
            files=json.dumps(list(files)),
        )

    def get_feedback(
        self,
        course_id: str,
        assignment_id: str,
        student_id: str,
        timestamp: str,
        list_only: bool = False,
    ) -> dict[str, Any]:
        """``{timestamp, files}``: the feedback of one submission (``files`` may be empty)."""
        body = self.get(
            "feedback",
            course_id,
            assignment_id,
            student_id,
            timestamp=timestamp,
            **_list_only(list_only),
        )
        return {"timestamp": body["timestamp"], "files": body["files"]}


def _decode_response(response: requests.Response, described: str) -> dict[str, Any]:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        snippet = " ".join(response.text.split())[:200]
        raise ExchangeApiError(
            f"ngshare answered HTTP {status} with a body that is not JSON: {snippet!r}",
            status,
            described,
        ) from None
    if not isinstance(body, dict):
        raise ExchangeApiError(
            f"ngshare answered HTTP {status} with unexpected JSON", status, described
        )
    if body.get("success") is not True or status >= 400:
        message = body.get("message") or f"ngshare answered HTTP {status} without a message"
        raise ExchangeApiError(str(message), status, described)
    return body


def _list_only(list_only: bool) -> dict[str, str]:
    return {"list_only": "true"} if list_only else {}


def _person(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body.get(k) for k in ("username", "first_name", "last_name", "email")}


# -- directory trees <-> files lists ------------------------------------------


def encode_bytes(path: str, data: bytes) -> FileEntry:
    """One ``files`` entry (plain base64, as ngshare_exchange sends it)."""
    return {"path": path, "content": base64.b64encode(data).decode("ascii")}


def decode_content(entry: dict[str, str]) -> bytes:
    """The bytes of a ``files`` entry; tolerates ngshare 0.6's line-wrapped base64."""
    return base64.b64decode("".join(entry["content"].split()))


def is_ignored(
    relpath: str,
    size: int | None = None,
    ignore: Sequence[str] = (),
    include: Sequence[str] = (),
    max_file_size: float | None = None,
) -> bool:
    """Whether a file is left out, by nbgrader's ``CourseDirectory`` rules.

    A path is ignored when any of its parts matches an ``ignore`` glob (so
    ``.ipynb_checkpoints`` drops the whole folder), when ``include`` is given
    and its name matches none of it, or when it is larger than
    ``max_file_size`` kilobytes (nbgrader counts 1 KB as 1000 bytes).
    """
    parts = relpath.split("/")
    if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in ignore):
        return True
    if include and not any(fnmatch.fnmatch(parts[-1], pattern) for pattern in include):
        return True
    return bool(max_file_size and size is not None and size > 1000 * max_file_size)


def encode_directory(
    root: str | os.PathLike,
    ignore: Sequence[str] = (),
    include: Sequence[str] = (),
    max_file_size: float | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> list[FileEntry]:
    """Encode every file under ``root`` as a ``files`` list (paths relative, '/'-separated).

    Ignored folders are not descended into; symlinked folders are not followed.
    ``on_skip(relpath, reason)`` hears about each file left out, so a caller
    can warn about the too large ones, as nbgrader does.
    """
    root = Path(root)
    entries: list[FileEntry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if here == "." else here + "/"
        dirnames[:] = sorted(d for d in dirnames if not any(fnmatch.fnmatch(d, p) for p in ignore))
        for name in sorted(filenames):
            relpath = prefix + name
            full = Path(dirpath, name)
            if not full.is_file():
                continue
            size = full.stat().st_size
            if is_ignored(relpath, size, ignore, include, max_file_size):
                if on_skip is not None:
                    too_large = not is_ignored(relpath, None, ignore, include)
                    on_skip(relpath, "too large" if too_large else "ignored")
                continue
            entries.append(encode_bytes(relpath, full.read_bytes()))
    return entries


def safe_destination(dest: str | os.PathLike, relpath: str) -> Path:
    """Where ``relpath`` goes under ``dest``; :class:`UnsafePathError` if outside it.

    Rejects absolute paths, empty, '.' and '..' parts and backslashes, and
    anything that resolves (through symlinks already in ``dest``) outside it.
    """
    if not isinstance(relpath, str) or not relpath or "\x00" in relpath or "\\" in relpath:
        raise UnsafePathError(f"Refusing unsafe file path from the exchange: {relpath!r}")
    parts = relpath.split("/")
    if relpath.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UnsafePathError(f"Refusing unsafe file path from the exchange: {relpath!r}")
    base = Path(dest).resolve()
    target = base.joinpath(*parts)
    resolved = target.resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafePathError(f"Refusing file path that leaves the destination: {relpath!r}")
    return target


def write_files(
    files: Iterable[dict[str, str]],
    dest: str | os.PathLike,
    overwrite: bool = True,
) -> list[str]:
    """Write a ``files`` list under ``dest``; return the relative paths written.

    Every path is checked before anything is written, so a list with one bad
    path writes nothing. With ``overwrite=False`` existing files are kept (an
    nbgrader fetch never replaces a student's work). Each file is written to
    a temporary name first and renamed into place.
    """
    files = list(files)
    targets = [(entry, safe_destination(dest, entry["path"])) for entry in files]
    written = []
    for entry, target in targets:
        if target.exists() and not overwrite:
            continue
        data = decode_content(entry)
        target.parent.mkdir(parents=True, exist_ok=True)
        # os.open honours the umask (mkstemp would make every file 0600)
        tmp = target.parent / f".{target.name}.ngshare-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(entry["path"])
    return written
