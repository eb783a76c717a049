"""Configuration from ``WENMING_*`` environment variables, validated at start."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

MODES = ("production", "demo", "test")
STORAGES = ("local", "s3")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")
_PERIODS = {"second": 1, "minute": 60, "hour": 3600}
_TEMPLATE_EVENTS = (
    "task_new",
    "review_result",
    "task_reminder",
    "reach_reminder",
    "message_reply",
    "message_task",
    "notice",
    "checkout_reminder",
)
# Working days to handle a netizen message, by category (API.md); WENMING_MESSAGE_DAYS overrides some.
MESSAGE_DAYS = {"consult": 5, "suggest": 5, "complain": 7, "help": 7, "clue": 7}


class ConfigError(Exception):
    """A configuration problem, reported as one line before anything starts."""


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds

    @classmethod
    def parse(cls, name: str, text: str) -> Rate:
        match = _RATE.match(text)
        if not match or int(match.group(1)) < 1:
            raise ConfigError(f"{name} must look like '30/minute' (N/second|minute|hour), got {text!r}")
        return cls(int(match.group(1)), _PERIODS[match.group(2)])


@dataclass(frozen=True)
class S3Settings:
    """Where photos go when ``WENMING_STORAGE=s3`` (any S3-compatible service: MinIO, OSS, COS, AWS)."""

    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    endpoint: str | None = None  # None: AWS itself
    region: str = "us-east-1"
    prefix: str = ""
    addressing_style: str = "auto"  # path for MinIO-like endpoints, virtual for OSS/COS


@dataclass(frozen=True)
class Config:
    mode: str = "production"
    database_url: str = "sqlite://var/wenming.sqlite3"
    redis_url: str | None = None
    secret_key: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_timeout: float = 5.0
    push_token: str | None = None
    push_aes_key: str | None = None
    media_root: str = "var/media"
    public_base_url: str = "http://127.0.0.1:8000"
    max_upload_bytes: int = 20 * 1024 * 1024
    # Seconds one upload's whole body may take: idle timeouts never fire for a client that trickles.
    upload_deadline: float = 120.0
    # Uploads receiving their body at once (each may hold up to max_upload_bytes on disk meanwhile).
    uploads_per_user: int = 6
    uploads_total: int = 64
    media_url_ttl: int = 86400
    token_ttl: int = 30 * 86400
    limit_signin: Rate = field(default_factory=lambda: Rate(30, 60))
    limit_upload: Rate = field(default_factory=lambda: Rate(60, 60))
    limit_review: Rate = field(default_factory=lambda: Rate(600, 60))
    limit_enroll: Rate = field(default_factory=lambda: Rate(30, 60))
    limit_quiz_start: Rate = field(default_factory=lambda: Rate(20, 3600))  # quiz attempts started per person
    limit_quiz_answer: Rate = field(default_factory=lambda: Rate(300, 60))  # quiz answers and finishes per person

    limit_certificate: Rate = field(default_factory=lambda: Rate(10, 60))  # renders, not cached answers
    limit_notice: Rate = field(default_factory=lambda: Rate(10, 3600))  # notices sent per staff member
    # Image work (decode, derive, certificate drawing) per person: jobs at once in one process, and
    # thread CPU seconds per period across processes (Redis) — so one person cannot starve the pool.
    image_concurrency: int = 1
    image_cpu: Rate = field(default_factory=lambda: Rate(20, 60))
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    subscribe_templates: Mapping[str, str] = field(default_factory=dict)
    message_days: Mapping[str, int] = field(default_factory=lambda: dict(MESSAGE_DAYS))
    job_retry_delay: float = 5.0
    storage: str = "local"  # local | s3
    s3: S3Settings | None = None
    # One JSON access line per request from the worker; off where nginx writes it (deploy/nginx.conf).
    access_log: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read and validate the environment; raise ConfigError with one clear line."""
        env = os.environ if env is None else env

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else default

        mode = get("WENMING_ENV", "production")
        if mode not in MODES:
            raise ConfigError(f"WENMING_ENV must be one of {', '.join(MODES)}, got {mode!r}")
        relaxed = mode != "production"
        secret_key = get("WENMING_SECRET_KEY", "insecure-demo-secret-key" if relaxed else None)
        appid = get("WENMING_WECHAT_APPID", "wxdemoappid" if relaxed else None)
        secret = get("WENMING_WECHAT_SECRET", "demo-secret" if relaxed else None)
        missing = [
            name
            for name, value in (
                ("WENMING_SECRET_KEY", secret_key),
                ("WENMING_WECHAT_APPID", appid),
                ("WENMING_WECHAT_SECRET", secret),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(f"missing required setting(s): {', '.join(missing)}")
        if mode == "production" and len(secret_key or "") < 32:
            raise ConfigError("WENMING_SECRET_KEY must be at least 32 characters")

        storage = get("WENMING_STORAGE", "local") or "local"
        if storage not in STORAGES:
            raise ConfigError(f"WENMING_STORAGE must be one of {', '.join(STORAGES)}, got {storage!r}")
        push_token, push_aes = get("WENMING_WECHAT_PUSH_TOKEN"), get("WENMING_WECHAT_PUSH_AES_KEY")
        if push_aes and len(push_aes) != 43:
            raise ConfigError("WENMING_WECHAT_PUSH_AES_KEY must be the 43-character EncodingAESKey")

        return cls(
            mode=mode,
            database_url=_database_url(get("WENMING_DATABASE_URL", cls.database_url)),
            redis_url=_redis_url(get("WENMING_REDIS_URL")),
            secret_key=secret_key or "",
            wechat_appid=appid or "",
            wechat_secret=secret or "",
            wechat_api_base=_web_url("WENMING_WECHAT_API_BASE", get("WENMING_WECHAT_API_BASE", cls.wechat_api_base)),
            wechat_timeout=_number(env, "WENMING_WECHAT_TIMEOUT", 5.0, float),
            push_token=push_token,
            push_aes_key=push_aes,
            media_root=get("WENMING_MEDIA_ROOT", cls.media_root) or cls.media_root,
            public_base_url=_web_url("WENMING_PUBLIC_BASE_URL", get("WENMING_PUBLIC_BASE_URL", cls.public_base_url)),
            max_upload_bytes=_number(env, "WENMING_MAX_UPLOAD_BYTES", cls.max_upload_bytes, int),
            upload_deadline=_number(env, "WENMING_UPLOAD_DEADLINE", cls.upload_deadline, float),
            uploads_per_user=_number(env, "WENMING_UPLOADS_PER_USER", cls.uploads_per_user, int),
            uploads_total=_number(env, "WENMING_UPLOADS_TOTAL", cls.uploads_total, int),
            media_url_ttl=_number(env, "WENMING_MEDIA_URL_TTL", cls.media_url_ttl, int),
            token_ttl=_number(env, "WENMING_TOKEN_TTL", cls.token_ttl, int),
            limit_signin=Rate.parse("WENMING_LIMIT_SIGNIN", get("WENMING_LIMIT_SIGNIN", "30/minute") or ""),
            limit_upload=Rate.parse("WENMING_LIMIT_UPLOAD", get("WENMING_LIMIT_UPLOAD", "60/minute") or ""),
            limit_review=Rate.parse("WENMING_LIMIT_REVIEW", get("WENMING_LIMIT_REVIEW", "600/minute") or ""),
            limit_enroll=Rate.parse("WENMING_LIMIT_ENROLL", get("WENMING_LIMIT_ENROLL", "30/minute") or ""),
            limit_quiz_start=Rate.parse("WENMING_LIMIT_QUIZ_START", get("WENMING_LIMIT_QUIZ_START", "20/hour") or ""),
            limit_quiz_answer=Rate.parse(
                "WENMING_LIMIT_QUIZ_ANSWER", get("WENMING_LIMIT_QUIZ_ANSWER", "300/minute") or ""
            ),
            limit_certificate=Rate.parse(
                "WENMING_LIMIT_CERTIFICATE", get("WENMING_LIMIT_CERTIFICATE", "10/minute") or ""
            ),
            limit_notice=Rate.parse("WENMING_LIMIT_NOTICE", get("WENMING_LIMIT_NOTICE", "10/hour") or ""),
            image_concurrency=_number(env, "WENMING_IMAGE_CONCURRENCY", cls.image_concurrency, int),
            image_cpu=Rate.parse("WENMING_IMAGE_CPU_SECONDS", get("WENMING_IMAGE_CPU_SECONDS", "20/minute") or ""),
            trusted_proxies=_networks(get("WENMING_TRUSTED_PROXIES", "") or ""),
            subscribe_templates=_templates(get("WENMING_SUBSCRIBE_TEMPLATES")),
            message_days=_message_days(get("WENMING_MESSAGE_DAYS")),
            job_retry_delay=_number(env, "WENMING_JOB_RETRY_DELAY", 5.0, float),
            storage=storage,
            s3=_s3(get) if storage == "s3" else None,
            access_log=_switch("WENMING_ACCESS_LOG", get("WENMING_ACCESS_LOG", "1") or "1"),
        )


_SWITCH = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _switch(name: str, text: str) -> bool:
    value = _SWITCH.get(text.strip().lower())
    if value is None:
        raise ConfigError(f"{name} must be 1 or 0 (true/false), got {text!r}")
    return value


def _database_url(url: str | None) -> str:
    url = url or Config.database_url
    scheme = url.split("://", 1)[0]
    if scheme not in ("sqlite", "postgres", "postgresql", "asyncpg", "psycopg"):
        raise ConfigError(f"WENMING_DATABASE_URL: unsupported scheme {scheme!r} (use sqlite:// or postgres://)")
    if scheme == "postgresql":
        url = "postgres://" + url.split("://", 1)[1]
    return url


_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_url(url: str | None) -> str | None:
    """The Redis URL as redis-py takes it; checked here so that every command, not only the ones
    that connect, stops on a malformed one."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in _REDIS_SCHEMES
        or not (parts.path if parts.scheme == "unix" else parts.hostname)
    ):
        raise ConfigError(
            f"WENMING_REDIS_URL must look like redis://host:6379/0 (or rediss://, unix://), got {_shown(url)!r}"
        )
    return url


def _web_url(name: str, url: str | None) -> str:
    """An http(s) base URL without query or fragment, with no trailing slash."""
    try:
        parts = urlsplit(url or "")
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an http:// or https:// base URL such as https://host/path, got {url!r}")
    return (url or "").rstrip("/")


def _shown(url: str) -> str:
    """``url`` with any password masked: the error line goes to logs."""
    try:
        parts = urlsplit(url)
        if parts.password:
            return url.replace(f":{parts.password}@", ":***@", 1)
    except ValueError:
        pass
    return url


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> object:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive number, got {raw!r}")
    return value


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"WENMING_TRUSTED_PROXIES: {part!r} is not an IP address or CIDR") from None
    return tuple(nets)


def _s3(get: Callable[..., str | None]) -> S3Settings:
    names = ("WENMING_S3_BUCKET", "WENMING_S3_ACCESS_KEY", "WENMING_S3_SECRET_KEY")
    missing = [name for name in names if not get(name)]
    if missing:
        raise ConfigError(f"WENMING_STORAGE=s3 needs {', '.join(missing)}")
    style = get("WENMING_S3_ADDRESSING_STYLE", "auto") or "auto"
    if style not in ("auto", "path", "virtual"):
        raise ConfigError(f"WENMING_S3_ADDRESSING_STYLE must be auto, path or virtual, got {style!r}")
    return S3Settings(
        bucket=get("WENMING_S3_BUCKET") or "",
        access_key=get("WENMING_S3_ACCESS_KEY") or "",
        secret_key=get("WENMING_S3_SECRET_KEY") or "",
        endpoint=get("WENMING_S3_ENDPOINT"),
        region=get("WENMING_S3_REGION", "us-east-1") or "us-east-1",
        prefix=get("WENMING_S3_PREFIX", "") or "",
        addressing_style=style,
    )


def _message_days(text: str | None) -> dict[str, int]:
    days = dict(MESSAGE_DAYS)
    if not text:
        return days
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ConfigError('WENMING_MESSAGE_DAYS must be a JSON object such as {"consult": 5}') from None
    if not isinstance(data, dict) or set(data) - set(MESSAGE_DAYS):
        raise ConfigError("WENMING_MESSAGE_DAYS: keys must be among " + ", ".join(MESSAGE_DAYS))
    if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 60 for v in data.values()):
        raise ConfigError("WENMING_MESSAGE_DAYS: each value must be a whole number of working days, 1 to 60")
    return days | data


def _templates(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ConfigError("WENMING_SUBSCRIBE_TEMPLATES must be a JSON object") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError("WENMING_SUBSCRIBE_TEMPLATES must map event names to template ids")
    unknown = sorted(set(data) - set(_TEMPLATE_EVENTS))
    if unknown:
        raise ConfigError(f"WENMING_SUBSCRIBE_TEMPLATES: unknown event(s) {', '.join(unknown)}")
    return data
