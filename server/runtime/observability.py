"""What an operator sees of a running service: JSON log lines and Prometheus metrics.

Logs: ``configure_logging`` sends every record to stderr as one JSON object
per line (timestamp, level, logger, message, request_id inside a request,
plus the record's extra fields). The request id lives in a ``ContextVar`` so
every line emitted while a request is handled carries it, whoever logs it
(the ORM, the WeChat client, the error renderer); tasks started during the
request inherit it. A redaction filter masks phone numbers, bearer tokens and
``code=``/``js_code=``/``access_token=``/``session_key`` values in messages,
extras and tracebacks: code must not log them in the first place, this is
defence in depth.

Metrics: module-level collectors, one set per process. Sanic workers are
separate processes, so with several workers ``PROMETHEUS_MULTIPROC_DIR`` must
name a directory they share (``wenming serve --workers N`` makes one when it
is not set) and ``/metrics`` sums the files there; it must be set before
``prometheus_client`` is imported, i.e. in the environment of the process.
Labels are route templates, methods, statuses and WeChat API paths: nothing
personal, and a bounded set whatever clients send.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import generate_latest
from sanic import Request

from server.config import ConfigError

access_log = logging.getLogger("wenming.access")

request_id_var: ContextVar[str | None] = ContextVar("wenming_request_id", default=None)

# -- logs ------------------------------------------------------------------------

LOG_LEVEL_ENV = "WENMING_LOG_LEVEL"
# Attributes every LogRecord has; anything else on a record came in through ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_SENSITIVE_KEYS = ("js_code", "code", "access_token", "session_key", "secret", "token")
# Mainland mobile numbers, with or without +86; not digits inside longer words (hex ids, base64).
_PHONE = re.compile(r"(?<![0-9A-Za-z])((?:\+?86)?1[3-9]\d)\d{4}(\d{4})(?![0-9A-Za-z])")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
# key=value (queries, messages) and "key": "value" (JSON, reprs). \b keeps errcode=... readable.
_KEY_VALUE = re.compile(
    r"(?i)\b(" + "|".join(_SENSITIVE_KEYS) + r")(['\"]?\s*[=:]\s*['\"]?)([^\s&'\",;)}\]]+)",
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with phone numbers masked (138****0000) and token-like values replaced."""
    text = _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _PHONE.sub(r"\1****\2", text)


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in _SENSITIVE_KEYS or key.lower() == "authorization":
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value("", v) for v in value]
    return value


class RequestContextFilter(logging.Filter):
    """Stamps the current request's id on the record (unless the caller named one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class RedactionFilter(logging.Filter):
    """Masks secrets and phone numbers in the message, the extras and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == access_log.name:
            # Built by ``request_finished`` from our own values alone (route template, method,
            # status, duration, a request id checked by ``harmless``, an IP address): nothing to mask.
            return True
        try:
            message = record.getMessage()
        except Exception:
            # A broken format string: the handler reports it; redact what can be read.
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in set(vars(record)) - _RECORD_FIELDS - {"request_id"}:
            setattr(record, key, _redact_value(key, getattr(record, key)))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (ISO 8601 UTC), level, logger, message, pid, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry and key != "request_id":
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing redacted JSON lines (to stderr unless told), stamped with the request id."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactionFilter())
    handler.set_name("wenming-json")
    return handler


def log_level(level: str | int | None = None) -> int:
    """``level``, else ``WENMING_LOG_LEVEL``, else INFO, as a logging level number."""
    if isinstance(level, int):
        return level
    name = (level or os.environ.get(LOG_LEVEL_ENV) or "INFO").strip().upper()
    levels = logging.getLevelNamesMapping()
    if name not in levels:
        raise ConfigError(f"{LOG_LEVEL_ENV} must be one of DEBUG, INFO, WARNING, ERROR, got {name!r}")
    return levels[name]


def configure_logging(level: str | int | None = None) -> None:
    """Send every log record of this process to stderr as a JSON line; call once when a process starts.

    Sanic workers are spawned processes: each calls this again (``run_server``'s app factory), with the
    level from ``WENMING_LOG_LEVEL`` (default INFO).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "wenming-json"]:
        root.removeHandler(old)
    root.addHandler(json_handler())
    root.setLevel(log_level(level))
    # Sanic's loggers write plain text to stdout when an app configures logging; route them through ours.
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets"):
        sanic_logger = logging.getLogger(name)
        sanic_logger.handlers.clear()
        sanic_logger.propagate = True
    logging.captureWarnings(True)
    # A crash outside any handler is a JSON line too, not a bare traceback.
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _log_uncaught(kind: type[BaseException], exc: BaseException | None, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc or kind(), tb)
        return
    logging.getLogger("wenming").critical("uncaught %s", kind.__name__, exc_info=(kind, exc or kind(), tb))


# -- metrics ---------------------------------------------------------------------

MULTIPROCESS = bool(getattr(prometheus_values.ValueClass, "_multiprocess", False))
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"
CLIENT_CLOSED = 499  # nginx's status for a request whose client went away before the answer
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Creation timestamps double the output and no dashboard here uses them.
disable_created_metrics()
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "wenming_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "wenming_http_request_duration_seconds",
    "Time from the start of handling (before the body is read) to the response, by route template and method",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "wenming_http_requests_in_flight", "Requests being handled right now", multiprocess_mode="livesum"
)
WECHAT_CALLS = Counter(
    "wenming_wechat_calls",
    "HTTP exchanges with WeChat (each retry counts), by API path and outcome: ok, the errcode, "
    "timeout, http_error (connection failure or HTTP 4xx/5xx), invalid_response, cancelled, error",
    ["api", "outcome"],
)
WECHAT_LATENCY = Histogram(
    "wenming_wechat_call_duration_seconds",
    "Duration of one HTTP exchange with WeChat, by API path",
    ["api"],
    buckets=_LATENCY_BUCKETS,
)


def render_metrics() -> tuple[bytes, str]:
    """The exposition text (summed over every worker in multiprocess mode) and its content type."""
    registry: CollectorRegistry = REGISTRY
    if MULTIPROCESS:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_stopped() -> None:
    """Drop this worker's share of the in-flight gauge (its counters keep counting in the totals)."""
    _ACCESS.flush()
    if MULTIPROCESS:
        prometheus_multiprocess.mark_process_dead(os.getpid())


class WeChatCall:
    """One HTTP exchange with WeChat: set ``outcome`` inside the block; it is counted and timed on exit."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.outcome: str | None = None
        self._started = 0.0

    def __enter__(self) -> WeChatCall:
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        outcome = self.outcome
        if outcome is None:
            outcome = "cancelled" if kind is not None and not issubclass(kind, Exception) else "error"
        WECHAT_CALLS.labels(self.api, outcome).inc()
        WECHAT_LATENCY.labels(self.api).observe(time.perf_counter() - self._started)


# -- requests ---------------------------------------------------------------------


def route_of(request: Request) -> str:
    """The route template ("/api/v1/tasks/<task_id:id>"), never the raw path with its ids."""
    template = request.uri_template if request.route is not None else None
    return template or UNMATCHED


def request_started(request: Request, request_id: str) -> None:
    """Bind the request id to this task's context and start the clock and the in-flight count."""
    request_id_var.set(request_id)
    request.ctx.started = time.perf_counter()
    HTTP_IN_FLIGHT.inc()


def request_finished(request: Request, status: int, client_ip: Callable[[Request], str]) -> None:
    """Count, time and log the request once: the access line (no query string, no headers).

    ``client_ip`` gives the caller's address, asked only when the line is written.
    """
    started = getattr(request.ctx, "started", None)
    if started is None:
        return
    request.ctx.started = None
    HTTP_IN_FLIGHT.dec()
    duration = time.perf_counter() - started
    route = route_of(request)
    method = request.method if request.method in _METHODS else "OTHER"
    key = (route, method, status)
    counted = _COUNTED.get(key)
    if counted is None:
        counted = _COUNTED[key] = (HTTP_REQUESTS.labels(route, method, str(status)), HTTP_LATENCY.labels(route, method))
    counted[0].inc()
    counted[1].observe(duration)
    if _access_lines and access_log.isEnabledFor(logging.INFO):
        fields = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration * 1000, 1),
            "request_id": getattr(request.ctx, "request_id", None),
            "client_ip": client_ip(request),
        }
        _ACCESS.write(f"{method} {route} {status}", fields)
    if request_id_var.get() == getattr(request.ctx, "request_id", None):
        # The connection's task handles its next request under a new id; nothing in between has one.
        request_id_var.set(None)


class AccessLines:
    """The access line, written the way the JSON handler writes any record but for less.

    Where the access logger's records reach only this process's ``wenming-json`` handler (how
    ``configure_logging`` sets every process up), the line is built here, field for field what
    :class:`JsonFormatter` makes of the record ``logging`` would build (no caller lookup, no filters:
    every field is ours, see ``RedactionFilter``), and the lines of one turn of the event loop go to
    the handler's stream in one write. Anywhere else (another handler, a test's capture, no loop) the
    record goes through ``logging`` as any other.
    """

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._handler: logging.StreamHandler[Any] | None = None
        self._second = -1
        self._stamp = ""

    def write(self, message: str, fields: dict[str, Any]) -> None:
        handler = _sole_json_handler()
        # A flush is already due at the end of this turn when lines are pending for the same handler.
        due = bool(self._pending) and handler is self._handler
        loop = None if due else _running_loop()
        if handler is None or (loop is None and not due):
            access_log.handle(
                access_log.makeRecord(access_log.name, logging.INFO, "", 0, message, None, None, extra=fields)
            )
            return
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        head = {
            "timestamp": f"{self._stamp}.{int((now - second) * 1000):03d}Z",
            "level": "INFO",
            "logger": access_log.name,
            "message": message,
            "pid": os.getpid(),
            "request_id": fields["request_id"],
        }
        head.update(fields)
        if head["request_id"] is None:
            del head["request_id"]
        if loop is not None:
            self.flush()
            self._handler = handler
            loop.call_soon(self.flush)
        self._pending.append(orjson.dumps(head).decode() + handler.terminator)

    def flush(self) -> None:
        """Write what is pending (at the end of the loop's turn, and when the process stops)."""
        handler, text = self._handler, "".join(self._pending)
        self._pending.clear()
        if handler is None or not text:
            return
        with handler.lock or threading.Lock():
            try:
                handler.stream.write(text)
                handler.flush()
            except Exception:  # as logging does: say so on stderr, never fail the request
                handler.handleError(logging.makeLogRecord({"msg": text}))


def _sole_json_handler() -> logging.StreamHandler[Any] | None:
    """The ``wenming-json`` handler when it is the only one the access logger's records reach."""
    found: logging.Handler | None = None
    logger: logging.Logger | None = access_log
    while logger is not None:
        for handler in logger.handlers:
            if found is not None or handler.get_name() != "wenming-json" or handler.level > logging.INFO:
                return None
            found = handler
        logger = logger.parent if logger.propagate else None
    return found if isinstance(found, logging.StreamHandler) else None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_ACCESS = AccessLines()


# The children of the request counters by (route, method, status): labels() takes a lock each time.
_COUNTED: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_access_lines = True


def access_lines(on: bool) -> None:
    """Write the per-request access line (``WENMING_ACCESS_LOG``); metrics are counted either way."""
    global _access_lines
    _access_lines = on


def harmless(text: str) -> bool:
    """Nothing in ``text`` that the redaction would mask (a client's request id, before it is logged as is)."""
    return redact(text) == text


# -- who may read /metrics ----------------------------------------------------------

METRICS_ALLOW_ENV = "WENMING_METRICS_ALLOW"
DEFAULT_METRICS_ALLOW = "127.0.0.1/32,::1/128"
_FORWARDING_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def metrics_allowlist(env: Mapping[str, str] | None = None) -> tuple[Network, ...]:
    """The networks ``WENMING_METRICS_ALLOW`` names (comma-separated CIDRs; default loopback only)."""
    env = os.environ if env is None else env
    text = env.get(METRICS_ALLOW_ENV) or DEFAULT_METRICS_ALLOW
    nets = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"{METRICS_ALLOW_ENV}: {part!r} is not an IP address or CIDR") from None
    return tuple(nets)


def scrape_allowed(client: str, allow: Iterable[Network], *, unverified_forwarding: bool = False) -> bool:
    """May ``client`` (the caller's address as ``client_ip`` resolves it through trusted proxies) read /metrics?

    ``unverified_forwarding``: the request names a forwarded client that no trusted proxy vouches for.
    It is refused: behind a reverse proxy missing from WENMING_TRUSTED_PROXIES every caller would look
    like the proxy's own (often loopback) address, and a scraper talks to the service directly.
    """
    if unverified_forwarding:
        return False
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return False
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(candidate in net for candidate in candidates for net in allow)


def forwarding_unverified(request: Request, client: str) -> bool:
    """True when the request carries proxy headers but ``client`` (its resolved address) is the peer's."""
    peer = request.conn_info.client_ip if request.conn_info else ""
    forwarded = any(request.headers.get(name) for name in _FORWARDING_HEADERS)
    return forwarded and client == peer
