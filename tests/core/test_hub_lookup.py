"""HubTokenLookup on the wire, against a scripted hub that answers in the ways HTTP allows.

Every case where the fast client cannot be sure of the answer must raise
``LookupUnavailable`` (the caller then asks through HubAuth), never guess.
"""

import asyncio
import json

import pytest

from ngshare.hub_lookup import MAX_ANSWER_BYTES, HubTokenLookup, LookupUnavailable

KEVIN = {"kind": "user", "name": "kevin", "admin": False, "groups": [], "scopes": []}


def ok(body: bytes, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class ScriptedHub:
    """A loopback server: each request gets the next scripted answer.

    An answer is bytes to send, ``"close"`` (close without answering),
    ``"hang"`` (never answer), ``"await_close"`` (never answer, count the
    client's close in ``closed_by_client``) or a callable of the connection's writer.
    ``requests`` holds every request head; ``connections`` counts accepts.
    """

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests: list[str] = []
        self.connections = 0
        self.closed_by_client = 0

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.api_url = f"http://127.0.0.1:{port}/hub/api"
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def _serve(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head.decode("latin-1"))
                answer = self.answers.pop(0)
                if answer == "close":
                    break
                if answer == "hang":
                    await asyncio.sleep(3600)
                if answer == "await_close":  # no answer; note when the client closes
                    await reader.read()
                    self.closed_by_client += 1
                    break
                if callable(answer):
                    await answer(writer)
                    continue
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_the_request_is_the_one_hubauth_makes_and_a_model_comes_back():
    async def go():
        async with ScriptedHub([ok(json.dumps(KEVIN).encode())]) as hub:
            lookup = HubTokenLookup(hub.api_url + "/")  # a trailing slash changes nothing
            assert await lookup.user_for_token("tok-kevin") == KEVIN
            lookup.close()
            return hub.requests[0], hub.api_url

    head, api_url = run(go())
    lines = head.split("\r\n")
    assert lines[0] == "GET /hub/api/user HTTP/1.1"
    assert f"Host: {api_url.split('/')[2]}" in lines
    assert "Authorization: token tok-kevin" in lines


def test_connections_are_kept_alive_between_lookups():
    async def go():
        body = json.dumps(KEVIN).encode()
        async with ScriptedHub([ok(body)] * 3) as hub:
            lookup = HubTokenLookup(hub.api_url)
            for _ in range(3):
                assert (await lookup.user_for_token("t"))["name"] == "kevin"
            lookup.close()
            return hub.connections

    assert run(go()) == 1


def test_a_kept_alive_connection_the_hub_closed_is_replaced_by_a_new_one():
    async def go():
        body = json.dumps(KEVIN).encode()
        # first connection: one answer, then the hub drops it on the next request
        async with ScriptedHub([ok(body), "close", ok(body)]) as hub:
            lookup = HubTokenLookup(hub.api_url)
            assert (await lookup.user_for_token("a"))["name"] == "kevin"
            assert (await lookup.user_for_token("b"))["name"] == "kevin"
            lookup.close()
            return hub.connections, len(hub.requests)

    assert run(go()) == (2, 3)


def test_connection_close_answers_are_not_reused():
    async def go():
        body = json.dumps(KEVIN).encode()
        async with ScriptedHub([ok(body, "Connection: close\r\n"), ok(body)]) as hub:
            lookup = HubTokenLookup(hub.api_url)
            await lookup.user_for_token("a")
            await lookup.user_for_token("b")
            lookup.close()
            return hub.connections

    assert run(go()) == 2


def test_a_chunked_answer_is_read_whole():
    body = json.dumps(KEVIN).encode()
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (10, body[:10])
        + b"%x\r\n%s\r\n" % (len(body) - 10, body[10:])
        + b"0\r\n\r\n"
    )

    async def go():
        async with ScriptedHub([chunked]) as hub:
            return await HubTokenLookup(hub.api_url).user_for_token("t")

    assert run(go()) == KEVIN


def test_an_answer_in_pieces_is_read_whole():
    whole = ok(json.dumps(KEVIN).encode())

    async def dribble(writer):
        for i in range(0, len(whole), 7):
            writer.write(whole[i : i + 7])
            await writer.drain()
            await asyncio.sleep(0.001)

    async def go():
        async with ScriptedHub([dribble]) as hub:
            return await HubTokenLookup(hub.api_url).user_for_token("t")

    assert run(go()) == KEVIN


def test_403_means_the_hub_does_not_know_the_token():
    body = b'{"status": 403, "message": "Forbidden"}'
    answer = b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    async def go():
        async with ScriptedHub([answer]) as hub:
            return await HubTokenLookup(hub.api_url).user_for_token("nobody")

    assert run(go()) is None


@pytest.mark.parametrize(
    "answer, why",
    [
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}", "hub answered 500"),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}", "hub answered 404"),
        (ok(b"not json"), "not JSON"),
        (ok(b"[1, 2]"), "not a user model"),
    ],
)
def test_answers_other_than_a_model_or_403_send_the_caller_to_hubauth(answer, why):
    async def go():
        async with ScriptedHub([answer]) as hub:
            lookup = HubTokenLookup(hub.api_url)
            with pytest.raises(LookupUnavailable, match=why):
                await lookup.user_for_token("t")
            return len(lookup._idle)

    assert run(go()) == 1  # the answer was whole: its connection may carry the next one


def _send_and_close(data: bytes):
    async def answer(writer):
        writer.write(data)
        await writer.drain()
        writer.close()

    return answer


@pytest.mark.parametrize(
    "answer, why",
    [
        (b"HTTP/1.1 2OO OK\r\n\r\n", "malformed"),
        (b"SMTP ready\r\n\r\n", "malformed"),
        (ok(b"{" + b" " * MAX_ANSWER_BYTES + b"}"), "malformed"),  # over the size bound
        ("close", "connection closed"),
        (
            _send_and_close(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"name"'),
            "connection closed",
        ),
        (_send_and_close(b"HTTP/1.1 200 OK\r\n\r\n{}"), "connection closed"),  # no length
    ],
)
def test_broken_answers_send_the_caller_to_hubauth_and_drop_the_connection(answer, why):
    async def go():
        async with ScriptedHub([answer]) as hub:
            lookup = HubTokenLookup(hub.api_url)
            with pytest.raises(LookupUnavailable, match=why):
                await lookup.user_for_token("t")
            return lookup._idle

    assert run(go()) == []


def test_a_hub_that_does_not_answer_in_time():
    async def go():
        async with ScriptedHub(["hang"]) as hub:
            lookup = HubTokenLookup(hub.api_url, timeout=0.2)
            with pytest.raises(LookupUnavailable, match="in time"):
                await lookup.user_for_token("t")

    run(go())


def test_a_lookup_cancelled_mid_answer_leaves_no_connection_behind():
    async def go():
        async with ScriptedHub(["await_close"]) as hub:
            lookup = HubTokenLookup(hub.api_url)
            task = asyncio.ensure_future(lookup.user_for_token("t"))
            while not hub.requests:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(100):
                if hub.closed_by_client:
                    break
                await asyncio.sleep(0.01)
            return hub.closed_by_client, lookup._idle, lookup._slots.locked()

    assert run(go()) == (1, [], False)


def test_a_hub_that_is_not_there():
    async def go():
        async with ScriptedHub([]) as hub:
            url = hub.api_url
        with pytest.raises(LookupUnavailable, match="cannot connect"):
            await HubTokenLookup(url).user_for_token("t")

    run(go())


@pytest.mark.parametrize("token", ["a b", "tok\r\nX-Evil: 1", "tök", "", "x" * 1025])
def test_unusual_tokens_are_left_to_hubauth_without_asking(token):
    async def go():
        async with ScriptedHub([]) as hub:
            with pytest.raises(LookupUnavailable, match="unusual"):
                await HubTokenLookup(hub.api_url).user_for_token(token)
            return hub.connections

    assert run(go()) == 0


@pytest.mark.parametrize(
    "url, served",
    [
        ("http://127.0.0.1:8081/hub/api", True),
        ("http://hub:8081/hub/api/", True),
        ("https://127.0.0.1:8081/hub/api", False),
        ("http+unix://%2Fsrv%2Fhub.sock/hub/api", False),
        ("/hub/api", False),
    ],
)
def test_only_plain_http_hubs_are_served(url, served, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert HubTokenLookup.serves(url) is served
    if not served:
        with pytest.raises(ValueError):
            HubTokenLookup(url)


def test_a_hub_behind_an_http_proxy_is_left_to_hubauth(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    assert not HubTokenLookup.serves("http://hub.internal:8081/hub/api")
    monkeypatch.setenv("no_proxy", "hub.internal")
    assert HubTokenLookup.serves("http://hub.internal:8081/hub/api")


def test_at_most_max_connections_are_opened():
    async def slow_ok(writer):
        await asyncio.sleep(0.05)
        writer.write(ok(json.dumps(KEVIN).encode()))
        await writer.drain()

    async def go():
        async with ScriptedHub([slow_ok] * 12) as hub:
            lookup = HubTokenLookup(hub.api_url, max_connections=3)
            models = await asyncio.gather(*(lookup.user_for_token(f"t{i}") for i in range(12)))
            lookup.close()
            return [m["name"] for m in models], hub.connections

    names, connections = run(go())
    assert names == ["kevin"] * 12
    assert connections == 3
