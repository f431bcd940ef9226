"""Bad input gets a 4xx JSON answer, the same on SQLite and PostgreSQL, and changes nothing.

Ids in URLs and in JSON fields, roster names, deeply nested JSON, and the
number of files in one upload. Course c1 is taught by kevin with students s1
and s2; a1 is released (see ``Exchange.setup`` in tests/conftest.py).
"""

import json
import time
from urllib.parse import quote, urlencode

import pytest

from ngshare.exchange.config import Exchange
from ngshare.exchange.wire import PathTree, is_legal_path
from tests.exchange.wire_shapes import b64, encoded, entries, error

pytestmark = pytest.mark.gen_test

ADMIN = "root"
INSTRUCTOR = "kevin"
STUDENT = "s1"

NAMES = {"first_name": "F", "last_name": "L", "email": "e@x"}
NOT_INSTRUCTOR = (403, {"success": False, "message": "Permission denied (not course instructor)"})
NAME_FIELDS = [
    ("first_name", "Illegal first name"),
    ("last_name", "Illegal last name"),
    ("email", "Illegal email"),
]

#: Ids in URLs (percent-encoded) that no client can make a directory of, or no
#: database stores alike: NUL (PostgreSQL refuses it), not UTF-8, '.', '..',
#: a slash, a backslash, over 255 bytes.
BAD_URL_IDS = [
    pytest.param("a%00b", id="nul"),
    pytest.param("a%FFb", id="not-utf8"),
    pytest.param("%2E%2E", id="dotdot"),
    pytest.param("%2E", id="dot"),
    pytest.param("a%2Fb", id="slash"),
    pytest.param("a%5Cb", id="backslash"),
    pytest.param("%5C..", id="windows-parent"),
    pytest.param("x" * 256, id="256-bytes"),
    pytest.param("%C3%A9" * 128, id="256-bytes-of-utf8"),
]
#: The same kinds of ids as they appear in JSON fields.
BAD_JSON_IDS = [
    pytest.param("a\x00b", id="nul"),
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("a/b", id="slash"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("x" * 256, id="256-bytes"),
    pytest.param("\ud800", id="lone-surrogate"),
]


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


async def course_names(api) -> list[str]:
    status, body = await api("GET", "courses", user=ADMIN)
    assert status == 200, body
    return body["courses"]


async def roster(api, kind: str = "students") -> list[str]:
    status, body = await api("GET", f"{kind}/c1", user=INSTRUCTOR)
    assert status == 200, body
    return [p["username"] for p in body[kind]]


# -- deeply nested JSON -------------------------------------------------------------


@pytest.mark.parametrize("levels", [1000, 100_000])
async def test_deeply_nested_files_are_not_json(exchange, api, levels):
    await exchange.setup()
    for method, path in [("POST", "assignment/c1/deep"), ("POST", "submission/c1/a1")]:
        user = INSTRUCTOR if path.startswith("assignment") else STUDENT
        assert await api(method, path, user=user, files=deep(levels)) == (
            400,
            error("Files cannot be JSON decoded"),
        )
    nested_in_entry = json.dumps([{"path": "a", "content": b64(b"x")}])[:-1] + ", " + deep(levels)
    assert await api("POST", "submission/c1/a1", user=STUDENT, files=nested_in_entry + "]") == (
        400,
        error("Files cannot be JSON decoded"),
    )
    status, body = await api("GET", "submissions/c1/a1", user=INSTRUCTOR)
    assert (status, body["submissions"]) == (200, [])


@pytest.mark.parametrize("levels", [1000, 100_000])
async def test_deeply_nested_instructors_are_not_json(exchange, api, levels):
    status, body = await api("POST", "course/deep", user=ADMIN, instructors=deep(levels))
    assert (status, body) == (400, error("Instructors cannot be JSON decoded"))
    assert await course_names(api) == []


@pytest.mark.parametrize("levels", [1000, 100_000])
async def test_deeply_nested_students_are_not_json(exchange, api, levels):
    await exchange.course()
    for students in (deep(levels), '[{"username": ' + deep(levels) + "}]"):
        status, body = await api("POST", "students/c1", user=INSTRUCTOR, students=students)
        assert (status, body) == (400, error("Students cannot be JSON decoded"))
    assert await roster(api) == []


# -- ids in URLs: lookups -------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_URL_IDS)
async def test_an_unstorable_or_illegal_id_is_simply_not_found(exchange, api, bad):
    """Looked up, an id that cannot exist is not found, at its place in ngshare's order."""
    await exchange.setup()
    await exchange.submit()
    course_not_found = (404, error("Course not found"))
    assignment_not_found = (404, error("Assignment not found"))
    student_not_found = (404, error("Student not found"))
    cases = [
        ("GET", f"assignments/{bad}", INSTRUCTOR, course_not_found),
        ("GET", f"instructors/{bad}", INSTRUCTOR, course_not_found),
        ("GET", f"students/{bad}", INSTRUCTOR, course_not_found),
        ("DELETE", f"course/{bad}", ADMIN, course_not_found),
        ("GET", f"assignment/{bad}/a1", STUDENT, course_not_found),
        ("GET", f"submission/{bad}/a1/s1", INSTRUCTOR, course_not_found),
        ("GET", f"assignment/c1/{bad}", STUDENT, assignment_not_found),
        ("DELETE", f"assignment/c1/{bad}", INSTRUCTOR, assignment_not_found),
        ("GET", f"submissions/c1/{bad}", INSTRUCTOR, assignment_not_found),
        ("GET", f"submissions/c1/{bad}/s1", STUDENT, assignment_not_found),
        ("GET", f"submission/c1/{bad}/s1", INSTRUCTOR, assignment_not_found),
        ("GET", f"feedback/c1/{bad}/s1", STUDENT, assignment_not_found),
        ("GET", f"student/c1/{bad}", INSTRUCTOR, student_not_found),
        ("DELETE", f"student/c1/{bad}", INSTRUCTOR, student_not_found),
        ("GET", f"instructor/c1/{bad}", STUDENT, (404, error("Instructor not found"))),
        ("DELETE", f"instructor/c1/{bad}", ADMIN, (404, error("Instructor not found"))),
        ("GET", f"submissions/c1/a1/{bad}", INSTRUCTOR, student_not_found),
        ("GET", f"submission/c1/a1/{bad}", INSTRUCTOR, student_not_found),
        ("GET", f"feedback/c1/a1/{bad}", INSTRUCTOR, student_not_found),
        # the permission check still comes first
        ("GET", f"submissions/c1/{bad}", STUDENT, NOT_INSTRUCTOR),
        ("GET", f"student/c1/{bad}", STUDENT, NOT_INSTRUCTOR),
    ]
    for method, path, user, expected in cases:
        assert await api(method, path, user=user) == expected, (method, path)
    status, body = await api("POST", f"submission/c1/{bad}", user=STUDENT, files="[]")
    assert (status, body) == assignment_not_found
    status, body = await api(
        "POST", f"feedback/c1/a1/{bad}", user=INSTRUCTOR, timestamp="x", files="[]"
    )
    assert (status, body) == student_not_found
    assert await course_names(api) == ["c1"]


# -- ids in URLs: creation ----------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_URL_IDS)
async def test_a_course_needs_a_legal_id(exchange, api, bad):
    assert await api("POST", f"course/{bad}", user=INSTRUCTOR) == (
        403,
        error("Permission denied (not admin)"),
    )
    assert await api("POST", f"course/{bad}", user=ADMIN) == (400, error("Illegal course id"))
    assert await course_names(api) == []


@pytest.mark.parametrize("bad", BAD_URL_IDS)
async def test_an_assignment_needs_a_legal_id(exchange, api, bad):
    await exchange.setup()
    files = encoded({"a.txt": b"a"})
    assert await api("POST", f"assignment/c1/{bad}", user=STUDENT, files=files) == NOT_INSTRUCTOR
    assert await api("POST", f"assignment/c1/{bad}", user=INSTRUCTOR, files=files) == (
        400,
        error("Illegal assignment id"),
    )
    status, body = await api("GET", "assignments/c1", user=INSTRUCTOR)
    assert (status, body["assignments"]) == (200, ["a1"])


@pytest.mark.parametrize("bad", BAD_URL_IDS)
async def test_a_student_or_instructor_needs_a_legal_id(exchange, api, bad):
    await exchange.course()
    assert await api("POST", f"student/c1/{bad}", user=INSTRUCTOR, **NAMES) == (
        400,
        error("Illegal student id"),
    )
    # a missing name is still reported first, as ngshare does
    assert await api("POST", f"student/c1/{bad}", user=INSTRUCTOR) == (
        400,
        error("Please supply first name"),
    )
    assert await api("POST", f"instructor/c1/{bad}", user=ADMIN, **NAMES) == (
        400,
        error("Illegal instructor id"),
    )
    assert await roster(api) == []
    assert await roster(api, "instructors") == [INSTRUCTOR]


# -- ids and names in fields -----------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_JSON_IDS)
async def test_a_course_is_created_only_with_legal_instructor_ids(exchange, api, bad):
    instructors = json.dumps(["kevin", bad])
    assert await api("POST", "course/c1", user=ADMIN, instructors=instructors) == (
        400,
        error("Illegal instructor id"),
    )
    assert await course_names(api) == []


@pytest.mark.parametrize("bad", BAD_JSON_IDS)
async def test_bulk_enrolment_refuses_an_illegal_student_id_on_its_own(exchange, api, bad):
    await exchange.course()
    students = [
        {"username": "ok1", **NAMES},
        {"username": bad, **NAMES},
        {"username": "ok2", **NAMES},
    ]
    status, body = await api("POST", "students/c1", user=INSTRUCTOR, students=json.dumps(students))
    assert status == 200
    assert body["status"] == [
        {"username": "ok1", "success": True},
        {"username": bad, "success": False, "message": "Illegal student id"},
        {"username": "ok2", "success": True},
    ]
    assert await roster(api) == ["ok1", "ok2"]


BAD_NAMES = [
    pytest.param("a\x00b", id="nul"),
    pytest.param("\ud800", id="lone-surrogate"),
    pytest.param("n" * 256, id="256-characters"),
]


@pytest.mark.parametrize("bad", BAD_NAMES)
@pytest.mark.parametrize(("field", "message"), NAME_FIELDS)
async def test_roster_names_must_be_storable(exchange, api, bad, field, message):
    await exchange.course()
    students = [{"username": "ok", **NAMES}, {"username": "s9", **NAMES, field: bad}]
    status, body = await api("POST", "students/c1", user=INSTRUCTOR, students=json.dumps(students))
    assert status == 200
    assert body["status"] == [
        {"username": "ok", "success": True},
        {"username": "s9", "success": False, "message": message},
    ]
    assert await roster(api) == ["ok"]


@pytest.mark.parametrize(("field", "message"), NAME_FIELDS)
@pytest.mark.parametrize("bad", ["n" * 256, "%FF"], ids=["256-characters", "not-utf8"])
async def test_a_single_roster_entry_needs_storable_names(
    exchange, api, http_client, base_url, field, message, bad
):
    """Form values that are not UTF-8 or too long for the column: 400, nothing stored."""
    await exchange.course()
    fields = {**NAMES, "user": INSTRUCTOR}
    body = "&".join(f"{k}={v}" for k, v in fields.items() if k != field) + f"&{field}={bad}"
    for path in ("student/c1/s9", "instructor/c1/kevin"):
        response = await http_client.fetch(
            f"{base_url}/api/{path}", method="POST", body=body, raise_error=False
        )
        assert (response.code, json.loads(response.body)) == (400, error(message)), path
    assert await roster(api) == []
    status, body = await api("GET", "instructor/c1/kevin", user=INSTRUCTOR)
    assert (status, body["first_name"]) == (200, None)


async def test_legal_but_unusual_ids_are_kept(exchange, api):
    """Spaces, accents, control characters and 255 bytes are directory names on Linux."""
    odd = ["hw 1", "déjà", "a\tb", "é" * 127 + "x", "...", ".hidden"]
    await exchange.course()
    for name in odd:
        await exchange.ok("POST", f"assignment/c1/{quote(name, safe='')}", INSTRUCTOR, files="[]")
    status, body = await api("GET", "assignments/c1", user=INSTRUCTOR)
    assert (status, body["assignments"]) == (200, odd)


# -- files per upload -----------------------------------------------------------------


async def test_an_upload_over_the_file_limit_answers_413(exchange, api, server):
    await exchange.setup()
    server.state(Exchange).max_files_per_upload = 3
    files = {f"f{i}.txt": b"x" for i in range(4)}
    expected = (413, error("Too many files (at most 3 per upload)"))
    upload = encoded(files)
    assert await api("POST", "assignment/c1/big", user=INSTRUCTOR, files=upload) == expected
    assert await api("POST", "submission/c1/a1", user=STUDENT, files=upload) == expected
    # permission errors still come first, and the limit itself is allowed
    assert await api("POST", "assignment/c1/big", user=STUDENT, files=upload) == NOT_INSTRUCTOR
    del files["f3.txt"]
    await exchange.ok("POST", "assignment/c1/big", INSTRUCTOR, files=encoded(files))
    status, body = await api("GET", "submissions/c1/a1", user=INSTRUCTOR)
    assert (status, body["submissions"]) == (200, [])


async def test_the_default_limit_is_ten_thousand_files(exchange, api, server):
    assert server.state(Exchange).max_files_per_upload == 10_000
    await exchange.setup()
    files = entries(*[(f"f{i}", "") for i in range(10_001)])
    assert await api("POST", "submission/c1/a1", user=STUDENT, files=files) == (
        413,
        error("Too many files (at most 10000 per upload)"),
    )


@pytest.mark.gen_test(timeout=120)
async def test_an_upload_of_100000_files_is_checked_in_linear_time(
    exchange, api, server, http_client, base_url
):
    """One submit of 100,000 tiny files took 96 s when each path was compared with every other.

    Now ~20 s on a busy 2-core machine, most of it staging 100,000 blobs.
    """
    await exchange.setup()
    server.state(Exchange).max_files_per_upload = 100_000
    paths = [f"d{i % 100}/f{i}.txt" for i in range(100_000)]
    body = urlencode({"user": STUDENT, "files": entries(*[(p, "eA==") for p in paths])})
    start = time.monotonic()
    response = await http_client.fetch(
        f"{base_url}/api/submission/c1/a1", method="POST", body=body, request_timeout=100
    )
    elapsed = time.monotonic() - start
    assert json.loads(response.body)["success"] is True
    assert elapsed < 60, f"100,000 files took {elapsed:.1f} s"
    status, answer = await api("GET", "submission/c1/a1/s1", user=INSTRUCTOR, list_only="true")
    assert status == 200
    assert [f["path"] for f in answer["files"]] == paths


def test_the_path_checks_of_100000_files_take_linear_time():
    """The checks alone (legal names, no clashes): ~0.3 s; a list scan per path took minutes."""
    paths = [f"d{i % 100}/sub/f{i}.txt" for i in range(100_000)]
    start = time.monotonic()
    tree = PathTree()
    assert all(is_legal_path(p) and tree.add(p) for p in paths)
    elapsed = time.monotonic() - start
    assert elapsed < 5, f"checking 100,000 paths took {elapsed:.1f} s"
    # and it still sees every clash
    assert not tree.add(paths[-1])
    assert not tree.add("d7/sub")
    assert not tree.add("d7/sub/f7.txt/x")
    assert tree.add("d7/sub2")


async def test_a_dev_user_name_that_is_not_utf8_is_nobody(exchange, http_client, base_url):
    """vngshare's ``user`` field, in a body, with bytes that are not UTF-8: 401, not a 500."""
    await exchange.setup()
    response = await http_client.fetch(
        f"{base_url}/api/submission/c1/a1",
        method="POST",
        body="user=%FF&files=[]",
        raise_error=False,
    )
    assert (response.code, json.loads(response.body)) == (401, error("Login required"))


@pytest.mark.gen_test(timeout=120)
async def test_rosters_larger_than_one_statement_holds_are_stored(
    exchange, api, http_client, base_url
):
    """33,000 names took 66,000 parameters in one INSERT: over PostgreSQL's 65,535, a 500."""
    names = [f"u{i}" for i in range(33_000)]

    async def post(path, **fields):
        response = await http_client.fetch(
            f"{base_url}/api/{path}", method="POST", body=urlencode(fields), request_timeout=100
        )
        return json.loads(response.body)

    assert await post("course/big", user=ADMIN, instructors=json.dumps(names)) == {"success": True}
    students = [{"username": f"s-{n}", **NAMES} for n in names]
    answer = await post("students/big", user="u0", students=json.dumps(students))
    assert all(s["success"] for s in answer["status"]) and len(answer["status"]) == len(names)
    status, body = await api("GET", "students/big", user="u0")
    assert (status, len(body["students"])) == (200, len(names))
    status, body = await api("GET", "instructors/big", user="u0")
    assert (status, [p["username"] for p in body["instructors"]]) == (200, names)
