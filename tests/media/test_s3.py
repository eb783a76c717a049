"""S3Storage behaves like LocalStorage, against a real S3-protocol server (moto's, over HTTP).

Skipped when moto cannot be started; with WENMING_TEST_REQUIRE_SERVICES=1 that is a failure.
"""

from __future__ import annotations

import io
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from media.s3 import MAX_PRESIGN_TTL, S3Storage, normalize_prefix
from media.storage import StorageError, UrlSigner, new_key, stem_of
from media.uploads import store_upload
from tests.images import phone_photo
from tests.s3server import ACCESS_KEY, DEFAULT_BUCKET, REGION, SECRET_KEY, MotoServer, MotoUnavailable, moto_server

REQUIRE_SERVICES = os.environ.get("WENMING_TEST_REQUIRE_SERVICES") == "1"
SIGNER = UrlSigner(b"k" * 32, "https://wenming.example.cn", ttl_s=3600)
BAD_KEYS = ["../../etc/passwd", "ab/cd/../../x.jpg", "/abs.jpg", "ab/cd/short.jpg", ""]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    try:
        with moto_server() as server:
            yield server
    except MotoUnavailable as exc:
        reason = f"no S3 test server (pip install 'moto[server]'): {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)


def make_storage(
    server: MotoServer, *, bucket: str = DEFAULT_BUCKET, prefix: str | None = None, region: str = REGION
) -> S3Storage:
    return S3Storage(
        endpoint_url=server.endpoint_url,
        bucket=bucket,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=region,
        # A folder of its own per test: tests share the bucket but never see each other's files.
        prefix=prefix if prefix is not None else f"media-{uuid.uuid4().hex[:8]}/",
        signer=SIGNER,
    )


@pytest.fixture
def storage(s3_server: MotoServer) -> S3Storage:
    return make_storage(s3_server)


class RequestLog:
    """Every HTTP request the client sends, seen through botocore's own event hook."""

    def __init__(self, storage: S3Storage) -> None:
        self.sent: list[str] = []
        storage.client.meta.events.register("before-send.s3", self._record)

    def _record(self, request, **kwargs) -> None:
        self.sent.append(f"{request.method} {request.url}")


# -- the same behaviour as LocalStorage ----------------------------------------------------------


def test_save_open_delete_round_trip(storage):
    key = new_key("-thumb")
    storage.save(key, b"\xff\xd8photo")
    assert storage.open(key) == b"\xff\xd8photo"
    assert storage.keys() == [key]
    storage.delete(key)
    assert storage.keys() == []


def test_saved_object_lives_under_the_prefix_as_a_jpeg(storage):
    key = new_key()
    storage.save(key, b"\xff\xd8photo")
    head = storage.client.head_object(Bucket=storage.bucket, Key=storage.prefix + key)
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(b"\xff\xd8photo")


def test_saving_again_replaces_the_whole_file(storage):
    key = new_key()
    storage.save(key, b"first version, longer")
    storage.save(key, b"second")
    assert storage.open(key) == b"second"


def test_missing_file_is_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.open(new_key())


def test_missing_bucket_is_an_error_not_a_missing_file(s3_server):
    storage = make_storage(s3_server, bucket=f"nobucket-{uuid.uuid4().hex[:8]}")
    with pytest.raises(ClientError) as caught:
        storage.open(new_key())
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


def test_delete_is_idempotent(storage):
    key = new_key()
    storage.delete(key)  # never existed
    storage.save(key, b"x")
    storage.delete(key)
    storage.delete(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)


def test_keys_lists_only_media_keys_under_the_prefix(s3_server, storage):
    mine = new_key("-display")
    storage.save(mine, b"x")
    raw = storage.client
    raw.put_object(Bucket=storage.bucket, Key=storage.prefix + "notes.txt", Body=b"not a photo")
    raw.put_object(Bucket=storage.bucket, Key=storage.prefix + "ab/cd/short.jpg", Body=b"x")
    raw.put_object(Bucket=storage.bucket, Key=storage.prefix + new_key() + ".bak", Body=b"x")
    make_storage(s3_server).save(new_key(), b"another prefix's photo")
    assert storage.keys() == [mine]


def test_keys_honours_older_than(storage):
    key = new_key()
    storage.save(key, b"x")
    # moto stamps LastModified with the real clock: a cut-off either side of now tells both cases apart.
    assert storage.keys(older_than=time.time() + 60) == [key]
    assert storage.keys(older_than=time.time() - 60) == []


def test_keys_pages_through_more_than_one_listing_page(storage):
    # ListObjectsV2 returns at most 1000 keys per page.
    keys = sorted(new_key() for _ in range(1005))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: storage.save(k, b"x"), keys))
    assert storage.keys() == keys


def test_concurrent_saves_from_threads(storage):
    # The image pool and asyncio.to_thread share one client: it must hold up under parallel use.
    payloads = {new_key(): os.urandom(2048) for _ in range(64)}
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: storage.save(*item), payloads.items()))
        read_back = dict(zip(payloads, pool.map(storage.open, payloads), strict=True))
    assert read_back == payloads
    assert storage.keys() == sorted(payloads)


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("method", ["save", "open", "delete", "url", "presigned_url"])
def test_keys_outside_the_scheme_are_refused_before_any_request(storage, key, method):
    log = RequestLog(storage)
    call = {
        "save": lambda: storage.save(key, b"x"),
        "open": lambda: storage.open(key),
        "delete": lambda: storage.delete(key),
        "url": lambda: storage.url(key),
        "presigned_url": lambda: storage.presigned_url(key, 60),
    }[method]
    with pytest.raises(StorageError):
        call()
    assert log.sent == []


def test_request_log_sees_requests(storage):
    # The check above is only worth something if the hook does see real requests.
    log = RequestLog(storage)
    storage.delete(new_key())
    assert len(log.sent) == 1
    assert log.sent[0].startswith("DELETE ")


def test_remove_leftovers_aborts_old_multipart_uploads_under_the_prefix(s3_server, storage):
    raw = storage.client
    mine = raw.create_multipart_upload(Bucket=storage.bucket, Key=storage.prefix + "backup.tar")["UploadId"]
    other_prefix = f"other-{uuid.uuid4().hex[:8]}/backup.tar"
    raw.create_multipart_upload(Bucket=storage.bucket, Key=other_prefix)
    # moto reports every upload as initiated on 2010-11-10 (a fixed stamp), so the "too young" cut-off lies before it.
    assert storage.remove_leftovers(older_than=datetime(2010, 1, 1, tzinfo=UTC).timestamp()) == 0
    assert storage.remove_leftovers(older_than=time.time() + 60) == 1
    left = raw.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
    assert mine not in {u["UploadId"] for u in left}
    assert other_prefix in {u["Key"] for u in left}


def test_remove_leftovers_without_uploads_is_zero(storage):
    storage.save(new_key(), b"x")
    assert storage.remove_leftovers(older_than=time.time() + 60) == 0
    assert len(storage.keys()) == 1


# -- URLs --------------------------------------------------------------------------------------


def test_url_is_the_services_signed_url(storage):
    key = new_key()
    split = urlsplit(storage.url(key))
    query = parse_qs(split.query)
    # The prefix and the bucket are storage details: the URL is the same as LocalStorage's.
    assert f"{split.scheme}://{split.netloc}" == "https://wenming.example.cn"
    assert split.path == f"/media/files/{key}"
    assert SIGNER.verify(split.path, query["e"][0], query["s"][0])


def test_url_without_a_signer_is_refused(s3_server):
    storage = S3Storage(
        endpoint_url=s3_server.endpoint_url,
        bucket=DEFAULT_BUCKET,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
    with pytest.raises(StorageError):
        storage.url(new_key())


def test_presigned_url_downloads_the_file_straight_from_the_bucket(storage):
    key = new_key()
    storage.save(key, b"\xff\xd8photo")
    url = storage.presigned_url(key, 300)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as resp:
        assert resp.read() == b"\xff\xd8photo"
        assert resp.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("ttl", [0, -1, MAX_PRESIGN_TTL + 1])
def test_presigned_url_lifetime_must_be_what_sigv4_allows(storage, ttl):
    with pytest.raises(ValueError):
        storage.presigned_url(new_key(), ttl)


# -- setup ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_ensure_bucket_creates_it_once(s3_server, region):
    storage = make_storage(s3_server, bucket=f"fresh-{uuid.uuid4().hex[:8]}", region=region)
    assert storage.ensure_bucket() is True
    assert storage.ensure_bucket() is False
    storage.save(key := new_key(), b"x")
    assert storage.open(key) == b"x"


@pytest.mark.parametrize(
    ("given", "expected"), [("", ""), ("/", ""), ("media", "media/"), ("/media/", "media/"), ("a/b", "a/b/")]
)
def test_prefix_is_normalized_to_a_folder(given, expected):
    assert normalize_prefix(given) == expected


def test_prefix_cannot_climb_out():
    with pytest.raises(StorageError):
        normalize_prefix("media/../other")


# -- through the upload pipeline -------------------------------------------------------------------


def test_store_upload_saves_three_files_that_the_sweep_listing_finds(storage, tmp_path: Path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(phone_photo())
    stored = store_upload(str(photo), storage)
    # What models.media.sweep does first: list the keys older than its cut-off and group them by stem.
    listed = storage.keys(older_than=time.time() + 60)
    assert listed == sorted(stored.keys)
    assert {stem_of(k) for k in listed} == {stored.stem}
    original, display, thumb = (Image.open(io.BytesIO(storage.open(k))) for k in stored.keys)
    assert original.format == display.format == thumb.format == "JPEG"
    assert thumb.width < display.width <= original.width
