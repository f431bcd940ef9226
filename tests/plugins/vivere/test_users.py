"""user/create and user/login: core local accounts and core tokens, in the seed's wire format."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from ngshare_vivere.models import Profile
from sqlalchemy import select

from ngshare.accounts_models import ApiToken, LocalAccount
from ngshare.models import User
from tests.plugins.vivere.conftest import PASSWORD


@pytest.mark.gen_test
async def test_create_answers_201_with_a_token_that_logs_the_person_in(vv):
    reply = await vv.call(
        "POST",
        "user/create",
        json_body={"name": "Jason Scharff", "username": "jason@example.org", "password": PASSWORD},
    )
    assert reply.status == 201
    assert reply.body == {"data": {"token": reply.data["token"]}, "success": True}
    created = await vv.call(
        "POST",
        "mentorship/create",
        token=reply.data["token"],
        json_body={"description": "d", "location": "l", "contact": "c"},
    )
    assert created.status == 201 and created.data["is_mine"] is True


@pytest.mark.gen_test
async def test_an_account_is_a_core_local_account_with_a_vivere_profile(vv, server, accounts):
    await accounts.token("jason", name="Jason Scharff")
    with server.db.session() as session:
        user = session.scalar(select(User).where(User.name == "local:jason"))
        assert user is not None
        assert session.get(Profile, user.pk).name == "Jason Scharff"
        token = session.scalar(select(ApiToken).where(ApiToken.user_pk == user.pk))
        assert token.issuer == "vivere"
        lifetime = token.expires_at - token.created_at
        assert abs(lifetime.total_seconds() - 7 * 86400) < 5  # the original's 7 days


@pytest.mark.gen_test
async def test_login_returns_name_token_and_username(vv, accounts):
    await accounts.token("jason@example.org", name="Jason Scharff")
    reply = await vv.call(
        "POST", "user/login", json_body={"username": "jason@example.org", "password": PASSWORD}
    )
    assert reply.status == 200
    assert set(reply.data) == {"name", "token", "username"}
    assert reply.data["name"] == "Jason Scharff"
    assert reply.data["username"] == "jason@example.org"
    me = await vv.call("GET", "mentorship/user/queue", token=reply.data["token"])
    assert me.status == 200


@pytest.mark.gen_test
async def test_form_bodies_work_as_well_as_json(vv):
    reply = await vv.call(
        "POST", "user/create", form={"name": "Ada", "username": "ada", "password": PASSWORD}
    )
    assert reply.status == 201
    login = await vv.call("POST", "user/login", form={"username": "ada", "password": PASSWORD})
    assert login.data["name"] == "Ada"


@pytest.mark.gen_test
async def test_the_token_works_as_a_bearer_token_too(vv, accounts):
    token = await accounts.token("jason")
    reply = await vv.call(
        "GET", "mentorship/user/claimed", headers={"Authorization": f"Bearer {token}"}
    )
    assert (reply.status, reply.data) == (200, [])


@pytest.mark.gen_test
async def test_a_taken_username_is_a_409(vv, accounts):
    await accounts.token("jason")
    reply = await vv.call(
        "POST", "user/create", json_body={"name": "J", "username": "JASON", "password": PASSWORD}
    )
    assert reply.error == (409, "User already exists")


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "body, message",
    [
        ({"username": "u", "password": PASSWORD}, "No name provided"),
        ({"name": "N", "password": PASSWORD}, "No username provided"),
        ({"name": "N", "username": "u"}, "No password provided"),
        ({"name": " ", "username": "u", "password": PASSWORD}, "Name is blank"),
        ({"name": "N", "username": "", "password": PASSWORD}, "Username is blank"),
        ({"name": 3, "username": "u", "password": PASSWORD}, "name must be a string"),
        ({"name": "N", "username": "u", "password": "short"}, "Password must be at least 8"),
        ({"name": "N", "username": "no spaces", "password": PASSWORD}, "Usernames are 1-"),
    ],
)
async def test_bad_sign_ups_are_400s(vv, body, message):
    reply = await vv.call("POST", "user/create", json_body=body)
    status, text = reply.error
    assert status == 400 and text.startswith(message), text


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'{"name": ', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"name": "x"', "application/x-www-form-urlencoded"),
    ],
)
async def test_a_malformed_json_body_is_a_400(vv, body, content_type):
    reply = await vv.call("POST", "user/create", body=body, headers={"Content-Type": content_type})
    status, message = reply.error
    assert status == 400 and "JSON object" in message


@pytest.mark.gen_test
async def test_an_oversized_body_is_a_413_in_the_envelope(vv):
    reply = await vv.call(
        "POST",
        "user/create",
        body=b"x" * (64 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )
    assert reply.error == (413, "Request body too large")


@pytest.mark.gen_test
@pytest.mark.parametrize("username, password", [("jason", "wrong password"), ("nobody", PASSWORD)])
async def test_a_wrong_password_and_an_unknown_user_are_the_same_401(
    vv, accounts, username, password
):
    await accounts.token("jason")
    reply = await vv.call(
        "POST", "user/login", json_body={"username": username, "password": password}
    )
    assert reply.error == (401, "Invalid username or password")


@pytest.mark.gen_test
async def test_login_needs_both_parameters(vv):
    reply = await vv.call("POST", "user/login", json_body={"username": "jason"})
    assert reply.error == (400, "No password provided")


@pytest.mark.gen_test
async def test_passwords_in_json_keep_their_spaces(vv):
    body = {"name": "N", "username": "spacey", "password": "  padded password  "}
    assert (await vv.call("POST", "user/create", json_body=body)).status == 201
    stripped = {"username": "spacey", "password": "padded password"}
    assert (await vv.call("POST", "user/login", json_body=stripped)).status == 401
    exact = {"username": "spacey", "password": "  padded password  "}
    assert (await vv.call("POST", "user/login", json_body=exact)).status == 200


@pytest.mark.gen_test
async def test_an_invalid_token_is_a_401_on_login_only_routes(vv):
    bogus = "ngs_" + "A" * 43
    reply = await vv.call("GET", "mentorship/user/queue", token=bogus)
    assert reply.error == (401, "No user is currently logged in")
    # and on routes where login is optional, the caller is simply anonymous
    assert (await vv.call("GET", "mentorship/queue", token=bogus)).status == 200


@pytest.mark.gen_test
async def test_a_hub_or_dev_user_is_a_vivere_user_without_an_account(vv):
    reply = await vv.call(
        "POST",
        "mentorship/create",
        user="kim",
        json_body={"description": "d", "location": "l", "contact": "c"},
    )
    assert reply.status == 201 and reply.data["is_mine"] is True
    mine = await vv.call("GET", "mentorship/user/queue", user="kim")
    assert [t["id"] for t in mine.data["tickets"]["open"]] == [reply.data["id"]]


# -- sign-up is all or nothing ----------------------------------------------------------------


@contextmanager
def inserts_fail(engine: sa.Engine, table: str) -> Iterator[None]:
    """Make the database itself refuse every insert into ``table`` (a real failure, no mock)."""
    trigger = f"test_refuse_{table}"
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
                )
            )
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {trigger} BEFORE INSERT ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
                )
            )
        else:
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {trigger} BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text(f"DROP TRIGGER {trigger} ON {table}"))
                conn.execute(sa.text(f"DROP FUNCTION {trigger}()"))
            else:
                conn.execute(sa.text(f"DROP TRIGGER {trigger}"))


@pytest.mark.gen_test
@pytest.mark.parametrize("table", [Profile.__tablename__, ApiToken.__tablename__])
async def test_a_sign_up_that_fails_after_the_account_leaves_no_account(vv, server, table):
    """The profile and the first token are saved with the account, or none of them is."""
    body = {"name": "Jason", "username": "jason", "password": PASSWORD}
    with inserts_fail(server.db.engine, table):
        failed = await vv.call("POST", "user/create", json_body=body)
        assert failed.error[0] == 500
    with server.db.session() as session:
        assert session.scalar(select(LocalAccount).where(LocalAccount.username == "jason")) is None
        assert session.scalar(select(User).where(User.name == "local:jason")) is None
    login = {"username": "jason", "password": PASSWORD}
    assert (await vv.call("POST", "user/login", json_body=login)).status == 401
    # the person simply tries again: no 409, and the account is whole
    retry = await vv.call("POST", "user/create", json_body=body)
    assert retry.status == 201, retry.body
    assert (await vv.call("POST", "user/login", json_body=login)).data["name"] == "Jason"
