"""deploy/: nginx.conf under a real nginx, the compose file, the env sample, the systemd units.

The nginx tests need the nginx binary (Debian: `make system-deps` as root
installs it). Without it they skip; with WENMING_TEST_REQUIRE_SERVICES=1
(CI's second pass) they fail instead.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.cli import _parser
from server.config import Config
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
NGINX_CONF = DEPLOY / "nginx.conf"
PACKAGES = ("server", "models", "handlers", "media")
SERVICES = {"postgres", "redis", "migrate", "api", "worker", "nginx"}
WENMING_NAME = re.compile(r"\bWENMING_[A-Z][A-Z0-9_]*")
REQUIRE_SERVICES = os.environ.get("WENMING_TEST_REQUIRE_SERVICES") == "1"

# Every host-specific path deploy/nginx.conf uses, and where a test copy puts it.
NGINX_HOST_PATHS = {
    "/etc/nginx/tls/": "tls/",
    "/var/log/nginx/": "logs/",
    "/var/lib/nginx/": "lib/",
    "/var/www/acme": "acme",
    "/run/nginx.pid": "nginx.pid",
}


# -- helpers (also meant for other tests that need a real nginx in front) ------


def skip_unless_required(reason: str) -> None:
    """Skip, or fail when WENMING_TEST_REQUIRE_SERVICES=1 (said here, not left to a conftest hook)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}, and WENMING_TEST_REQUIRE_SERVICES=1")
    pytest.skip(reason)


def nginx_binary() -> str:
    """The nginx executable; skips the test (a failure when services are required) without one."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        skip_unless_required("nginx is not installed (Debian: `make system-deps` as root installs nginx-light)")
    return found


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def write_self_signed_cert(tls_dir: Path) -> Path:
    """fullchain.pem + privkey.pem for localhost and 127.0.0.1; returns the certificate path."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tls_dir / "privkey.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    chain = tls_dir / "fullchain.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return chain


def localize_nginx_conf(
    text: str,
    root: Path,
    *,
    http_port: int,
    https_port: int,
    backends: dict[str, str] | None = None,
    whole_file: bool = True,
) -> str:
    """deploy/nginx.conf made runnable by anyone under ``root``: host paths moved
    there, ports and backends replaced, the worker user set to the caller (as
    root, workers must read the test's private temp folder)."""
    for path, local in NGINX_HOST_PATHS.items():
        assert path in text or not whole_file, f"deploy/nginx.conf no longer uses {path}: update NGINX_HOST_PATHS"
        text = text.replace(path, f"{root}/{local}")
    for sub in ("tls", "logs", "lib"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    text = re.sub(r"(?m)^(\s*listen\s+(?:\[::\]:)?)80\b", rf"\g<1>{http_port}", text)
    text = re.sub(r"(?m)^(\s*listen\s+(?:\[::\]:)?)443\b", rf"\g<1>{https_port}", text)
    if not ipv6_available():
        text = re.sub(r"(?m)^\s*listen\s+\[::\]:.*\n", "", text)
    for old, new in (backends or {}).items():
        assert old in text, f"no backend {old} in the nginx config"
        text = text.replace(old, new)
    text = re.sub(r"(?m)^user\s+\S+;", f"user {pwd.getpwuid(os.getuid()).pw_name};", text)
    directives = re.sub(r"#[^\n]*", "", text)
    outside = re.findall(r"(?<![\w.:/])/(?:etc|var|run|usr|srv|opt)/\S*", directives)
    assert not outside, f"absolute paths left outside the test folder: {outside}"
    return text


def nginx_check(conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on ``conf`` with its folder as prefix."""
    root = conf.parent
    return subprocess.run(
        [nginx_binary(), "-e", str(root / "startup-error.log"), "-t", "-p", str(root), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def site_part(text: str) -> str:
    """The lines between "BEGIN site" and "END site": what goes into conf.d/wenming.conf."""
    match = re.search(r"(?ms)^[ \t]*# =+ BEGIN site[^\n]*\n(.*?)^[ \t]*# =+ END site", text)
    assert match, "deploy/nginx.conf lost its BEGIN site / END site markers"
    return match.group(1)


def wenming_command(line: str) -> list[str] | None:
    """The arguments after `wenming` in a command line, or None when it runs something else."""
    words = shlex.split(line)
    if not words:
        return None
    executable = words[0].lstrip("-@+!:")
    return words[1:] if Path(executable).name == "wenming" else None


def assert_cli_accepts(args: list[str], where: str) -> None:
    try:
        _parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"{where}: `wenming {' '.join(args)}` is not a valid wenming command line")


def env_example_names() -> set[str]:
    text = (DEPLOY / ".env.example").read_text()
    return set(re.findall(r"(?m)^[ \t]*#?[ \t]*(WENMING_[A-Z0-9_]+)=", text))


def unit(name: str) -> dict[str, list[str]]:
    """A systemd unit file as {key: [values]} (sections merged; keys are unique across them here)."""
    values: dict[str, list[str]] = {}
    for raw in (DEPLOY / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        values.setdefault(key.strip(), []).append(value.strip())
    return values


# -- (a) nginx -t ---------------------------------------------------------------


def test_nginx_conf_passes_nginx_t(tmp_path: Path) -> None:
    write_self_signed_cert(tmp_path / "tls")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        localize_nginx_conf(NGINX_CONF.read_text(), tmp_path, http_port=free_port(), https_port=free_port())
    )

    result = nginx_check(conf)

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_site_part_works_inside_a_distribution_nginx_conf(tmp_path: Path) -> None:
    """The README's second way: the site part alone in conf.d/, next to Debian's stock http settings."""
    write_self_signed_cert(tmp_path / "tls")
    site = localize_nginx_conf(
        site_part(NGINX_CONF.read_text()), tmp_path, http_port=free_port(), https_port=free_port(), whole_file=False
    )
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "wenming.conf").write_text(site)
    lib = tmp_path / "lib"
    conf = tmp_path / "nginx.conf"
    # What Debian 12's /etc/nginx/nginx.conf sets at http level, which the site part must not repeat.
    conf.write_text(
        f"""
        pid {tmp_path}/nginx.pid;
        events {{ worker_connections 768; }}
        http {{
            sendfile on; tcp_nopush on; types_hash_max_size 2048;
            default_type application/octet-stream;
            ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers on;
            access_log {tmp_path}/logs/access.log; error_log {tmp_path}/logs/error.log;
            gzip on;
            client_body_temp_path {lib}/body; proxy_temp_path {lib}/proxy; fastcgi_temp_path {lib}/fastcgi;
            uwsgi_temp_path {lib}/uwsgi; scgi_temp_path {lib}/scgi;
            include {tmp_path}/conf.d/*.conf;
        }}
        """
    )

    result = nginx_check(conf)

    assert result.returncode == 0, result.stderr


def test_compose_variant_points_at_the_api_service_and_passes_nginx_t(tmp_path: Path) -> None:
    """docker-compose.yml runs nginx-compose.sed over nginx.conf; the result must still be a valid config."""
    sed = shutil.which("sed")
    if not sed:
        skip_unless_required("no sed")
    source = NGINX_CONF.read_text()
    assert source.count("# BEGIN backends") == 1 and source.count("# END backends") == 1

    adapted = subprocess.run(
        [sed, "-f", str(DEPLOY / "nginx-compose.sed"), str(NGINX_CONF)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    upstream = re.search(r"(?s)upstream wenming \{(.*?)\}", adapted)
    assert upstream
    assert re.findall(r"(?m)^\s*server\s+(\S+?);", upstream.group(1)) == ["api:8000"]
    assert "listen [::]" not in adapted
    write_self_signed_cert(tmp_path / "tls")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        localize_nginx_conf(
            adapted,
            tmp_path,
            http_port=free_port(),
            https_port=free_port(),
            # The name resolves only inside compose.
            backends={"api:8000": f"127.0.0.1:{free_port()}"},
        )
    )
    assert nginx_check(conf).returncode == 0


# -- the config at work: a real nginx in front of a stand-in for the service -----


@dataclass
class Seen:
    """What the stand-in backend received."""

    method: str
    uri: str
    headers: dict[str, str]
    chunked: bool
    body_bytes: int


@dataclass
class Backend:
    port: int
    requests: list[Seen] = field(default_factory=list)
    # Set when the first bytes of a request body arrive (before the rest has been read).
    first_body_bytes: threading.Event = field(default_factory=threading.Event)

    def hits(self, uri: str) -> int:
        return sum(1 for seen in self.requests if seen.uri == uri)

    def last(self, uri: str) -> Seen:
        return [seen for seen in self.requests if seen.uri == uri][-1]


def _handler(backend: Backend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _body(self) -> tuple[bool, int]:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                total = 0
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    total += len(self.rfile.read(size))
                    self.rfile.readline()
                    backend.first_body_bytes.set()
                self.rfile.readline()
                return True, total
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                backend.first_body_bytes.set()
            return False, len(self.rfile.read(length))

        def _answer(self) -> None:
            chunked, size = self._body()
            backend.requests.append(Seen(self.command, self.path, dict(self.headers), chunked, size))
            if self.path.startswith("/crash"):
                self.close_connection = True  # no answer at all: nginx sees the service fail
                return
            status, content_type, extra = 200, "application/json", {}
            if self.path.startswith("/media/files/"):
                if "s=bad" in self.path:
                    status = 403
                else:
                    content_type = "image/jpeg"
                    extra = {"Cache-Control": "private, max-age=3600, immutable", "X-Content-Type-Options": "nosniff"}
            body = b"x" * 2048 if content_type == "image/jpeg" else json.dumps({"uri": self.path}).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-Id", self.headers.get("X-Request-Id", ""))
            if self.path.startswith("/api/v1/tasks"):  # as `wenming serve` with WENMING_ACCESS_LOG=0
                self.send_header("X-Route", "/api/v1/tasks")
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _answer

    return Handler


@dataclass
class Nginx:
    root: Path
    http_port: int
    https_port: int
    cafile: Path
    backend: Backend

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: object = None, **kw: object
    ) -> tuple[http.client.HTTPResponse, bytes]:
        context = ssl.create_default_context(cafile=str(self.cafile))
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=context, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {}, **kw)
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()

    def access_log(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in (self.root / "logs" / "access.log").read_text().splitlines()]


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    binary = nginx_binary()
    root = tmp_path_factory.mktemp("nginx")
    backend = Backend(port=free_port())
    server = ThreadingHTTPServer(("127.0.0.1", backend.port), _handler(backend))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = Nginx(root, free_port(), free_port(), write_self_signed_cert(root / "tls"), backend)
    conf = root / "nginx.conf"
    conf.write_text(
        localize_nginx_conf(
            NGINX_CONF.read_text(),
            root,
            http_port=site.http_port,
            https_port=site.https_port,
            # The stand-in is the first backend; the backup has nothing listening.
            backends={"127.0.0.1:8000": f"127.0.0.1:{backend.port}", "127.0.0.1:8001": f"127.0.0.1:{free_port()}"},
        )
    )
    proc = subprocess.Popen(
        [binary, "-e", str(root / "startup-error.log"), "-p", str(root), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", site.https_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not listen within 15 s")
                time.sleep(0.05)
        yield site
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        server.server_close()


def test_plain_http_redirects_to_https(nginx: Nginx) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    conn.request("GET", "/api/v1/tasks?limit=5")
    response = conn.getresponse()
    conn.close()

    assert response.status == 301
    assert response.getheader("Location") == "https://127.0.0.1/api/v1/tasks?limit=5"


def test_service_gets_client_address_scheme_and_request_id(nginx: Nginx) -> None:
    response, _ = nginx.request("GET", "/api/v1/me", {"X-Forwarded-For": "203.0.113.7"})

    seen = nginx.backend.last("/api/v1/me")
    assert response.status == 200
    # Appended: the service believes only the hops its trusted proxies added.
    assert seen.headers["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
    assert seen.headers["X-Forwarded-Proto"] == "https"
    assert re.fullmatch(r"[0-9a-f]{32}", seen.headers["X-Request-Id"])
    assert response.getheader("X-Request-Id") == seen.headers["X-Request-Id"]


def test_each_request_gets_its_own_request_id(nginx: Nginx) -> None:
    first, _ = nginx.request("GET", "/api/v1/me")
    second, _ = nginx.request("GET", "/api/v1/me")

    assert first.getheader("X-Request-Id") != second.getheader("X-Request-Id")


def test_well_formed_client_request_id_is_kept(nginx: Nginx) -> None:
    response, _ = nginx.request("GET", "/api/v1/orgs", {"X-Request-Id": "wx-3f9a.0c11_77"})

    assert nginx.backend.last("/api/v1/orgs").headers["X-Request-Id"] == "wx-3f9a.0c11_77"
    assert response.headers.get_all("X-Request-Id") == ["wx-3f9a.0c11_77"]


@pytest.mark.parametrize("given", ["short", "has spaces in it", "x" * 65, 'quote"d-request'])
def test_malformed_client_request_id_is_replaced(nginx: Nginx, given: str) -> None:
    response, _ = nginx.request("GET", "/api/v1/campaigns", {"X-Request-Id": given})

    forwarded = nginx.backend.last("/api/v1/campaigns").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", forwarded)
    assert response.getheader("X-Request-Id") == forwarded


def test_security_headers(nginx: Nginx) -> None:
    response, _ = nginx.request("GET", "/api/v1/me")

    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=")
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Referrer-Policy") == "no-referrer"
    assert "default-src 'none'" in response.getheader("Content-Security-Policy", "")
    assert response.headers.get_all("X-Content-Type-Options") == ["nosniff"]


def test_docs_page_may_load_its_scripts(nginx: Nginx) -> None:
    response, _ = nginx.request("GET", "/docs")

    assert response.status == 200
    assert response.getheader("Content-Security-Policy") is None
    assert response.getheader("X-Frame-Options") == "DENY"


def _trickle(backend: Backend, wait_s: float, outcome: dict[str, bool]) -> Iterator[bytes]:
    """A body whose second half is held back until the service has seen the first (or wait_s passes)."""
    backend.first_body_bytes.clear()
    yield b"a" * 100_000
    outcome["service_saw_bytes_before_the_end"] = backend.first_body_bytes.wait(wait_s)
    yield b"b" * 100_000


def test_photo_uploads_stream_to_the_service(nginx: Nginx) -> None:
    outcome: dict[str, bool] = {}

    response, _ = nginx.request("POST", "/api/v1/media", body=_trickle(nginx.backend, 10, outcome), encode_chunked=True)

    assert response.status == 200
    assert outcome["service_saw_bytes_before_the_end"]
    seen = nginx.backend.last("/api/v1/media")
    assert seen.chunked and seen.body_bytes == 200_000


def test_other_bodies_arrive_whole(nginx: Nginx) -> None:
    """The control for the test above: elsewhere nginx buffers, and the trickle does wait."""
    outcome: dict[str, bool] = {}

    response, _ = nginx.request(
        "POST", "/api/v1/tasks/1/submissions", body=_trickle(nginx.backend, 1.5, outcome), encode_chunked=True
    )

    assert response.status == 200
    assert not outcome["service_saw_bytes_before_the_end"]
    seen = nginx.backend.last("/api/v1/tasks/1/submissions")
    assert not seen.chunked and seen.body_bytes == 200_000


def test_largest_photo_with_its_multipart_envelope_gets_through(nginx: Nginx) -> None:
    size = Config().max_upload_bytes + 64 * 1024

    response, _ = nginx.request("POST", "/api/v1/media", {"Content-Type": "multipart/form-data"}, b"\0" * size)

    assert response.status == 200
    assert nginx.backend.last("/api/v1/media").body_bytes == size


def test_absurd_body_answers_413_in_the_error_shape(nginx: Nginx) -> None:
    context = ssl.create_default_context(cafile=str(nginx.cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", nginx.https_port, context=context, timeout=10)
    conn.putrequest("POST", "/api/v1/media")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()

    assert response.status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert response.getheader("Content-Type", "").startswith("application/json")
    assert response.getheader("X-Request-Id")


def _held_upload(nginx: Nginx, token: str) -> ssl.SSLSocket:
    """An upload whose body is announced but only begun: it stays open."""
    context = ssl.create_default_context(cafile=str(nginx.cafile))
    sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", nginx.https_port), timeout=10), server_hostname="127.0.0.1"
    )
    sock.sendall(
        (
            f"POST /api/v1/media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
        ).encode()
        + b"\0" * 1000
    )
    return sock


def test_open_uploads_per_token_are_capped_with_429_in_the_error_shape(nginx: Nginx) -> None:
    """A backstop for WENMING_UPLOADS_PER_USER: nginx refuses the 9th open upload of one token."""
    held = [_held_upload(nginx, "held-token") for _ in range(8)]
    try:
        time.sleep(0.5)  # nginx has taken the eight in (and passed them on to the service)
        refused, body = nginx.request("POST", "/api/v1/media", {"Authorization": "Bearer held-token"}, b"x")
        other, _ = nginx.request("POST", "/api/v1/media", {"Authorization": "Bearer another-token"}, b"x")
    finally:
        for sock in held:
            sock.close()

    assert refused.status == 429
    assert json.loads(body)["error"]["code"] == "rate_limited"
    assert refused.getheader("Retry-After") == "5"
    assert refused.getheader("Content-Type", "").startswith("application/json")
    assert other.status == 200
    assert other.getheader("Retry-After") is None


def test_failing_service_answers_in_the_error_shape(nginx: Nginx) -> None:
    response, body = nginx.request("GET", "/crash")

    assert response.status == 502
    assert json.loads(body)["error"]["code"] == "service_unavailable"
    assert response.getheader("Content-Type", "").startswith("application/json")
    assert response.getheader("Strict-Transport-Security")


def test_signed_photo_url_is_cached_under_its_full_uri(nginx: Nginx) -> None:
    uri = "/media/files/ab/cached.jpg?e=4102444800&s=good1"

    first, first_body = nginx.request("GET", uri)
    second, second_body = nginx.request("GET", uri)
    other, _ = nginx.request("GET", "/media/files/ab/cached.jpg?e=4102444800&s=good2")

    assert first.status == second.status == other.status == 200
    assert second_body == first_body
    assert nginx.backend.hits(uri) == 1
    assert nginx.backend.hits("/media/files/ab/cached.jpg?e=4102444800&s=good2") == 1
    # The service's own header reaches the phone unchanged.
    assert second.getheader("Cache-Control") == "private, max-age=3600, immutable"


def test_refused_photo_url_is_not_cached(nginx: Nginx) -> None:
    uri = "/media/files/ab/refused.jpg?e=4102444800&s=bad"

    statuses = [nginx.request("GET", uri)[0].status for _ in range(2)]

    assert statuses == [403, 403]
    assert nginx.backend.hits(uri) == 2


def test_access_log_is_json_with_request_id_and_no_signatures(nginx: Nginx) -> None:
    nginx.request(
        "GET", "/media/files/ab/logged.jpg?e=4102444800&s=secret-signature", {"X-Request-Id": "log-test-0001"}
    )

    # nginx writes the line after sending the response: give it a moment.
    deadline = time.monotonic() + 5
    while not (entries := [e for e in nginx.access_log() if e["request_id"] == "log-test-0001"]):
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.02)
    assert len(entries) == 1
    assert entries[0]["uri"] == "/media/files/ab/logged.jpg"
    assert entries[0]["status"] == 200
    assert "secret-signature" not in (nginx.root / "logs" / "access.log").read_text()


def test_the_access_log_carries_the_route_the_service_names_and_clients_do_not_see_it(nginx: Nginx) -> None:
    response, _ = nginx.request("GET", "/api/v1/tasks?limit=20", {"X-Request-Id": "log-route-0001"})
    assert response.getheader("X-Route") is None
    deadline = time.monotonic() + 5
    while not (entries := [e for e in nginx.access_log() if e["request_id"] == "log-route-0001"]):
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.02)
    assert (entries[0]["route"], entries[0]["status"]) == ("/api/v1/tasks", 200)
    assert isinstance(entries[0]["request_time"], float)


# -- (b) docker compose ---------------------------------------------------------


def compose() -> dict[str, object]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_file_has_the_six_services() -> None:
    services = compose()["services"]

    assert set(services) == SERVICES


def test_compose_commands_are_wenming_commands() -> None:
    services = compose()["services"]
    commands = {name: wenming_command(shlex.join(s["command"])) for name, s in services.items() if "command" in s}

    for name in ("migrate", "api", "worker"):
        assert commands[name] is not None, f"{name} does not run wenming"
        assert_cli_accepts(commands[name], f"docker-compose.yml service {name}")
    assert commands["migrate"] == ["migrate"]
    assert commands["worker"] == ["worker"]
    assert commands["api"][:1] == ["serve"] and commands["api"][-2:] == ["--workers", "2"]


def test_compose_api_waits_for_migrations_and_shares_the_media_volume() -> None:
    services = compose()["services"]

    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    media_root = services["api"]["environment"]["WENMING_MEDIA_ROOT"]
    for name in ("api", "worker"):
        assert f"media:{media_root}" in services[name]["volumes"]
        assert services[name]["env_file"] == ".env"


def test_compose_nginx_uses_deploy_nginx_conf() -> None:
    service = compose()["services"]["nginx"]
    script = " ".join(service["command"])

    assert "./nginx.conf:/etc/wenming/nginx.conf:ro" in service["volumes"]
    assert "./nginx-compose.sed:/etc/wenming/nginx-compose.sed:ro" in service["volumes"]
    assert "sed -f /etc/wenming/nginx-compose.sed /etc/wenming/nginx.conf > /etc/nginx/nginx.conf" in script


def test_dockerfile_runs_the_service() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"(?m)^CMD (\[.*\])$", text).group(1))

    assert re.search(r"(?m)^FROM python:3\.11-slim", text)
    assert "fonts-noto-cjk" in text
    assert "libturbojpeg0" in text  # media/jpeg_transform.py loads it
    assert re.search(r"(?m)^USER wenming$", text)
    assert cmd[:2] == ["wenming", "serve"] and "0.0.0.0" in cmd
    assert_cli_accepts(cmd[1:], "Dockerfile CMD")


# -- (c) the env sample ---------------------------------------------------------


def test_env_example_lists_every_variable_the_code_reads() -> None:
    in_code = set(WENMING_NAME.findall((REPO / "server" / "config.py").read_text()))
    for package in PACKAGES:
        for source in (REPO / package).rglob("*.py"):
            in_code |= set(WENMING_NAME.findall(source.read_text()))

    assert {"WENMING_DATABASE_URL", "WENMING_CJK_FONT", "WENMING_TOKEN_TTL"} <= in_code  # the scan works
    assert sorted(in_code - env_example_names()) == []


# The configuration table of the API contract (API.md, "Configuration (environment)"); the
# contract lives outside this repository, so its names are written down here.
API_CONTRACT_SETTINGS = (
    "WENMING_DATABASE_URL",
    "WENMING_LIMIT_REVIEW",
    "WENMING_LIMIT_SIGNIN",
    "WENMING_LIMIT_UPLOAD",
    "WENMING_MAX_UPLOAD_BYTES",
    "WENMING_MEDIA_ROOT",
    "WENMING_MEDIA_URL_TTL",
    "WENMING_PUBLIC_BASE_URL",
    "WENMING_REDIS_URL",
    "WENMING_SECRET_KEY",
    "WENMING_SUBSCRIBE_TEMPLATES",
    "WENMING_TRUSTED_PROXIES",
    "WENMING_UPLOAD_DEADLINE",
    "WENMING_WECHAT_API_BASE",
    "WENMING_WECHAT_APPID",
    "WENMING_WECHAT_PUSH_AES_KEY",
    "WENMING_WECHAT_PUSH_TOKEN",
    "WENMING_WECHAT_SECRET",
)


def test_env_example_lists_every_variable_of_the_api_contract() -> None:
    assert sorted(set(API_CONTRACT_SETTINGS) - env_example_names()) == []


def test_env_example_is_valid_for_the_service() -> None:
    """Its uncommented values, with the secrets filled in, pass the service's own validation."""
    env = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.startswith("WENMING_") and "=" in line:
            key, _, value = line.partition("=")
            env[key] = value.strip("'")
    env.update(WENMING_SECRET_KEY="s" * 40, WENMING_WECHAT_APPID="wx0", WENMING_WECHAT_SECRET="x")

    config = Config.from_env(env)

    assert config.mode == "production"
    assert config.public_base_url.startswith("https://")


# -- (d) systemd units ------------------------------------------------------------


UNITS = ("wenming.service", "wenming-worker.service", "wenming-sweep.service")


@pytest.mark.parametrize("name", UNITS)
def test_units_run_existing_wenming_commands(name: str) -> None:
    values = unit(name)
    lines = values.get("ExecStartPre", []) + values.get("ExecStart", [])
    commands = [args for args in map(wenming_command, lines) if args is not None]

    assert commands, f"{name} runs no wenming command"
    for args in commands:
        assert_cli_accepts(args, name)
    assert values["EnvironmentFile"] == ["/etc/wenming/wenming.env"]
    assert values["User"] == ["wenming"]


def test_api_unit_migrates_then_serves_behind_nginx() -> None:
    values = unit("wenming.service")
    (serve,) = (wenming_command(line) for line in values["ExecStart"])
    (migrate,) = (wenming_command(line) for line in values["ExecStartPre"])
    args = _parser().parse_args(serve)

    assert migrate == ["migrate"]
    assert args.host == "127.0.0.1"
    assert f"server 127.0.0.1:{args.port} " in NGINX_CONF.read_text()
    assert values["Restart"] == ["on-failure"]
    assert values["KillMode"] == ["mixed"]  # the main process stops its workers


@pytest.mark.parametrize("name", UNITS)
def test_units_are_hardened_and_may_write_the_media_root(name: str) -> None:
    values = unit(name)
    media_root = re.search(r"(?m)^WENMING_MEDIA_ROOT=(\S+)", (DEPLOY / ".env.example").read_text()).group(1)

    assert values["NoNewPrivileges"] == ["yes"]
    assert values["ProtectSystem"] == ["strict"]
    assert values["PrivateTmp"] == ["yes"]
    writable = " ".join(values["ReadWritePaths"]).split()
    assert any(media_root == path or media_root.startswith(path.rstrip("/") + "/") for path in writable)


def test_sweep_timer_starts_the_sweep_daily() -> None:
    values = unit("wenming-sweep.timer")
    (sweep,) = (wenming_command(line) for line in unit("wenming-sweep.service")["ExecStart"])

    assert sweep == ["media", "sweep"]
    assert values.get("Unit", ["wenming-sweep.service"]) == ["wenming-sweep.service"]
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d(:\d\d)?( \S+)?", values["OnCalendar"][0])
    assert values["Persistent"] == ["true"]


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own parser: an unknown key or a bad value is only a warning to systemd, a failure here."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        skip_unless_required("systemd-analyze is not installed (Debian: systemd)")
    wenming = Path(sys.executable).with_name("wenming")  # the units name /opt/wenming's; this one exists
    for path in [*(DEPLOY / name for name in UNITS), DEPLOY / "wenming-sweep.timer"]:
        (tmp_path / path.name).write_text(path.read_text().replace("/opt/wenming/bin/wenming", str(wenming)))

    result = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_every_unit_in_deploy_is_covered() -> None:
    found = Counter(p.suffix for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))

    assert found == Counter({".service": len(UNITS), ".timer": 1})
