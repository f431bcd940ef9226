"""The exchange's web pages over HTTP: what each role sees, downloads, refusals, bad input.

Runs on SQLite and (``NGSHARE_TEST_DB=postgresql``) PostgreSQL. Pages are
fetched with the dev identity (``?user=``), as a browser under ``vngshare``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from sqlalchemy import event

from tests.conftest import ADMIN
from tests.ui.pages import as_user, fetch, header, xsrf_cookie

SUBMITTED_1 = {"p1.ipynb": b'{"cells": ["first"]}'}
SUBMITTED_2 = {"p1.ipynb": b'{"cells": ["second"]}', "extra/notes.txt": b"\x00\xffbytes"}


def ui(base_url: str, *parts: str) -> str:
    path = "/".join(parts)
    return f"{base_url}/api/ui/{path}" + ("/" if len(parts) == 1 and path else "")


async def scripted(exchange, api):
    """c1 taught by kevin; s1 fetches and submits twice, gets feedback; s2 fetches only."""
    await exchange.setup()  # c1, s1 + s2, a1 released
    for student in ("s1", "s2"):
        await exchange.ok("GET", "assignment/c1/a1", student)
    await exchange.submit("s1", files=SUBMITTED_1)
    ts2 = await exchange.submit("s1", files=SUBMITTED_2)
    from tests.conftest import encode_files

    await exchange.ok(
        "POST",
        "feedback/c1/a1/s1",
        "kevin",
        timestamp=ts2,
        files=encode_files({"p1.html": b"<p>well done</p>"}),
    )
    return ts2


def row_of(html: str, student: str) -> str:
    match = re.search(rf'<tr data-student="{student}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {student}"
    return match.group(1)


def cell(row: str, col: str) -> str:
    match = re.search(rf'data-col="{col}"[^>]*>(.*?)</td>', row, re.S)
    assert match, col
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.mark.gen_test(timeout=60)
async def test_courses_page_lists_my_courses_and_admins_see_all(
    exchange, api, http_client, base_url
):
    await exchange.setup()
    await exchange.course("c2", instructors=("irene",))
    mine = await fetch(http_client, as_user(ui(base_url, ""), "s1"))
    assert mine.status == 200 and mine.content_type.startswith("text/html")
    assert 'data-course="c1"' in mine.text and 'data-course="c2"' not in mine.text
    admin = await fetch(http_client, as_user(ui(base_url, ""), ADMIN))
    assert 'data-course="c1"' in admin.text and 'data-course="c2"' in admin.text
    assert "ui/admin/trash" in admin.text
    nobody = await fetch(http_client, as_user(ui(base_url, ""), "ollie"))
    assert nobody.status == 200 and 'id="no-courses"' in nobody.text


@pytest.mark.gen_test(timeout=60)
async def test_the_assignment_table_matches_the_api(exchange, api, http_client, base_url):
    ts2 = await scripted(exchange, api)
    page = await fetch(http_client, as_user(ui(base_url, "c1", "a1"), "kevin"))
    assert page.status == 200, page.text
    subs = (await exchange.ok("GET", "submissions/c1/a1", "kevin"))["submissions"]
    s1 = row_of(page.text, "s1")
    assert cell(s1, "submissions") == str(sum(1 for s in subs if s["student_id"] == "s1")) == "2"
    assert cell(s1, "latest") == ts2
    assert cell(s1, "fetched") == "yes" and cell(s1, "feedback") == "yes"
    s2 = row_of(page.text, "s2")
    assert (cell(s2, "fetched"), cell(s2, "submissions"), cell(s2, "feedback")) == ("yes", "0", "")
    assert "2 fetched, 1 submitted, 1 with feedback, of 2" in page.text


@pytest.mark.gen_test(timeout=60)
async def test_a_fetch_is_recorded_once_list_only_is_not_a_fetch(
    exchange, api, http_client, base_url
):
    await exchange.setup()
    await exchange.ok("GET", "assignment/c1/a1", "s1", list_only="true")
    page = await fetch(http_client, as_user(ui(base_url, "c1", "a1"), "kevin"))
    assert cell(row_of(page.text, "s1"), "fetched") == "no"
    await exchange.ok("GET", "assignment/c1/a1", "s1")
    await exchange.ok("GET", "assignment/c1/a1", "s1")
    row = row_of((await fetch(http_client, as_user(ui(base_url, "c1", "a1"), "kevin"))).text, "s1")
    assert cell(row, "fetched") == "yes"


@pytest.mark.gen_test(timeout=60)
async def test_course_page_roster_and_assignment_counts(exchange, api, http_client, base_url):
    await scripted(exchange, api)
    page = await fetch(http_client, as_user(ui(base_url, "c1"), "kevin"))
    assert page.status == 200
    assert 'data-user="s1"' in page.text and 'data-user="kevin"' in page.text
    a1 = re.search(r'<tr data-assignment="a1">(.*?)</tr>', page.text, re.S).group(1)
    assert cell(a1, "fetched") == "2 / 2"
    assert cell(a1, "submitted") == "1 / 2"
    assert cell(a1, "submissions") == "2"
    assert cell(a1, "feedback") == "1"
    roster = await fetch(http_client, as_user(ui(base_url, "c1"), "kevin", format="csv"))
    assert roster.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(roster.text)))
    assert {r["username"]: r["role"] for r in rows} == {
        "kevin": "instructor",
        "s1": "student",
        "s2": "student",
    }


@pytest.mark.gen_test(timeout=60)
async def test_a_student_sees_only_their_own_work(exchange, api, http_client, base_url):
    ts2 = await scripted(exchange, api)
    mine = await fetch(http_client, as_user(ui(base_url, "c1"), "s1"))
    assert mine.status == 200
    assert ts2 in mine.text and "released" in mine.text
    assert 'data-user="s2"' not in mine.text and "Roster" not in mine.text
    own_row = await fetch(http_client, as_user(ui(base_url, "c1", "a1", "s1"), "s1"))
    assert own_row.status == 200 and ts2 in own_row.text
    other = await fetch(http_client, as_user(ui(base_url, "c1", "a1", "s1"), "s2"))
    s2_view = await fetch(http_client, as_user(ui(base_url, "c1"), "s2"))
    assert ts2 not in s2_view.text
    for url in (
        as_user(ui(base_url, "c1", "a1", "s1"), "s2"),  # another student's row
        as_user(ui(base_url, "c1", "a1"), "s1"),  # the instructor table
        as_user(ui(base_url, "c1"), "s1", format="csv"),  # the roster
        as_user(ui(base_url, "c1", "a1", "s1"), "s2", format="zip"),  # another's files
        as_user(ui(base_url, "c1", "a1"), "s1", format="zip"),  # everyone's files
        as_user(ui(base_url, "c1", "a1"), "s1", format="csv"),
        as_user(ui(base_url, "c1"), "ollie"),  # not in the course
        as_user(ui(base_url, "admin", "trash"), "kevin"),  # admins only
    ):
        other = await fetch(http_client, url)
        assert other.status == 403, url
        assert other.content_type.startswith("text/html"), url
        assert "<h1>" in other.text and "Traceback" not in other.text
        assert ts2 not in other.text


@pytest.mark.gen_test(timeout=60)
async def test_zip_of_one_student_and_of_every_latest(exchange, api, http_client, base_url):
    ts2 = await scripted(exchange, api)
    await exchange.submit("s2", files={"p1.ipynb": b"s2 work"})
    one = await http_client.fetch(as_user(ui(base_url, "c1", "a1", "s1"), "s1", format="zip"))
    assert one.headers["Content-Type"] == "application/zip"
    assert "attachment" in one.headers["Content-Disposition"]
    z = zipfile.ZipFile(io.BytesIO(one.body))
    assert {n: z.read(n) for n in z.namelist()} == SUBMITTED_2
    first_ts = [
        s["timestamp"]
        for s in (await exchange.ok("GET", "submissions/c1/a1/s1", "kevin"))["submissions"]
        if s["timestamp"] != ts2
    ][0]
    older = await http_client.fetch(
        as_user(ui(base_url, "c1", "a1", "s1"), "kevin", format="zip", timestamp=first_ts)
    )
    z = zipfile.ZipFile(io.BytesIO(older.body))
    assert {n: z.read(n) for n in z.namelist()} == SUBMITTED_1
    every = await http_client.fetch(as_user(ui(base_url, "c1", "a1"), "kevin", format="zip"))
    z = zipfile.ZipFile(io.BytesIO(every.body))
    expected = {f"s1/{p}": c for p, c in SUBMITTED_2.items()} | {"s2/p1.ipynb": b"s2 work"}
    assert {n: z.read(n) for n in z.namelist()} == expected
    assert z.testzip() is None


@pytest.mark.gen_test(timeout=60)
async def test_csv_export_sorted_and_filtered(exchange, api, http_client, base_url):
    ts2 = await scripted(exchange, api)
    page = await fetch(
        http_client, as_user(ui(base_url, "c1", "a1"), "kevin", format="csv", status="submitted")
    )
    assert page.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(page.text)))
    assert [
        (r["student_id"], r["submissions"], r["latest"], r["feedback_released"]) for r in rows
    ] == [("s1", "2", ts2, "yes")]
    everyone = await fetch(
        http_client,
        as_user(ui(base_url, "c1", "a1"), "kevin", format="csv", sort="submissions", order="desc"),
    )
    assert [r["student_id"] for r in csv.DictReader(io.StringIO(everyone.text))] == ["s1", "s2"]
    searched = await fetch(
        http_client, as_user(ui(base_url, "c1", "a1"), "kevin", q="Ls2", order="desc")
    )
    assert 'data-student="s2"' in searched.text and 'data-student="s1"' not in searched.text


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize(
    "parts, query, status",
    [
        (("nope",), {}, 404),
        (("nope", "a1"), {}, 404),
        (("c1", "nope"), {}, 404),
        (("c1", "a1", "nobody"), {}, 404),
        (("c1", "a1", "s2"), {"format": "zip"}, 404),  # s2 has submitted nothing
        (("c1", "a1", "s1"), {"format": "zip", "timestamp": "yesterday"}, 404),
        (("c1", "a1"), {"format": "pdf"}, 400),
        (("c1",), {"format": "zip"}, 400),
        (("c1", "a1", "s1"), {"format": "csv"}, 400),
        (("c1", "a1"), {"sort": "shoe size"}, 400),
        (("c1", "a1"), {"order": "sideways"}, 400),
        (("c1", "a1"), {"status": "asleep"}, 400),
        (("c1", "a1"), {"q": "x" * 201}, 400),
    ],
)
async def test_bad_input_is_a_clear_html_error(
    exchange, api, http_client, base_url, parts, query, status
):
    await exchange.setup()
    await exchange.submit("s1")
    page = await fetch(http_client, as_user(ui(base_url, *parts), "kevin", **query))
    assert page.status == status, page.text
    assert page.content_type.startswith("text/html")
    assert "Traceback" not in page.text and "<h1>" in page.text
    assert header(page, "Content-Disposition") is None


@pytest.mark.gen_test(timeout=60)
async def test_anonymous_callers_are_told_to_sign_in(http_client, base_url):
    page = await fetch(http_client, ui(base_url, "c1"))
    assert page.status == 401 and page.content_type.startswith("text/html")


async def _trash(http_client, base_url, **form):
    url = as_user(ui(base_url, "admin", "trash"), ADMIN)
    page = await fetch(http_client, url)
    token = re.search(r'data-xsrf="([^"]+)"', page.text).group(1)  # also with no form
    body = "&".join(f"{k}={v}" for k, v in {"_xsrf": token, **form}.items())
    return await fetch(
        http_client, url, method="POST", body=body, headers={"Cookie": xsrf_cookie(page)}
    )


@pytest.mark.gen_test(timeout=60)
async def test_trash_lists_and_restores_an_assignment(exchange, api, http_client, base_url):
    await exchange.setup()
    ts = await exchange.submit("s1")
    await exchange.ok("DELETE", "assignment/c1/a1", "kevin")
    page = await fetch(http_client, as_user(ui(base_url, "admin", "trash"), ADMIN))
    assert page.status == 200
    item = re.search(r'<tr data-kind="assignment" data-id="(\d+)">', page.text)
    assert item, page.text
    done = await _trash(http_client, base_url, kind="assignment", id=item.group(1))
    assert done.status == 303, done.text
    back = await fetch(http_client, base_url + header(done, "Location"))
    assert "restored assignment" in back.text and 'id="empty"' in back.text
    body = await exchange.ok("GET", "submissions/c1/a1", "kevin")
    assert body["submissions"] == [{"student_id": "s1", "timestamp": ts}]


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize(
    "form, status",
    [
        ({"kind": "table", "id": "1"}, 400),
        ({"kind": "course", "id": "one"}, 400),
        ({"kind": "course"}, 400),
        ({"kind": "course", "id": "99999"}, 404),
    ],
)
async def test_trash_restore_bad_input(exchange, http_client, base_url, form, status):
    page = await _trash(http_client, base_url, **form)
    assert page.status == status, page.text
    assert page.content_type.startswith("text/html")


@pytest.mark.gen_test(timeout=60)
async def test_trash_restore_refused_when_the_name_is_taken(exchange, http_client, base_url):
    await exchange.setup()
    await exchange.ok("DELETE", "assignment/c1/a1", "kevin")
    await exchange.release()
    page = await fetch(http_client, as_user(ui(base_url, "admin", "trash"), ADMIN))
    pk = re.search(r'data-kind="assignment" data-id="(\d+)"', page.text).group(1)
    refused = await _trash(http_client, base_url, kind="assignment", id=pk)
    assert refused.status == 409 and "released again" in refused.text


@pytest.mark.gen_test(timeout=60)
async def test_trash_restore_needs_the_xsrf_pair(exchange, http_client, base_url):
    await exchange.setup()
    await exchange.ok("DELETE", "course/c1", ADMIN)
    url = as_user(ui(base_url, "admin", "trash"), ADMIN)
    refused = await fetch(http_client, url, method="POST", body="kind=course&id=1")
    assert refused.status == 403
    assert (await exchange.api("GET", "courses", user="s1"))[1]["courses"] == []


@pytest.mark.gen_test(timeout=120)
async def test_pages_cost_a_fixed_number_of_queries(exchange, api, http_client, base_url, server):
    """Twice the students and assignments: the same number of statements per page."""
    import json

    async def grow(first: int, last: int, assignments: list[str]):
        names = [f"t{i}" for i in range(first, last)]
        entries = [
            {"username": n, "first_name": "F", "last_name": "L", "email": "e"} for n in names
        ]
        await exchange.ok("POST", "students/c1", "kevin", students=json.dumps(entries))
        for a in assignments:
            await exchange.release(a)
        for n in names[:3]:
            await exchange.submit(n, assignment="a1")

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    async def cost(url: str) -> int:
        statements.clear()
        page = await fetch(http_client, url)
        assert page.status == 200
        return len(statements)

    await exchange.course()
    await grow(0, 10, ["a1", "a2"])
    urls = [
        as_user(ui(base_url, ""), "kevin"),
        as_user(ui(base_url, "c1"), "kevin"),
        as_user(ui(base_url, "c1", "a1"), "kevin"),
        as_user(ui(base_url, "c1"), "t1"),
    ]
    event.listen(server.db.engine, "before_cursor_execute", count)
    try:
        before = [await cost(u) for u in urls]
        await grow(10, 30, ["a3", "a4", "a5"])
        after = [await cost(u) for u in urls]
    finally:
        event.remove(server.db.engine, "before_cursor_execute", count)
    assert before == after
    assert max(after) <= 12, after
