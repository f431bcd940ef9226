"""Signing in with a JupyterHub identity (a hub token), against a local stand-in for the hub."""

from __future__ import annotations

import json

import pytest
from ngshare_coursegrab import errors
from tornado.httpclient import HTTPClientError, HTTPRequest

from ngshare.app import build, make_application, run_hooks
from ngshare.config import NgShare
from tests.conftest import empty_all_tables
from tests.core.test_hub_identity import SERVICE_TOKEN, fake_hub, hub_log  # noqa: F401

from .conftest import empty_plugin_tables, ios_token


@pytest.fixture
def hub_server(make_config, fake_hub, io_loop, monkeypatch):  # noqa: F811
    _, api_url = fake_hub
    monkeypatch.setenv("JUPYTERHUB_API_URL", api_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/api/")
    monkeypatch.setenv("JUPYTERHUB_CLIENT_ID", "service-ngshare")
    base = make_config()
    config = NgShare(
        db_url=base.db_url,
        storage_path=base.storage_path,
        admins=["root"],
        config_file="",
        data_dir=base.storage_path + "-data",
        plugins=["coursegrab"],
    )
    ctx, plugins = build(config)
    empty_plugin_tables(ctx.db.engine)
    empty_all_tables(ctx.db.engine)
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


@pytest.fixture
def app(hub_server):
    return make_application(hub_server, hub_server.plugins)


async def call(http_client, base_url, path, authorization=None, body=None, method="POST"):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    request = HTTPRequest(
        base_url + "/api/coursegrab/" + path,
        method=method,
        headers=headers,
        body=None if method == "GET" else json.dumps(body or {}),
    )
    try:
        response = await http_client.fetch(request)
    except HTTPClientError as e:
        response = e.response
    return response.code, json.loads(response.body)


@pytest.mark.gen_test
async def test_a_hub_token_opens_a_session(http_client, base_url, hub_server):
    body = {"device_type": "IOS", "device_token": ios_token("kevins-phone")}
    status, answer = await call(
        http_client, base_url, "session/initialize", "token tok-kevin", body
    )
    assert status == 200, answer
    session = answer["data"]["session_token"]
    status, mine = await call(
        http_client, base_url, "users/tracking", f"Bearer {session}", method="GET"
    )
    assert (status, mine["data"]) == (200, {"sections": []})
    addresses = await hub_server.db.run(hub_server.notifications.addresses, "kevin")
    expected = [("apns", ios_token("kevins-phone"))]
    assert [(a["channel"], a["address"]) for a in addresses] == expected


@pytest.mark.gen_test
async def test_an_unknown_hub_token_opens_nothing(http_client, base_url, hub_server):
    status, answer = await call(http_client, base_url, "session/initialize", "token tok-nobody")
    assert (status, answer["data"]["errors"]) == (401, [errors.ERR_NO_IDENTITY])
