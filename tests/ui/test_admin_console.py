"""``{prefix}ui/admin`` over HTTP: who may see it, what it shows, its XSRF-checked buttons."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN
from tests.ui.pages import as_user, fetch, header, xsrf_cookie

JOB = "exchange.purge_deleted"


def console(base_url: str) -> str:
    return base_url + "/api/ui/admin"


@pytest.mark.gen_test(timeout=30)
async def test_an_admin_sees_plugins_jobs_channels_outbox_and_sizes(http_client, base_url):
    page = await fetch(http_client, as_user(console(base_url), ADMIN))
    assert page.status == 200
    assert page.content_type.startswith("text/html")
    assert 'id="plugins"' in page.text and ">exchange<" in page.text
    assert f'data-job="{JOB}"' in page.text
    assert 'id="channels"' in page.text and "exchange" in page.text
    assert 'id="outbox"' in page.text and 'data-status="failed"' in page.text
    for fact in ("server-version", "uptime", "database-size", "storage-size"):
        assert f'id="{fact}"' in page.text
    assert header(page, "Cache-Control") == "no-store"


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("user, status", [("s1", 403), (None, 401)])
async def test_others_get_an_html_refusal_not_a_trace(http_client, base_url, user, status):
    page = await fetch(http_client, as_user(console(base_url), user))
    assert page.status == status
    assert page.content_type.startswith("text/html")
    assert "<h1>" in page.text and "Traceback" not in page.text
    assert 'data-job="' not in page.text


@pytest.mark.gen_test(timeout=30)
async def test_run_now_runs_the_job_and_comes_back(http_client, base_url, server):
    before = {j["id"]: j for j in await server.scheduler.jobs()}[JOB]["run_count"]
    page = await fetch(http_client, as_user(console(base_url), ADMIN))
    url = as_user(f"{console(base_url)}/jobs/{JOB}/run", ADMIN)
    ran = await fetch(
        http_client,
        url,
        method="POST",
        body=f"_xsrf={page.xsrf}",
        headers={"Cookie": xsrf_cookie(page)},
    )
    assert ran.status == 303, ran.text
    assert header(ran, "Location").startswith("/api/ui/admin?")
    after = {j["id"]: j for j in await server.scheduler.jobs()}[JOB]["run_count"]
    assert after == before + 1


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("with_cookie, with_field", [(False, False), (True, False), (False, True)])
async def test_a_form_post_without_its_xsrf_pair_is_a_403_page(
    http_client, base_url, server, with_cookie, with_field
):
    page = await fetch(http_client, as_user(console(base_url), ADMIN))
    headers = {"Cookie": xsrf_cookie(page)} if with_cookie else {}
    body = f"_xsrf={page.xsrf}" if with_field else "nothing=1"
    refused = await fetch(
        http_client,
        as_user(f"{console(base_url)}/jobs/{JOB}/run", ADMIN),
        method="POST",
        body=body,
        headers=headers,
    )
    assert refused.status == 403
    assert refused.content_type.startswith("text/html")
    assert "reload the page" in refused.text
    runs = {j["id"]: j for j in await server.scheduler.jobs()}[JOB]["run_count"]
    assert runs == 0


@pytest.mark.gen_test(timeout=30)
async def test_a_forged_token_is_refused(http_client, base_url):
    page = await fetch(http_client, as_user(console(base_url), ADMIN))
    refused = await fetch(
        http_client,
        as_user(f"{console(base_url)}/jobs/{JOB}/run", ADMIN),
        method="POST",
        body="_xsrf=2|00000000|11111111|22222222",
        headers={"Cookie": xsrf_cookie(page)},
    )
    assert refused.status == 403


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize(
    "path, status",
    [("jobs/no.such_job/run", 404), ("notifications/999999/retry", 404)],
)
async def test_unknown_jobs_and_messages_are_404_pages(http_client, base_url, path, status):
    page = await fetch(http_client, as_user(console(base_url), ADMIN))
    answer = await fetch(
        http_client,
        as_user(f"{console(base_url)}/{path}", ADMIN),
        method="POST",
        body=f"_xsrf={page.xsrf}",
        headers={"Cookie": xsrf_cookie(page)},
    )
    assert answer.status == status
    assert answer.content_type.startswith("text/html")


@pytest.mark.gen_test(timeout=30)
async def test_a_failed_message_is_listed_and_retried(http_client, base_url, server):
    from ngshare.notifications.models import FAILED, PENDING, SENDING, SENT
    from ngshare.notifications.store import message_status

    def failed_message(session):
        from ngshare.models import utcnow
        from ngshare.notifications.models import OutboxMessage

        row = OutboxMessage(
            plugin="core",
            channel="email",
            recipient="nobody@example.org",
            recipient_key="nobody@example.org",
            subject="s",
            body="b",
            status=FAILED,
            attempts=5,
            last_error="550 no such mailbox",
            created_at=utcnow(),
            updated_at=utcnow(),
            next_attempt_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return row.pk

    pk = await server.db.run(failed_message)
    page = await fetch(http_client, as_user(console(base_url), ADMIN))
    assert "550 no such mailbox" in page.text
    retried = await fetch(
        http_client,
        as_user(f"{console(base_url)}/notifications/{pk}/retry", ADMIN),
        method="POST",
        body=f"_xsrf={page.xsrf}",
        headers={"Cookie": xsrf_cookie(page)},
    )
    assert retried.status == 303
    # pending again (or already taken and sent by the log provider of vngshare)
    assert await server.db.run(message_status, pk) in (PENDING, SENDING, SENT)
