"""The Plugin API: loading, refusals that name the plugin, OpenAPI, introspection."""

import json
from importlib.metadata import EntryPoint

import pytest
from tornado.httpclient import HTTPClientError

from ngshare.app import StartupError, build, make_application
from ngshare.openapi import route_template
from ngshare.plugin import PluginError, discover, load_plugins

MOD = "tests.core.plugins"


def eps(**names):
    """Entry points as an installed distribution would declare them."""
    found = dict(discover())
    found.update({n: EntryPoint(n, v, "ngshare.plugins") for n, v in names.items()})
    return found


def test_the_exchange_is_an_installed_entry_point_plugin():
    (plugin,) = load_plugins(["exchange"])
    assert plugin.name == "exchange" and plugin.mount == ""
    assert "exchange_courses" in plugin.metadata.tables


def test_all_loads_every_installed_plugin_in_a_fixed_order():
    available = eps(greeter=f"{MOD}:greeter", taba=f"{MOD}:table_a")
    names = [p.name for p in load_plugins(["exchange", "all"], available)]
    assert names[0] == "exchange"
    assert names[1:] == sorted(n for n in available if n != "exchange")


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("missing", None, "plugin 'missing' is not installed"),
        ("broken", "tests.core.no_such_module:plugin", "plugin 'broken' failed to import"),
        ("notplugin", f"{MOD}:not_a_plugin", "is not a Plugin"),
        ("greeter2", f"{MOD}:greeter", "object is named 'greeter'"),
        ("badtables", f"{MOD}:bad_tables", "table 'other_table' must start with 'badtables_'"),
        ("courses", f"{MOD}:courses", "its mount 'courses/' overlaps route"),
    ],
)
def test_a_bad_plugin_is_refused_with_its_name_and_reason(name, value, message):
    available = eps(**({name: value} if value else {}))
    with pytest.raises(PluginError, match=message.replace("(", r"\(")) as e:
        load_plugins(["exchange", name], available)
    assert repr(name) in str(e.value) or name in str(e.value)


def test_two_plugins_claiming_one_table_are_refused():
    available = eps(taba=f"{MOD}:table_a", tabb=f"{MOD}:table_a")
    # the second entry point gives an object named 'taba': refused by name first
    with pytest.raises(PluginError, match="tabb"):
        load_plugins(["taba", "tabb"], available)


def test_a_handler_method_not_marked_authenticated_or_public_is_refused(make_config):
    config = make_config()
    ctx, plugins = build(config)
    try:
        (unmarked,) = load_plugins(["unmarked"], eps(unmarked=f"{MOD}:unmarked"))
        with pytest.raises(StartupError, match=r"UnmarkedHandler.get is neither"):
            make_application(ctx, [*plugins, unmarked])
    finally:
        ctx.close()


def test_invalid_plugin_configuration_is_refused_at_start(make_config, monkeypatch):
    available = eps(greeter=f"{MOD}:greeter")
    monkeypatch.setattr(
        "ngshare.app.load_plugins",
        lambda names, _installed=None: load_plugins([*names, "greeter"], available),
    )
    config = make_config()
    from traitlets.config import Config

    config.update_config(Config({"GreeterConfig": {"volume": 11}}))
    with pytest.raises(StartupError, match="plugin 'greeter': invalid configuration"):
        build(config)


@pytest.fixture
def app(server):
    """The test server plus the 'greeter' plugin."""
    from tests.core import plugins as test_plugins

    plugin = test_plugins.greeter
    server.plugins = [*server.plugins, plugin]
    server.set_state(test_plugins.GreeterConfig())
    return make_application(server, server.plugins)


async def fetch(http_client, url, **kw):
    try:
        return await http_client.fetch(url, **kw)
    except HTTPClientError as e:
        return e.response


@pytest.mark.gen_test
async def test_plugin_handlers_are_mounted_under_the_plugin_name(http_client, base_url):
    r = await fetch(http_client, base_url + "/api/greeter/hello")
    assert json.loads(r.body) == {"success": True, "hello": "world"}
    r = await fetch(http_client, base_url + "/api/greeter/hello", method="POST", body="user=kim")
    assert json.loads(r.body) == {"success": True, "you": "kim"}
    r = await fetch(http_client, base_url + "/api/greeter/hello", method="POST", body="")
    assert r.code == 401


@pytest.mark.gen_test
async def test_every_mounted_route_is_in_the_openapi_document(app, http_client, base_url):
    r = await fetch(http_client, base_url + "/api/openapi.json")
    spec = json.loads(r.body)
    assert spec["openapi"].startswith("3.1")
    documented = set(spec["paths"])
    mounted = set()
    for rule in app.wildcard_router.rules:
        for inner in getattr(rule.target, "rules", [rule]):
            pattern = inner.matcher.regex.pattern
            if pattern.endswith(".*$") or "static/(.*)" in pattern:
                continue  # the JSON-404 catch-all and Swagger's static files
            mounted.add(route_template(pattern))
    missing = mounted - documented
    assert not missing, f"routes missing from openapi.json: {sorted(missing)}"
    assert "/api/greeter/hello" in documented
    assert spec["paths"]["/api/greeter/hello"]["get"]["tags"] == ["greeter"]


@pytest.mark.gen_test
async def test_swagger_ui_is_served_from_the_packaged_bundle(http_client, base_url):
    page = await fetch(http_client, base_url + "/api/docs")
    assert page.code == 200 and b"SwaggerUIBundle" in page.body
    asset = await fetch(http_client, base_url + "/api/docs/static/swagger-ui-bundle.js")
    assert asset.code == 200 and len(asset.body) > 100_000


@pytest.mark.gen_test
async def test_admins_can_list_plugins_with_what_they_bring(http_client, base_url):
    r = await fetch(http_client, base_url + "/api/plugins?user=root")
    plugins = {p["name"]: p for p in json.loads(r.body)["plugins"]}
    assert plugins["exchange"]["mount"] == "/api/"
    assert "exchange_files" in plugins["exchange"]["tables"]
    assert plugins["greeter"]["mount"] == "/api/greeter/"
    assert plugins["greeter"]["config"] == "GreeterConfig"
    r = await fetch(http_client, base_url + "/api/plugins?user=kevin")
    assert (r.code, json.loads(r.body)["message"]) == (403, "Permission denied (not admin)")
