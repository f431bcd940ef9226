"""Every answer is JSON, says what is allowed, and gives nothing away.

Form bodies and query strings over the field limit, wrong methods on API and
page routes, the ``Server`` header, and start-up refusals that must be one
clear line (a corrupt cookie secret, a database driver that is not installed).
"""

import json
import os
import stat
from pathlib import Path

import pytest

from ngshare import forms
from ngshare.app import StartupError, build, load_cookie_secret

TOO_MANY = "&".join(f"f{i}=1" for i in range(forms.MAX_FIELDS + 1))


async def fetch(http_client, url, **kw):
    return await http_client.fetch(url, raise_error=False, **kw)


def body_of(response):
    assert response.headers["Content-Type"].startswith("application/json"), response.body
    return json.loads(response.body)


@pytest.mark.gen_test
async def test_a_query_string_of_too_many_fields_is_a_json_400(http_client, base_url):
    r = await fetch(http_client, f"{base_url}/api/courses?user=root&{TOO_MANY}")
    assert r.code == 400
    assert body_of(r) == {"success": False, "message": forms.ERR_TOO_MANY_FIELDS}


@pytest.mark.gen_test
@pytest.mark.parametrize("padding", [0, 3 * 1024 * 1024], ids=["in-memory", "spooled"])
async def test_a_form_body_of_too_many_fields_is_a_json_400(http_client, base_url, padding):
    body = TOO_MANY + ("&pad=" + "x" * padding if padding else "")
    r = await fetch(http_client, f"{base_url}/api/course/c1?user=root", method="POST", body=body)
    assert r.code == 400
    assert body_of(r)["message"] == forms.ERR_TOO_MANY_FIELDS


@pytest.mark.gen_test
async def test_a_form_body_at_the_limit_is_read(api):
    fields = {f"f{i}": "1" for i in range(forms.MAX_FIELDS - 2)}
    assert (await api("POST", "course/c1", user="root", **fields))[0] == 200


@pytest.mark.gen_test
async def test_a_malformed_multipart_body_is_a_json_400(http_client, base_url):
    r = await fetch(
        http_client,
        f"{base_url}/api/course/c1?user=root",
        method="POST",
        body=b"--b\r\nno headers here\r\n--b--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.code == 400
    assert body_of(r)["message"] == forms.ERR_MALFORMED


@pytest.mark.gen_test
async def test_a_method_an_api_route_lacks_is_a_json_405_with_allow(http_client, base_url):
    r = await fetch(http_client, f"{base_url}/api/courses?user=root", method="PUT", body="")
    assert r.code == 405
    assert r.headers["Allow"] == "GET"
    assert body_of(r)["success"] is False


@pytest.mark.gen_test
async def test_a_post_to_the_home_page_is_a_json_405(http_client, base_url):
    r = await fetch(http_client, f"{base_url}/api/", method="POST", body="")
    assert r.code == 405
    assert r.headers["Allow"] == "GET"
    assert body_of(r)["message"] == "Method Not Allowed"


@pytest.mark.gen_test
async def test_answers_do_not_name_the_server_software(http_client, base_url):
    for path in ("/api/courses?user=root", "/api/nowhere", "/healthz"):
        r = await fetch(http_client, base_url + path)
        assert "Server" not in r.headers, path


def test_a_new_sqlite_database_is_readable_by_its_owner_only(make_config, tmp_path):
    path = tmp_path / "private" / "ngshare.db"
    ctx, _ = build(make_config(db_url=f"sqlite:///{path}", storage_path=str(tmp_path / "f")))
    ctx.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["not hex at all", "abcd"])
def test_a_corrupt_cookie_secret_refuses_start_in_one_line(make_config, tmp_path, content):
    secret = tmp_path / "cookie_secret"
    secret.write_text(content)
    os.chmod(secret, 0o600)
    with pytest.raises(StartupError, match="must hold a secret of at least 32 bytes"):
        load_cookie_secret(make_config(cookie_secret_file=str(secret)))


def test_a_missing_database_driver_refuses_start_in_one_line(make_config, tmp_path):
    config = make_config(db_url="mysql+mysqldb://nobody@127.0.0.1/nothing")
    with pytest.raises(StartupError, match="database driver .* is not installed"):
        build(config)
    assert not Path("nothing").exists()


@pytest.mark.gen_test
async def test_ids_beyond_the_key_range_name_nothing(api):
    """Route patterns take up to 18 digits; PostgreSQL's keys are 32-bit (was a 500 there)."""
    big = "9" * 18
    status, body = await api("POST", f"notifications/{big}/retry", user="root")
    assert (status, body["message"]) == (404, "Message not found")
    status, body = await api("DELETE", f"notifications/addresses/{big}", user="kevin")
    assert (status, body["message"]) == (404, "Address not found")
