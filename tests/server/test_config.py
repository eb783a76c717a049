"""Configuration is validated before anything starts."""

import pytest

from server.config import Config, ConfigError, Rate

PROD = {
    "WENMING_SECRET_KEY": "k" * 40,
    "WENMING_WECHAT_APPID": "wx123",
    "WENMING_WECHAT_SECRET": "s",
}


def test_defaults_follow_the_contract():
    config = Config.from_env({"WENMING_ENV": "test"})
    assert config.database_url == "sqlite://var/wenming.sqlite3"
    assert config.redis_url is None
    assert config.max_upload_bytes == 20971520
    assert config.media_url_ttl == 86400
    assert config.limit_signin == Rate(30, 60)
    assert config.wechat_api_base == "https://api.weixin.qq.com"


def test_production_requires_secrets():
    with pytest.raises(ConfigError, match=r"WENMING_SECRET_KEY.*WENMING_WECHAT_APPID.*WENMING_WECHAT_SECRET"):
        Config.from_env({})


def test_production_rejects_a_short_secret_key():
    with pytest.raises(ConfigError, match="at least 32"):
        Config.from_env({**PROD, "WENMING_SECRET_KEY": "short"})


def test_production_with_secrets_is_valid():
    assert Config.from_env(PROD).mode == "production"


@pytest.mark.parametrize(
    "text, rate", [("30/minute", Rate(30, 60)), ("5/second", Rate(5, 1)), ("100 / hour", Rate(100, 3600))]
)
def test_rates_parse(text, rate):
    assert Rate.parse("X", text) == rate


@pytest.mark.parametrize("text", ["30", "0/minute", "ten/minute", "30/day", ""])
def test_bad_rates_are_refused(text):
    with pytest.raises(ConfigError):
        Rate.parse("X", text)


def test_postgresql_scheme_is_accepted():
    config = Config.from_env({**PROD, "WENMING_DATABASE_URL": "postgresql://u@h/db"})
    assert config.database_url == "postgres://u@h/db"


@pytest.mark.parametrize(
    "name, value",
    [
        ("WENMING_DATABASE_URL", "mysql://x/y"),
        ("WENMING_MAX_UPLOAD_BYTES", "big"),
        ("WENMING_MEDIA_URL_TTL", "-5"),
        ("WENMING_TRUSTED_PROXIES", "10.0.0.0/8, not-an-ip"),
        ("WENMING_SUBSCRIBE_TEMPLATES", "{not json"),
        ("WENMING_SUBSCRIBE_TEMPLATES", '{"unknown_event": "tpl"}'),
        ("WENMING_WECHAT_PUSH_AES_KEY", "too-short"),
        ("WENMING_ENV", "staging"),
        ("WENMING_REDIS_URL", "notaurl"),
        ("WENMING_REDIS_URL", "http://cache:6379/0"),
        ("WENMING_REDIS_URL", "redis://"),
        ("WENMING_PUBLIC_BASE_URL", "notaurl"),
        ("WENMING_PUBLIC_BASE_URL", "ftp://wenming.example.cn"),
        ("WENMING_PUBLIC_BASE_URL", "https://"),
        ("WENMING_PUBLIC_BASE_URL", "https://wenming.example.cn/?x=1"),
        ("WENMING_WECHAT_API_BASE", "api.weixin.qq.com"),
        ("WENMING_IMAGE_CONCURRENCY", "0"),
        ("WENMING_UPLOAD_DEADLINE", "inf"),
        ("WENMING_UPLOAD_DEADLINE", "nan"),
        ("WENMING_IMAGE_CPU_SECONDS", "20"),
        ("WENMING_LIMIT_CERTIFICATE", "lots"),
        ("WENMING_LIMIT_NOTICE", "10"),
        ("WENMING_ACCESS_LOG", "maybe"),
    ],
)
def test_bad_values_name_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({**PROD, name: value})


@pytest.mark.parametrize(
    "name, value",
    [
        ("WENMING_REDIS_URL", "redis://127.0.0.1:6379/3"),
        ("WENMING_REDIS_URL", "rediss://:secret@cache.internal:6380/0"),
        ("WENMING_REDIS_URL", "unix:///run/redis/redis.sock?db=2"),
        ("WENMING_PUBLIC_BASE_URL", "https://wenming.example.cn/county/"),
        ("WENMING_PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
    ],
)
def test_good_urls_are_taken(name, value):
    Config.from_env({**PROD, name: value})


def test_image_budget_settings_parse():
    config = Config.from_env(
        {
            **PROD,
            "WENMING_IMAGE_CONCURRENCY": "2",
            "WENMING_IMAGE_CPU_SECONDS": "90/hour",
            "WENMING_LIMIT_CERTIFICATE": "3/minute",
        }
    )
    defaults = Config.from_env(PROD)

    assert (config.image_concurrency, config.image_cpu, config.limit_certificate) == (2, Rate(90, 3600), Rate(3, 60))
    assert (defaults.image_concurrency, defaults.image_cpu, defaults.limit_certificate) == (
        1,
        Rate(20, 60),
        Rate(10, 60),
    )


def test_notice_limit_and_template_parse():
    config = Config.from_env(
        {**PROD, "WENMING_LIMIT_NOTICE": "30/hour", "WENMING_SUBSCRIBE_TEMPLATES": '{"notice": "tpl-notice"}'}
    )

    assert config.limit_notice == Rate(30, 3600)
    assert config.subscribe_templates == {"notice": "tpl-notice"}
    assert Config.from_env(PROD).limit_notice == Rate(10, 3600)


def test_trusted_proxies_and_templates_parse():
    config = Config.from_env(
        {
            **PROD,
            "WENMING_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
            "WENMING_SUBSCRIBE_TEMPLATES": '{"task_new": "tpl-1"}',
        }
    )
    assert len(config.trusted_proxies) == 2
    assert config.subscribe_templates == {"task_new": "tpl-1"}


def test_message_days_override_some_categories_and_refuse_nonsense() -> None:
    config = Config.from_env({**PROD, "WENMING_MESSAGE_DAYS": '{"complain": 10}'})
    default = Config.from_env(PROD)

    assert config.message_days == {"consult": 5, "suggest": 5, "complain": 10, "help": 7, "clue": 7}
    assert default.message_days["complain"] == 7
    for bad, said in (("[5]", "keys"), ('{"praise": 3}', "keys"), ('{"consult": 0}', "1 to 60"), ("{", "JSON")):
        with pytest.raises(ConfigError, match=said):
            Config.from_env({**PROD, "WENMING_MESSAGE_DAYS": bad})


def test_s3_storage_needs_its_bucket_and_keys() -> None:
    base = {"WENMING_ENV": "test", "WENMING_STORAGE": "s3"}
    with pytest.raises(ConfigError, match="WENMING_S3_BUCKET, WENMING_S3_ACCESS_KEY, WENMING_S3_SECRET_KEY"):
        Config.from_env(base)
    config = Config.from_env(
        {
            **base,
            "WENMING_S3_BUCKET": "photos",
            "WENMING_S3_ACCESS_KEY": "ak",
            "WENMING_S3_SECRET_KEY": "very-secret",
            "WENMING_S3_ENDPOINT": "http://minio:9000",
            "WENMING_S3_PREFIX": "media/",
        }
    )
    assert config.storage == "s3" and config.s3 is not None
    assert (config.s3.bucket, config.s3.endpoint, config.s3.prefix) == ("photos", "http://minio:9000", "media/")
    assert "very-secret" not in repr(config)
    with pytest.raises(ConfigError, match="WENMING_STORAGE"):
        Config.from_env({"WENMING_ENV": "test", "WENMING_STORAGE": "ftp"})
    assert Config.from_env({"WENMING_ENV": "test"}).s3 is None


@pytest.mark.parametrize(("text", "on"), [("1", True), ("true", True), ("0", False), ("off", False), ("", True)])
def test_the_access_line_is_on_unless_turned_off(text, on):
    assert Config.from_env({**PROD, "WENMING_ACCESS_LOG": text}).access_log is on
