"""The OpenAPI spec at /docs lists every route with its errors."""


async def test_spec_lists_every_api_route(api):
    spec = (await api.call("GET", "/docs/openapi.json")).body
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for route in api.service.app.router.routes:
        if route.path.startswith(("docs", "/docs", "console", "/console", "verify", "/verify")):
            continue  # the docs page, the staff console, a certificate's check: pages for people, not API
        path = "/" + route.path.rstrip("/")
        for segment in route.parts:
            if segment.startswith("<"):
                name = segment.strip("<>").split(":")[0]
                path = path.replace(segment, "{" + name + "}")
        for method in route.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} missing from the spec"


async def test_signed_in_routes_document_401_and_the_error_shape(api):
    spec = (await api.call("GET", "/docs/openapi.json")).body
    op = spec["paths"]["/api/v1/me"]["get"]
    assert "401" in op["responses"]
    ref = op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ErrorResponse")
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]


async def test_login_documents_wechat_failures(api):
    spec = (await api.call("GET", "/docs/openapi.json")).body
    responses = spec["paths"]["/api/v1/auth/wechat-login"]["post"]["responses"]
    assert {"200", "400", "401", "429", "503"} <= set(responses)


async def test_docs_page_is_served(api):
    reply = await api.call("GET", "/docs")
    assert reply.status == 200


async def test_upload_documents_its_multipart_body_and_refusals(api):
    spec = (await api.call("GET", "/docs/openapi.json")).body
    op = spec["paths"]["/api/v1/media"]["post"]
    form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {"type": "string", "format": "binary"}
    assert form["required"] == ["file"]
    assert {"201", "400", "401", "413", "415", "429"} <= set(op["responses"])
    submit = spec["paths"]["/api/v1/tasks/{task_id}/submissions"]["post"]["responses"]
    assert {"201", "400", "403", "404", "409"} <= set(submit)
