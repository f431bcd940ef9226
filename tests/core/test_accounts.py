"""Local accounts: scrypt hashes, logins that hide which names exist, resets, the namespace rule."""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from tornado.httpclient import HTTPClientError

from ngshare.accounts import (
    RESET_PURPOSE,
    Account,
    AccountExists,
    InvalidUsername,
    NewAccount,
    WeakPassword,
    check_password,
    create_account,
    parse_password_hash,
)
from ngshare.accounts_models import AccountSecret, ApiToken, LocalAccount
from ngshare.models import User, get_or_create_user, utcnow
from tests.conftest import ADMIN
from tests.core import test_tokens

PASSWORD = "correct horse battery"

# the fixtures of test_tokens: the dev server, or (with mode="hub") a hub service
mode = test_tokens.mode
hub_log = test_tokens.hub_log
server = test_tokens.server


@pytest.fixture
def call(http_client, base_url):
    """``await call(method, path, token=, **fields)`` -> (status, json)."""

    async def fetch(method, path, token=None, **fields):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = base_url + "/api/" + path
        body = None
        if method in ("GET", "DELETE"):
            url += "?" + urlencode(fields) if fields else ""
        else:
            body = urlencode(fields)
        try:
            r = await http_client.fetch(url, method=method, body=body, headers=headers)
        except HTTPClientError as e:
            r = e.response
        return r.code, json.loads(r.body)

    return fetch


def stored_hash(server, username: str) -> str:
    with server.db.session() as session:
        account = session.query(LocalAccount).filter_by(username=username).one()
        return session.get(AccountSecret, account.pk).password_hash


def expire_tokens(server, purpose: str) -> None:
    table = ApiToken.__table__
    with server.db.engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.purpose == purpose)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


# -- creating accounts ----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_an_account_is_a_core_user_in_the_local_namespace(server):
    account = await server.accounts.create("Ada", PASSWORD)
    assert isinstance(account, Account)
    assert (account.username, account.user_name) == ("ada", "local:ada")
    assert await server.accounts.get("ADA") == account
    assert await server.accounts.get("nobody") is None
    assert await server.accounts.get("bad name!") is None


@pytest.mark.gen_test
async def test_duplicate_usernames_are_refused_whatever_their_case(server):
    await server.accounts.create("ada", PASSWORD)
    for name in ("ada", " ADA "):
        with pytest.raises(AccountExists, match="already exists"):
            await server.accounts.create(name, "another password")
    assert await server.accounts.authenticate("ada", PASSWORD) is not None


@pytest.mark.gen_test
async def test_concurrent_sign_ups_with_one_name_make_one_account(server):
    results = await asyncio.gather(
        *(server.accounts.create("ada", PASSWORD) for _ in range(4)), return_exceptions=True
    )
    assert len([r for r in results if isinstance(r, Account)]) == 1
    assert all(isinstance(r, (Account, AccountExists)) for r in results), results


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "name", ["", "  ", "local:ada", "a/b", "ada lovelace", ".ada", "é", "x" * 250]
)
async def test_bad_usernames_are_refused(server, name):
    with pytest.raises(InvalidUsername):
        await server.accounts.create(name, PASSWORD)


@pytest.mark.gen_test
async def test_emails_are_acceptable_usernames(server):
    account = await server.accounts.create("Ada.Lovelace+maths@example.org", PASSWORD)
    assert account.user_name == "local:ada.lovelace+maths@example.org"


@pytest.mark.gen_test
async def test_short_and_huge_passwords_are_refused(server):
    with pytest.raises(WeakPassword, match="at least 8"):
        await server.accounts.create("ada", "short")
    with pytest.raises(WeakPassword, match="at most 1024"):
        await server.accounts.create("ada", "x" * 1025)
    assert await server.accounts.get("ada") is None


@pytest.mark.gen_test
async def test_a_prepared_account_is_saved_with_the_callers_rows_or_not_at_all(server):
    new = await server.accounts.prepare("Ada", PASSWORD)
    assert isinstance(new, NewAccount) and new.username == "ada"
    assert new.password_hash not in repr(new)
    assert await server.accounts.get("ada") is None  # prepared, not saved

    def save_then_fail(session):
        create_account(session, new)
        raise RuntimeError("the plugin's own step failed")

    with pytest.raises(RuntimeError):
        await server.db.run(save_then_fail)
    assert await server.accounts.get("ada") is None

    def save_with_a_row(session):
        account = create_account(session, new)
        get_or_create_user(session, "ada-companion")
        return account

    account = await server.db.run(save_with_a_row)
    assert account.user_name == "local:ada"
    assert await server.accounts.authenticate("ada", PASSWORD) == account


@pytest.mark.gen_test
async def test_a_name_taken_after_prepare_is_refused_and_undoes_only_the_account(server):
    first = await server.accounts.prepare("ada", PASSWORD)
    second = await server.accounts.prepare("ada", "another password")
    await server.db.run(create_account, first)

    def save_both(session):
        get_or_create_user(session, "kept")
        with pytest.raises(AccountExists):
            create_account(session, second)

    await server.db.run(save_both)
    with server.db.session() as session:
        assert session.query(User).filter_by(name="kept").count() == 1
    with pytest.raises(AccountExists):
        await server.accounts.prepare("ADA", PASSWORD)
    assert await server.accounts.authenticate("ada", PASSWORD) is not None


@pytest.mark.gen_test
async def test_a_password_with_a_lone_surrogate_is_hashed_not_a_crash(server):
    """JSON can carry "\\udc80"; UTF-8 cannot encode it, and that was a 500."""
    await server.accounts.create("ada", "pass\udc80word")
    assert await server.accounts.authenticate("ada", "pass\udc80word") is not None
    assert await server.accounts.authenticate("ada", "pass\udc81word") is None
    assert await server.accounts.authenticate("nobody", "pass\udc80word") is None


# -- password hashes ------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_passwords_are_stored_as_salted_scrypt_hashes(server):
    await server.accounts.create("ada", PASSWORD)
    await server.accounts.create("bob", PASSWORD)
    ada, bob = stored_hash(server, "ada"), stored_hash(server, "bob")
    assert PASSWORD not in ada
    scheme, params, salt, key = ada.split("$")
    assert (scheme, params) == ("scrypt", "ln=15,r=8,p=1")
    assert len(base64.b64decode(salt + "==")) == 16 and len(base64.b64decode(key + "=")) == 32
    assert ada != bob and parse_password_hash(ada)[1] != parse_password_hash(bob)[1]
    assert check_password(PASSWORD, ada) and not check_password("wrong password", ada)
    assert not check_password(PASSWORD, "md5$whatever")


@pytest.mark.gen_test
async def test_passwords_are_compared_after_unicode_normalisation(server):
    await server.accounts.create("ada", "ｐａｓｓｗｏｒｄ１２")  # fullwidth forms
    assert await server.accounts.authenticate("ada", "password12") is not None


@pytest.mark.gen_test
async def test_a_stronger_configuration_rehashes_at_the_next_login(server):
    server.accounts.scrypt_n = 2**14
    await server.accounts.create("ada", PASSWORD)
    assert "ln=14," in stored_hash(server, "ada")
    server.accounts.scrypt_n = 2**15
    assert await server.accounts.authenticate("ada", "wrong password") is None
    assert "ln=14," in stored_hash(server, "ada")
    assert await server.accounts.authenticate("ada", PASSWORD) is not None
    assert "ln=15," in stored_hash(server, "ada")
    assert await server.accounts.authenticate("ada", PASSWORD) is not None


# -- logging in -----------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_wrong_password_and_unknown_user_fail_the_same_way(server):
    await server.accounts.create("ada", PASSWORD)
    assert await server.accounts.authenticate("ada", PASSWORD) is not None
    assert await server.accounts.authenticate("ada", "wrong password") is None
    assert await server.accounts.authenticate("nobody", PASSWORD) is None
    assert await server.accounts.authenticate("not a name!", PASSWORD) is None
    assert await server.accounts.login("ada", "wrong password", issuer="x") is None
    assert await server.accounts.login("nobody", PASSWORD, issuer="x") is None


@pytest.mark.gen_test
async def test_an_unknown_user_costs_as_much_as_a_wrong_password(server):
    """Without the dummy check an unknown name would answer ~50x faster."""
    await server.accounts.create("ada", PASSWORD)

    async def timed(username):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert await server.accounts.authenticate(username, "wrong password") is None
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    known, unknown = await timed("ada"), await timed("nobody")
    assert 0.5 < unknown / known < 2.0, (known, unknown)


@pytest.mark.gen_test
async def test_login_gives_an_api_token_for_the_local_user(server, call):
    await server.accounts.create("ada", PASSWORD)
    issued = await server.accounts.login("ada", PASSWORD, issuer="vivere", note="web")
    assert (issued.info.user, issued.info.issuer, issued.info.purpose) == (
        "local:ada",
        "vivere",
        "api",
    )
    status, body = await call("GET", "tokens", issued.secret)
    assert status == 200 and body["tokens"][0]["id"] == issued.info.id


@pytest.mark.gen_test
async def test_change_password_needs_the_old_one(server):
    await server.accounts.create("ada", PASSWORD)
    assert not await server.accounts.change_password("ada", "wrong password", "new password!")
    assert not await server.accounts.change_password("nobody", PASSWORD, "new password!")
    with pytest.raises(WeakPassword):
        await server.accounts.change_password("ada", PASSWORD, "short")
    reset = await server.accounts.issue_reset_token("ada")
    assert await server.accounts.change_password("ada", PASSWORD, "new password!")
    assert await server.accounts.authenticate("ada", PASSWORD) is None
    assert await server.accounts.authenticate("ada", "new password!") is not None
    assert await server.accounts.reset_password(reset.secret, "third password") is None


@pytest.mark.gen_test
async def test_set_password_needs_no_old_one(server):
    await server.accounts.create("ada", PASSWORD)
    assert await server.accounts.set_password("ADA", "new password!")
    assert not await server.accounts.set_password("nobody", "new password!")
    assert await server.accounts.authenticate("ada", "new password!") is not None


# -- password reset -------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_reset_token_works_once(server):
    await server.accounts.create("ada", PASSWORD)
    reset = await server.accounts.issue_reset_token("Ada", issuer="ekatra")
    assert reset.info.purpose == RESET_PURPOSE and reset.info.issuer == "ekatra"
    assert reset.info.expires_at <= utcnow() + timedelta(hours=1)
    account = await server.accounts.reset_password(reset.secret, "brand new password")
    assert account is not None and account.username == "ada"
    assert await server.accounts.authenticate("ada", "brand new password") is not None
    assert await server.accounts.authenticate("ada", PASSWORD) is None
    assert await server.accounts.reset_password(reset.secret, "yet another one") is None
    assert await server.accounts.authenticate("ada", "brand new password") is not None


@pytest.mark.gen_test
async def test_reset_tokens_are_only_for_existing_accounts(server):
    assert await server.accounts.issue_reset_token("nobody") is None
    assert await server.accounts.issue_reset_token("not a name!") is None


@pytest.mark.gen_test
async def test_an_expired_reset_token_is_refused(server):
    await server.accounts.create("ada", PASSWORD)
    reset = await server.accounts.issue_reset_token("ada")
    expire_tokens(server, RESET_PURPOSE)
    assert await server.accounts.reset_password(reset.secret, "brand new password") is None
    assert await server.accounts.authenticate("ada", PASSWORD) is not None


@pytest.mark.gen_test
async def test_a_newer_reset_token_replaces_the_older(server):
    await server.accounts.create("ada", PASSWORD)
    old = await server.accounts.issue_reset_token("ada")
    new = await server.accounts.issue_reset_token("ada")
    assert await server.accounts.reset_password(old.secret, "brand new password") is None
    assert await server.accounts.reset_password(new.secret, "brand new password") is not None


@pytest.mark.gen_test
async def test_a_weak_new_password_leaves_the_reset_token_unspent(server):
    await server.accounts.create("ada", PASSWORD)
    reset = await server.accounts.issue_reset_token("ada")
    with pytest.raises(WeakPassword):
        await server.accounts.reset_password(reset.secret, "short")
    assert await server.accounts.reset_password(reset.secret, "long enough now") is not None


@pytest.mark.gen_test
async def test_reset_and_api_tokens_cannot_stand_in_for_each_other(server, call):
    await server.accounts.create("ada", PASSWORD)
    session = await server.accounts.login("ada", PASSWORD, issuer="x")
    reset = await server.accounts.issue_reset_token("ada")
    # a reset token is not a session ...
    assert (await call("GET", "tokens", reset.secret))[0] == 401
    assert await server.tokens.verify(reset.secret) is None
    assert await server.tokens.rotate(reset.secret) is None
    # ... and a session token does not reset a password
    assert await server.accounts.reset_password(session.secret, "brand new password") is None
    assert await server.accounts.authenticate("ada", PASSWORD) is not None
    # a token of another purpose of the same user does not either
    other = await server.tokens.issue("local:ada", issuer="x", purpose="email-verify")
    assert await server.accounts.reset_password(other.secret, "brand new password") is None
    assert await server.accounts.reset_password(reset.secret, "brand new password") is not None


@pytest.mark.gen_test
async def test_a_reset_ends_every_session_of_the_account(server, call):
    await server.accounts.create("ada", PASSWORD)
    stolen = await server.accounts.login("ada", PASSWORD, issuer="x")
    reset = await server.accounts.issue_reset_token("ada")
    await server.accounts.reset_password(reset.secret, "brand new password")
    assert (await call("GET", "tokens", stolen.secret))[0] == 401


@pytest.mark.gen_test
async def test_reset_secrets_never_appear_in_responses(server, call):
    await server.accounts.create("ada", PASSWORD)
    session = await server.accounts.login("ada", PASSWORD, issuer="x")
    reset = await server.accounts.issue_reset_token("ada")
    status, body = await call("GET", "tokens", session.secret)
    assert status == 200 and reset.secret not in json.dumps(body)
    assert {t["purpose"] for t in body["tokens"]} == {"api", RESET_PURPOSE}


# -- the namespace rule ---------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_local_account_is_not_the_hub_user_of_the_same_name(server, call):
    # kevin (hub/dev namespace) teaches c1
    status, _ = await call("POST", "course/c1", user=ADMIN, instructors=json.dumps(["kevin"]))
    assert status == 200
    assert await call("GET", "courses", user="kevin") == (200, {"success": True, "courses": ["c1"]})
    # a local account called kevin sees none of it
    await server.accounts.create("kevin", PASSWORD)
    issued = await server.accounts.login("kevin", PASSWORD, issuer="x")
    assert await call("GET", "courses", issued.secret) == (200, {"success": True, "courses": []})
    assert (await call("GET", "assignments/c1", issued.secret))[0] == 403


@pytest.mark.gen_test
async def test_no_provider_may_claim_a_local_name(server, call):
    await server.accounts.create("kevin", PASSWORD)
    issued = await server.accounts.login("kevin", PASSWORD, issuer="x")
    assert (await call("GET", "tokens", issued.secret))[0] == 200
    assert (await call("GET", "tokens", user="local:kevin"))[0] == 401  # dev's user argument


@pytest.mark.gen_test
@pytest.mark.parametrize("mode", ["hub"])
async def test_a_hub_user_with_a_local_looking_name_is_refused(server, http_client, base_url, mode):
    await server.accounts.create("kevin", PASSWORD)
    for token, expected in (("hub-tok-kevin", 200), ("hub-tok-imposter", 401)):
        try:
            r = await http_client.fetch(
                base_url + "/api/tokens", headers={"Authorization": f"token {token}"}
            )
        except HTTPClientError as e:
            r = e.response
        assert r.code == expected, token


@pytest.mark.gen_test
async def test_local_accounts_are_admins_only_when_listed_by_their_local_name(server, call):
    await server.accounts.create(ADMIN, PASSWORD)
    issued = await server.accounts.login(ADMIN, PASSWORD, issuer="x")
    assert (await call("POST", "course/c1", issued.secret))[0] == 403
    server.identity.admin_users = {ADMIN, "local:" + ADMIN}
    assert (await call("POST", "course/c1", issued.secret))[0] == 200
