"""The one error hierarchy of the service.

Every expected failure is an ``ApiError`` subclass carrying its HTTP status and
a stable ``code``. No HTTP here: models/ raise these, and the one error handler
in ``server.app`` renders all of them, and every framework error, as
``{"error": {"code", "message", "details"?}}``.
"""

from __future__ import annotations

from typing import Any

JSON_TYPE = "application/json; charset=utf-8"


class ApiError(Exception):
    """Base class: an answer the client should get, never a 500."""

    status: int = 400
    code: str = "invalid_request"
    message: str = "请求无效"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class InvalidRequest(ApiError):
    status, code, message = 400, "invalid_request", "请求参数有误"

    @classmethod
    def fields(cls, fields: dict[str, str], message: str | None = None) -> InvalidRequest:
        """A validation failure naming each bad field and why."""
        return cls(message, details={"fields": fields})


class Unauthenticated(ApiError):
    status, code, message = 401, "unauthenticated", "请先登录"


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "没有权限执行此操作"


class NotFound(ApiError):
    status, code, message = 404, "not_found", "请求的资源不存在"


class MethodNotAllowed(ApiError):
    status, code, message = 405, "method_not_allowed", "不支持该请求方法"


class RequestTimeout(ApiError):
    status, code, message = 408, "request_timeout", "请求超时，请重试"


class Conflict(ApiError):
    status, code, message = 409, "conflict", "操作与当前状态冲突"


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "上传内容过大"


class UnsupportedMediaType(ApiError):
    status, code, message = 415, "unsupported_media_type", "不支持的文件类型"


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "操作太频繁，请稍后再试"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    status, code, message = 503, "service_unavailable", "服务暂时不可用，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class InternalError(ApiError):
    status, code, message = 500, "internal_error", "服务器内部错误，请稍后再试"


# WeChat-facing failures (see WECHAT.md's error table).


class WeChatCodeInvalid(ApiError):
    status, code, message = 401, "wechat_code_invalid", "微信登录凭证无效或已使用，请重新登录"


class WeChatUserBlocked(ApiError):
    status, code, message = 403, "wechat_user_blocked", "该微信账号存在风险，暂时无法使用"


class WeChatRateLimited(RateLimited):
    code, message = "wechat_rate_limited", "微信接口调用太频繁，请稍后再试"


class WeChatUnavailable(ServiceUnavailable):
    code, message = "wechat_unavailable", "微信服务暂时不可用，请稍后再试"


class WeChatError(ApiError):
    """WeChat answered with an errcode we do not expect: a bug or misconfiguration."""

    status, code, message = 502, "wechat_error", "微信接口返回异常"

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(details={"errcode": errcode})
        self.errcode = errcode
        self.errmsg = errmsg
