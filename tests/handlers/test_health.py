async def test_healthz_answers(api):
    reply = await api.call("GET", "/healthz")
    assert reply.status == 200
    assert reply.body == {"status": "ok"}


async def test_readyz_checks_database(api):
    reply = await api.call("GET", "/readyz")
    assert reply.status == 200
    assert reply.body["checks"]["database"] == "ok"
