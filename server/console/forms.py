"""Forms as staff fill them in: plain text fields, times typed as ``2026-12-10 09:00`` (Asia/Shanghai).

A form becomes the API's request body (same pydantic model, same checks); what fails comes back as
{field: reason} to show beside each field, by the names the form uses.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sanic import Request

from models.orgs import OrgNode, org_forest
from models.users import User
from server.console.guard import CSRF_FIELD
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import ApiError, InvalidRequest
from server.web.endpoint import parse_model
from server.web.permissions import staff_scope

_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
DATETIME_HINT = "请按“2026-12-10 09:00”的格式填写（北京时间）"
DATE_HINT = "请按“2026-12-10”的格式填写"


def form_values(request: Request) -> dict[str, str]:
    """The form's fields (first value of each, trimmed), without the CSRF token."""
    form = request.form or {}
    return {name: (values[0] if values else "").strip() for name, values in form.items() if name != CSRF_FIELD}


def parse_local_datetime(text: str) -> datetime:
    """``2026-12-10 09:00`` (or the browser's ``2026-12-10T09:00``) in Asia/Shanghai → an aware time."""
    found = _DATETIME.fullmatch(text.strip())
    if not found:
        raise ValueError(DATETIME_HINT)
    year, month, day, hour, minute, second = (int(part or 0) for part in found.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ)
    except ValueError:
        raise ValueError("日期或时间不存在，" + DATETIME_HINT) from None


def parse_local_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(DATE_HINT) from None


def datetime_fields(values: dict[str, str], names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    """``values`` with the named fields turned into aware times; (converted, errors by field)."""
    out: dict[str, Any] = dict(values)
    errors: dict[str, str] = {}
    for name in names:
        text = values.get(name, "")
        if not text:
            out.pop(name, None)
            continue
        try:
            out[name] = parse_local_datetime(text)
        except ValueError as exc:
            errors[name] = str(exc)
    return out, errors


def validate(model: type[BaseModel], data: dict[str, Any], errors: dict[str, str] | None = None) -> Any:
    """The API's model filled from a form; every problem (ours and the model's) as one InvalidRequest."""
    errors = dict(errors or {})
    try:
        parsed = parse_model(model, data)
    except InvalidRequest as exc:
        fields = (exc.details or {}).get("fields", {})
        errors = {**fields, **errors}
        parsed = None
    if errors:
        raise InvalidRequest.fields(errors, "请修改标红的内容后再保存")
    return parsed


def field_errors(exc: InvalidRequest) -> dict[str, str]:
    """{field: reason} of a failed form, for the template to put beside each field."""
    return dict((exc.details or {}).get("fields", {}))


def indented(forest: list[OrgNode]) -> list[tuple[str, str]]:
    """Orgs for a select, each under its parent and indented by its depth."""
    return [(str(org.id), "\u3000" * depth + org.name) for root in forest for depth, org in root.walk()]


async def org_choices(user: User) -> list[tuple[str, str]]:
    """The orgs of the caller's subtree (an admin's: all) for a select."""
    scope = staff_scope(user)
    return indented(await org_forest(scope.path if scope else None))


def date_errors(values: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """{field: reason} for each named field typed but not a date as ``2026-12-10``."""
    errors: dict[str, str] = {}
    for name in names:
        if values.get(name):
            try:
                parse_local_date(values[name])
            except ValueError as exc:
                errors[name] = str(exc)
    return errors


T = TypeVar("T")
# An upload refused for its size, its time or its rate: said on the page, as any refusal of the file.
UPLOAD_REFUSALS = (408, 413, 429)


async def upload_outcome(work: Awaitable[T], no_file: str) -> tuple[T | None, str]:
    """(the import's result, "") or (None, why the file was not imported, in Chinese);
    ``no_file`` says which file to choose when none came."""
    try:
        return await work, ""
    except InvalidRequest as exc:
        reasons = [no_file if r.startswith("缺少文件") else r for r in field_errors(exc).values()]
        return None, "；".join(reasons) or exc.message
    except ApiError as exc:
        if exc.status not in UPLOAD_REFUSALS:
            raise
        return None, exc.message
