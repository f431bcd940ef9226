"""Feedback: GET and POST /feedback/<c>/<a>/<s>.

Course c1 is taught by kevin with students s1 and s2; a1 is released. The
outsiders belong to course c2: olivia teaches it and eve studies in it. root
is an admin and acts as an instructor of every course.
"""

import base64
import json
import os

import pytest

from tests.exchange.wire_shapes import b64, encoded, entries, error, full, listed

pytestmark = pytest.mark.gen_test

ADMIN = "root"
INSTRUCTOR = "kevin"
STUDENT = "s1"
OTHER_STUDENT = "s2"
OUTSIDER = "eve"
OTHER_INSTRUCTOR = "olivia"

NOT_INSTRUCTOR = "Permission denied (not course instructor)"

FEEDBACK = {"p1.html": b"<html>well done</html>"}
UNKNOWN_TS = "2020-01-01 00:00:00.000000 UTC"
MALFORMED_TIMESTAMPS = [
    "yesterday",
    "",
    "2020-01-01 00:00:00",
    "2020-01-01T00:00:00.000000",
    "2020-13-01 00:00:00.000000",
    "2020-01-01 00:00:00.000000 CET",
]


def without_utc(ts: str) -> str:
    assert ts.endswith(" UTC")
    return ts[: -len(" UTC")]


async def submitted(exchange, student=STUDENT, outsiders=False) -> str:
    """Set up c1 (and c2 with outsiders); return the timestamp of one submission."""
    await exchange.setup()
    if outsiders:
        await exchange.course("c2", instructors=(OTHER_INSTRUCTOR,))
        await exchange.students("c2", names=(OUTSIDER,))
    return await exchange.submit(student)


async def upload(exchange, ts, files=FEEDBACK, student=STUDENT, user=INSTRUCTOR):
    await exchange.ok("POST", f"feedback/c1/a1/{student}", user, timestamp=ts, files=encoded(files))


async def feedback_of(api, ts, student=STUDENT):
    status, body = await api("GET", f"feedback/c1/a1/{student}", user=INSTRUCTOR, timestamp=ts)
    assert status == 200, body
    return body["files"]


# -- POST /feedback/<c>/<a>/<s> -------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR])
async def test_instructors_and_admins_may_upload_feedback(exchange, api, user):
    ts = await submitted(exchange)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=user, timestamp=ts, files=encoded(FEEDBACK)
    ) == (200, {"success": True})
    assert await feedback_of(api, ts) == full(FEEDBACK)


@pytest.mark.parametrize("user", [STUDENT, OTHER_STUDENT, OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_students_and_outsiders_may_not_upload_feedback(exchange, api, user):
    ts = await submitted(exchange, outsiders=True)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=user, timestamp=ts, files=encoded(FEEDBACK)
    ) == (403, error(NOT_INSTRUCTOR))
    assert await feedback_of(api, ts) == []


async def test_anonymous_callers_may_not_upload_feedback(exchange, api):
    ts = await submitted(exchange)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", timestamp=ts, files=encoded(FEEDBACK)
    ) == (401, error("Login required"))
    assert await feedback_of(api, ts) == []


@pytest.mark.parametrize("form", ["as-emitted", "without-utc", "trailing-space"])
async def test_feedback_upload_accepts_the_timestamp_with_or_without_utc(exchange, api, form):
    ts = await submitted(exchange)
    sent = {"as-emitted": ts, "without-utc": without_utc(ts), "trailing-space": ts + " "}[form]
    assert await api(
        "POST",
        f"feedback/c1/a1/{STUDENT}",
        user=INSTRUCTOR,
        timestamp=sent,
        files=encoded(FEEDBACK),
    ) == (200, {"success": True})
    assert await feedback_of(api, ts) == full(FEEDBACK)


async def test_a_new_feedback_upload_replaces_the_earlier_feedback(exchange, api):
    ts = await submitted(exchange)
    await upload(exchange, ts, {"p1.html": b"first", "extra.html": b"gone later"})
    second = {"p1.html": b"second", "notes/summary.txt": b"ok"}
    await upload(exchange, ts, second)
    assert await feedback_of(api, ts) == full(second)


async def test_an_empty_feedback_upload_clears_the_feedback(exchange, api):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts, files="[]"
    ) == (200, {"success": True})
    assert await feedback_of(api, ts) == []


async def test_feedback_belongs_to_one_submission_only(exchange, api):
    ts1 = await submitted(exchange)
    ts2 = await exchange.submit(STUDENT)
    ts_other = await exchange.submit(OTHER_STUDENT)
    await upload(exchange, ts1)
    assert await feedback_of(api, ts1) == full(FEEDBACK)
    assert await feedback_of(api, ts2) == []
    assert await feedback_of(api, ts_other, student=OTHER_STUDENT) == []


async def test_feedback_content_round_trips_byte_exact(exchange, api):
    files = {
        "p1.html": "<p>très bien ✓</p>".encode(),
        "img/plot.png": bytes(range(256)) * 4,
        "empty.txt": b"",
    }
    ts = await submitted(exchange)
    await upload(exchange, ts, files)
    got = await feedback_of(api, ts)
    assert got == full(files)
    assert [(f["path"], base64.b64decode(f["content"])) for f in got] == list(files.items())


async def test_feedback_encoded_with_line_breaks_is_accepted(exchange, api):
    # ngshare_exchange's release_feedback encodes with base64.encodebytes
    data = b"<html>" + bytes(range(256)) * 2 + b"</html>"
    ts = await submitted(exchange)
    raw = json.dumps([{"path": "p1.html", "content": base64.encodebytes(data).decode()}])
    await exchange.ok("POST", f"feedback/c1/a1/{STUDENT}", INSTRUCTOR, timestamp=ts, files=raw)
    assert await feedback_of(api, ts) == full({"p1.html": data})


async def test_instructors_may_upload_feedback_for_a_removed_student(exchange, api):
    ts = await submitted(exchange)
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    await upload(exchange, ts)
    assert await feedback_of(api, ts) == full(FEEDBACK)


GOOD = b64(b"ok")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param(None, "Please supply files", id="missing"),
        pytest.param("not json", "Files cannot be JSON decoded", id="not-json"),
        pytest.param('{"path": "a.html"}', "Files cannot be JSON decoded", id="object"),
        pytest.param('["a.html"]', "Files cannot be JSON decoded", id="list-of-strings"),
        pytest.param(entries(("/a.html", GOOD)), "Illegal path", id="absolute"),
        pytest.param(entries(("", GOOD)), "Illegal path", id="empty"),
        pytest.param(entries((".", GOOD)), "Illegal path", id="dot"),
        pytest.param(entries(("..", GOOD)), "Illegal path", id="dotdot"),
        pytest.param(entries(("a/./b", GOOD)), "Illegal path", id="inner-dot"),
        pytest.param(entries(("a/../b", GOOD)), "Illegal path", id="inner-dotdot"),
        pytest.param(entries(("a//b", GOOD)), "Illegal path", id="double-slash"),
        pytest.param(entries(("a/", GOOD)), "Illegal path", id="trailing-slash"),
        pytest.param(entries(("a.html", GOOD), ("a.html", GOOD)), "Illegal path", id="duplicate"),
        pytest.param(
            entries(("a.html", "amtsCg")), "Content cannot be base64 decoded", id="unpadded"
        ),
        pytest.param(
            json.dumps([{"path": "a.html", "content": 1}]),
            "Content cannot be base64 decoded",
            id="content-not-a-string",
        ),
        pytest.param(
            entries(("a.html", GOOD), ("b.html", "amtsCg")),
            "Content cannot be base64 decoded",
            id="second-file",
        ),
    ],
)
async def test_a_rejected_feedback_upload_keeps_the_old_feedback(exchange, api, files, message):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    fields = {} if files is None else {"files": files}
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts, **fields
    ) == (400, error(message))
    assert await feedback_of(api, ts) == full(FEEDBACK)


async def test_a_rejected_first_feedback_upload_records_nothing(exchange, api):
    ts = await submitted(exchange)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts, files="[{}]"
    ) == (400, error("Illegal path"))
    assert await feedback_of(api, ts) == []


async def test_a_failed_commit_keeps_the_old_feedback_and_leaves_no_staged_file(
    exchange, api, server, monkeypatch
):
    ts = await submitted(exchange)
    await upload(exchange, ts)

    def failing_commit(staged, connection=None):
        assert any(b.temp_path for b in staged)  # the large file was staged as a file
        raise OSError("disk full")

    monkeypatch.setattr(server.storage, "commit", failing_commit)
    files = {"p1.html": b"<p>second</p>", "big.bin": os.urandom(server.storage.inline_bytes + 1)}
    status, body = await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts, files=encoded(files)
    )
    assert status == 500 and body["success"] is False
    assert list(server.storage.tmp.iterdir()) == []
    monkeypatch.undo()
    assert await feedback_of(api, ts) == full(FEEDBACK)


# the order of checks on upload: course, permission, assignment, student,
# timestamp (missing, malformed, unknown), then files


@pytest.mark.parametrize("user", [INSTRUCTOR, STUDENT])
async def test_feedback_upload_checks_the_course_first(exchange, api, user):
    await submitted(exchange)
    assert await api("POST", "feedback/nope/nope/nobody", user=user) == (
        404,
        error("Course not found"),
    )


async def test_feedback_upload_checks_permission_before_the_assignment(exchange, api):
    await submitted(exchange)
    assert await api("POST", f"feedback/c1/nope/{STUDENT}", user=STUDENT) == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_feedback_upload_checks_the_assignment_before_the_student(exchange, api):
    await submitted(exchange)
    assert await api("POST", "feedback/c1/nope/nobody", user=INSTRUCTOR) == (
        404,
        error("Assignment not found"),
    )


@pytest.mark.parametrize("target", ["nobody", OUTSIDER])
async def test_feedback_upload_checks_the_student_before_the_timestamp(exchange, api, target):
    await submitted(exchange, outsiders=True)
    assert await api("POST", f"feedback/c1/a1/{target}", user=INSTRUCTOR) == (
        404,
        error("Student not found"),
    )


async def test_feedback_upload_without_a_timestamp_is_please_supply_timestamp(exchange, api):
    await submitted(exchange)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, files=encoded(FEEDBACK)
    ) == (400, error("Please supply timestamp"))
    assert await api("POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        400,
        error("Please supply timestamp"),
    )


@pytest.mark.parametrize("timestamp", MALFORMED_TIMESTAMPS)
async def test_feedback_upload_with_a_malformed_timestamp_is_time_format_incorrect(
    exchange, api, timestamp
):
    await submitted(exchange)
    assert await api("POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=timestamp) == (
        400,
        error("Time format incorrect"),
    )


@pytest.mark.parametrize("timestamp", [UNKNOWN_TS, without_utc(UNKNOWN_TS)])
async def test_feedback_upload_for_an_unknown_timestamp_is_submission_not_found(
    exchange, api, timestamp
):
    await submitted(exchange)
    assert await api(
        "POST",
        f"feedback/c1/a1/{STUDENT}",
        user=INSTRUCTOR,
        timestamp=timestamp,
        files=encoded(FEEDBACK),
    ) == (404, error("Submission not found"))


async def test_feedback_upload_looks_up_the_submission_before_the_files(exchange, api):
    await submitted(exchange)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=UNKNOWN_TS
    ) == (404, error("Submission not found"))
    assert await api(
        "POST",
        f"feedback/c1/a1/{STUDENT}",
        user=INSTRUCTOR,
        timestamp=UNKNOWN_TS,
        files="not json",
    ) == (404, error("Submission not found"))


async def test_feedback_upload_for_another_students_timestamp_is_submission_not_found(
    exchange, api
):
    await submitted(exchange)
    ts = await exchange.submit(OTHER_STUDENT)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts, files=encoded(FEEDBACK)
    ) == (404, error("Submission not found"))
    assert await feedback_of(api, ts, student=OTHER_STUDENT) == []


async def test_feedback_upload_for_a_deleted_assignment_is_assignment_not_found(exchange, api):
    ts = await submitted(exchange)
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    assert await api(
        "POST", f"feedback/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts, files=encoded(FEEDBACK)
    ) == (404, error("Assignment not found"))


# -- GET /feedback/<c>/<a>/<s> --------------------------------------------------


async def test_feedback_of_a_submission_without_feedback_is_an_empty_list(exchange, api):
    ts = await submitted(exchange)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=ts) == (
        200,
        {"success": True, "timestamp": ts, "files": []},
    )


@pytest.mark.parametrize("user", [STUDENT, INSTRUCTOR, ADMIN])
async def test_the_student_instructors_and_admins_may_read_feedback(exchange, api, user):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=user, timestamp=ts) == (
        200,
        {"success": True, "timestamp": ts, "files": full(FEEDBACK)},
    )


async def test_feedback_entries_have_exactly_path_checksum_and_content(exchange, api):
    ts = await submitted(exchange)
    await upload(exchange, ts, {"a.html": b"a", "b/c.html": b"c"})
    status, body = await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=ts)
    assert status == 200
    assert set(body) == {"success", "timestamp", "files"}
    assert [set(f) for f in body["files"]] == [{"path", "checksum", "content"}] * 2


async def test_list_only_feedback_returns_exactly_path_and_checksum(exchange, api):
    files = {"p1.html": b"<p>1</p>", "p2.html": b"<p>2</p>"}
    ts = await submitted(exchange)
    await upload(exchange, ts, files)
    assert await api(
        "GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=ts, list_only="true"
    ) == (200, {"success": True, "timestamp": ts, "files": listed(files)})


async def test_feedback_files_come_back_in_upload_order(exchange, api):
    files = {"z.html": b"z", "a.html": b"a", "m/n.html": b"n"}
    ts = await submitted(exchange)
    await upload(exchange, ts, files)
    assert [f["path"] for f in await feedback_of(api, ts)] == ["z.html", "a.html", "m/n.html"]


@pytest.mark.parametrize("form", ["without-utc", "trailing-space"])
async def test_feedback_read_accepts_the_timestamp_without_utc_and_answers_with_it(
    exchange, api, form
):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    sent = without_utc(ts) if form == "without-utc" else ts + " "
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=sent) == (
        200,
        {"success": True, "timestamp": ts, "files": full(FEEDBACK)},
    )


@pytest.mark.parametrize("user", [OTHER_STUDENT, OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_others_may_not_read_a_students_feedback(exchange, api, user):
    ts = await submitted(exchange, outsiders=True)
    await upload(exchange, ts)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=user, timestamp=ts) == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_anonymous_callers_may_not_read_feedback(exchange, api):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", timestamp=ts) == (
        401,
        error("Login required"),
    )


async def test_instructors_may_read_feedback_of_a_removed_student(exchange, api):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    assert await feedback_of(api, ts) == full(FEEDBACK)


async def test_a_removed_student_may_no_longer_read_their_own_feedback(exchange, api):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=ts) == (
        404,
        error("Student not found"),
    )


# the order of checks on read: course, permission (unless reading one's own),
# assignment, student, timestamp (missing, malformed, unknown)


@pytest.mark.parametrize("user", [INSTRUCTOR, STUDENT, OUTSIDER])
async def test_feedback_read_checks_the_course_first(exchange, api, user):
    await submitted(exchange, outsiders=True)
    assert await api("GET", f"feedback/nope/nope/{STUDENT}", user=user) == (
        404,
        error("Course not found"),
    )


async def test_feedback_read_checks_permission_before_the_assignment(exchange, api):
    await submitted(exchange)
    assert await api("GET", f"feedback/c1/nope/{STUDENT}", user=OTHER_STUDENT) == (
        403,
        error(NOT_INSTRUCTOR),
    )


@pytest.mark.parametrize(("user", "target"), [(STUDENT, STUDENT), (INSTRUCTOR, "nobody")])
async def test_feedback_read_checks_the_assignment_before_the_student(exchange, api, user, target):
    await submitted(exchange)
    assert await api("GET", f"feedback/c1/nope/{target}", user=user) == (
        404,
        error("Assignment not found"),
    )


@pytest.mark.parametrize(("user", "target"), [(INSTRUCTOR, "nobody"), (OUTSIDER, OUTSIDER)])
async def test_feedback_read_checks_the_student_before_the_timestamp(exchange, api, user, target):
    await submitted(exchange, outsiders=True)
    assert await api("GET", f"feedback/c1/a1/{target}", user=user) == (
        404,
        error("Student not found"),
    )


@pytest.mark.parametrize("user", [STUDENT, INSTRUCTOR])
async def test_feedback_read_without_a_timestamp_is_please_supply_timestamp(exchange, api, user):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=user) == (
        400,
        error("Please supply timestamp"),
    )


@pytest.mark.parametrize("timestamp", MALFORMED_TIMESTAMPS)
async def test_feedback_read_with_a_malformed_timestamp_is_time_format_incorrect(
    exchange, api, timestamp
):
    await submitted(exchange)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=timestamp) == (
        400,
        error("Time format incorrect"),
    )


@pytest.mark.parametrize("timestamp", [UNKNOWN_TS, without_utc(UNKNOWN_TS)])
async def test_feedback_read_for_an_unknown_timestamp_is_submission_not_found(
    exchange, api, timestamp
):
    await submitted(exchange)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=timestamp) == (
        404,
        error("Submission not found"),
    )


async def test_feedback_read_for_another_students_timestamp_is_submission_not_found(exchange, api):
    await submitted(exchange)
    ts = await exchange.submit(OTHER_STUDENT)
    await upload(exchange, ts, student=OTHER_STUDENT)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=ts) == (
        404,
        error("Submission not found"),
    )


async def test_feedback_read_after_the_assignment_is_deleted_is_assignment_not_found(exchange, api):
    ts = await submitted(exchange)
    await upload(exchange, ts)
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=ts) == (
        404,
        error("Assignment not found"),
    )
    await exchange.release()
    assert await api("GET", f"feedback/c1/a1/{STUDENT}", user=STUDENT, timestamp=ts) == (
        404,
        error("Submission not found"),
    )
