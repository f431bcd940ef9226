"""Notifications: the durable outbox, its workers and the SMTP and Twilio providers, end to end.

Every message crosses a real protocol on loopback: SMTP to aiosmtpd (STARTTLS
with a certificate made for the test, and a login), HTTP to the Twilio stand-in
(basic auth, form fields, Twilio-shaped errors). Servers are real contexts on
the session's database, started and stopped with the app's hooks; "restarting"
is stopping one and starting another on the same database.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa
from traitlets.config import Config

from ngshare.app import build, run_hooks
from ngshare.config import NgShare
from ngshare.notifications import (
    InvalidRecipient,
    NotificationError,
    NotificationService,
    normalize_address,
    notifications_command,
)
from ngshare.notifications.models import NotificationAddress, OutboxMessage
from ngshare.notifications.store import claim_due
from ngshare.plugin import Plugin
from tests.conftest import ADMIN, empty_all_tables
from tests.standins.smtp import self_signed, start_smtp
from tests.standins.twilio import TwilioStandIn, listen
from tests.waiting import eventually

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token"
FROM = "+15005550006"


async def rows(ctx, **where) -> list[OutboxMessage]:
    def read(session):
        query = sa.select(OutboxMessage).order_by(OutboxMessage.pk)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.scalars(query))

    return await ctx.db.run(read)


async def statuses(ctx) -> list[str]:
    return [m.status for m in await rows(ctx)]


class Servers:
    """Start and stop server contexts with notification settings; stop what a test leaves."""

    def __init__(self, make_config) -> None:
        self.make_config = make_config
        self.running: list[tuple] = []
        self.cleaned = False
        self.hooked: list[InvalidRecipient] = []

    def build(self, config: NgShare | None = None, **sections):
        config = config or self.make_config()
        base = {"NotificationService": {"poll_interval_seconds": 0.05, "retry_base_seconds": 0.05}}
        for name, traits in sections.items():
            base.setdefault(name, {}).update(traits)
        config.update_config(Config(base))
        ctx, plugins = build(config)
        if not self.cleaned:  # the first build has migrated the database
            empty_all_tables(ctx.db.engine)
            self.cleaned = True

        async def note(ctx, recipient: InvalidRecipient) -> None:
            self.hooked.append(recipient)

        plugins = [*plugins, Plugin(name="testnotify", invalid_recipient=note)]
        ctx.plugins = plugins
        return ctx, plugins

    async def start(self, config: NgShare | None = None, **sections):
        ctx, plugins = self.build(config, **sections)
        await run_hooks(ctx, plugins, "startup")
        self.running.append((ctx, plugins))
        return ctx

    async def stop(self, ctx) -> None:
        for entry in self.running:
            if entry[0] is ctx:
                self.running.remove(entry)
                await run_hooks(ctx, entry[1], "shutdown")
                ctx.close()
                return
        raise AssertionError("not running")

    async def stop_all(self) -> None:
        for ctx, _ in list(self.running):
            await self.stop(ctx)


@pytest.fixture
def servers(make_config, io_loop):
    servers = Servers(make_config)
    yield servers
    io_loop.run_sync(servers.stop_all)


@pytest.fixture
def twilio(io_loop):
    standin = TwilioStandIn(SID, TOKEN)
    server, port = listen(standin)
    standin.url = f"http://127.0.0.1:{port}"
    yield standin
    server.stop()


def twilio_settings(standin: TwilioStandIn, **extra) -> dict:
    return {
        "NotificationService": {"channels": {"sms": "twilio", "whatsapp": "twilio"}},
        "TwilioProvider": {
            "account_sid": SID,
            "auth_token": TOKEN,
            "from_number": FROM,
            "whatsapp_from": "whatsapp:+14155238886",
            "api_base_url": standin.url,
            **extra,
        },
    }


# -- Twilio: SMS and WhatsApp ----------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_sms_and_whatsapp_go_out_through_twilio(servers, twilio):
    ctx = await servers.start(**twilio_settings(twilio))
    sms = await ctx.notifications.submit(
        plugin="testnotify", channel="sms", to="+1 (555) 010-2030", body="Quiz at 10", user="ada"
    )
    wa = await ctx.notifications.submit(
        plugin="testnotify", channel="whatsapp", to="+15550102031", body="Quiz at 11"
    )
    await eventually(lambda: len(twilio.received) == 2, what="two messages at Twilio")
    await eventually(lambda: statuses(ctx), what="rows")
    await eventually(lambda: _all_status(ctx, "sent"), what="both recorded as sent")
    by_to = {form["To"]: form for form in twilio.received}
    assert by_to["+15550102030"] == {"To": "+15550102030", "Body": "Quiz at 10", "From": FROM}
    assert by_to["whatsapp:+15550102031"]["From"] == "whatsapp:+14155238886"
    messages = {m.pk: m for m in await rows(ctx)}
    assert messages[sms].provider == "twilio"
    assert messages[sms].provider_id.startswith("SM")
    assert messages[sms].attempts == 1
    assert messages[wa].recipient == "whatsapp:+15550102031"


@pytest.mark.parametrize("keep_alive", [True, False])
@pytest.mark.gen_test(timeout=30)
async def test_twilio_requests_reuse_connections_unless_keep_alive_is_off(
    servers, twilio, keep_alive
):
    ctx = await servers.start(**twilio_settings(twilio, keep_alive=keep_alive, concurrency=1))
    for i in range(5):  # one after the other: a kept-alive connection serves them all
        await ctx.notifications.submit(
            plugin="testnotify", channel="sms", to=f"+1555010210{i}", body="x"
        )
        await eventually(lambda n=i + 1: len(twilio.received) == n, what=f"message {i + 1}")
    connections = len(set(twilio.peers))
    assert connections == (1 if keep_alive else 5), twilio.peers


async def _all_status(ctx, status: str) -> bool:
    found = await statuses(ctx)
    return bool(found) and all(s == status for s in found)


@pytest.mark.gen_test(timeout=30)
async def test_a_messaging_service_sid_is_sent_instead_of_a_from_number(servers, twilio):
    settings = twilio_settings(twilio, from_number="", messaging_service_sid="MG" + "1" * 32)
    ctx = await servers.start(**settings)
    await ctx.notifications.submit(plugin="testnotify", channel="sms", to="+15550102030", body="x")
    await eventually(lambda: len(twilio.received) == 1, what="the message at Twilio")
    assert twilio.received[0]["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in twilio.received[0]


@pytest.mark.gen_test(timeout=30)
async def test_wrong_twilio_credentials_fail_the_message_with_twilios_error(servers, twilio):
    settings = twilio_settings(twilio)
    settings["TwilioProvider"]["auth_token"] = "not-the-token"
    ctx = await servers.start(**settings)
    await ctx.notifications.submit(plugin="testnotify", channel="sms", to="+15550102030", body="x")
    await eventually(lambda: _all_status(ctx, "failed"), what="a failed message")
    (message,) = await rows(ctx)
    assert message.last_error == "Twilio 401 error 20003: Authentication Error - invalid username"
    assert message.attempts == 1  # a 401 is not retried
    assert twilio.received == []


@pytest.mark.gen_test(timeout=30)
async def test_a_503_then_a_429_with_retry_after_are_retried_then_it_is_sent(servers, twilio):
    to = "+15550102030"
    twilio.script(to, (503, {}), (429, {"Retry-After": "1"}))
    ctx = await servers.start(**twilio_settings(twilio))
    await ctx.notifications.submit(plugin="testnotify", channel="sms", to=to, body="x")
    await eventually(lambda: _all_status(ctx, "sent"), what="sent after two retries")
    (message,) = await rows(ctx)
    assert message.attempts == 3
    assert len(twilio.received) == 1
    times = [t for t, form in twilio.requests if form["To"] == to]
    assert len(times) == 3
    assert times[2] - times[1] >= 0.95, "Retry-After: 1 was not honoured"
    assert times[1] - times[0] < 0.95  # the 503 had no Retry-After: backoff only (0.05 s base)


@pytest.mark.gen_test(timeout=30)
async def test_after_max_attempts_the_message_is_failed_and_an_admin_retry_sends_it(
    servers, twilio
):
    to = "+15550102030"
    twilio.script(to, *[(503, {})] * 3)
    settings = twilio_settings(twilio)
    settings["NotificationService"]["max_attempts"] = 3
    ctx = await servers.start(**settings)
    pk = await ctx.notifications.submit(plugin="testnotify", channel="sms", to=to, body="x")
    await eventually(lambda: _all_status(ctx, "failed"), what="given up")
    (message,) = await rows(ctx)
    assert message.attempts == 3
    assert message.last_error.startswith("gave up after 3 attempts: Twilio 503")
    assert len(twilio.requests) == 3 and twilio.received == []
    await asyncio.sleep(0.3)  # several polls: a failed message stays failed
    assert len(twilio.requests) == 3

    assert await ctx.notifications.retry([pk]) == [pk]
    await eventually(lambda: _all_status(ctx, "sent"), what="sent after the retry")
    (message,) = await rows(ctx)
    assert message.attempts == 1 and message.last_error is None
    assert await ctx.notifications.retry([pk]) == []  # only failed messages


@pytest.mark.gen_test(timeout=30)
async def test_an_invalid_number_disables_the_address_and_tells_the_plugin(servers, twilio):
    dead, alive = "+15550100001", "+15550100002"
    twilio.invalid.add(dead)
    ctx = await servers.start(**twilio_settings(twilio))
    svc = ctx.notifications

    def register(session):
        svc.add_address(session, user="ada", channel="sms", address=dead, plugin="testnotify")
        svc.add_address(session, user="ada", channel="sms", address=alive, plugin="testnotify")
        return svc.send_to_user(session, plugin="testnotify", user="ada", body="hi", key="k1")

    ids = await ctx.db.run(register)
    assert len(ids) == 2
    await eventually(lambda: len(servers.hooked) == 1, what="the plugin's hook")
    (told,) = servers.hooked
    assert (told.plugin, told.channel, told.user) == ("testnotify", "sms", "ada")
    assert told.address == dead
    assert "21211" in told.reason and told.message_id == ids[0]
    assert told.address_plugins == ("testnotify",)

    addresses = {a["address"]: a for a in await ctx.db.run(svc.addresses, "ada")}
    assert addresses[dead]["disabled_at"] is not None
    assert "21211" in addresses[dead]["disabled_reason"]
    assert addresses[alive]["disabled_at"] is None
    await eventually(lambda: len(twilio.received) == 1, what="the live number's message")
    statuses_by_id = {m.pk: m.status for m in await rows(ctx)}
    assert statuses_by_id == {ids[0]: "invalid", ids[1]: "sent"}

    # nothing more goes to the dead number: sending to the user skips it, sending to it is skipped
    again = await ctx.db.run(
        lambda s: svc.send_to_user(s, plugin="testnotify", user="ada", body="2", key="k2")
    )
    direct = await svc.submit(plugin="testnotify", channel="sms", to=dead, body="3")
    await eventually(lambda: len(twilio.received) == 2, what="the second message")
    assert len(again) == 1

    async def direct_decided() -> bool:
        (message,) = await rows(ctx, pk=direct)
        return message.status != "pending"

    await eventually(direct_decided, what="the message to the dead number decided")
    (skipped,) = await rows(ctx, pk=direct)
    assert skipped.status == "skipped" and "21211" in skipped.last_error
    assert [form["To"] for form in twilio.received] == [alive, alive]

    # registering the address again enables it
    await ctx.db.run(lambda s: svc.add_address(s, user="ada", channel="sms", address=dead))
    addresses = {a["address"]: a for a in await ctx.db.run(svc.addresses, "ada")}
    assert addresses[dead]["disabled_at"] is None


# -- the outbox: transactions, idempotency, restarts, several workers -------------------


@pytest.mark.gen_test(timeout=30)
async def test_a_message_rolled_back_with_its_transaction_is_never_sent(servers, twilio):
    ctx = await servers.start(**twilio_settings(twilio))
    svc = ctx.notifications

    def change_that_fails(session):
        svc.send(session, plugin="testnotify", channel="sms", to="+15550100009", body="never")
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        await ctx.db.run(change_that_fails)
    # a committed message after it proves the workers ran meanwhile
    await svc.submit(plugin="testnotify", channel="sms", to="+15550100008", body="committed")
    await eventually(lambda: len(twilio.received) == 1, what="the committed message")
    await asyncio.sleep(0.3)  # several polls
    assert [form["Body"] for form in twilio.received] == ["committed"]
    assert [m.body for m in await rows(ctx)] == ["committed"]


@pytest.mark.gen_test(timeout=30)
async def test_a_message_committed_with_the_change_that_caused_it_is_sent(servers, twilio):
    ctx = await servers.start(**twilio_settings(twilio))
    svc = ctx.notifications

    def enrol(session):
        from ngshare.models import get_or_create_user

        get_or_create_user(session, "newcomer")
        return svc.send(
            session,
            plugin="testnotify",
            channel="sms",
            to="+15550100007",
            body="welcome",
            user="newcomer",
        )

    pk = await ctx.db.run(enrol)
    await eventually(lambda: len(twilio.received) == 1, what="the welcome message")
    (message,) = await rows(ctx, pk=pk)
    assert message.user_pk is not None


@pytest.mark.gen_test(timeout=30)
async def test_an_idempotency_key_sends_once(servers, twilio):
    ctx = await servers.start(**twilio_settings(twilio))
    svc = ctx.notifications
    key = "ekatra:delivery:7:day:3:learner:42"

    def send(body):
        return lambda s: svc.send(
            s, plugin="testnotify", channel="sms", to="+15550100006", body=body, key=key
        )

    first = await ctx.db.run(send("day 3"))
    again = await asyncio.gather(*(ctx.db.run(send("day 3 again")) for _ in range(5)))
    assert set(again) == {first}
    await eventually(lambda: len(twilio.received) == 1, what="the message")
    await asyncio.sleep(0.3)
    assert [form["Body"] for form in twilio.received] == ["day 3"]
    assert len(await rows(ctx)) == 1


@pytest.mark.gen_test(timeout=40)
async def test_messages_pending_at_a_stop_are_sent_by_the_next_server(servers, twilio):
    # a replica that only enqueues, then stops: its messages wait in the database
    settings = twilio_settings(twilio)
    settings["NotificationService"]["send_messages"] = False
    first = await servers.start(**settings)
    for i in range(5):
        await first.notifications.submit(
            plugin="testnotify", channel="sms", to=f"+1555010{i:04d}", body=f"m{i}"
        )
    # and one claimed by a process that died mid-send: its claim lapses
    crashed = await first.db.run(claim_due, limit=1, token="deadbeef0000:1", lease_seconds=0.5)
    assert len(crashed) == 1
    await asyncio.sleep(0.3)
    assert twilio.requests == []
    await servers.stop(first)

    second = await servers.start(**twilio_settings(twilio))
    await eventually(lambda: _all_status(second, "sent"), what="all five sent")
    assert sorted(form["Body"] for form in twilio.received) == [f"m{i}" for i in range(5)]
    by_body = {m.body: m for m in await rows(second)}
    assert by_body[crashed[0].outgoing.body].attempts == 2  # the lapsed claim counted as one


@pytest.mark.gen_test(timeout=30)
async def test_a_clean_stop_hands_back_sends_it_abandons(servers, twilio):
    twilio.hold = 1.0
    settings = twilio_settings(twilio)
    settings["NotificationService"]["stop_timeout_seconds"] = 0.1
    first = await servers.start(**settings)
    pk = await first.notifications.submit(
        plugin="testnotify", channel="sms", to="+15550100003", body="slow"
    )
    await eventually(lambda: len(twilio.requests) == 1, what="the send in progress")
    await servers.stop(first)
    second, _ = servers.build(**settings)  # not started: only reads
    try:
        (message,) = await rows(second, pk=pk)
        assert (message.status, message.claim) == ("pending", None)
        assert message.next_attempt_at <= __import__("ngshare.models").models.utcnow()
    finally:
        second.close()


@pytest.mark.gen_test(timeout=60)
async def test_two_servers_on_one_database_send_each_message_once(servers, twilio, db_url):
    settings = twilio_settings(twilio)
    settings["NotificationService"].update(claim_batch=7, poll_interval_seconds=0.02)
    one = await servers.start(**settings)
    two = await servers.start(**settings)
    count = 300

    def enqueue(session, start):
        for i in range(start, start + count // 2):
            one.notifications.send(
                session, plugin="testnotify", channel="sms", to=f"+1555020{i:04d}", body=str(i)
            )

    await asyncio.gather(one.db.run(enqueue, 0), two.db.run(enqueue, count // 2))
    await eventually(lambda: len(twilio.received) >= count, timeout=40, what="every message")
    await asyncio.sleep(0.3)
    bodies = [form["Body"] for form in twilio.received]
    assert len(bodies) == count and len(set(bodies)) == count, "a message went out twice"
    await eventually(lambda: _all_status(one, "sent"), what="all recorded")
    assert all(m.attempts == 1 for m in await rows(one))


# -- e-mail through a real SMTP server ---------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_email_goes_out_over_starttls_with_a_login_and_recipients_batched(servers, tmp_path):
    cert, key = self_signed(tmp_path)
    smtp, controller = start_smtp(tls_files=(cert, key), credentials=("bot", "s3cret"))
    try:
        smtp.refuse["gone@example.org"] = "550 5.1.1 No such user"
        smtp.refuse["busy@example.org"] = "450 4.2.1 Mailbox busy, try later"
        ctx = await servers.start(
            NotificationService={"channels": {"email": "smtp"}, "max_attempts": 2},
            SmtpProvider={
                "host": "127.0.0.1",
                "port": controller.port,
                "security": "starttls",
                "username": "bot",
                "password": "s3cret",
                "sender": "Course Bot <bot@example.org>",
                "ca_file": str(cert),
            },
        )
        svc = ctx.notifications
        await ctx.db.run(
            lambda s: svc.add_address(
                s, user="gone", channel="email", address="gone@example.org", plugin="testnotify"
            )
        )

        def announce(session):
            for name in ("ada", "bob", "cy", "gone", "busy"):
                svc.send(
                    session,
                    plugin="testnotify",
                    channel="email",
                    to=f"{name}@Example.ORG",
                    subject="Lab moved",
                    body="Room 2",
                    data={"html": "<p>Room 2</p>"},
                )
            svc.send(
                session,
                plugin="testnotify",
                channel="email",
                to="dee@example.org",
                subject="Your grade",
                body="A",
            )

        await ctx.db.run(announce)
        await eventually(lambda: _final(ctx, 6), timeout=20, what="every message in a final state")
        by_to = {m.recipient: m for m in await rows(ctx)}
        assert {t: m.status for t, m in by_to.items()} == {
            "ada@example.org": "sent",
            "bob@example.org": "sent",
            "cy@example.org": "sent",
            "dee@example.org": "sent",
            "gone@example.org": "invalid",
            "busy@example.org": "failed",
        }
        assert by_to["busy@example.org"].attempts == 2
        assert "450" in by_to["busy@example.org"].last_error
        assert by_to["ada@example.org"].provider_id == by_to["bob@example.org"].provider_id
        # one mail for the identical messages, one for the other (and the retried one's)
        lab = [r for r in smtp.received if r.message["Subject"] == "Lab moved"]
        assert lab[0].rcpt_tos == ["ada@example.org", "bob@example.org", "cy@example.org"]
        assert lab[0].message["To"] == "undisclosed-recipients:;"
        assert lab[0].login == "bot"
        assert lab[0].message["From"] == "Course Bot <bot@example.org>"
        parts = {
            p.get_content_type(): p.get_content()
            for p in lab[0].message.walk()
            if not p.is_multipart()
        }
        assert parts["text/plain"].strip() == "Room 2"
        assert parts["text/html"].strip() == "<p>Room 2</p>"
        grade = [r for r in smtp.received if r.message["Subject"] == "Your grade"]
        assert grade[0].rcpt_tos == ["dee@example.org"]
        assert grade[0].message["To"] == "dee@example.org"
        assert [t.address for t in servers.hooked] == ["gone@example.org"]
        (gone,) = await ctx.db.run(svc.addresses, "gone")
        assert gone["disabled_reason"].startswith("SMTP 550")
    finally:
        controller.stop()


async def _final(ctx, count: int) -> bool:
    found = await statuses(ctx)
    return len(found) == count and all(s in ("sent", "failed", "invalid") for s in found)


@pytest.mark.gen_test(timeout=30)
async def test_email_goes_out_over_implicit_tls(servers, tmp_path):
    cert, key = self_signed(tmp_path)
    smtp, controller = start_smtp(
        tls_files=(cert, key), credentials=("bot", "s3cret"), implicit_tls=True
    )
    try:
        ctx = await servers.start(
            NotificationService={"channels": {"email": "smtp"}},
            SmtpProvider={
                "host": "127.0.0.1",
                "port": controller.port,
                "security": "tls",
                "username": "bot",
                "password": "s3cret",
                "sender": "bot@example.org",
                "ca_file": str(cert),
            },
        )
        await ctx.notifications.submit(
            plugin="testnotify", channel="email", to="ada@example.org", subject="Hi", body="x"
        )
        await eventually(lambda: _all_status(ctx, "sent"), what="sent over TLS")
        (mail,) = smtp.received
        assert mail.rcpt_tos == ["ada@example.org"] and mail.login == "bot"
    finally:
        controller.stop()


@pytest.mark.gen_test(timeout=30)
async def test_an_untrusted_smtp_certificate_is_refused(servers, tmp_path):
    """Without the relay's CA the certificate check fails: nothing is sent in clear instead."""
    cert, key = self_signed(tmp_path)
    smtp, controller = start_smtp(
        tls_files=(cert, key), credentials=("bot", "s3cret"), implicit_tls=True
    )
    try:
        ctx = await servers.start(
            NotificationService={"channels": {"email": "smtp"}, "max_attempts": 1},
            SmtpProvider={
                "host": "127.0.0.1",
                "port": controller.port,
                "security": "tls",
                "username": "bot",
                "password": "s3cret",
                "sender": "bot@example.org",
            },
        )
        await ctx.notifications.submit(
            plugin="testnotify", channel="email", to="ada@example.org", body="x"
        )
        await eventually(lambda: _all_status(ctx, "failed"), what="refused")
        (message,) = await rows(ctx)
        assert "CERTIFICATE_VERIFY_FAILED" in message.last_error
        assert smtp.received == []
    finally:
        controller.stop()


@pytest.mark.gen_test(timeout=30)
async def test_a_refused_smtp_login_is_retried_then_failed(servers, tmp_path):
    cert, key = self_signed(tmp_path)
    smtp, controller = start_smtp(tls_files=(cert, key), credentials=("bot", "s3cret"))
    try:
        ctx = await servers.start(
            NotificationService={"channels": {"email": "smtp"}, "max_attempts": 2},
            SmtpProvider={
                "host": "127.0.0.1",
                "port": controller.port,
                "username": "bot",
                "password": "wrong",
                "sender": "bot@example.org",
                "ca_file": str(cert),
            },
        )
        await ctx.notifications.submit(
            plugin="testnotify", channel="email", to="ada@example.org", body="x"
        )
        await eventually(lambda: _all_status(ctx, "failed"), what="given up")
        (message,) = await rows(ctx)
        assert message.attempts == 2 and "535" in message.last_error
        assert smtp.received == []
    finally:
        controller.stop()


# -- defaults, refusals --------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_under_vngshare_every_channel_goes_to_the_log_provider(servers, caplog):
    ctx = await servers.start()  # make_config is vngshare's
    assert ctx.notifications.enabled_channels() == [
        "email",
        "sms",
        "whatsapp",
        "webpush",
        "apns",
        "fcm",
    ]
    caplog.set_level("INFO", logger="ngshare.notifications.log")
    pk = await ctx.notifications.submit(
        plugin="testnotify", channel="email", to="ada@example.org", subject="Hi", body="Hello"
    )
    await eventually(lambda: _all_status(ctx, "sent"), what="logged")
    (message,) = await rows(ctx)
    assert (message.provider, message.provider_id) == ("log", f"log-{pk}")
    assert any(
        "not sent: log provider" in r.getMessage() and "ada@example.org" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.gen_test(timeout=30)
async def test_under_ngshare_channels_are_off_until_configured(servers, db_url, tmp_path):
    config = NgShare(db_url=db_url, storage_path=str(tmp_path / "f"), config_file="")
    ctx = await servers.start(config)
    assert ctx.notifications.enabled_channels() == []
    await ctx.notifications.submit(plugin="testnotify", channel="sms", to="+15550100001", body="x")
    (message,) = await rows(ctx)
    assert message.status == "skipped"
    assert message.last_error == "channel 'sms' is not configured"


@pytest.mark.gen_test(timeout=30)
async def test_a_turned_off_channel_skips_the_users_messages(servers):
    ctx = await servers.start()
    svc = ctx.notifications
    await ctx.db.run(lambda s: svc.set_preference(s, user="ada", channel="sms", enabled=False))
    await svc.submit(plugin="testnotify", channel="sms", to="+15550100001", body="x", user="ada")
    await svc.submit(plugin="testnotify", channel="email", to="a@b.org", body="x", user="ada")
    await eventually(lambda: _final_or_skipped(ctx), what="both decided")
    by_channel = {m.channel: m for m in await rows(ctx)}
    assert by_channel["sms"].status == "skipped"
    assert by_channel["sms"].last_error == "ada turned sms off"
    assert by_channel["email"].status == "sent"


async def _final_or_skipped(ctx) -> bool:
    return all(s in ("sent", "skipped") for s in await statuses(ctx))


@pytest.mark.gen_test(timeout=30)
async def test_send_refuses_bad_input_and_writes_nothing(servers):
    ctx = await servers.start()
    svc = ctx.notifications
    bad = [
        ({"channel": "pigeon", "to": "x"}, "unknown channel"),
        ({"channel": "sms", "to": "555-0100"}, "E.164"),
        ({"channel": "email", "to": "not an address"}, "not an e-mail address"),
        ({"channel": "email", "to": "a@b.org", "key": "k" * 192}, "key must be"),
        ({"channel": "email", "to": "a@b.org", "data": {"x": object()}}, "data must be JSON"),
        ({"channel": "email", "to": "a@b.org", "subject": "s" * 256}, "subject"),
    ]
    for fields, message in bad:
        with pytest.raises(NotificationError, match=message):
            await svc.submit(plugin="testnotify", body="x", **fields)
    assert await rows(ctx) == []


def test_startup_refuses_an_unknown_provider_or_a_provider_without_settings(make_config):
    from ngshare.context import ServerContext

    config = make_config()
    config.update_config(Config({"NotificationService": {"channels": {"sms": "carrier-pigeon"}}}))
    ctx = ServerContext(config=config, db=None, storage=None, identity=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown provider 'carrier-pigeon'"):
        NotificationService(ctx)
    config.update_config(Config({"NotificationService": {"channels": {"sms": "smtp"}}}))
    with pytest.raises(ValueError, match="provider 'smtp' cannot send 'sms'"):
        NotificationService(ctx)
    config.update_config(Config({"NotificationService": {"channels": {"sms": "twilio"}}}))
    with pytest.raises(ValueError, match="c.TwilioProvider.account_sid"):
        NotificationService(ctx)


def test_addresses_are_normalised_per_channel():
    assert normalize_address("sms", "+1 (555) 010-2030") == "+15550102030"
    assert normalize_address("whatsapp", "+15550102030") == "whatsapp:+15550102030"
    assert normalize_address("whatsapp", "whatsapp:+15550102030") == "whatsapp:+15550102030"
    assert normalize_address("email", "Ada@Example.ORG") == "Ada@example.org"
    for channel, address in [("sms", "0555 0100"), ("email", "a@b"), ("apns", " "), ("x", "y")]:
        with pytest.raises(NotificationError):
            normalize_address(channel, address)


def test_retry_delays_grow_with_jitter_and_honour_retry_after(make_config):
    from ngshare.context import ServerContext

    config = make_config()
    ctx = ServerContext(config=config, db=None, storage=None, identity=None)  # type: ignore
    svc = NotificationService(ctx, retry_base_seconds=10, retry_max_seconds=100)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = [svc.retry_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays))
        assert len(set(delays)) > 100  # jittered
    assert svc.retry_delay(1, retry_after=60) == 60
    assert 5 <= svc.retry_delay(1, retry_after=1) <= 10


# -- HTTP: the admin view, people's addresses and preferences ---------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_admins_list_filter_and_retry_messages(server, api):
    svc = server.notifications
    await svc.submit(plugin="testnotify", channel="email", to="a@b.org", body="1", user="ada")
    await svc.submit(plugin="other", channel="sms", to="+15550100001", body="2", user="bob")
    failed = await svc.submit(plugin="testnotify", channel="sms", to="+15550100002", body="3")
    await eventually(lambda: _all_status(server, "sent"), what="all logged")
    await server.db.run(
        lambda s: s.execute(
            sa.update(OutboxMessage).where(OutboxMessage.pk == failed).values(status="failed")
        )
    )

    status, body = await api("GET", "notifications", user=ADMIN)
    assert status == 200 and [m["body"] for m in body["messages"]] == ["3", "2", "1"]
    first = body["messages"][2]
    assert first["user"] == "ada" and first["provider"] == "log" and first["attempts"] == 1
    assert first["sent_at"].endswith("Z") and first["status"] == "sent"
    status, body = await api("GET", "notifications", user=ADMIN, channel="sms", status="sent")
    assert [m["body"] for m in body["messages"]] == ["2"]
    status, body = await api("GET", "notifications", user=ADMIN, plugin="testnotify", limit=1)
    assert [m["body"] for m in body["messages"]] == ["3"]
    status, body = await api("GET", "notifications", user=ADMIN, for_user="bob")
    assert [m["body"] for m in body["messages"]] == ["2"]
    status, body = await api("GET", "notifications", user=ADMIN, before=str(failed))
    assert [m["body"] for m in body["messages"]] == ["2", "1"]

    for query, message in [
        ({"status": "lost"}, "unknown status"),
        ({"channel": "fax"}, "unknown channel"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit must be a positive integer"),
        ({"before": "-1"}, "before must be a positive integer"),
    ]:
        status, body = await api("GET", "notifications", user=ADMIN, **query)
        assert (status, body["success"]) == (400, False), query
        assert message in body["message"]

    assert (await api("GET", "notifications", user="ada"))[0] == 403
    assert (await api("POST", f"notifications/{failed}/retry", user="ada"))[0] == 403
    status, body = await api("POST", "notifications/999999/retry", user=ADMIN)
    assert (status, body["message"]) == (404, "Message not found")
    status, body = await api("POST", f"notifications/{failed - 1}/retry", user=ADMIN)
    assert (status, body["message"], body["message_status"]) == (
        409,
        "Only failed messages can be retried",
        "sent",
    )
    status, body = await api("POST", f"notifications/{failed}/retry", user=ADMIN)
    # the answer is the message as it stands: a worker may have claimed it already
    assert status == 200 and body["message"]["status"] in ("pending", "sending", "sent")
    assert body["message"]["attempts"] in (0, 1)  # reset by the retry, then the worker's claim
    await eventually(lambda: _all_status(server, "sent"), what="the retried message sent")


@pytest.mark.gen_test(timeout=30)
async def test_people_manage_their_own_addresses_and_preferences(
    server, api, http_client, base_url
):
    status, body = await api(
        "POST",
        "notifications/addresses",
        user="ada",
        channel="sms",
        address="+1 555 010 2030",
        label="phone",
    )
    assert status == 201
    assert body["address"]["address"] == "+15550102030" and body["address"]["label"] == "phone"
    address_id = body["address"]["id"]
    status, body = await api("GET", "notifications/addresses", user="ada")
    assert [a["id"] for a in body["addresses"]] == [address_id]
    assert (await api("GET", "notifications/addresses", user="bob"))[1]["addresses"] == []

    for fields, message in [
        ({"channel": "sms", "address": "12"}, "E.164"),
        ({"channel": "fax", "address": "12"}, "unknown channel"),
        ({"address": "a@b.org"}, "Missing field 'channel'"),
        ({"channel": "email", "address": "a@b.org", "label": "l" * 256}, "label"),
    ]:
        status, body = await api("POST", "notifications/addresses", user="ada", **fields)
        assert (status, body["success"]) == (400, False), fields
        assert message in body["message"]

    response = await http_client.fetch(
        base_url + "/api/notifications/addresses?user=ada",
        method="POST",
        body="{not json",
        headers={"Content-Type": "application/json"},
        raise_error=False,
    )
    assert response.code == 400 and json.loads(response.body)["success"] is False
    response = await http_client.fetch(
        base_url + "/api/notifications/addresses?user=ada",
        method="POST",
        body=json.dumps({"channel": "email", "address": ["a@b.org"]}),
        headers={"Content-Type": "application/json"},
        raise_error=False,
    )
    assert response.code == 400 and "must be a string" in json.loads(response.body)["message"]

    assert (await api("DELETE", f"notifications/addresses/{address_id}", user="bob"))[0] == 404
    status, body = await api("DELETE", f"notifications/addresses/{address_id}", user="ada")
    assert (status, body["removed"]) == (200, 1)
    assert (await api("DELETE", f"notifications/addresses/{address_id}", user="ada"))[0] == 404

    status, body = await api("GET", "notifications/preferences", user="ada")
    assert status == 200 and all(body["preferences"].values())
    status, body = await api(
        "POST", "notifications/preferences", user="ada", channel="sms", enabled="false"
    )
    assert status == 200 and body["preferences"]["sms"] is False
    assert body["preferences"]["email"] is True
    for fields in [
        {"channel": "sms", "enabled": "maybe"},
        {"channel": "fax", "enabled": "true"},
        {"enabled": "true"},
    ]:
        status, body = await api("POST", "notifications/preferences", user="ada", **fields)
        assert (status, body["success"]) == (400, False), fields
    assert (await api("GET", "notifications/preferences"))[0] == 401


# -- the command line -------------------------------------------------------------------------


def test_ngshare_notifications_list_and_retry(make_config, capsys):
    ctx, plugins = build(make_config())
    try:
        empty_all_tables(ctx.db.engine)
        svc = NotificationService(ctx)
        ids = [
            ctx.db.run_sync(
                svc.send, plugin="testnotify", channel="sms", to=f"+1555010000{i}", body=str(i)
            )
            for i in range(3)
        ]
        ctx.db.run_sync(
            lambda s: s.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.pk.in_(ids[:2]))
                .values(status="failed", attempts=8, last_error="gave up after 8 attempts: 503")
            )
        )
        ctx.notifications = svc
        assert notifications_command(ctx, ["list", "failed"]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[0].split()[:3] == ["ID", "CREATED", "(UTC)"]
        assert "gave up after 8 attempts" in out and out.count("failed") == 2
        assert notifications_command(ctx, ["list", "channel=sms", "json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [m["id"] for m in listed] == ids[::-1]

        assert notifications_command(ctx, ["retry", str(ids[0])]) == 0
        assert capsys.readouterr().out.strip() == f"retrying 1 message(s): {ids[0]}"
        assert notifications_command(ctx, ["retry", "failed", "json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"retried": [ids[1]]}
        assert notifications_command(ctx, ["retry", "failed"]) == 1
        assert "no failed message" in capsys.readouterr().err
        pending = ctx.db.run_sync(
            lambda s: list(s.scalars(sa.select(OutboxMessage.status).order_by(OutboxMessage.pk)))
        )
        assert pending == ["pending"] * 3

        assert notifications_command(ctx, ["list", "lost"]) == 1
        assert "unknown status" in capsys.readouterr().err
        assert notifications_command(ctx, ["list", "colour=red"]) == 2
        assert notifications_command(ctx, ["retry"]) == 2
        assert notifications_command(ctx, ["retry", "x1"]) == 2
        assert "usage: ngshare notifications" in capsys.readouterr().err
    finally:
        ctx.close()


def test_addresses_table_keeps_one_row_per_user_channel_and_address(make_config):
    ctx, _ = build(make_config())
    try:
        empty_all_tables(ctx.db.engine)
        svc = NotificationService(ctx)
        for _ in range(2):
            ctx.db.run_sync(svc.add_address, user="ada", channel="email", address="Ada@Example.org")
        count = ctx.db.run_sync(
            lambda s: s.scalar(sa.select(sa.func.count()).select_from(NotificationAddress))
        )
        assert count == 1
    finally:
        ctx.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_channel_turned_off_after_queueing_stops_the_message(servers):
    """Preferences are read when the message is about to go, not only when it was queued."""
    ctx = await servers.start()
    svc = ctx.notifications

    def queue_then_turn_off(session) -> int:
        pk = svc.send(
            session, plugin="testnotify", channel="sms", to="+15550100001", body="x", user="ada"
        )
        svc.set_preference(session, user="ada", channel="sms", enabled=False)
        return pk

    pk = await ctx.db.run(queue_then_turn_off)
    await eventually(lambda: _final_or_skipped(ctx), what="the message decided")
    (message,) = await rows(ctx, pk=pk)
    assert (message.status, message.last_error, message.attempts) == (
        "skipped",
        "ada turned sms off",
        0,
    )


def test_http_providers_take_proxies_from_the_environment_once_per_origin(monkeypatch):
    from ngshare.notifications.providers import TwilioProvider

    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    provider = TwilioProvider()
    assert provider.proxy_for("https://api.twilio.com/2010-04-01/x") == "http://proxy.example:3128"
    assert provider.proxy_for("http://127.0.0.1:8080/x") is None
    monkeypatch.delenv("https_proxy")
    # read once per origin: a server's environment does not change under it
    assert provider.proxy_for("https://api.twilio.com/other") == "http://proxy.example:3128"
    assert TwilioProvider().proxy_for("https://api.twilio.com/x") is None
