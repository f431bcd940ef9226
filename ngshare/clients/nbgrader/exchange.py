"""The plugin's base class: configuration, the API client, and what every action shares.

nbgrader calls ``start()`` on an action; anything that goes wrong on the way
(the server's refusal, no answer, an unsafe path, a local file error) ends in
``self.fail(message)``, i.e. nbgrader's :class:`ExchangeError`, so the
command exits non-zero and prints the server's own message. ngshare_exchange
instead logs most failures and reports success.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable, Iterable
from textwrap import dedent
from typing import Any, TypeVar

from jupyter_core.paths import jupyter_data_dir
from nbgrader.exchange.abc import Exchange as ABCExchange
from traitlets import Bool, Float, Unicode, default, validate

from ngshare.clients.api import (
    ExchangeApiError,
    ExchangeClient,
    FileEntry,
    UnsafePathError,
    default_url,
    encode_directory,
    is_ignored,
    with_trailing_slash,
)

T = TypeVar("T")

#: What a submission's cache folder is called: ``<student>+<assignment>+<timestamp>``.
CACHE_NAME = re.compile(r"^(?P<student_id>.+)\+(?P<assignment_id>[^+]+)\+(?P<timestamp>[^+]+)$")

NO_COURSE = "No course id specified. Re-run with --course flag."


class Exchange(ABCExchange):
    """Settings shared by every action (``c.Exchange.<name>`` in nbgrader_config.py)."""

    url = Unicode(
        help=dedent(
            """
            URL of the ngshare API, e.g. https://hub.example.org/services/ngshare/.
            Default: $NGSHARE_URL; else the hub's public address
            ($JUPYTERHUB_PUBLIC_HUB_URL or $JUPYTERHUB_HOST, with $JUPYTERHUB_BASE_URL)
            plus services/ngshare/; else, on Zero to JupyterHub,
            http://proxy-public/services/ngshare/ as ngshare_exchange does.
            """
        )
    ).tag(config=True)

    #: Set on the class :func:`configure` makes, for instances made without a config.
    configured_url = ""

    @default("url")
    def _default_url(self) -> str:
        return self.configured_url or default_url()

    @property
    def ngshare_url(self) -> str:
        """The API URL without its trailing slash, as ngshare_exchange's tools read it."""
        return self.url.rstrip("/")

    @validate("url")
    def _validate_url(self, proposal: dict[str, Any]) -> str:
        return with_trailing_slash(proposal["value"]) if proposal["value"] else ""

    token = Unicode(
        help="JupyterHub API token sent to ngshare. Default: $JUPYTERHUB_API_TOKEN."
    ).tag(config=True)

    @default("token")
    def _default_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    dev_user = Unicode(
        "",
        help=dedent(
            """
            Development only (vngshare): act as this user by sending user=<name>.
            Leave empty with a real ngshare, which identifies callers by token.
            """
        ),
    ).tag(config=True)

    timeout_seconds = Float(
        120.0, help="Seconds to wait for ngshare to connect and for each read."
    ).tag(config=True)

    cache = Unicode(
        help=dedent(
            """
            Local cache of the student's submissions (used by list and
            fetch_feedback). Default: $JUPYTER_DATA_DIR/nbgrader_cache, as
            nbgrader's own exchange, so switching exchanges keeps it.
            """
        )
    ).tag(config=True)

    @default("cache")
    def _default_cache(self) -> str:
        return os.path.join(jupyter_data_dir(), "nbgrader_cache")

    path_includes_course = Bool(
        False,
        help=dedent(
            """
            Whether students' assignment folders are <course>/<assignment>
            (True) or just <assignment> (False).
            """
        ),
    ).tag(config=True)

    _client: ExchangeClient | None = None

    # -- plumbing ------------------------------------------------------------

    @property
    def client(self) -> ExchangeClient:
        if self._client is None:
            if not self.url:
                self.fail(
                    "The ngshare URL is not configured: set c.Exchange.url in "
                    "nbgrader_config.py or the NGSHARE_URL environment variable."
                )
            self._client = ExchangeClient(
                self.url,
                token=self.token or None,
                dev_user=self.dev_user or None,
                timeout=self.timeout_seconds,
            )
        return self._client

    @property
    def username(self) -> str:
        """Who the server will take us for (names the submission cache folders)."""
        return self.dev_user or os.environ.get("JUPYTERHUB_USER") or getpass.getuser()

    def start(self) -> Any:
        try:
            return super().start()
        except ExchangeApiError as e:
            self.fail(describe(e))
        except UnsafePathError as e:
            self.fail(str(e))
        except OSError as e:
            self.fail(f"{type(e).__name__}: {e}")

    def call(self, action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one API call; on failure, fail with what we tried and the server's message."""
        try:
            return fn(*args, **kwargs)
        except ExchangeApiError as e:
            self.fail(f"{action}: {describe(e)}")
            raise  # unreachable: fail() raises

    # -- courses -------------------------------------------------------------

    def require_course(self) -> str:
        """The configured course, for actions on one course (instructor side)."""
        course_id = self.coursedir.course_id
        if course_id in ("", "*"):
            self.fail(NO_COURSE)
        return course_id

    def all_courses(self) -> list[str]:
        """The configured course, or every course of the caller for '' and '*'."""
        if self.coursedir.course_id in ("", "*"):
            return self.call("Cannot list your courses", self.client.list_courses)
        return [self.coursedir.course_id]

    def course_of(self, assignment_id: str) -> str:
        """The course to act in: the configured one, or for '*' the one offering the assignment."""
        course_id = self.coursedir.course_id
        if course_id == "":
            self.fail(NO_COURSE)
        if course_id != "*":
            return course_id
        offering = [
            c
            for c in self.all_courses()
            if assignment_id
            in self.call("Cannot list assignments", self.client.list_assignments, c)
        ]
        if not offering:
            self.fail(f"Assignment {assignment_id} not found in any of your courses")
        if len(offering) > 1:
            self.fail(
                f"Assignment {assignment_id} is in several of your courses "
                f"({', '.join(offering)}): re-run with --course"
            )
        self.coursedir.course_id = offering[0]
        return offering[0]

    def check_access(self, course_id: str) -> None:
        """Ask nbgrader's authenticator too, as nbgrader's own exchange does."""
        if self.authenticator is not None and not self.authenticator.has_access(
            self.coursedir.student_id, course_id
        ):
            self.fail("You do not have access to this course.")

    def allowed_courses(self) -> list[str] | None:
        """Courses nbgrader's authenticator restricts the listing to (None: no restriction)."""
        if self.authenticator is None or not self.coursedir.student_id:
            return None
        return self.authenticator.get_student_courses(self.coursedir.student_id)

    # -- local files ---------------------------------------------------------

    def assignment_path(self, course_id: str, assignment_id: str) -> str:
        """A student's folder of an assignment, relative to ``assignment_dir``."""
        if self.path_includes_course:
            return os.path.join(self.assignment_dir, course_id, assignment_id)
        return os.path.join(self.assignment_dir, assignment_id)

    def encode(self, root: str) -> list[FileEntry]:
        """Encode a folder by ``CourseDirectory`` rules (ignore, include, max sizes)."""

        def skipped(relpath: str, reason: str) -> None:
            if reason == "too large":
                self.log.warning(
                    "Ignoring file too large '%s' (see config option "
                    "CourseDirectory.max_file_size)",
                    os.path.join(root, relpath),
                )
            else:
                self.log.debug("Ignoring '%s'", os.path.join(root, relpath))

        files = encode_directory(
            root,
            ignore=self.coursedir.ignore,
            include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size,
            on_skip=skipped,
        )
        total = sum(len(f["content"]) * 3 // 4 for f in files)
        if self.coursedir.max_dir_size and total > 1000 * self.coursedir.max_dir_size:
            self.fail(
                f"Directory size is too big: {root} holds {total} bytes, more than "
                f"{1000 * self.coursedir.max_dir_size} (see CourseDirectory.max_dir_size)"
            )
        return files

    def kept(self, files: Iterable[dict[str, str]], all_rules: bool = True) -> list[dict]:
        """Files from the server minus those the ``CourseDirectory`` rules leave out.

        Fetching applies only ``ignore``, as nbgrader's fetch does; collecting
        also applies ``include`` and ``max_file_size``.
        """
        result = []
        for f in files:
            size = len(f.get("content", "")) * 3 // 4
            if all_rules:
                ignored = is_ignored(
                    f["path"],
                    size,
                    self.coursedir.ignore,
                    self.coursedir.include,
                    self.coursedir.max_file_size,
                )
            else:
                ignored = is_ignored(f["path"], ignore=self.coursedir.ignore)
            if ignored:
                self.log.debug("Ignoring '%s'", f["path"])
            else:
                result.append(f)
        return result

    # nbgrader's abc raises NotImplementedError; each action overrides what it needs
    def init_src(self) -> None:
        pass

    def init_dest(self) -> None:
        pass

    def copy_files(self) -> None:
        pass


def describe(e: ExchangeApiError) -> str:
    """The server's message first, then where it came from."""
    where = e.request or "ngshare"
    status = f"HTTP {e.status}" if e.status is not None else "no answer"
    return f"{e.message} ({where}: {status})"


def notebook_ids(paths: Iterable[str]) -> list[str]:
    """Notebook ids of an assignment: its top-level ``.ipynb`` files, as nbgrader lists them."""
    return sorted(p[: -len(".ipynb")] for p in paths if "/" not in p and p.endswith(".ipynb"))


def safe_component(name: str) -> bool:
    """Whether a server-supplied id can name a local folder (no traversal)."""
    return bool(name) and name not in (".", "..") and "/" not in name and os.sep not in name
