async def test_healthz_answers(api):
    reply = await api.call("GET", "/healthz")
    assert reply.status == 200
    assert reply.body == {"status": "ok"}


async def test_readyz_checks_database(api):
    reply = await api.call("GET", "/readyz")
    assert reply.status == 200
    assert reply.body["checks"]["database"] == "ok"


async def test_every_response_carries_a_request_id(api):
    ok = await api.call("GET", "/healthz")
    missing = await api.call("GET", "/nowhere")
    assert len(ok.headers["X-Request-Id"]) == 32
    assert missing.headers["X-Request-Id"] and missing.headers["X-Request-Id"] != ok.headers["X-Request-Id"]


async def test_a_client_request_id_is_echoed(api):
    reply = await api.call("GET", "/healthz", headers={"X-Request-Id": "from-the-phone-1"})
    assert reply.headers["X-Request-Id"] == "from-the-phone-1"


async def test_an_unsafe_client_request_id_is_replaced(api):
    reply = await api.call("GET", "/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert reply.headers["X-Request-Id"] != "bad id\twith spaces"
    assert len(reply.headers["X-Request-Id"]) == 32
