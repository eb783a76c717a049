"""A real S3-protocol server for tests: moto's server (`python -m moto.server`) in a child process.

A separate process, not moto's in-process mocks or ThreadedMotoServer, so the code under test
talks HTTP over a socket exactly as it does to MinIO or OSS, with its own timeouts, retries and
connection pool in play, and the server's Flask log cannot interleave with the tests' threads.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from tests.support import free_port

# moto accepts any credentials; these only have to be the same on both sides.
ACCESS_KEY = "wenming-test"
SECRET_KEY = "wenming-test-secret"
REGION = "us-east-1"
DEFAULT_BUCKET = "wenming-test"


class MotoUnavailable(RuntimeError):
    """moto is not installed or its server did not come up."""


class MotoServer:
    """One moto server process; ``endpoint_url`` once :meth:`start` returned."""

    def __init__(self, startup_timeout_s: float = 30) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.endpoint_url = ""
        self.started_in_s = 0.0  # how long the last start took, for the curious
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir = tempfile.TemporaryDirectory(prefix="wenming-moto-")
        self.log_path = Path(self._log_dir.name) / "moto.log"

    def start(self) -> str:
        try:
            import moto.server  # noqa: F401  (fail with a clear reason before spawning anything)
        except ImportError as exc:
            raise MotoUnavailable(f"moto[server] is not installed: {exc}") from None
        # free_port() can lose a race with another process binding the same port: try a few.
        errors = []
        for _ in range(3):
            try:
                return self._start_once(free_port())
            except MotoUnavailable as exc:
                errors.append(str(exc))
        raise MotoUnavailable("; ".join(errors))

    def _start_once(self, port: int) -> str:
        started = time.monotonic()
        # The server logs every request: into a file, since an unread pipe would fill and stall it.
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group, so stop() also ends any children
        )
        log.close()
        url = f"http://127.0.0.1:{port}"
        # No proxies: a developer's HTTP_PROXY must not swallow loopback requests.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = started + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise MotoUnavailable(f"moto server exited with {self._proc.returncode}: {self._log_tail()}")
            try:
                opener.open(f"{url}/moto-api/", timeout=1).close()
            except urllib.error.HTTPError:
                pass  # an HTTP answer, even an error, means it is serving
            except OSError:
                time.sleep(0.05)
                continue
            self.endpoint_url = url
            self.started_in_s = time.monotonic() - started
            return url
        self.stop()
        raise MotoUnavailable(f"moto server did not answer within {self.startup_timeout_s} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def client(self) -> Any:  # boto3's client classes are generated at run time
        """A plain boto3 client of this server, for setting things up behind the code under test."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str = DEFAULT_BUCKET) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def close(self) -> None:
        self.stop()
        self._log_dir.cleanup()


@contextlib.contextmanager
def moto_server(bucket: str = DEFAULT_BUCKET) -> Iterator[MotoServer]:
    """A running moto server with ``bucket`` created; stopped (and its log removed) on exit.

    Raises :class:`MotoUnavailable` when it cannot start; a fixture turns that into a skip.
    """
    server = MotoServer()
    try:
        server.start()
        server.create_bucket(bucket)
        yield server
    finally:
        server.close()
