"""HTTP plumbing shared by every handler: the ``endpoint`` decorator and JSON."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sanic import Request
from sanic.response import HTTPResponse
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.builders import OperationStore, SpecificationBuilder
from sanic_ext.extensions.openapi.types import Schema

from server.kernel.errors import (
    JSON_TYPE,
    ApiError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from server.kernel.ids import ID_PATTERN
from server.web.apidoc import DocumentedSchema, finish, label_property, operation_description, parameter_doc
from server.web.auth import authenticate
from server.web.idempotency import KEY, replay_or_run
from server.web.services import services_of


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


class FieldError(ValueError):
    """A check across fields (lat with lng, from before to) that fails because of ``fields``.

    Raised from a model validator, where pydantic would file it under the whole body;
    :func:`parse_model` files ``message`` under each named field instead (names as sent, so
    aliases such as ``from``).
    """

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


def parse_model(model: type[BaseModel], data: Any) -> Any:
    """Validate ``data`` against ``model``; failures become 400 with per-field reasons."""
    # PostgreSQL cannot store U+0000 in text (SQLite can): refuse it at the door, on every database.
    with_nul = dict.fromkeys(_nul_fields(data), "不能包含空字符（U+0000）")
    if with_nul:
        raise InvalidRequest.fields(with_nul)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            for name in _names(err):
                fields.setdefault(name, _reason(err))
        raise InvalidRequest.fields(fields) from None


def _names(err: Any) -> list[str]:
    """The dotted names (as the client sent them) an error is about."""
    at = [str(part) for part in err["loc"]]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError) and cause.fields:
        return [".".join([*at, field]) for field in cause.fields]
    return [".".join(at) or "body"]


# No request schema nests more than a few levels; deeper bodies are refused before anything
# (our walk below, pydantic, the error renderer) could recurse through them.
MAX_DEPTH = 32


def _nul_fields(data: Any) -> Iterator[str]:
    """The dotted paths (as in validation errors) of strings, keys included, that contain U+0000.

    Walks with its own stack, so that no body can exhaust Python's; too deep a body is a 400.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, at, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                yield at or "body"
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise InvalidRequest(f"请求体嵌套层级过深（最多 {MAX_DEPTH} 层）")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children = []
        for key, child in items:
            name = f"{at}.{key}" if at else str(key)
            if isinstance(key, str) and "\x00" in key:
                yield name
            children.append((child, name, depth + 1))
        stack.extend(reversed(children))  # depth-first in document order, as before


# What a person reads for each of pydantic's error types (its own texts are English).
# Ours come as value errors whose message is already Chinese.
_REASONS: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不支持的字段",
    "string_type": "须为字符串",
    "string_unicode": "须为合法的 UTF-8 文本",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "int_parsing_size": "数字太大",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "finite_number": "须为有限的数字",
    "decimal_type": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_max_digits": "数字位数太多",
    "decimal_whole_digits": "整数部分位数太多",
    "bool_type": "须为 true 或 false",
    "bool_parsing": "须为 true 或 false",
    "list_type": "须为数组",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "none_required": "须为 null",
    "datetime_type": "须为 ISO 8601 时间，如 2026-12-10T09:00:00+08:00",
    "datetime_parsing": "须为 ISO 8601 时间，如 2026-12-10T09:00:00+08:00",
    "datetime_from_date_parsing": "须为 ISO 8601 时间，如 2026-12-10T09:00:00+08:00",
    "datetime_object_invalid": "须为 ISO 8601 时间，如 2026-12-10T09:00:00+08:00",
    "timezone_aware": "须带时区偏移，如 +08:00",
    "date_type": "须为日期，格式 YYYY-MM-DD",
    "date_parsing": "须为日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "须为日期，格式 YYYY-MM-DD",
    "date_from_datetime_inexact": "须为日期，格式 YYYY-MM-DD（不含时刻）",
    "url_type": "须为网址",
    "url_parsing": "须为网址",
    "uuid_type": "须为 UUID",
    "uuid_parsing": "须为 UUID",
}
# Types whose reason carries a limit from the error's context.
_LIMITS: dict[str, tuple[str, str]] = {
    "string_too_long": ("max_length", "太长（最多 {} 个字符）"),
    "too_short": ("min_length", "至少 {} 项"),
    "too_long": ("max_length", "最多 {} 项"),
    "greater_than": ("gt", "须大于 {}"),
    "greater_than_equal": ("ge", "不能小于 {}"),
    "less_than": ("lt", "须小于 {}"),
    "less_than_equal": ("le", "不能大于 {}"),
    "multiple_of": ("multiple_of", "须为 {} 的倍数"),
    "decimal_max_places": ("decimal_places", "最多 {} 位小数"),
}
_CJK = re.compile(r"[\u3400-\u9fff]")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
INVALID = "取值无效"


def _reason(err: Any) -> str:
    """A Chinese reason for one of pydantic's errors."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _REASONS:
        return _REASONS[kind]
    if kind in _LIMITS:
        key, text = _LIMITS[kind]
        return text.format(ctx.get(key))
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "不能为空" if least == 1 else f"至少 {least} 个字符"
    if kind in ("literal_error", "enum"):
        # ctx "expected" reads "'a', 'b' or 'c'": list the choices themselves.
        choices = _QUOTED.findall(str(ctx.get("expected", "")))
        return f"{INVALID}（可选：{'、'.join(choices)}）" if choices else INVALID
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        message = cause.message if isinstance(cause, FieldError) else str(cause or "")
        return message if _CJK.search(message) else INVALID
    # Our own PydanticCustomError types carry Chinese text; anything else gets the general reason.
    message = str(err.get("msg", ""))
    return message if _CJK.search(message) else INVALID


# Bodies a browser form or wx.uploadFile would send: a JSON route says what it wants instead.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SEND_JSON = "请求体须为 JSON（Content-Type: application/json）"


def _json_body(request: Request) -> Any:
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type in _FORM_TYPES:
        raise InvalidRequest(f"{SEND_JSON}，不支持表单提交")
    if not request.body:
        raise InvalidRequest("请求体不能为空，需要 JSON")
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError:
        hint = "" if media_type.endswith(("/json", "+json")) else f"；{SEND_JSON}"
        raise InvalidRequest(f"请求体不是合法的 JSON{hint}") from None


# -- the OpenAPI document ---------------------------------------------------------
#
# sanic-ext serves the document as OpenAPI 3.0.3, while pydantic writes JSON Schema 2020-12
# (OpenAPI 3.1's dialect). ``openapi30`` translates, so that clients and fuzzers reading the
# document as 3.0 see what the service really accepts and answers.

_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_NULL = {"type": "null"}


def openapi30(schema: Any) -> Any:
    """A pydantic JSON schema in OpenAPI 3.0's dialect: `nullable`, boolean exclusive bounds, no `const`."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS:
            out[key] = {name: openapi30(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [openapi30(sub) for sub in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = openapi30(value)
        else:
            out[key] = value
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list) and out["examples"]:
        # 3.0 has one `example` per schema; 2020-12's `examples` is a list.
        out["example"] = out.pop("examples")[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        limit = out.get(bound)
        if isinstance(limit, int | float) and not isinstance(limit, bool):
            out[plain], out[bound] = limit, True
    if "$ref" in out and len(out) > 1:
        # 3.0 ignores keywords beside a $ref: wrap it so descriptions and nullability count.
        out["allOf"] = [{"$ref": out.pop("$ref")}]
    for key in ("anyOf", "oneOf"):
        members = out.get(key)
        if members is None or _NULL not in members:
            continue
        rest = [m for m in members if m != _NULL]
        out["nullable"] = True
        if len(rest) != 1:
            out[key] = rest
            continue
        del out[key]
        (only,) = rest
        if "$ref" in only:
            out["allOf"] = [only]
        else:
            out = {**only, **out}
    if out.get("nullable") and isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def schema_of(model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
    """Register ``model``'s JSON schema (pydantic's, in 3.0's dialect) as a component; return a reference.

    ``mode`` is pydantic's: "validation" for what a request may send, "serialization" for answers.
    """
    spec = SpecificationBuilder()
    if not spec.has_component("schemas", model.__name__):
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}",
            mode=mode,  # type: ignore[arg-type]
            schema_generator=DocumentedSchema,
        )
        schemas = {name: openapi30(sub) for name, sub in schema.pop("$defs", {}).items()}
        schemas[model.__name__] = openapi30(schema)
        finish(schemas)
        for name, sub in schemas.items():
            if not spec.has_component("schemas", name):
                spec.add_component("schemas", name, sub)
    return {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}


Handler = Callable[..., Awaitable[HTTPResponse]]


async def _count(request: Request, name: str, user: Any) -> None:
    """One hit on the person's ``name`` limit; 429 past it."""
    services = services_of(request)
    await services.limiter.hit(name, str(user.id), getattr(services.config, f"limit_{name}"))


class _Verbatim(Schema):
    """A piece of the document already in OpenAPI form (a schema, a response), served as given."""

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__()
        self.value = value

    def serialize(self) -> dict[str, Any]:
        return self.value


BINARY = {"type": "string", "format": "binary"}
ID_SCHEMA = {"type": "string", "pattern": ID_PATTERN, "description": "对象 id（不透明字符串）"}
IDEMPOTENCY_KEY = {"type": "string", "pattern": KEY.pattern}
RETRY_AFTER = {"description": "建议等待的秒数", "schema": {"type": "integer", "minimum": 1}}
ERROR_SCHEMA = schema_of(ErrorResponse, "serialization")
# Every route reads the database (or may be cut off while it restarts): 503 can answer anything.
ALWAYS: tuple[type[ApiError], ...] = (InvalidRequest, ServiceUnavailable)
_CONTEXT = frozenset({"request", "user", "body", "query", "services"})


def _path_parameters(func: Handler, overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The route's path parameters, from the handler's signature: `int` ones are row ids."""
    found = {}
    for name, param in inspect.signature(func).parameters.items():
        if name in _CONTEXT or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        is_id = param.annotation in (int, "int")
        found[name] = overrides.get(name) or (ID_SCHEMA if is_id else {"type": "string"})
    return found


def _query_parameters(model: type[BaseModel]) -> list[tuple[str, dict[str, Any], bool]]:
    """(name, schema, required) of each query field; an absent parameter, not null, means "not given"."""
    schema = openapi30(model.model_json_schema(mode="validation", schema_generator=DocumentedSchema))
    required = set(schema.get("required", ()))
    params = []
    for name, sub in schema.get("properties", {}).items():
        sub = {k: v for k, v in sub.items() if k not in ("nullable", "title")}
        if isinstance(sub.get("enum"), list):
            sub["enum"] = [v for v in sub["enum"] if v is not None]
        if sub.get("default") is None:
            sub.pop("default", None)
        label_property(sub)
        params.append((name, sub, name in required))
    return params


def _error_response(classes: list[type[ApiError]]) -> dict[str, Any]:
    """One status's answer: the error shape, and the codes it may carry (the description lists them)."""
    codes = "、".join(sorted({c.code for c in classes}))
    response: dict[str, Any] = {"description": f"错误：{codes}", "content": {"application/json": ERROR_SCHEMA}}
    if any(issubclass(c, RateLimited | ServiceUnavailable) for c in classes):
        # Every rate limit says when to come back; a 503 from the framework itself may not.
        required = all(c.status == RateLimited.status for c in classes)
        response["headers"] = {"Retry-After": {**RETRY_AFTER, "required": required}}
    return response


def _document(
    func: Handler,
    *,
    status: int,
    response: Any,
    produces: Iterable[str],
    error_classes: list[type[ApiError]],
    path: dict[str, dict[str, Any]],
    query: type[BaseModel] | None,
    idempotent: bool,
) -> None:
    """Parameters and every response of the route, straight into sanic-ext's operation store."""
    store = OperationStore()[func]
    for name, schema in path.items():
        text, schema = parameter_doc(name, schema)
        store.parameter(name, _Verbatim(schema), "path", required=True, description=text)
    if query is not None:
        for name, schema, required in _query_parameters(query):
            # Swagger UI shows a parameter's own description, not its schema's.
            text = schema.pop("description", None)
            store.parameter(name, _Verbatim(schema), "query", required=required, description=text)
    if idempotent:
        text, header = parameter_doc("Idempotency-Key", IDEMPOTENCY_KEY)
        store.parameter("Idempotency-Key", _Verbatim(header), "header", required=False, description=text)
    success: dict[str, Any] = {"description": "成功"}
    if response is not None:
        success["content"] = {"application/json": schema_of(response, "serialization")}
    elif produces:
        success["content"] = {media_type: {"schema": BINARY} for media_type in produces}
    store.responses[status] = _Verbatim(success)
    by_status: dict[int, list[type[ApiError]]] = {}
    for cls in error_classes:
        by_status.setdefault(cls.status, []).append(cls)
    for code in sorted(by_status):
        store.responses[code] = _Verbatim(_error_response(by_status[code]))


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
    rate_limit: str | None = None,
    upload_field: str | None = None,
    upload_types: Iterable[str] = (),
    produces: Iterable[str] = (),
    path: dict[str, dict[str, Any]] | None = None,
) -> Callable[[Handler], Handler]:
    """Parse → authorize → call, and document the route (parameters, body, response, every error).

    The wrapped handler receives keyword arguments ``user`` (when ``auth``),
    ``body`` and ``query`` (validated models) and ``services`` (when it names that
    parameter) besides the path parameters.
    ``idempotent`` routes honour ``Idempotency-Key`` (a retry replays the first answer).
    ``rate_limit`` names a per-person limit (``Config.limit_<name>``, bucket ``<name>``), counted
    before anything else runs, so a replayed copy counts as much as the first request.
    ``upload_field`` documents a multipart body with that one file field (the handler streams it),
    ``upload_types`` the file types it takes.
    ``produces`` names the media types of a binary (non-JSON) success answer; ``path`` overrides
    the schema of a path parameter (`int` parameters are row ids, the rest plain strings).

    Errors every route of its kind can answer are documented here, not at each route: 400 and
    503 everywhere, 401 when signed in, 403 with roles, 404 with path parameters, 409 for
    Idempotency-Key races, 413 with a body.
    """
    allowed = frozenset(roles) if roles else None
    error_classes: list[type[ApiError]] = [*ALWAYS, *errors]
    if auth:
        error_classes.append(Unauthenticated)
    if allowed:
        error_classes.append(Forbidden)
    if idempotent:
        error_classes.append(Conflict)
    if rate_limit is not None:
        if not auth:
            raise ValueError("rate_limit counts per person: the route must be signed in")
        error_classes.append(RateLimited)
    if body is not None or upload_field is not None:
        error_classes.append(PayloadTooLarge)

    def decorate(func: Handler) -> Handler:
        wants_services = "services" in inspect.signature(func).parameters

        @functools.wraps(func)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            if wants_services:
                kwargs["services"] = services_of(request)
            if auth:
                user = await authenticate(request)
                if allowed is not None and user.role not in allowed:
                    raise Forbidden()
                kwargs["user"] = user
                if rate_limit is not None:
                    await _count(request, rate_limit, user)
            if query is not None:
                kwargs["query"] = parse_model(query, {k: request.args.get(k) for k in request.args})
            if body is not None:
                kwargs["body"] = parse_model(body, _json_body(request))
            if idempotent:
                return await replay_or_run(request, kwargs["user"], lambda: func(request, *args, **kwargs))
            return await func(request, *args, **kwargs)

        documented = openapi.summary(summary)(wrapper)
        documented.__doc__ = func.__doc__
        # The docstring stays the developers' English note; the document says it in Chinese.
        described = operation_description(
            f"{func.__module__.removeprefix('handlers.')}.{func.__name__}",
            func.__doc__,
            auth=auth,
            roles=allowed,
            idempotent=idempotent,
            paged=query is not None and "cursor" in query.model_fields,
        )
        documented = openapi.description(described)(documented)
        if tag:
            documented = openapi.tag(tag)(documented)
        if auth:
            documented = openapi.secured("token")(documented)
        if body is not None:
            documented = openapi.body({"application/json": schema_of(body)}, required=True)(documented)
        if upload_field is not None:
            form: dict[str, Any] = {
                "schema": {"type": "object", "properties": {upload_field: BINARY}, "required": [upload_field]}
            }
            if upload_types:
                form["encoding"] = {upload_field: {"contentType": ", ".join(upload_types)}}
            # Verbatim: sanic-ext's media type object drops `encoding`.
            upload = {"required": True, "content": {"multipart/form-data": form}}
            OperationStore()[documented].requestBody = _Verbatim(upload)
        path_params = _path_parameters(func, path or {})
        classes = [*error_classes, NotFound] if path_params else error_classes
        _document(
            documented,
            status=status,
            response=response,
            produces=tuple(produces),
            error_classes=classes,
            path=path_params,
            query=query,
            idempotent=idempotent,
        )
        return documented

    return decorate
