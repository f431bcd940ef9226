"""The plugin's classes driven in-process (fast): configuration and the corners of each action.

The whole-course walk through the ``nbgrader`` commands is in
test_course_workflow.py; here each class is built the way nbgrader's apps
build it (``coursedir``, ``authenticator``, ``config``) and started.
"""

from __future__ import annotations

import base64
import logging
import sqlite3

import pytest

pytest.importorskip("nbgrader")

from nbgrader.auth import Authenticator  # noqa: E402
from nbgrader.coursedir import CourseDirectory  # noqa: E402
from nbgrader.exchange import ExchangeError, ExchangeFactory  # noqa: E402
from traitlets.config import Config  # noqa: E402

import ngshare.clients.nbgrader as plugin  # noqa: E402
from ngshare.clients.api import ExchangeClient, encode_bytes  # noqa: E402
from tests.servers import running_server  # noqa: E402


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("vngshare")


@pytest.fixture(scope="module")
def api_url(server_dir):
    with running_server(server_dir) as base:
        yield base + "/api/"


def enrol_behind_the_servers_back(server_dir, course: str, name: str) -> None:
    """Enrol a student id the server refuses (a database from before its id checks may hold one)."""
    db = sqlite3.connect(server_dir / "ngshare.db")
    try:
        with db:  # one transaction
            db.execute(
                "INSERT INTO users (name, created_at) VALUES (?, '2020-01-01 00:00:00.000000')",
                (name,),
            )
            db.execute(
                "INSERT INTO exchange_memberships (course_pk, user_pk, role, position)"
                " SELECT c.pk, u.pk, 'student', 99 FROM exchange_courses c, users u"
                " WHERE c.name = ? AND c.deleted_at IS NULL AND u.name = ?",
                (course, name),
            )
    finally:
        db.close()


@pytest.fixture
def as_user(api_url):
    def client(user: str) -> ExchangeClient:
        return ExchangeClient(api_url, token="", dev_user=user)

    return client


_n = iter(range(1, 1000))


@pytest.fixture
def course(as_user):
    """A fresh course taught by kevin with student alice; ps1 released."""
    name = f"pc{next(_n)}"
    as_user("root").create_course(name, ["kevin"])
    as_user("kevin").add_student(name, "alice")
    as_user("kevin").release_assignment(
        name, "ps1", [encode_bytes("p1.ipynb", b"{}"), encode_bytes("data.csv", b"1")]
    )
    return name


@pytest.fixture
def act(api_url, tmp_path):
    """``act(action, user, course=..., assignment=..., **settings)``: start one action.

    Settings named ``Class.trait`` go to that config section, the others to
    ``c.Exchange``. Each user works in ``tmp_path/<user>``.
    """

    def run(action: str, user: str, course: str = "", assignment: str = "", **settings):
        c = Config()
        plugin.configure(c, url=api_url, dev_user=user)
        home = tmp_path / user
        home.mkdir(exist_ok=True)
        c.Exchange.assignment_dir = str(home)
        c.Exchange.cache = str(home / "cache")
        c.CourseDirectory.root = str(home)
        c.CourseDirectory.course_id = course
        c.CourseDirectory.assignment_id = assignment
        for key, value in settings.items():
            section, _, name = key.rpartition("__")
            setattr(getattr(c, section or "Exchange"), name, value)
        factory = ExchangeFactory(config=c)
        make = getattr(factory, action)
        return make(
            coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c
        ).start()

    return run


def test_configure_sets_all_eight_classes_and_exchange_options():
    c = Config()
    plugin.configure(c, url="http://h/ngshare", dev_user="alice", path_includes_course=True)
    factory = ExchangeFactory(config=c)
    assert factory.collect is plugin.ExchangeCollect
    assert factory.list is plugin.ExchangeList
    actions = {e: cls for e, cls in plugin.PLUGIN_CLASSES.items() if e != "exchange"}
    assert {getattr(factory, entry) for entry in actions} == set(actions.values())
    # the exchange entry: a subclass knowing the URL, for tools that make one without a config
    assert issubclass(factory.exchange, plugin.Exchange)
    exchange = factory.exchange(config=c)
    assert (exchange.url, exchange.dev_user, exchange.path_includes_course) == (
        "http://h/ngshare/",
        "alice",
        True,
    )
    assert factory.exchange().ngshare_url == "http://h/ngshare"
    with pytest.raises(TypeError, match="unknown option.*bogus"):
        plugin.configure(Config(), bogus=1)


def test_url_and_token_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("NGSHARE_URL", "http://from-env/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok")
    exchange = plugin.Exchange()
    assert (exchange.url, exchange.token) == ("http://from-env/api/", "tok")


def test_no_url_configured_fails_clearly(act, monkeypatch, course):
    monkeypatch.delenv("NGSHARE_URL", raising=False)
    with pytest.raises(ExchangeError, match="ngshare URL is not configured"):
        act("List", "alice", course, url="")


class TestAgainstVngshare:
    def test_all_courses_and_path_includes_course(self, act, as_user, course, tmp_path):
        other = course + "b"
        as_user("root").create_course(other, ["kevin"])
        as_user("kevin").add_student(other, "alice")
        as_user("kevin").release_assignment(other, "ps2", [encode_bytes("q.ipynb", b"{}")])
        listed = [i for i in act("List", "alice", "*") if i["course_id"] in (course, other)]
        assert [(i["course_id"], i["assignment_id"], i["status"]) for i in listed] == [
            (course, "ps1", "released"),
            (other, "ps2", "released"),
        ]
        act("FetchAssignment", "alice", "*", "ps2", path_includes_course=True)
        assert (tmp_path / "alice" / other / "ps2" / "q.ipynb").read_bytes() == b"{}"
        act("Submit", "alice", "*", "ps2", path_includes_course=True)
        assert [s["student_id"] for s in as_user("kevin").list_submissions(other, "ps2")] == [
            "alice"
        ]
        as_user("kevin").release_assignment(other, "ps1", [])
        with pytest.raises(ExchangeError, match="several of your courses"):
            act("FetchAssignment", "alice", "*", "ps1")

    def test_submit_honours_ignore_and_max_file_size(self, act, as_user, course, tmp_path, caplog):
        act("FetchAssignment", "alice", course, "ps1")
        work = tmp_path / "alice" / "ps1"
        (work / "__pycache__").mkdir()
        (work / "__pycache__" / "m.pyc").write_bytes(b"c")
        (work / "big.bin").write_bytes(b"x" * 3000)
        (work / "notes.txt").write_text("mine")
        with caplog.at_level(logging.WARNING):
            act("Submit", "alice", course, "ps1", CourseDirectory__max_file_size=2)
        assert "Ignoring file too large" in caplog.text
        files = as_user("kevin").get_submission(course, "ps1", "alice", list_only=True)["files"]
        assert sorted(f["path"] for f in files) == ["data.csv", "notes.txt", "p1.ipynb"]

    def test_submit_strict_and_explicit_student(self, act, course, tmp_path):
        (tmp_path / "alice" / "ps1").mkdir(parents=True)
        (tmp_path / "alice" / "ps1" / "other.ipynb").write_text("{}")
        with pytest.raises(ExchangeError, match="p1.ipynb: MISSING"):
            act("Submit", "alice", course, "ps1", ExchangeSubmit__strict=True)
        with pytest.raises(ExchangeError, match="explicit student ID"):
            act("Submit", "alice", course, "ps1", CourseDirectory__student_id="bob")
        with pytest.raises(ExchangeError, match="Assignment not found at"):
            act("Submit", "alice", course, "ps7")

    def test_feedback_of_a_vanished_submission_is_skipped(self, act, as_user, course, tmp_path):
        act("FetchAssignment", "alice", course, "ps1")
        act("Submit", "alice", course, "ps1")
        [cached] = act("List", "alice", course, ExchangeList__cached=True)
        assert cached["submissions"][0]["has_exchange_feedback"] is False
        as_user("kevin").delete_assignment(course, "ps1")
        as_user("kevin").release_assignment(course, "ps1", [encode_bytes("p1.ipynb", b"{}")])
        act("FetchFeedback", "alice", course, "ps1")  # warns, does not fail
        [cached] = act("List", "alice", course, ExchangeList__cached=True)
        assert cached["submissions"][0]["has_exchange_feedback"] is False
        assert not (tmp_path / "alice" / "ps1" / "feedback").exists()

    def test_collect_refuses_unusable_student_ids_but_collects_the_rest(
        self, act, as_user, course, tmp_path, server_dir
    ):
        [refused] = as_user("kevin").add_students(
            course, [{"username": "..", "first_name": "", "last_name": "", "email": ""}]
        )
        assert refused == {"username": "..", "success": False, "message": "Illegal student id"}
        enrol_behind_the_servers_back(server_dir, course, "..")
        as_user("..").submit(course, "ps1", [encode_bytes("p1.ipynb", b"evil")])
        as_user("alice").submit(course, "ps1", [encode_bytes("p1.ipynb", b"fine")])
        with pytest.raises(ExchangeError, match="'..': not a usable folder name"):
            act("Collect", "kevin", course, "ps1")
        submitted = tmp_path / "kevin" / "submitted"
        assert sorted(p.name for p in submitted.iterdir()) == ["alice"]
        assert (submitted / "alice" / "ps1" / "p1.ipynb").read_bytes() == b"fine"
        assert not (tmp_path / "kevin" / "ps1").exists()

    def test_release_feedback_reports_failures_after_releasing_the_rest(
        self, act, as_user, course, tmp_path
    ):
        ts = as_user("alice").submit(course, "ps1", [encode_bytes("p1.ipynb", b"x")])
        as_user("kevin").add_student(course, "bob")
        for student, timestamp in (("alice", ts), ("bob", "2000-01-01 00:00:00.000000 UTC")):
            folder = tmp_path / "kevin" / "feedback" / student / "ps1"
            folder.mkdir(parents=True)
            (folder / "p1.html").write_text(f"<p>{student}</p>")
            (folder / "timestamp.txt").write_text(timestamp + "\n")
        with pytest.raises(ExchangeError, match="bob: Submission not found"):
            act("ReleaseFeedback", "kevin", course, "ps1")
        [html] = as_user("alice").get_feedback(course, "ps1", "alice", ts)["files"]
        assert base64.b64decode(html["content"]) == b"<p>alice</p>"

    def test_inbound_remove_is_refused_and_instructor_actions_need_a_course(self, act, course):
        with pytest.raises(ExchangeError, match="does not remove submissions"):
            act("List", "kevin", course, ExchangeList__inbound=True, ExchangeList__remove=True)
        with pytest.raises(ExchangeError, match="No course id specified"):
            act("Collect", "kevin", "*", "ps1")
        with pytest.raises(ExchangeError, match="Permission denied \\(not course instructor\\)"):
            act("List", "alice", course, ExchangeList__inbound=True)
