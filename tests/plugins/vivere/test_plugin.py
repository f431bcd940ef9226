"""Vivere as a plugin: found by its entry point, migrated, mounted, documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from ngshare_vivere import plugin
from ngshare_vivere.config import Vivere
from traitlets.config import Config

from ngshare.app import StartupError, build
from ngshare.openapi import route_template
from ngshare.plugin import load_plugins
from tests.plugins.vivere.conftest import ADMIN

DOCS = Path(__file__).parents[3] / "docs" / "vivere.md"


def test_the_entry_point_loads_the_plugin():
    names = [p.name for p in load_plugins(["exchange", "vivere"])]
    assert names == ["exchange", "vivere"]
    assert plugin.mount == "vivere/"
    assert all(t.startswith("vivere_") for t in plugin.metadata.tables)


def test_its_alembic_branch_creates_its_tables(server):
    tables = set(sa.inspect(server.db.engine).get_table_names())
    assert set(plugin.metadata.tables) <= tables
    with server.db.engine.connect() as conn:
        heads = {row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    first = next(Path(plugin.migrations).glob("*_vivere_initial.py")).name.split("_")[0]
    assert first in heads


def test_bad_configuration_refuses_start_up(make_config):
    config = make_config(plugins=["vivere"])
    config.config = Config({"Vivere": {"ticket_expiry_seconds": 0}})
    with pytest.raises(StartupError, match="plugin 'vivere': invalid configuration"):
        build(config)


def test_configuration_reads_c_vivere(make_config):
    config = make_config(plugins=["vivere"])
    config.config = Config(
        {
            "Vivere": {
                "ticket_expiry_seconds": 3600,
                "organiser_phone_numbers": ["+1 650-555-0100"],
                "organisers": ["ada, bob"],
            }
        }
    )
    ctx, _ = build(config)
    try:
        settings = ctx.state(Vivere)
        assert settings.ticket_expiry_seconds == 3600
        assert settings.organiser_phone_numbers == ["+16505550100"]
        assert settings.organisers == ["ada", "bob"]
    finally:
        ctx.close()


@pytest.mark.gen_test
async def test_the_seed_token_header_is_registered(server):
    assert "X-MenloHacks-Authorization" in server.tokens.accepted_headers


@pytest.mark.gen_test
async def test_every_vivere_route_is_in_the_openapi_document(app, http_client, base_url):
    spec = json.loads((await http_client.fetch(base_url + "/api/openapi.json")).body)
    documented = {p for p in spec["paths"] if p.startswith("/api/vivere/")}
    mounted = set()
    for rule in app.wildcard_router.rules:
        pattern = rule.matcher.regex.pattern
        if pattern.startswith("/api/vivere/") and not pattern.endswith(".*$"):
            mounted.add(route_template(pattern))
    assert mounted == documented
    assert spec["paths"]["/api/vivere/maps"]["get"]["tags"] == ["vivere"]


@pytest.mark.gen_test
async def test_admins_see_its_jobs_channels_and_tables(http_client, base_url, app):
    response = await http_client.fetch(base_url + f"/api/plugins?user={ADMIN}")
    vivere = next(p for p in json.loads(response.body)["plugins"] if p["name"] == "vivere")
    assert vivere["mount"] == "/api/vivere/"
    assert sorted(vivere["jobs"]) == [
        "vivere.announce_expired_tickets",
        "vivere.publish_due_announcements",
    ]
    assert sorted(vivere["channels"]) == [
        "com.vivere.announcement",
        "com.vivere.events",
        "com.vivere.mentorchannel",
    ]


@pytest.mark.parametrize("trait", sorted(Vivere.class_traits(config=True)))
def test_every_setting_is_documented(trait):
    assert f"c.Vivere.{trait}" in DOCS.read_text()


def test_every_route_is_documented():
    text = DOCS.read_text()
    for pattern, *_ in plugin.handlers:
        if pattern in ("", ".*"):
            continue
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", pattern).removesuffix("/?")
        path = re.sub(r"<\w+>", "<id>", path)
        assert f"`{path}`" in text, path
