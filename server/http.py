"""HTTP plumbing shared by every handler: the ``endpoint`` decorator and JSON."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sanic import Request
from sanic.response import HTTPResponse
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.builders import SpecificationBuilder

from server.auth import authenticate
from server.errors import JSON_TYPE, ApiError, Forbidden, InvalidRequest, Unauthenticated
from server.idempotency import replay_or_run


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return HTTPResponse(orjson.dumps(data), status=status, headers=headers, content_type=JSON_TYPE)


def no_content() -> HTTPResponse:
    return HTTPResponse(status=204)


def parse_model(model: type[BaseModel], data: Any) -> Any:
    """Validate ``data`` against ``model``; failures become 400 with per-field reasons."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "body"
            fields.setdefault(name, _reason(err))
        raise InvalidRequest.fields(fields) from None


def _reason(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "必填"
    if kind == "extra_forbidden":
        return "不支持的字段"
    if kind in (
        "string_type",
        "int_type",
        "int_parsing",
        "bool_type",
        "float_type",
        "float_parsing",
    ):
        return "类型不正确"
    if kind in ("string_too_short",):
        return "不能为空"
    if kind in ("string_too_long",):
        return f"太长（最多 {err.get('ctx', {}).get('max_length')} 个字符）"
    if kind == "literal_error" or kind == "enum":
        return f"取值无效（可选：{err.get('ctx', {}).get('expected', '')}）"
    return err.get("msg", "取值无效")


def _json_body(request: Request) -> Any:
    if not request.body:
        raise InvalidRequest("请求体不能为空，需要 JSON")
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("请求体不是合法的 JSON") from None


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """Register ``model``'s JSON schema (pydantic's, exact) as a component; return a reference."""
    spec = SpecificationBuilder()
    if not spec.has_component("schemas", model.__name__):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            spec.add_component("schemas", name, sub)
        spec.add_component("schemas", model.__name__, schema)
    return {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}


Handler = Callable[..., Awaitable[HTTPResponse]]


def endpoint(
    *,
    summary: str,
    roles: Iterable[str] | None = None,
    auth: bool = True,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    errors: Iterable[type[ApiError]] = (),
    tag: str | None = None,
    idempotent: bool = False,
    upload_field: str | None = None,
) -> Callable[[Handler], Handler]:
    """Parse → authorize → call, and document the route (body, response, every error).

    The wrapped handler receives keyword arguments ``user`` (when ``auth``),
    ``body`` and ``query`` (validated models) besides the path parameters.
    ``idempotent`` routes honour ``Idempotency-Key`` (a retry replays the first answer).
    ``upload_field`` documents a multipart body with that one file field (the handler streams it).
    """
    allowed = frozenset(roles) if roles else None
    error_classes: list[type[ApiError]] = [InvalidRequest, *errors]
    if auth:
        error_classes.append(Unauthenticated)
    if allowed:
        error_classes.append(Forbidden)

    def decorate(func: Handler) -> Handler:
        @functools.wraps(func)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            if auth:
                user = await authenticate(request)
                if allowed is not None and user.role not in allowed:
                    raise Forbidden()
                kwargs["user"] = user
            if query is not None:
                kwargs["query"] = parse_model(query, {k: request.args.get(k) for k in request.args})
            if body is not None:
                kwargs["body"] = parse_model(body, _json_body(request))
            if idempotent:
                return await replay_or_run(request, kwargs["user"], lambda: func(request, *args, **kwargs))
            return await func(request, *args, **kwargs)

        documented = openapi.summary(summary)(wrapper)
        documented.__doc__ = func.__doc__
        if func.__doc__:
            documented = openapi.description(func.__doc__.strip())(documented)
        if tag:
            documented = openapi.tag(tag)(documented)
        if auth:
            documented = openapi.secured("token")(documented)
        if body is not None:
            documented = openapi.body({"application/json": schema_of(body)}, required=True)(documented)
        if upload_field is not None:
            form = {"type": "object", "properties": {upload_field: {"type": "string", "format": "binary"}}}
            form["required"] = [upload_field]
            documented = openapi.body({"multipart/form-data": {"schema": form}}, required=True)(documented)
        if query is not None:
            for name, field in query.model_fields.items():
                documented = openapi.parameter(
                    field.alias or name, _param_type(field.annotation), "query", required=field.is_required()
                )(documented)
        if response is not None:
            documented = openapi.response(status, {"application/json": schema_of(response)}, "成功")(documented)
        else:
            documented = openapi.response(status, description="成功")(documented)
        for code in sorted({e.status for e in error_classes}):
            documented = openapi.response(code, {"application/json": schema_of(ErrorResponse)}, "错误")(documented)
        return documented

    return decorate


def _param_type(annotation: Any) -> type:
    for kind in (int, float, bool):
        if annotation is kind or kind in getattr(annotation, "__args__", ()):
            return kind
    return str
