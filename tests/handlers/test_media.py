"""POST /media and the signed file URLs, over real HTTP with real image bytes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import orjson
import pytest
from PIL import Image, ImageCms, ImageDraw
from yarl import URL

from models.idempotency import IdempotencyRecord
from models.media import Media
from server.config import Rate
from server.web import idempotency
from tests.images import bomb_png, encode, phone_photo, scene
from tests.support import (
    configured,
    counting_queries,
    multipart,
    open_upload,
    run_cli,
    send_half_an_upload,
    service_env,
)

MEDIA = "/api/v1/media"


def media_root(api) -> Path:
    return Path(api.service.config.media_root)


def stored_files(api) -> list[str]:
    """Every file under the media root, the upload folder included."""
    root = media_root(api)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def fetch(api, url: str) -> tuple[int, bytes, dict]:
    async with api.session.get(url) as resp:  # no Authorization header, like <image>
        return resp.status, await resp.read(), dict(resp.headers)


@pytest.fixture
async def volunteer(api) -> str:
    token, _ = await api.person("volunteer")
    return token


async def test_phone_photo_is_stored_upright_without_metadata(api, volunteer) -> None:
    reply = await api.upload(volunteer, phone_photo((800, 600)), filename="IMG_0001.JPG")

    assert reply.status == 201, reply.body
    body = reply.body
    # Orientation 6 applied by a lossless turn, which trims the stored picture's partial bottom row of
    # 16-px MCUs (600 = 37.5 of them): the upright picture is 8 px narrower.
    assert (body["width"], body["height"]) == (592, 800)
    assert body["content_type"] == "image/jpeg"
    assert body["has_location"] is True
    assert datetime.fromisoformat(body["taken_at"]) == datetime(2024, 5, 1, 1, 30, 15, tzinfo=UTC)
    assert len(body["sha256"]) == 64
    for name in ("url", "thumb_url", "original_url"):
        assert body[name].startswith(api.service.base_url + "/media/files/")
        status, data, headers = await fetch(api, body[name])
        assert status == 200, name
        assert headers["Content-Type"] == "image/jpeg"
        assert b"Exif" not in data and b"GPS" not in data and b"Secret Phone Co" not in data
        img = Image.open(io.BytesIO(data))
        assert not img.getexif()
        assert img.height > img.width  # upright
    _, original, _ = await fetch(api, body["original_url"])
    upright = Image.open(io.BytesIO(original))
    r, g, b = upright.getpixel((upright.width - 10, 10))
    assert g > 200 and r < 60 and b < 60  # the marker turned with the picture
    row = await Media.get(id=int(body["id"]))
    assert row.lat == pytest.approx(31.2304, abs=1e-4) and row.lng == pytest.approx(121.4737, abs=1e-4)


async def test_cmyk_jpeg_is_served_as_rgb(api, volunteer) -> None:
    cmyk = Image.new("CMYK", (120, 80), (0, 255, 255, 0))  # red in CMYK
    reply = await api.upload(volunteer, encode(cmyk, "JPEG", quality=95))
    assert reply.status == 201, reply.body
    _, data, _ = await fetch(api, reply.body["original_url"])
    img = Image.open(io.BytesIO(data))
    assert img.mode == "RGB"
    r, g, b = img.getpixel((60, 40))
    assert r > 200 and g < 60 and b < 60


async def test_png_with_alpha_is_flattened_on_white(api, volunteer) -> None:
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((50, 0, 99, 99), fill=(0, 0, 255, 255))
    reply = await api.upload(volunteer, encode(img, "PNG"), filename="logo.png", content_type="image/png")
    assert reply.status == 201, reply.body
    _, data, _ = await fetch(api, reply.body["url"])
    out = Image.open(io.BytesIO(data))
    assert all(c > 245 for c in out.getpixel((10, 50)))
    assert out.getpixel((80, 50))[2] > 200


async def test_icc_tagged_photo_is_accepted_and_profile_dropped(api, volunteer) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    reply = await api.upload(volunteer, encode(scene((200, 150)), "JPEG", icc_profile=profile))
    assert reply.status == 201, reply.body
    _, data, _ = await fetch(api, reply.body["url"])
    assert "icc_profile" not in Image.open(io.BytesIO(data)).info


async def test_heic_from_an_iphone_is_accepted(api, volunteer) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    data = encode(scene((640, 480)), "HEIF", quality=80)
    reply = await api.upload(volunteer, data, filename="IMG_0002.HEIC", content_type="image/heic")
    assert reply.status == 201, reply.body
    assert (reply.body["width"], reply.body["height"]) == (640, 480)
    status, served, _ = await fetch(api, reply.body["url"])
    assert status == 200 and Image.open(io.BytesIO(served)).format == "JPEG"


async def test_webp_is_accepted(api, volunteer) -> None:
    reply = await api.upload(volunteer, encode(scene((300, 200)), "WEBP"), filename="a.webp")
    assert reply.status == 201, reply.body


# --- refusals: the error shape, nothing stored, nothing left behind ------------------------------


async def refused(api, token: str, data: bytes, status: int, code: str, **kw) -> dict:
    before = await Media.all().count()
    reply = await api.upload(token, data, **kw)
    assert reply.status == status, reply.body
    assert reply.error_code == code
    assert reply.body["error"]["message"]
    assert await Media.all().count() == before
    assert stored_files(api) == [], "a refused upload left files behind"
    return reply.body


async def test_text_renamed_jpg_is_415(api, volunteer) -> None:
    await refused(api, volunteer, b"not a picture at all\n" * 50, 415, "unsupported_media_type", filename="a.jpg")


async def test_svg_is_415(api, volunteer) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><script>alert(1)</script></svg>'
    await refused(api, volunteer, svg, 415, "unsupported_media_type", filename="x.svg", content_type="image/svg+xml")


async def test_gif_is_415(api, volunteer) -> None:
    gif = encode(Image.new("P", (1, 1)), "GIF")
    await refused(api, volunteer, gif, 415, "unsupported_media_type", filename="pixel.gif", content_type="image/gif")


async def test_truncated_jpeg_is_400_bad_image(api, volunteer) -> None:
    data = encode(scene((800, 600)), "JPEG", quality=90)
    await refused(api, volunteer, data[: len(data) // 2], 400, "bad_image")


async def test_png_bomb_is_400_fast(api, volunteer) -> None:
    started = time.perf_counter()
    await refused(api, volunteer, bomb_png(30000, 30000), 400, "bad_image", filename="bomb.png")
    assert time.perf_counter() - started < 2


async def test_a_tiny_file_of_a_huge_flat_picture_is_400_fast(api, volunteer) -> None:
    data = encode(Image.new("RGB", (6320, 6320), (200, 30, 30)), "WEBP", lossless=True)  # ~2 KB
    started = time.perf_counter()
    body = await refused(api, volunteer, data, 400, "bad_image", filename="flat.webp", content_type="image/webp")
    assert time.perf_counter() - started < 1
    assert "文件大小" in body["error"]["message"]


async def test_empty_file_is_400(api, volunteer) -> None:
    body = await refused(api, volunteer, b"", 400, "invalid_request")
    assert "file" in body["error"]["details"]["fields"]


async def test_multipart_without_file_field_is_400(api, volunteer) -> None:
    body = await refused(api, volunteer, encode(scene(), "JPEG"), 400, "invalid_request", field="photo")
    assert "file" in body["error"]["details"]["fields"]


async def test_empty_body_is_400(api, volunteer) -> None:
    reply = await api.call(
        "POST", MEDIA, token=volunteer, data=b"", headers={"Content-Type": "multipart/form-data; boundary=xyz"}
    )
    assert reply.status == 400 and reply.error_code == "invalid_request"
    reply = await api.call("POST", MEDIA, token=volunteer, data=b"")
    assert reply.status == 400 and reply.error_code == "invalid_request"
    assert stored_files(api) == []


async def test_signed_out_upload_is_401(api) -> None:
    reply = await api.upload(None, encode(scene(), "JPEG"))
    assert reply.status == 401 and reply.error_code == "unauthenticated"


async def test_25_mib_upload_is_refused_by_its_declared_length(api, volunteer) -> None:
    big = os.urandom(25 * 1024 * 1024)
    await refused(api, volunteer, b"\xff\xd8\xff\xe0" + big, 413, "payload_too_large")


async def test_oversized_chunked_upload_is_refused_while_streaming(api, volunteer) -> None:
    """No Content-Length: the service counts as the body arrives and answers 413 past the limit,
    while the client is still holding the rest of the body back (it never had to send 25 MiB)."""
    limit = api.service.config.max_upload_bytes
    boundary = "wenmingboundary"
    host, port = urlsplit(api.service.base_url).netloc.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST {MEDIA} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {volunteer}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    writer.write(chunk(head.encode() + b"\xff\xd8\xff\xe0"))
    sent, piece = 0, b"\x00" * (256 * 1024)
    try:
        while sent <= limit + 512 * 1024:  # a little past the limit, then hold the rest back
            writer.write(chunk(piece))
            await writer.drain()
            sent += len(piece)
    except ConnectionError:
        pass  # the service may close the connection as soon as it has answered
    status_line = await asyncio.wait_for(reader.readline(), 5)
    rest = await asyncio.wait_for(reader.read(4096), 5)
    writer.close()
    assert status_line.split()[1] == b"413", status_line
    assert b'"payload_too_large"' in rest
    assert sent < 25 * 1024 * 1024
    await asyncio.sleep(0.05)
    assert stored_files(api) == []


async def test_size_limit_is_configurable_and_exact(api, volunteer) -> None:
    config = api.service.config
    data = encode(scene((400, 300)), "JPEG")
    object.__setattr__(config, "max_upload_bytes", len(data))
    try:
        assert (await api.upload(volunteer, data)).status == 201
        reply = await api.upload(volunteer, data + b"\x00")
        assert reply.status == 413 and reply.error_code == "payload_too_large"
    finally:
        object.__setattr__(config, "max_upload_bytes", 20 * 1024 * 1024)


async def test_idempotent_retry_stores_one_photo(api, volunteer) -> None:
    data = encode(scene((300, 200)), "JPEG")
    headers = {"Idempotency-Key": "upload-retry-0001"}
    first = await api.upload(volunteer, data, headers=headers)
    again = await api.upload(volunteer, data, headers=headers)
    assert first.status == again.status == 201
    assert again.body["id"] == first.body["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await Media.all().count() == 1
    assert len([f for f in stored_files(api) if not f.startswith(".")]) == 3


async def test_a_replayed_upload_reads_away_its_body_quietly(api, volunteer, caplog) -> None:
    """The retry is answered from the first upload; its body (here past the 1 MiB JSON body limit)
    is read away without an error line, and the connection serves the next request."""
    noise = Image.frombytes("RGB", (1400, 1000), random.Random(7).randbytes(1400 * 1000 * 3))
    data = encode(noise, "JPEG", quality=95)
    assert len(data) > 1024 * 1024
    headers = {"Idempotency-Key": "upload-retry-0002"}
    first = await api.upload(volunteer, data, headers=headers)

    with caplog.at_level(logging.INFO):
        again = await api.upload(volunteer, data, headers=headers)
        after = await api.call("GET", "/api/v1/me", token=volunteer)

    assert first.status == again.status == 201, again.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert after.status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert await Media.all().count() == 1


# --- slow and piled-up uploads ---------------------------------------------------------------------


def incoming(api) -> list[str]:
    return [f for f in stored_files(api) if f.startswith(".incoming/")]


async def until(cond, wait_s: float = 5) -> None:
    async with asyncio.timeout(wait_s):
        while not cond():  # noqa: ASYNC110 - files on disk have no event to wait for
            await asyncio.sleep(0.02)


async def test_an_upload_that_trickles_past_its_deadline_is_408_and_its_file_is_gone(api, volunteer) -> None:
    """Idle timeouts never fire for a client sending a byte now and then: the whole body has a deadline."""
    body, content_type = multipart(encode(scene((1200, 900)), "JPEG", quality=95))
    loop = asyncio.get_running_loop()
    host, port = urlsplit(api.service.base_url).netloc.split(":")
    head = (
        f"POST {MEDIA} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {volunteer}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    answer, files_at_answer = b"", None
    with configured(api.service.config, upload_deadline=1.0), socket.create_connection((host, int(port))) as sock:
        sock.setblocking(False)
        await loop.sock_sendall(sock, head + body[: len(body) // 2])
        started = time.monotonic()

        async def trickle() -> None:
            with contextlib.suppress(OSError):
                for _ in range(100):
                    await asyncio.sleep(0.2)
                    await loop.sock_sendall(sock, b"\x00")

        dripping = asyncio.create_task(trickle())
        try:
            # Read to the end: the service answers and closes the connection, however the client goes on
            # (a plain socket, so that the answer read before the close's reset is kept).
            async with asyncio.timeout(5):
                while chunk := await loop.sock_recv(sock, 65536):
                    answer += chunk
                    files_at_answer = incoming(api)
        except ConnectionResetError:
            pass  # the service closed with the client's bytes still arriving
        finally:
            dripping.cancel()
    took = time.monotonic() - started

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1:2] == [b"408"], answer
    assert orjson.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"
    assert 0.9 < took < 3
    assert files_at_answer == []
    assert await Media.all().count() == 0


async def test_open_uploads_per_person_are_capped_with_429(api, volunteer) -> None:
    photo = encode(scene((1200, 900)), "JPEG", quality=95)
    with configured(api.service.config, uploads_per_user=2):
        held = [await open_upload(api.service.base_url, volunteer, photo) for _ in range(2)]
        await until(lambda: len(incoming(api)) == 2)

        refused = await api.upload(volunteer, photo)
        files_then = incoming(api)
        someone_else, _ = await api.person("volunteer")
        other = await api.upload(someone_else, photo)

        for _, writer in held:
            writer.close()
        await until(lambda: incoming(api) == [])
        after = await api.upload(volunteer, photo)

    assert refused.status == 429 and refused.error_code == "rate_limited", refused.body
    assert "file" in refused.body["error"]["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(files_then) == 2  # the refused one never got a temporary file
    assert other.status == 201
    assert after.status == 201  # the slots came back with the dropped connections


async def test_open_uploads_in_total_are_capped_with_429(api, volunteer) -> None:
    photo = encode(scene((1200, 900)), "JPEG", quality=95)
    people = [(await api.person("volunteer"))[0] for _ in range(2)]
    with configured(api.service.config, uploads_total=2):
        held = [await open_upload(api.service.base_url, token, photo) for token in people]
        await until(lambda: len(incoming(api)) == 2)

        refused = await api.upload(volunteer, photo)

        held[0][1].close()
        await until(lambda: len(incoming(api)) == 1)
        after = await api.upload(volunteer, photo)
        held[1][1].close()

    assert refused.status == 429 and refused.error_code == "rate_limited", refused.body
    assert after.status == 201


async def test_replays_of_an_upload_count_against_the_upload_rate_limit(api, volunteer) -> None:
    """A retried upload that is answered from the first one still counts: 400 copies are not free."""
    data = encode(scene((300, 200)), "JPEG")
    headers = {"Idempotency-Key": "upload-counted-0001"}
    with configured(api.service.config, limit_upload=Rate(3, 60)):
        replies = [await api.upload(volunteer, data, headers=headers) for _ in range(4)]

    assert [r.status for r in replies] == [201, 201, 201, 429]
    assert replies[3].error_code == "rate_limited"


async def test_a_copy_waiting_on_an_upload_in_flight_gets_its_answer_at_once(api, volunteer) -> None:
    """The copy is woken when the first upload is answered (same process), and does not poll meanwhile."""
    photo = encode(scene((800, 600)), "JPEG", quality=95)
    body, _ = multipart(photo)
    key = {"Idempotency-Key": "upload-waiting-0001"}
    reader, writer = await open_upload(api.service.base_url, volunteer, photo, headers=key)
    await until(lambda: len(incoming(api)) == 1)
    with counting_queries() as queries:
        copy = asyncio.create_task(api.upload(volunteer, photo, headers=key))
        await asyncio.sleep(1.5)  # the first upload's claim is held meanwhile
        writer.write(body[len(body) // 2 :])
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        answered = time.monotonic()
        replayed = await asyncio.wait_for(copy, 10)
        waited_after = time.monotonic() - answered
    writer.close()

    assert status_line.split()[1] == b"201"
    assert replayed.status == 201 and replayed.headers.get("Idempotent-Replayed") == "true"
    assert waited_after < 0.3
    reads = [s for s in queries.statements if "idempotency_records" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 8, len(reads)  # polling every 50 ms: about 30


# --- signed URLs ----------------------------------------------------------------------------------


def with_query(url: str, **changes: str) -> str:
    split = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    query.update(changes)
    return split._replace(query=urlencode(query)).geturl()


async def test_tampered_or_expired_url_is_403(api, volunteer) -> None:
    reply = await api.upload(volunteer, encode(scene(), "JPEG"))
    url = reply.body["url"]
    query = parse_qs(urlsplit(url).query)
    expires, sig = query["e"][0], query["s"][0]
    assert int(expires) - time.time() >= api.service.config.media_url_ttl - 1
    for bad in (
        with_query(url, s="0" * len(sig)),
        with_query(url, e=str(int(expires) + 3600)),
        with_query(url, e=str(int(time.time()) - 10)),
        url.replace("-display.jpg", "-thumb.jpg"),
        url.split("?")[0],
    ):
        status, data, _ = await fetch(api, bad)
        assert status == 403, bad
        assert b'"forbidden"' in data


async def test_a_url_works_through_another_host_name(api, volunteer) -> None:
    reply = await api.upload(volunteer, encode(scene(), "JPEG"))
    other_host = reply.body["thumb_url"].replace("127.0.0.1", "localhost")
    status, _, _ = await fetch(api, other_host)
    assert status == 200


async def test_signed_url_of_a_missing_file_is_404(api, volunteer) -> None:
    reply = await api.upload(volunteer, encode(scene(), "JPEG"))
    row = await Media.get(id=int(reply.body["id"]))
    (media_root(api) / row.thumb_key).unlink()
    status, data, _ = await fetch(api, reply.body["thumb_url"])
    assert status == 404 and b'"not_found"' in data


# --- pictures of people and campaigns -----------------------------------------------------------


async def test_avatar_is_an_own_photo_with_a_signed_thumb_url(api, volunteer) -> None:
    media_id = (await api.upload(volunteer, encode(scene((400, 400)), "JPEG"))).body["id"]

    reply = await api.call("PATCH", "/api/v1/me", token=volunteer, json={"avatar_media_id": media_id})

    assert reply.status == 200, reply.body
    url = reply.body["avatar_url"]
    assert url and "-thumb.jpg" in url
    status, data, _ = await fetch(api, url)
    assert status == 200 and max(Image.open(io.BytesIO(data)).size) <= 320
    again = await api.call("GET", "/api/v1/me", token=volunteer)
    assert again.body["avatar_url"].split("?")[0] == url.split("?")[0]
    cleared = await api.call("PATCH", "/api/v1/me", token=volunteer, json={"avatar_media_id": None})
    assert cleared.status == 200 and cleared.body["avatar_url"] is None


async def test_someone_elses_or_unknown_photo_as_avatar_is_403(api, volunteer) -> None:
    other, _ = await api.person("volunteer")
    theirs = (await api.upload(other, encode(scene(), "JPEG"))).body["id"]
    for media_id in (theirs, "424242"):
        reply = await api.call("PATCH", "/api/v1/me", token=volunteer, json={"avatar_media_id": media_id})
        assert reply.status == 403 and reply.error_code == "media_not_yours"
    assert (await api.call("GET", "/api/v1/me", token=volunteer)).body["avatar_url"] is None


async def test_campaign_cover_is_a_signed_display_url(api) -> None:
    from tests.factories import CAMPAIGNS, campaign_body, org_tree

    tree = await org_tree()
    staff, _ = await api.person("staff", tree.east.id)
    cover = (await api.upload(staff, encode(scene((1600, 900)), "JPEG"))).body["id"]

    created = await api.call("POST", CAMPAIGNS, token=staff, json=campaign_body(tree.east.id, cover_media_id=cover))

    assert created.status == 201, created.body
    status, data, _ = await fetch(api, created.body["cover_url"])
    assert status == 200 and Image.open(io.BytesIO(data)).size == (1280, 720)
    other, _ = await api.person("staff", tree.east.id)
    stolen = (await api.upload(other, encode(scene(), "JPEG"))).body["id"]
    patch = await api.call("PATCH", f"{CAMPAIGNS}/{created.body['id']}", token=staff, json={"cover_media_id": stolen})
    assert patch.status == 403 and patch.error_code == "media_not_yours"
    removed = await api.call("PATCH", f"{CAMPAIGNS}/{created.body['id']}", token=staff, json={"cover_media_id": None})
    assert removed.status == 200 and removed.body["cover_url"] is None


# --- wenming media sweep ------------------------------------------------------------------------


def plant(root: Path, key: str, age_s: float) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff leftover")
    old = time.time() - age_s
    os.utime(path, (old, old))
    return path


async def test_media_sweep_removes_only_old_orphans(api, volunteer, database_url, wechat) -> None:
    reply = await api.upload(volunteer, encode(scene(), "JPEG"))
    row = await Media.get(id=int(reply.body["id"]))
    root = media_root(api)
    for key in (row.original_key, row.display_key, row.thumb_key):
        old = time.time() - 7200
        os.utime(root / key, (old, old))  # in use, however old
    stem = "ab/cd/" + "ab" * 16
    orphans = [plant(root, f"{stem}{suffix}.jpg", 7200) for suffix in ("", "-display", "-thumb")]
    young = plant(root, "ef/01/" + "ef" * 16 + ".jpg", 10)  # maybe an upload whose row is committing now
    half_written = plant(root, "ab/cd/.tmp-x1y2", 7200)
    unfinished_upload = plant(root, ".incoming/upload-abc", 7200)
    env = service_env(database_url, wechat, WENMING_MEDIA_ROOT=str(root))

    status, out, err = await run_cli("media", "sweep", "--dry-run", env=env)
    assert status == 0, err
    assert "would remove 3 orphan file(s)" in out
    assert all(p.exists() for p in orphans)

    status, out, err = await run_cli("media", "sweep", env=env)

    assert status == 0, err
    assert "removed 3 orphan file(s) and 2 temporary file(s); 3 file(s) in use" in out
    assert not any(p.exists() for p in [*orphans, half_written, unfinished_upload])
    assert young.exists()
    for name in ("url", "thumb_url", "original_url"):
        assert (await fetch(api, reply.body[name]))[0] == 200


async def test_a_connection_dropped_mid_upload_leaves_nothing(api, volunteer) -> None:
    """The commonest failure on a village's mobile network: the phone loses signal halfway."""
    photo = encode(scene((1200, 900)), "JPEG", quality=95)
    writer = await send_half_an_upload(api.service.base_url, volunteer, photo)
    for _ in range(50):  # the service has the first half: a temporary file exists
        if any(f.startswith(".incoming/") for f in stored_files(api)):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the upload never started")
    writer.close()  # signal lost

    for _ in range(100):
        if stored_files(api) == []:
            break
        await asyncio.sleep(0.02)
    assert stored_files(api) == []
    assert await Media.all().count() == 0
    # And the service is fine: the next upload works.
    assert (await api.upload(volunteer, photo)).status == 201


async def fetch_raw(api, url: str) -> tuple[int, bytes]:
    """GET ``url`` exactly as written: no re-encoding of its path or query by the client."""
    async with api.session.get(URL(url, encoded=True)) as resp:
        return resp.status, await resp.read()


def other_forms(url: str) -> dict[str, str]:
    """Spellings of one signed URL that a lenient reader would take for the same one."""
    split = urlsplit(url)
    query = parse_qs(split.query)
    expires, sig = query["e"][0], query["s"][0]
    arabic = "".join(chr(0x0660 + int(d)) for d in expires)  # ٠١٢…: str.isdigit() and int() accept them
    stem, name = split.path.rsplit("/", 1)
    base = f"{split.scheme}://{split.netloc}"
    return {
        "superscript-digit": f"{base}{split.path}?e=%C2%B2&s={sig}",
        "five-thousand-digits": f"{base}{split.path}?e={'9' * 5000}&s={sig}",
        "arabic-indic-digits": f"{base}{split.path}?e={quote(arabic)}&s={sig}",
        "leading-zero": f"{base}{split.path}?e=0{expires}&s={sig}",
        "upper-case-signature": f"{base}{split.path}?e={expires}&s={sig.upper()}",
        "repeated-parameter": f"{base}{split.path}?e={expires}&e={expires}&s={sig}",
        "percent-encoded-letter": f"{base}{stem}/%{ord(name[0]):02X}{name[1:]}?e={expires}&s={sig}",
        "percent-encoded-slash": f"{base}{stem}%2F{name}?e={expires}&s={sig}",
    }


@pytest.mark.parametrize(
    "form",
    [
        "superscript-digit",
        "five-thousand-digits",
        "arabic-indic-digits",
        "leading-zero",
        "upper-case-signature",
        "repeated-parameter",
        "percent-encoded-letter",
        "percent-encoded-slash",
    ],
)
async def test_a_signed_url_has_one_form(api, volunteer, form) -> None:
    url = (await api.upload(volunteer, encode(scene(), "JPEG"))).body["thumb_url"]
    assert (await fetch_raw(api, url))[0] == 200
    status, data = await fetch_raw(api, other_forms(url)[form])
    assert status in (403, 404), (form, status, data[:200])
    assert orjson.loads(data)["error"]["code"] in ("forbidden", "not_found")


async def test_a_claim_on_an_upload_outlives_the_upload_deadline_before_counting_as_abandoned(api, monkeypatch):
    """An upload may take its whole body deadline before its work starts: its claim, older than the
    plain abandonment age but younger than that plus the deadline, is still a request in flight."""
    token, user_id = await api.person("volunteer")
    key = "slow-upload-6a2f8e0c"
    claim = await IdempotencyRecord.create(user_id=user_id, key=key, route="POST /api/v1/media")
    aged = claim.created_at - idempotency.ABANDONED_AFTER - timedelta(seconds=30)
    await IdempotencyRecord.filter(id=claim.id).update(created_at=aged)
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_S", 0.2)

    reply = await api.upload(token, encode(scene(), "JPEG"), headers={"Idempotency-Key": key})

    assert reply.status == 409, reply.body
    assert reply.error_code == "conflict"
    assert not await Media.filter(owner_id=user_id).exists()
