"""Run last (tests/conftest.py orders it): nothing the service logged during the whole run holds a secret.

Every request of the suite's in-process service went through the production log handler (JSON,
redacting, INFO and up) into one file. Grep it for every bearer token the service issued, every
code, phone number, session key and access token the fake WeChat handed out, its app secret, and
any unmasked mainland mobile number.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import RUN_LOG

MOBILE = re.compile(r"(?<![0-9A-Za-z.])1[3-9]\d{9}(?![0-9A-Za-z])")  # not inside a hex id or a number
# A run this small is a single file or a -k selection: there is not enough in the log to judge.
MIN_TESTS = 200
MIN_LINES = 1000


def pieces_of(secret: str) -> list[str]:
    """The secret, and for a long one its first and last 16 characters."""
    pieces = [secret, secret[:16], secret[-16:]] if len(secret) >= 24 else [secret]
    return [p for p in pieces if len(p) >= 8]


def test_no_secret_reached_the_logs_of_the_whole_run() -> None:
    if RUN_LOG.tests_run < MIN_TESTS:
        pytest.skip(f"only {RUN_LOG.tests_run} tests ran before this one; it checks a whole run")
    assert RUN_LOG.path is not None
    text = RUN_LOG.path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    secrets = set(RUN_LOG.secrets).union(*(fake.secrets for fake in RUN_LOG.fakes))
    access = [line for line in lines if line.get("logger") == "wenming.access"]
    print(f"{len(lines)} log lines ({len(access)} access lines) from {RUN_LOG.tests_run} tests; {len(secrets)} secrets")
    # The check means something only if the run logged its requests and handed out secrets.
    assert len(lines) >= MIN_LINES and len(access) >= MIN_LINES // 2, len(lines)
    assert len(RUN_LOG.secrets) >= 100 and len(secrets) >= 500, len(secrets)

    # A long secret also must not leak in part (a prefix "for debugging", a cut-off tail).
    pieces = {piece for secret in secrets for piece in pieces_of(secret)}
    leaked = sorted(piece for piece in pieces if piece in text)
    assert not leaked, f"{len(leaked)} secret(s) in the logs, e.g. {leaked[0]!r}: " + next(
        line for line in text.splitlines() if leaked[0] in line
    )
    phones = [line for line in text.splitlines() if MOBILE.search(line)]
    assert not phones, f"{len(phones)} line(s) with an unmasked mobile number, e.g. {phones[0]}"
