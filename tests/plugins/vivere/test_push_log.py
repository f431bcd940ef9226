"""Announcements by Web Push under ``vngshare``: the webpush channel goes to the log provider.

A developer subscribes a browser (the key is served although nothing is sent)
and sees each announcement's push in the outbox, sent by provider ``log``.
"""

from __future__ import annotations

import pytest

from tests.core.test_notifications import eventually
from tests.plugins.vivere.conftest import ORGANISER
from tests.standins.webpush import subscription


@pytest.mark.gen_test(timeout=30)
async def test_under_vngshare_an_announcements_push_shows_in_the_outbox(vv, server):
    key = await vv.http.fetch(vv.base_url + "/api/notifications/vapid-public-key")
    assert key.code == 200
    browser = subscription("https://push.example.net", "dev-browser")
    reply = await vv.call("POST", "announcements/push-subscription", user="ada", json_body=browser)
    assert reply.status == 201, reply.body
    created = await vv.call(
        "POST", "admin/announcements", user=ORGANISER, json_body={"message": "Hello, dev"}
    )
    assert created.status == 201

    async def logged() -> bool:
        messages = await server.notifications.messages(plugin="vivere")
        return [(m["status"], m["provider"], m["body"]) for m in messages] == [
            ("sent", "log", "Hello, dev")
        ]

    await eventually(logged, what="the push recorded as sent by the log provider")
