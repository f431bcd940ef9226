import pytest


@pytest.mark.gen_test
async def test_walkthrough(exchange, api):
    await exchange.setup()
    ts = await exchange.submit()
    status, body = await api("GET", "submissions/c1/a1", user="kevin")
    assert status == 200
    assert body["submissions"] == [{"student_id": "s1", "timestamp": ts}]
