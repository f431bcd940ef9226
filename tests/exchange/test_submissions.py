"""Submissions: POST /submission/<c>/<a>, GET /submissions/<c>/<a>[/<s>],
GET /submission/<c>/<a>/<s>.

Course c1 is taught by kevin with students s1 and s2; a1 is released. The
outsiders belong to course c2: olivia teaches it and eve studies in it. root
is an admin and acts as an instructor of every course.
"""

import asyncio
import base64
import json
import re
from datetime import datetime, timedelta, timezone

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
NOT_RELATED = "Permission denied (not related to course)"

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC")
DEFAULT_SUBMISSION = {"p1.ipynb": b'{"cells": ["answer"]}'}


def parse(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=timezone.utc)


def without_utc(ts: str) -> str:
    assert ts.endswith(" UTC")
    return ts[: -len(" UTC")]


async def setup_with_outsiders(exchange):
    await exchange.setup()
    await exchange.course("c2", instructors=(OTHER_INSTRUCTOR,))
    await exchange.students("c2", names=(OUTSIDER,))


async def all_submissions(api, assignment="a1"):
    status, body = await api("GET", f"submissions/c1/{assignment}", user=INSTRUCTOR)
    assert status == 200, body
    return body["submissions"]


# -- POST /submission/<c>/<a> ---------------------------------------------------


async def test_a_submission_answers_exactly_success_and_a_utc_timestamp(exchange, api):
    await exchange.setup()
    status, body = await api(
        "POST", "submission/c1/a1", user=STUDENT, files=encoded(DEFAULT_SUBMISSION)
    )
    assert status == 200
    assert set(body) == {"success", "timestamp"}
    assert body["success"] is True
    assert TIMESTAMP.fullmatch(body["timestamp"]), body["timestamp"]


async def test_the_timestamp_is_the_servers_current_utc_time(exchange, api):
    await exchange.setup()
    before = datetime.now(timezone.utc)
    ts = await exchange.submit()
    after = datetime.now(timezone.utc)
    assert before - timedelta(seconds=1) <= parse(ts) <= after + timedelta(seconds=1)


async def test_a_timestamp_sent_by_the_client_is_ignored(exchange, api):
    await exchange.setup()
    status, body = await api(
        "POST",
        "submission/c1/a1",
        user=STUDENT,
        files=encoded(DEFAULT_SUBMISSION),
        timestamp="2000-01-01 00:00:00.000000 UTC",
    )
    assert status == 200
    assert body["timestamp"] != "2000-01-01 00:00:00.000000 UTC"
    assert parse(body["timestamp"]).year >= 2024
    assert await all_submissions(api) == [{"student_id": STUDENT, "timestamp": body["timestamp"]}]


@pytest.mark.parametrize("user", [STUDENT, OTHER_STUDENT, INSTRUCTOR, ADMIN])
async def test_students_instructors_and_admins_may_submit(exchange, api, user):
    await exchange.setup()
    ts = await exchange.submit(user)
    assert await all_submissions(api) == [{"student_id": user, "timestamp": ts}]


@pytest.mark.parametrize("user", [OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_outsiders_may_not_submit(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api("POST", "submission/c1/a1", user=user, files=encoded(DEFAULT_SUBMISSION)) == (
        403,
        error(NOT_RELATED),
    )
    assert await all_submissions(api) == []


@pytest.mark.parametrize("path", ["submission/c1/a1", "submission/nope/nope"])
async def test_anonymous_callers_may_not_submit(exchange, api, path):
    await exchange.setup()
    assert await api("POST", path, files=encoded(DEFAULT_SUBMISSION)) == (
        401,
        error("Login required"),
    )
    assert await all_submissions(api) == []


@pytest.mark.parametrize("user", [STUDENT, OUTSIDER])
async def test_submitting_to_an_unknown_course_is_course_not_found(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api(
        "POST", "submission/nope/a1", user=user, files=encoded(DEFAULT_SUBMISSION)
    ) == (
        404,
        error("Course not found"),
    )


@pytest.mark.parametrize("user", [STUDENT, INSTRUCTOR, ADMIN])
async def test_submitting_to_an_unknown_assignment_is_assignment_not_found(exchange, api, user):
    await exchange.setup()
    assert await api(
        "POST", "submission/c1/nope", user=user, files=encoded(DEFAULT_SUBMISSION)
    ) == (404, error("Assignment not found"))


async def test_submit_checks_permission_before_looking_up_the_assignment(exchange, api):
    await setup_with_outsiders(exchange)
    assert await api("POST", "submission/c1/nope", user=OUTSIDER) == (403, error(NOT_RELATED))


@pytest.mark.parametrize("files", [None, "not json", entries(("/abs", "amtsCg"))])
async def test_submit_checks_the_assignment_before_the_files(exchange, api, files):
    await exchange.setup()
    fields = {} if files is None else {"files": files}
    assert await api("POST", "submission/c1/nope", user=STUDENT, **fields) == (
        404,
        error("Assignment not found"),
    )


async def test_submitting_to_a_deleted_assignment_is_assignment_not_found(exchange, api):
    await exchange.setup()
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    assert await api(
        "POST", "submission/c1/a1", user=STUDENT, files=encoded(DEFAULT_SUBMISSION)
    ) == (
        404,
        error("Assignment not found"),
    )


GOOD = b64(b"ok")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param(None, "Please supply files", id="missing"),
        pytest.param("not json", "Files cannot be JSON decoded", id="not-json"),
        pytest.param('{"path": "a"}', "Files cannot be JSON decoded", id="object"),
        pytest.param("[1, 2]", "Files cannot be JSON decoded", id="list-of-numbers"),
        pytest.param(entries(("/a", GOOD)), "Illegal path", id="absolute"),
        pytest.param(entries(("", GOOD)), "Illegal path", id="empty"),
        pytest.param(entries((".", GOOD)), "Illegal path", id="dot"),
        pytest.param(entries(("..", GOOD)), "Illegal path", id="dotdot"),
        pytest.param(entries(("a/./b", GOOD)), "Illegal path", id="inner-dot"),
        pytest.param(entries(("a/../b", GOOD)), "Illegal path", id="inner-dotdot"),
        pytest.param(entries(("a//b", GOOD)), "Illegal path", id="double-slash"),
        pytest.param(entries(("a/", GOOD)), "Illegal path", id="trailing-slash"),
        pytest.param(entries(("a", GOOD), ("a", GOOD)), "Illegal path", id="duplicate"),
        pytest.param(entries(("a", "amtsCg")), "Content cannot be base64 decoded", id="unpadded"),
        pytest.param(
            json.dumps([{"path": "a"}]), "Content cannot be base64 decoded", id="no-content"
        ),
        pytest.param(
            entries(("a", GOOD), ("b", "amtsCg"), ("/c", GOOD)),
            "Content cannot be base64 decoded",
            id="files-in-order",
        ),
        pytest.param(entries(("/a", "amtsCg")), "Illegal path", id="path-before-content"),
    ],
)
async def test_a_rejected_submission_answers_400_and_records_nothing(exchange, api, files, message):
    await exchange.setup()
    fields = {} if files is None else {"files": files}
    assert await api("POST", "submission/c1/a1", user=STUDENT, **fields) == (400, error(message))
    assert await all_submissions(api) == []
    assert await api("GET", f"submissions/c1/a1/{STUDENT}", user=STUDENT) == (
        200,
        {"success": True, "submissions": []},
    )
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        404,
        error("Submission not found"),
    )


async def test_an_empty_file_list_is_a_valid_submission(exchange, api):
    await exchange.setup()
    status, body = await api("POST", "submission/c1/a1", user=STUDENT, files="[]")
    assert status == 200
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        200,
        {"success": True, "timestamp": body["timestamp"], "files": []},
    )


async def test_base64_with_line_breaks_is_accepted_in_a_submission(exchange, api):
    data = bytes(range(256)) * 2
    await exchange.setup()
    raw = json.dumps([{"path": "p1.ipynb", "content": base64.encodebytes(data).decode()}])
    await exchange.ok("POST", "submission/c1/a1", STUDENT, files=raw)
    status, body = await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR)
    assert (status, body["files"]) == (200, full({"p1.ipynb": data}))


async def test_quick_submits_get_strictly_increasing_timestamps(exchange, api):
    await exchange.setup()
    stamps = [await exchange.submit(user) for user in [STUDENT, STUDENT, OTHER_STUDENT] * 3]
    assert all(TIMESTAMP.fullmatch(ts) for ts in stamps)
    times = [parse(ts) for ts in stamps]
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    assert times[-1] - times[0] < timedelta(seconds=5)


async def test_timestamps_sort_as_strings_in_time_order(exchange, api):
    await exchange.setup()
    stamps = [await exchange.submit() for _ in range(5)]
    assert sorted(stamps) == stamps
    assert len(set(stamps)) == 5


async def test_concurrent_submits_all_get_distinct_timestamps(exchange, api):
    await exchange.setup()
    stamps = await asyncio.gather(*(exchange.submit(u) for u in [STUDENT, OTHER_STUDENT] * 4))
    assert len(set(stamps)) == 8
    listed_stamps = [s["timestamp"] for s in await all_submissions(api)]
    assert sorted(listed_stamps) == sorted(stamps)


# -- GET /submissions/<c>/<a> ---------------------------------------------------


async def test_an_assignment_without_submissions_lists_none(exchange, api):
    await exchange.setup()
    assert await api("GET", "submissions/c1/a1", user=INSTRUCTOR) == (
        200,
        {"success": True, "submissions": []},
    )


async def test_every_submission_is_listed_with_exactly_student_id_and_timestamp(exchange, api):
    await exchange.setup()
    t1 = await exchange.submit(STUDENT)
    t2 = await exchange.submit(OTHER_STUDENT)
    t3 = await exchange.submit(STUDENT)
    t4 = await exchange.submit(INSTRUCTOR)
    assert await api("GET", "submissions/c1/a1", user=INSTRUCTOR) == (
        200,
        {
            "success": True,
            "submissions": [
                {"student_id": STUDENT, "timestamp": t1},
                {"student_id": OTHER_STUDENT, "timestamp": t2},
                {"student_id": STUDENT, "timestamp": t3},
                {"student_id": INSTRUCTOR, "timestamp": t4},
            ],
        },
    )


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR])
async def test_instructors_and_admins_may_list_all_submissions(exchange, api, user):
    await exchange.setup()
    ts = await exchange.submit()
    assert await api("GET", "submissions/c1/a1", user=user) == (
        200,
        {"success": True, "submissions": [{"student_id": STUDENT, "timestamp": ts}]},
    )


@pytest.mark.parametrize("user", [STUDENT, OTHER_STUDENT, OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_students_and_outsiders_may_not_list_all_submissions(exchange, api, user):
    await setup_with_outsiders(exchange)
    await exchange.submit()
    assert await api("GET", "submissions/c1/a1", user=user) == (403, error(NOT_INSTRUCTOR))


@pytest.mark.parametrize("path", ["submissions/c1/a1", "submissions/nope/nope"])
async def test_anonymous_callers_may_not_list_all_submissions(exchange, api, path):
    await exchange.setup()
    assert await api("GET", path) == (401, error("Login required"))


@pytest.mark.parametrize("user", [INSTRUCTOR, STUDENT])
async def test_listing_submissions_of_an_unknown_course_is_course_not_found(exchange, api, user):
    await exchange.setup()
    assert await api("GET", "submissions/nope/a1", user=user) == (404, error("Course not found"))


async def test_listing_submissions_of_an_unknown_assignment_is_assignment_not_found(exchange, api):
    await exchange.setup()
    assert await api("GET", "submissions/c1/nope", user=INSTRUCTOR) == (
        404,
        error("Assignment not found"),
    )


async def test_listing_submissions_checks_permission_before_the_assignment(exchange, api):
    await exchange.setup()
    assert await api("GET", "submissions/c1/nope", user=STUDENT) == (403, error(NOT_INSTRUCTOR))


async def test_submissions_of_other_assignments_are_not_listed(exchange, api):
    await exchange.setup()
    await exchange.release("a2")
    t1 = await exchange.submit(assignment="a1")
    t2 = await exchange.submit(assignment="a2")
    assert await all_submissions(api, "a1") == [{"student_id": STUDENT, "timestamp": t1}]
    assert await all_submissions(api, "a2") == [{"student_id": STUDENT, "timestamp": t2}]


async def test_submissions_of_removed_students_are_still_listed(exchange, api):
    await exchange.setup()
    ts = await exchange.submit(STUDENT)
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    assert await all_submissions(api) == [{"student_id": STUDENT, "timestamp": ts}]


# -- GET /submissions/<c>/<a>/<s> ------------------------------------------------


async def test_a_student_may_list_their_own_submissions_only(exchange, api):
    await exchange.setup()
    t1 = await exchange.submit(STUDENT)
    await exchange.submit(OTHER_STUDENT)
    t3 = await exchange.submit(STUDENT)
    assert await api("GET", f"submissions/c1/a1/{STUDENT}", user=STUDENT) == (
        200,
        {
            "success": True,
            "submissions": [
                {"student_id": STUDENT, "timestamp": t1},
                {"student_id": STUDENT, "timestamp": t3},
            ],
        },
    )


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR])
async def test_instructors_and_admins_may_list_a_students_submissions(exchange, api, user):
    await exchange.setup()
    await exchange.submit(STUDENT)
    ts = await exchange.submit(OTHER_STUDENT)
    assert await api("GET", f"submissions/c1/a1/{OTHER_STUDENT}", user=user) == (
        200,
        {"success": True, "submissions": [{"student_id": OTHER_STUDENT, "timestamp": ts}]},
    )


@pytest.mark.parametrize("user", [STUDENT, INSTRUCTOR])
async def test_a_member_without_submissions_has_an_empty_list(exchange, api, user):
    await exchange.setup()
    await exchange.submit(OTHER_STUDENT)
    assert await api("GET", f"submissions/c1/a1/{user}", user=user) == (
        200,
        {"success": True, "submissions": []},
    )


async def test_an_instructors_own_submissions_are_listed_under_their_name(exchange, api):
    await exchange.setup()
    ts = await exchange.submit(INSTRUCTOR)
    assert await api("GET", f"submissions/c1/a1/{INSTRUCTOR}", user=INSTRUCTOR) == (
        200,
        {"success": True, "submissions": [{"student_id": INSTRUCTOR, "timestamp": ts}]},
    )


@pytest.mark.parametrize("user", [OTHER_STUDENT, OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_others_may_not_list_a_students_submissions(exchange, api, user):
    await setup_with_outsiders(exchange)
    await exchange.submit(STUDENT)
    assert await api("GET", f"submissions/c1/a1/{STUDENT}", user=user) == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_anonymous_callers_may_not_list_a_students_submissions(exchange, api):
    await exchange.setup()
    await exchange.submit(STUDENT)
    assert await api("GET", f"submissions/c1/a1/{STUDENT}") == (401, error("Login required"))


@pytest.mark.parametrize("target", ["nobody", OUTSIDER, OTHER_INSTRUCTOR])
async def test_listing_a_non_members_submissions_is_student_not_found(exchange, api, target):
    await setup_with_outsiders(exchange)
    assert await api("GET", f"submissions/c1/a1/{target}", user=INSTRUCTOR) == (
        404,
        error("Student not found"),
    )


async def test_an_outsider_asking_for_their_own_submissions_is_student_not_found(exchange, api):
    await setup_with_outsiders(exchange)
    assert await api("GET", f"submissions/c1/a1/{OUTSIDER}", user=OUTSIDER) == (
        404,
        error("Student not found"),
    )


async def test_a_students_submission_list_checks_course_first(exchange, api):
    await setup_with_outsiders(exchange)
    assert await api("GET", "submissions/nope/nope/nobody", user=OUTSIDER) == (
        404,
        error("Course not found"),
    )


async def test_a_students_submission_list_checks_permission_before_the_assignment(exchange, api):
    await exchange.setup()
    assert await api("GET", f"submissions/c1/nope/{STUDENT}", user=OTHER_STUDENT) == (
        403,
        error(NOT_INSTRUCTOR),
    )


@pytest.mark.parametrize(("user", "target"), [(INSTRUCTOR, "nobody"), (OUTSIDER, OUTSIDER)])
async def test_a_students_submission_list_checks_the_assignment_before_the_student(
    exchange, api, user, target
):
    await setup_with_outsiders(exchange)
    assert await api("GET", f"submissions/c1/nope/{target}", user=user) == (
        404,
        error("Assignment not found"),
    )


async def test_instructors_may_list_submissions_of_a_removed_student(exchange, api):
    await exchange.setup()
    ts = await exchange.submit(STUDENT)
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    assert await api("GET", f"submissions/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        200,
        {"success": True, "submissions": [{"student_id": STUDENT, "timestamp": ts}]},
    )


async def test_a_removed_student_who_never_submitted_is_student_not_found(exchange, api):
    await exchange.setup()
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    assert await api("GET", f"submissions/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        404,
        error("Student not found"),
    )


async def test_a_removed_student_may_no_longer_list_their_own_submissions(exchange, api):
    await exchange.setup()
    await exchange.submit(STUDENT)
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    assert await api("GET", f"submissions/c1/a1/{STUDENT}", user=STUDENT) == (
        404,
        error("Student not found"),
    )


# -- GET /submission/<c>/<a>/<s> -------------------------------------------------


async def test_downloading_without_a_timestamp_returns_the_latest_submission(exchange, api):
    first = {"p1.ipynb": b"first"}
    second = {"p1.ipynb": b"second", "extra.txt": b"more"}
    await exchange.setup()
    await exchange.submit(files=first)
    ts = await exchange.submit(files=second)
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        200,
        {"success": True, "timestamp": ts, "files": full(second)},
    )


async def test_a_download_has_exactly_success_timestamp_and_files(exchange, api):
    await exchange.setup()
    await exchange.submit()
    status, body = await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR)
    assert status == 200
    assert set(body) == {"success", "timestamp", "files"}
    assert [set(f) for f in body["files"]] == [{"path", "checksum", "content"}]


async def test_list_only_download_returns_exactly_path_and_checksum(exchange, api):
    files = {"p1.ipynb": b"answer", "data/x.csv": b"3,4\n"}
    await exchange.setup()
    ts = await exchange.submit(files=files)
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR, list_only="true") == (
        200,
        {"success": True, "timestamp": ts, "files": listed(files)},
    )


@pytest.mark.parametrize("form", ["as-listed", "without-utc"])
async def test_an_older_timestamp_fetches_the_older_submission(exchange, api, form):
    first = {"p1.ipynb": b"first"}
    await exchange.setup()
    await exchange.submit(files=first)
    await exchange.submit(files={"p1.ipynb": b"second"})
    older = (await all_submissions(api))[0]["timestamp"]
    sent = older if form == "as-listed" else without_utc(older)
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=sent) == (
        200,
        {"success": True, "timestamp": older, "files": full(first)},
    )


async def test_submission_content_round_trips_byte_exact(exchange, api):
    files = {
        "p1.ipynb": b'{"cells": []}',
        "bin/all-bytes.bin": bytes(range(256)) * 4,
        "empty": b"",
        "data/x.csv": b"\x00\xff\r\n",
    }
    await exchange.setup()
    await exchange.submit(files=files)
    status, body = await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR)
    assert status == 200
    assert body["files"] == full(files)
    assert [(f["path"], base64.b64decode(f["content"])) for f in body["files"]] == list(
        files.items()
    )


@pytest.mark.parametrize(
    "timestamp",
    [
        "2020-01-01 00:00:00.000000 UTC",
        "2020-01-01 00:00:00.000000",
        "yesterday",
        "2020-01-01 00:00:00",
        "2020-01-01T00:00:00.000000",
        "",
    ],
)
async def test_a_malformed_or_unknown_timestamp_is_submission_not_found(exchange, api, timestamp):
    await exchange.setup()
    await exchange.submit()
    assert await api(
        "GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=timestamp
    ) == (404, error("Submission not found"))


async def test_another_students_timestamp_is_submission_not_found(exchange, api):
    await exchange.setup()
    await exchange.submit(STUDENT)
    ts = await exchange.submit(OTHER_STUDENT)
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts) == (
        404,
        error("Submission not found"),
    )


async def test_downloading_when_nothing_was_submitted_is_submission_not_found(exchange, api):
    await exchange.setup()
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        404,
        error("Submission not found"),
    )


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR])
async def test_instructors_and_admins_may_download_a_submission(exchange, api, user):
    await exchange.setup()
    ts = await exchange.submit()
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=user) == (
        200,
        {"success": True, "timestamp": ts, "files": full(DEFAULT_SUBMISSION)},
    )


@pytest.mark.parametrize("user", [STUDENT, OTHER_STUDENT, OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_students_may_not_download_a_submission_even_their_own(exchange, api, user):
    await setup_with_outsiders(exchange)
    ts = await exchange.submit(STUDENT)
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=user) == (
        403,
        error(NOT_INSTRUCTOR),
    )
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=user, timestamp=ts) == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_anonymous_callers_may_not_download_a_submission(exchange, api):
    await exchange.setup()
    await exchange.submit()
    assert await api("GET", f"submission/c1/a1/{STUDENT}") == (401, error("Login required"))


async def test_instructors_may_download_their_own_submission(exchange, api):
    await exchange.setup()
    ts = await exchange.submit(INSTRUCTOR)
    assert await api("GET", f"submission/c1/a1/{INSTRUCTOR}", user=INSTRUCTOR) == (
        200,
        {"success": True, "timestamp": ts, "files": full(DEFAULT_SUBMISSION)},
    )


async def test_instructors_may_download_submissions_of_a_removed_student(exchange, api):
    await exchange.setup()
    ts = await exchange.submit(STUDENT)
    await exchange.ok("DELETE", f"student/c1/{STUDENT}", INSTRUCTOR)
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR, timestamp=ts) == (
        200,
        {"success": True, "timestamp": ts, "files": full(DEFAULT_SUBMISSION)},
    )


@pytest.mark.parametrize("user", [INSTRUCTOR, STUDENT])
async def test_downloading_from_an_unknown_course_is_course_not_found(exchange, api, user):
    await exchange.setup()
    assert await api("GET", "submission/nope/a1/s1", user=user) == (
        404,
        error("Course not found"),
    )


async def test_download_checks_permission_before_the_assignment(exchange, api):
    await exchange.setup()
    assert await api("GET", f"submission/c1/nope/{STUDENT}", user=STUDENT, timestamp="x") == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_download_checks_the_assignment_before_the_student(exchange, api):
    await exchange.setup()
    assert await api("GET", "submission/c1/nope/nobody", user=INSTRUCTOR) == (
        404,
        error("Assignment not found"),
    )


@pytest.mark.parametrize("timestamp", [None, "garbage", "2020-01-01 00:00:00.000000 UTC"])
async def test_download_checks_the_student_before_the_timestamp(exchange, api, timestamp):
    await setup_with_outsiders(exchange)
    fields = {} if timestamp is None else {"timestamp": timestamp}
    for target in ("nobody", OUTSIDER):
        assert await api("GET", f"submission/c1/a1/{target}", user=INSTRUCTOR, **fields) == (
            404,
            error("Student not found"),
        )
