"""Assignments: GET /assignments/<c>; GET, POST and DELETE /assignment/<c>/<a>.

Course c1 is taught by kevin with students s1 and s2 (``exchange.setup()``
also releases a1). The outsiders belong to course c2: olivia teaches it and
eve studies in it. root is an admin and acts as an instructor of every course.
"""

import asyncio
import base64
import json

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

SETUP_FILES = {"p1.ipynb": b'{"cells": []}', "data/x.csv": b"1,2\n"}


async def setup_with_outsiders(exchange):
    await exchange.setup()
    await exchange.course("c2", instructors=(OTHER_INSTRUCTOR,))
    await exchange.students("c2", names=(OUTSIDER,))


async def assignment_names(api, course="c1"):
    status, body = await api("GET", f"assignments/{course}", user=ADMIN)
    assert status == 200, body
    return body["assignments"]


# -- GET /assignments/<c> ------------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT])
async def test_course_members_and_admins_may_list_assignments(exchange, api, user):
    await exchange.setup()
    assert await api("GET", "assignments/c1", user=user) == (
        200,
        {"success": True, "assignments": ["a1"]},
    )


async def test_a_course_without_assignments_lists_none(exchange, api):
    await exchange.course()
    assert await api("GET", "assignments/c1", user=INSTRUCTOR) == (
        200,
        {"success": True, "assignments": []},
    )


async def test_assignments_are_listed_in_release_order(exchange, api):
    await exchange.course()
    for name in ("zeta", "alpha", "mid"):
        await exchange.release(name)
    assert await assignment_names(api) == ["zeta", "alpha", "mid"]


async def test_a_re_released_assignment_moves_to_the_end_of_the_list(exchange, api):
    await exchange.course()
    for name in ("a", "b", "c"):
        await exchange.release(name)
    await exchange.ok("DELETE", "assignment/c1/a", INSTRUCTOR)
    await exchange.release("a")
    assert await assignment_names(api) == ["b", "c", "a"]


async def test_assignments_of_other_courses_are_not_listed(exchange, api):
    await setup_with_outsiders(exchange)
    await exchange.release("only-in-c2", course="c2", user=OTHER_INSTRUCTOR)
    assert await assignment_names(api, "c1") == ["a1"]
    assert await assignment_names(api, "c2") == ["only-in-c2"]


@pytest.mark.parametrize("user", [OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_outsiders_may_not_list_assignments(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api("GET", "assignments/c1", user=user) == (403, error(NOT_RELATED))


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, OUTSIDER])
async def test_listing_assignments_of_an_unknown_course_is_course_not_found(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api("GET", "assignments/nope", user=user) == (404, error("Course not found"))


@pytest.mark.parametrize("course", ["c1", "nope"])
async def test_anonymous_callers_may_not_list_assignments(exchange, api, course):
    await exchange.setup()
    assert await api("GET", f"assignments/{course}") == (401, error("Login required"))


# -- GET /assignment/<c>/<a> ----------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT])
async def test_course_members_and_admins_may_fetch_an_assignment(exchange, api, user):
    await exchange.setup()
    assert await api("GET", "assignment/c1/a1", user=user) == (
        200,
        {"success": True, "files": full(SETUP_FILES)},
    )


async def test_fetched_files_have_exactly_path_checksum_and_content(exchange, api):
    await exchange.setup()
    status, body = await api("GET", "assignment/c1/a1", user=STUDENT)
    assert status == 200
    assert set(body) == {"success", "files"}
    assert [set(f) for f in body["files"]] == [{"path", "checksum", "content"}] * 2


async def test_list_only_returns_exactly_path_and_checksum(exchange, api):
    await exchange.setup()
    assert await api("GET", "assignment/c1/a1", user=STUDENT, list_only="true") == (
        200,
        {"success": True, "files": listed(SETUP_FILES)},
    )


@pytest.mark.parametrize("value", ["false", "True", "TRUE", "1", "yes", ""])
async def test_list_only_other_than_exactly_true_includes_content(exchange, api, value):
    await exchange.setup()
    status, body = await api("GET", "assignment/c1/a1", user=STUDENT, list_only=value)
    assert status == 200
    assert body["files"] == full(SETUP_FILES)


async def test_content_round_trips_byte_exact_including_binary_and_empty_files(exchange, api):
    files = {
        "all-bytes.bin": bytes(range(256)) * 4,
        "empty.txt": b"",
        "nul.bin": b"\x00",
        "crlf.txt": b"line\r\nline\r\n\r\n",
        "unicode.md": "héllo wörld ✓\n".encode(),
        "invalid-utf8.bin": b"\xff\xfe\xc3\x28\x80",
    }
    await exchange.course()
    await exchange.release("bin", files=files)
    status, body = await api("GET", "assignment/c1/bin", user=INSTRUCTOR)
    assert status == 200
    assert body["files"] == full(files)
    assert {f["path"]: base64.b64decode(f["content"]) for f in body["files"]} == files


async def test_downloaded_content_is_plain_base64_without_line_breaks(exchange, api):
    data = bytes(range(256)) * 10  # far beyond 76 encoded characters
    await exchange.course()
    await exchange.release("big", files={"big.bin": data})
    status, body = await api("GET", "assignment/c1/big", user=INSTRUCTOR)
    assert status == 200
    [entry] = body["files"]
    assert "\n" not in entry["content"]
    assert entry["content"] == base64.b64encode(data).decode()


async def test_files_come_back_in_upload_order(exchange, api):
    files = {"z.txt": b"z", "a.txt": b"a", "m/b.txt": b"b", "b.txt": b"bb", "A.txt": b"A"}
    await exchange.course()
    await exchange.release("ordered", files=files)
    status, body = await api("GET", "assignment/c1/ordered", user=INSTRUCTOR, list_only="true")
    assert status == 200
    assert [f["path"] for f in body["files"]] == ["z.txt", "a.txt", "m/b.txt", "b.txt", "A.txt"]


async def test_nested_paths_are_kept_as_uploaded(exchange, api):
    files = {"data/x.csv": b"1,2\n", "deep/er/still/deeper.txt": b"d", "top.ipynb": b"{}"}
    await exchange.course()
    await exchange.release("nested", files=files)
    status, body = await api("GET", "assignment/c1/nested", user=INSTRUCTOR)
    assert status == 200
    assert body["files"] == full(files)


async def test_unusual_but_legal_paths_are_accepted(exchange, api):
    files = {
        ".hidden": b"h",
        "...": b"dots",
        "a..b/c.d": b"c",
        "with space/file name.txt": b"s",
        "données/é.csv": b"e",
        "é" * 127 + "x": b"255 bytes of UTF-8 in one name",
        "d/e/f": b"a file beside its parent's sibling",
        "d/g": b"g",
    }
    await exchange.course()
    await exchange.release("odd", files=files)
    status, body = await api("GET", "assignment/c1/odd", user=INSTRUCTOR)
    assert (status, body["files"]) == (200, full(files))


async def test_assignment_names_with_spaces_and_accents_round_trip_through_the_url(exchange, api):
    await exchange.course()
    await exchange.ok("POST", "assignment/c1/hw%201", INSTRUCTOR, files=encoded(SETUP_FILES))
    await exchange.ok("POST", "assignment/c1/d%C3%A9j%C3%A0", INSTRUCTOR, files="[]")
    assert await assignment_names(api) == ["hw 1", "déjà"]
    status, body = await api("GET", "assignment/c1/hw%201", user=INSTRUCTOR)
    assert (status, body["files"]) == (200, full(SETUP_FILES))


async def test_the_checksum_is_computed_by_the_server_not_taken_from_the_client(exchange, api):
    await exchange.course()
    raw = json.dumps([{"path": "a.txt", "content": b64(b"abc"), "checksum": "0" * 32}])
    await exchange.ok("POST", "assignment/c1/sum", INSTRUCTOR, files=raw)
    status, body = await api("GET", "assignment/c1/sum", user=INSTRUCTOR, list_only="true")
    assert status == 200
    assert body["files"] == [{"path": "a.txt", "checksum": "900150983cd24fb0d6963f7d28e17f72"}]


async def test_identical_content_under_two_paths_is_returned_for_both(exchange, api):
    files = {"one.txt": b"same", "two/one.txt": b"same"}
    await exchange.course()
    await exchange.release("dup-content", files=files)
    status, body = await api("GET", "assignment/c1/dup-content", user=INSTRUCTOR)
    assert status == 200
    assert body["files"] == full(files)


async def test_assignments_of_the_same_name_in_two_courses_are_separate(exchange, api):
    await setup_with_outsiders(exchange)
    c2_files = {"other.ipynb": b"c2"}
    await exchange.release("a1", files=c2_files, course="c2", user=OTHER_INSTRUCTOR)
    status, body = await api("GET", "assignment/c2/a1", user=OUTSIDER)
    assert (status, body["files"]) == (200, full(c2_files))
    status, body = await api("GET", "assignment/c1/a1", user=STUDENT)
    assert (status, body["files"]) == (200, full(SETUP_FILES))


@pytest.mark.parametrize("user", [OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_outsiders_may_not_fetch_an_assignment(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api("GET", "assignment/c1/a1", user=user) == (403, error(NOT_RELATED))


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT])
async def test_fetching_an_unknown_assignment_is_assignment_not_found(exchange, api, user):
    await exchange.setup()
    assert await api("GET", "assignment/c1/nope", user=user) == (
        404,
        error("Assignment not found"),
    )


async def test_fetching_checks_permission_before_looking_up_the_assignment(exchange, api):
    await setup_with_outsiders(exchange)
    assert await api("GET", "assignment/c1/nope", user=OUTSIDER) == (403, error(NOT_RELATED))


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, OUTSIDER])
async def test_fetching_from_an_unknown_course_is_course_not_found(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api("GET", "assignment/nope/a1", user=user) == (404, error("Course not found"))


@pytest.mark.parametrize("path", ["assignment/c1/a1", "assignment/nope/nope"])
async def test_anonymous_callers_may_not_fetch_an_assignment(exchange, api, path):
    await exchange.setup()
    assert await api("GET", path) == (401, error("Login required"))


# -- POST /assignment/<c>/<a> ---------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR])
async def test_instructors_and_admins_may_release_an_assignment(exchange, api, user):
    files = {"hw.ipynb": b'{"cells": [1]}', "data/in.txt": b"input"}
    await exchange.course()
    assert await api("POST", "assignment/c1/hw", user=user, files=encoded(files)) == (
        200,
        {"success": True},
    )
    assert await assignment_names(api) == ["hw"]
    status, body = await api("GET", "assignment/c1/hw", user=INSTRUCTOR)
    assert (status, body["files"]) == (200, full(files))


@pytest.mark.parametrize("user", [STUDENT, OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_students_and_outsiders_may_not_release_an_assignment(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api("POST", "assignment/c1/hw", user=user, files=encoded(SETUP_FILES)) == (
        403,
        error(NOT_INSTRUCTOR),
    )
    assert await assignment_names(api) == ["a1"]


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT])
async def test_releasing_into_an_unknown_course_is_course_not_found(exchange, api, user):
    await exchange.setup()
    assert await api("POST", "assignment/nope/hw", user=user, files=encoded(SETUP_FILES)) == (
        404,
        error("Course not found"),
    )


async def test_releasing_into_an_unknown_course_without_files_is_course_not_found(exchange, api):
    await exchange.setup()
    assert await api("POST", "assignment/nope/hw", user=INSTRUCTOR) == (
        404,
        error("Course not found"),
    )


@pytest.mark.parametrize("path", ["assignment/c1/hw", "assignment/nope/hw"])
async def test_anonymous_callers_may_not_release_an_assignment(exchange, api, path):
    await exchange.setup()
    assert await api("POST", path, files=encoded(SETUP_FILES)) == (401, error("Login required"))
    assert await assignment_names(api) == ["a1"]


async def test_releasing_an_existing_assignment_again_is_a_conflict(exchange, api):
    await exchange.setup()
    new_files = {"other.ipynb": b"replacement"}
    assert await api("POST", "assignment/c1/a1", user=INSTRUCTOR, files=encoded(new_files)) == (
        409,
        error("Assignment already exists"),
    )
    status, body = await api("GET", "assignment/c1/a1", user=INSTRUCTOR)
    assert (status, body["files"]) == (200, full(SETUP_FILES))
    assert await assignment_names(api) == ["a1"]


async def test_the_admin_also_gets_a_conflict_for_an_existing_assignment(exchange, api):
    await exchange.setup()
    assert await api("POST", "assignment/c1/a1", user=ADMIN, files=encoded(SETUP_FILES)) == (
        409,
        error("Assignment already exists"),
    )


async def test_of_two_concurrent_releases_of_one_name_exactly_one_wins(exchange, api):
    await exchange.course()
    first, second = {"first.txt": b"1"}, {"second.txt": b"2"}
    results = await asyncio.gather(
        api("POST", "assignment/c1/race", user=INSTRUCTOR, files=encoded(first)),
        api("POST", "assignment/c1/race", user=ADMIN, files=encoded(second)),
    )
    assert sorted(results, key=lambda r: r[0]) == [
        (200, {"success": True}),
        (409, error("Assignment already exists")),
    ]
    winner = first if results[0][0] == 200 else second
    assert await assignment_names(api) == ["race"]
    status, body = await api("GET", "assignment/c1/race", user=INSTRUCTOR)
    assert (status, body["files"]) == (200, full(winner))


async def test_release_checks_permission_before_the_conflict(exchange, api):
    await exchange.setup()
    assert await api("POST", "assignment/c1/a1", user=STUDENT, files=encoded(SETUP_FILES)) == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_release_checks_the_conflict_before_the_files(exchange, api):
    await exchange.setup()
    assert await api("POST", "assignment/c1/a1", user=INSTRUCTOR) == (
        409,
        error("Assignment already exists"),
    )
    assert await api("POST", "assignment/c1/a1", user=INSTRUCTOR, files="not json") == (
        409,
        error("Assignment already exists"),
    )


@pytest.mark.parametrize("files", [None, "not json", "[{}]"])
async def test_release_checks_permission_before_the_files(exchange, api, files):
    await exchange.setup()
    fields = {} if files is None else {"files": files}
    assert await api("POST", "assignment/c1/hw", user=STUDENT, **fields) == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_re_releasing_after_delete_works_and_serves_the_new_files(exchange, api):
    await exchange.setup()
    new_files = {"v2.ipynb": b'{"version": 2}'}
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    assert await api("POST", "assignment/c1/a1", user=INSTRUCTOR, files=encoded(new_files)) == (
        200,
        {"success": True},
    )
    status, body = await api("GET", "assignment/c1/a1", user=STUDENT)
    assert (status, body["files"]) == (200, full(new_files))
    assert await assignment_names(api) == ["a1"]


async def test_an_empty_file_list_is_a_valid_release(exchange, api):
    await exchange.course()
    assert await api("POST", "assignment/c1/empty", user=INSTRUCTOR, files="[]") == (
        200,
        {"success": True},
    )
    assert await api("GET", "assignment/c1/empty", user=INSTRUCTOR) == (
        200,
        {"success": True, "files": []},
    )


async def test_base64_with_line_breaks_from_encodebytes_is_accepted(exchange, api):
    data = bytes(range(256)) * 3
    content = base64.encodebytes(data).decode()
    assert "\n" in content
    await exchange.course()
    raw = json.dumps([{"path": "nb.html", "content": content}])
    await exchange.ok("POST", "assignment/c1/wrapped", INSTRUCTOR, files=raw)
    status, body = await api("GET", "assignment/c1/wrapped", user=INSTRUCTOR)
    assert (status, body["files"]) == (200, full({"nb.html": data}))


GOOD = b64(b"ok")

REJECTED_UPLOADS = [
    # (files field or None when absent, expected message)
    pytest.param(None, "Please supply files", id="missing"),
    pytest.param("not json", "Files cannot be JSON decoded", id="not-json"),
    pytest.param("", "Files cannot be JSON decoded", id="empty-string"),
    pytest.param("[{", "Files cannot be JSON decoded", id="truncated-json"),
    pytest.param(
        json.dumps({"path": "a", "content": GOOD}), "Files cannot be JSON decoded", id="object"
    ),
    pytest.param('["a.txt"]', "Files cannot be JSON decoded", id="list-of-strings"),
    pytest.param('"a.txt"', "Files cannot be JSON decoded", id="string"),
    pytest.param("null", "Files cannot be JSON decoded", id="null"),
    pytest.param("42", "Files cannot be JSON decoded", id="number"),
    pytest.param(
        json.dumps([{"path": "a", "content": GOOD}, 1]),
        "Files cannot be JSON decoded",
        id="one-item-not-an-object",
    ),
    pytest.param(entries(("/a", GOOD)), "Illegal path", id="absolute"),
    pytest.param(entries(("/", GOOD)), "Illegal path", id="root"),
    pytest.param(entries(("", GOOD)), "Illegal path", id="empty"),
    pytest.param(entries((".", GOOD)), "Illegal path", id="dot"),
    pytest.param(entries(("..", GOOD)), "Illegal path", id="dotdot"),
    pytest.param(entries(("../etc", GOOD)), "Illegal path", id="parent"),
    pytest.param(entries(("a/./b", GOOD)), "Illegal path", id="inner-dot"),
    pytest.param(entries(("a/../b", GOOD)), "Illegal path", id="inner-dotdot"),
    pytest.param(entries(("a/.", GOOD)), "Illegal path", id="trailing-dot"),
    pytest.param(entries(("a//b", GOOD)), "Illegal path", id="double-slash"),
    pytest.param(entries(("a/", GOOD)), "Illegal path", id="trailing-slash"),
    pytest.param(json.dumps([{"content": GOOD}]), "Illegal path", id="no-path"),
    pytest.param(json.dumps([{"path": 1, "content": GOOD}]), "Illegal path", id="path-number"),
    pytest.param(json.dumps([{"path": None, "content": GOOD}]), "Illegal path", id="path-null"),
    pytest.param(entries(("a.txt", GOOD), ("a.txt", GOOD)), "Illegal path", id="duplicate"),
    pytest.param(
        entries(("d/a.txt", GOOD), ("x", GOOD), ("d/a.txt", b64(b"other"))),
        "Illegal path",
        id="duplicate-nested",
    ),
    # ours: what no client can write to disk (ngshare 0.6 accepted these)
    pytest.param(entries(("a", GOOD), ("a/b", GOOD)), "Illegal path", id="file-then-dir"),
    pytest.param(entries(("d/a/b", GOOD), ("d/a", GOOD)), "Illegal path", id="dir-then-file"),
    pytest.param(entries(("back\\slash.txt", GOOD)), "Illegal path", id="backslash"),
    pytest.param(entries(("..\\x", GOOD)), "Illegal path", id="windows-parent"),
    pytest.param(entries(("n" * 256, GOOD)), "Illegal path", id="name-over-255-bytes"),
    pytest.param(entries(("d/" + "é" * 128, GOOD)), "Illegal path", id="utf8-name-over-255"),
    pytest.param(entries(("\ud800", GOOD)), "Illegal path", id="lone-surrogate"),
    pytest.param(entries(("a\x00b", GOOD)), "Illegal path", id="nul"),
    pytest.param(entries(("a.txt", "amtsCg")), "Content cannot be base64 decoded", id="unpadded"),
    pytest.param(entries(("a.txt", "é")), "Content cannot be base64 decoded", id="non-ascii"),
    # ours: ngshare 0.6 skipped foreign characters ("!!!!" was an empty file)
    pytest.param(entries(("a.txt", "!!!!")), "Content cannot be base64 decoded", id="foreign"),
    pytest.param(
        entries(("a.txt", "YQ==YQ==")), "Content cannot be base64 decoded", id="after-padding"
    ),
    pytest.param(
        json.dumps([{"path": "a.txt"}]), "Content cannot be base64 decoded", id="no-content"
    ),
    pytest.param(
        json.dumps([{"path": "a.txt", "content": None}]),
        "Content cannot be base64 decoded",
        id="content-null",
    ),
    pytest.param(
        json.dumps([{"path": "a.txt", "content": 5}]),
        "Content cannot be base64 decoded",
        id="content-number",
    ),
    pytest.param(
        json.dumps([{"path": "a.txt", "content": ["YQ=="]}]),
        "Content cannot be base64 decoded",
        id="content-list",
    ),
    # the order of checks: a file's path before its content, files in order
    pytest.param(entries(("/a", "amtsCg")), "Illegal path", id="path-before-content"),
    pytest.param(
        entries(("a.txt", "amtsCg"), ("/b", GOOD)),
        "Content cannot be base64 decoded",
        id="first-file-first",
    ),
    pytest.param(
        entries(("a.txt", GOOD), ("/b", "amtsCg")),
        "Illegal path",
        id="second-file-path-first",
    ),
    pytest.param(
        entries(("a.txt", GOOD), ("b.txt", GOOD), ("c.txt", "amtsCg")),
        "Content cannot be base64 decoded",
        id="last-file-content",
    ),
]


@pytest.mark.parametrize(("files", "message"), REJECTED_UPLOADS)
async def test_a_rejected_release_answers_400_and_records_nothing(exchange, api, files, message):
    await exchange.course()
    fields = {} if files is None else {"files": files}
    assert await api("POST", "assignment/c1/hw", user=INSTRUCTOR, **fields) == (
        400,
        error(message),
    )
    assert await assignment_names(api) == []
    assert await api("GET", "assignment/c1/hw", user=INSTRUCTOR) == (
        404,
        error("Assignment not found"),
    )
    # the name is still free
    await exchange.release("hw")
    assert await assignment_names(api) == ["hw"]


# -- DELETE /assignment/<c>/<a> -------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR])
async def test_instructors_and_admins_may_delete_an_assignment(exchange, api, user):
    await exchange.setup()
    assert await api("DELETE", "assignment/c1/a1", user=user) == (200, {"success": True})
    assert await assignment_names(api) == []
    assert await api("GET", "assignment/c1/a1", user=STUDENT) == (
        404,
        error("Assignment not found"),
    )


@pytest.mark.parametrize("user", [STUDENT, OUTSIDER, OTHER_INSTRUCTOR, "stranger"])
async def test_students_and_outsiders_may_not_delete_an_assignment(exchange, api, user):
    await setup_with_outsiders(exchange)
    assert await api("DELETE", "assignment/c1/a1", user=user) == (403, error(NOT_INSTRUCTOR))
    assert await assignment_names(api) == ["a1"]


async def test_anonymous_callers_may_not_delete_an_assignment(exchange, api):
    await exchange.setup()
    assert await api("DELETE", "assignment/c1/a1") == (401, error("Login required"))
    assert await assignment_names(api) == ["a1"]


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT])
async def test_deleting_in_an_unknown_course_is_course_not_found(exchange, api, user):
    await exchange.setup()
    assert await api("DELETE", "assignment/nope/a1", user=user) == (
        404,
        error("Course not found"),
    )


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR])
async def test_deleting_an_unknown_assignment_is_assignment_not_found(exchange, api, user):
    await exchange.setup()
    assert await api("DELETE", "assignment/c1/nope", user=user) == (
        404,
        error("Assignment not found"),
    )


async def test_delete_checks_permission_before_looking_up_the_assignment(exchange, api):
    await exchange.setup()
    assert await api("DELETE", "assignment/c1/nope", user=STUDENT) == (
        403,
        error(NOT_INSTRUCTOR),
    )


async def test_deleting_an_assignment_twice_is_assignment_not_found(exchange, api):
    await exchange.setup()
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    assert await api("DELETE", "assignment/c1/a1", user=INSTRUCTOR) == (
        404,
        error("Assignment not found"),
    )


async def test_deleting_an_assignment_leaves_the_others_and_other_courses_alone(exchange, api):
    await setup_with_outsiders(exchange)
    await exchange.release("a2")
    await exchange.release("a1", course="c2", user=OTHER_INSTRUCTOR)
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    assert await assignment_names(api, "c1") == ["a2"]
    assert await assignment_names(api, "c2") == ["a1"]
    status, body = await api("GET", "assignment/c2/a1", user=OUTSIDER)
    assert (status, body["files"]) == (200, full(SETUP_FILES))


async def test_deleting_an_assignment_hides_its_submissions(exchange, api):
    await exchange.setup()
    await exchange.submit(STUDENT)
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    assert await api("GET", "submissions/c1/a1", user=INSTRUCTOR) == (
        404,
        error("Assignment not found"),
    )
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        404,
        error("Assignment not found"),
    )


async def test_a_re_released_assignment_starts_without_submissions(exchange, api):
    await exchange.setup()
    await exchange.submit(STUDENT)
    await exchange.submit(OTHER_STUDENT)
    await exchange.ok("DELETE", "assignment/c1/a1", INSTRUCTOR)
    await exchange.release()
    assert await api("GET", "submissions/c1/a1", user=INSTRUCTOR) == (
        200,
        {"success": True, "submissions": []},
    )
    assert await api("GET", f"submissions/c1/a1/{STUDENT}", user=STUDENT) == (
        200,
        {"success": True, "submissions": []},
    )
    assert await api("GET", f"submission/c1/a1/{STUDENT}", user=INSTRUCTOR) == (
        404,
        error("Submission not found"),
    )
