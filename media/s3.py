"""Media files in an S3-compatible bucket (AWS S3, MinIO, Aliyun OSS, Tencent COS ...), same interface as LocalStorage.

Every method blocks: the service calls them from worker threads (``asyncio.to_thread``
and the image pool), which share one boto3 client; boto3 clients are thread-safe,
boto3 sessions are not, so the session is private to the constructor.

A PUT is atomic on S3 (readers see the old object or the whole new one, never part
of it) so there is nothing like LocalStorage's temp file + rename, and a crash leaves
at worst an orphan object for ``media sweep``.

Two ways to hand out a file:

* :meth:`S3Storage.url` (the default, what ``MediaRead`` uses): the service's own
  signed ``/media/files/...`` URL, exactly as with LocalStorage. The service checks
  the signature and proxies the bytes, so expiry, 403s, the hour-rounded cacheable
  URLs and the single mini-program download domain stay as they are; the bucket can
  stay private and its host is never shown. The cost: every picture goes through
  the service's bandwidth and a worker thread.
* :meth:`S3Storage.presigned_url`: the storage service's own presigned GET, for
  deployments that let nginx/a CDN redirect to the bucket instead. Bytes skip the
  service, but the bucket host must be a download domain of the mini-program, the
  link cannot be revoked before it expires (SigV4 allows at most 7 days), it changes
  on every call (so phones and proxies cannot cache it unless the CDN ignores the
  query string), and the service's own 403 message is replaced by the bucket's XML.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import boto3
import botocore.config
from botocore.exceptions import ClientError

from media.storage import StorageError, UrlSigner, check_key

# Error codes that mean "no such object". GetObject says NoSuchKey; HEAD requests carry no
# body, so they only say "404". NoSuchBucket is deliberately absent: a missing bucket is a
# misconfiguration and must fail loudly, not turn every picture into a quiet 404.
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic"}
# SigV4's longest presigned URL lifetime.
MAX_PRESIGN_TTL = 7 * 24 * 3600

AddressingStyle = Literal["auto", "path", "virtual"]


def client_config(max_pool_connections: int = 16, addressing_style: AddressingStyle = "auto") -> botocore.config.Config:
    """Timeouts, retries and pool size for a client shared by the service's worker threads."""
    return botocore.config.Config(
        # A stuck storage service must not hold a worker thread (and the upload behind it) forever.
        connect_timeout=5,
        read_timeout=30,
        # "standard" retries throttling and 5xx with backoff; 3 attempts in all, then the caller sees the error.
        retries={"mode": "standard", "total_max_attempts": 3},
        # At least as many connections as threads that may call at once (image pool + to_thread),
        # otherwise urllib3 drops the extra connections and logs "Connection pool is full".
        max_pool_connections=max_pool_connections,
        # botocore signs presigned URLs with SigV2 in us-east-1 unless told; SigV4 works everywhere.
        signature_version="s3v4",
        # "auto" means path style (endpoint/bucket/key) for a custom endpoint, which MinIO wants;
        # Aliyun OSS and Tencent COS only accept "virtual" (bucket.endpoint/key).
        s3={"addressing_style": addressing_style},
        # botocore >= 1.36 adds CRC checksums to every PUT by default, which several S3-compatible
        # services (older MinIO, OSS, COS) reject; send and check them only where the API requires.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def normalize_prefix(prefix: str) -> str:
    """``"media"``, ``"/media/"`` → ``"media/"``; empty stays empty (keys at the bucket's root)."""
    prefix = prefix.strip("/")
    if not prefix:
        return ""
    if ".." in prefix.split("/"):
        raise StorageError(f"not a key prefix: {prefix!r}")
    return prefix + "/"


class S3Storage:
    """A bucket (optionally a folder in it) of an S3-compatible object store."""

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        signer: UrlSigner | None = None,
        max_pool_connections: int = 16,
        addressing_style: AddressingStyle = "auto",
    ) -> None:
        self.bucket = bucket
        self.prefix = normalize_prefix(prefix)
        self._signer = signer
        session = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
        )
        self.region = region
        # Public so operators and tests can reach the raw API (and its event hooks) without a second client.
        self.client: Any = session.client(
            "s3", endpoint_url=endpoint_url or None, config=client_config(max_pool_connections, addressing_style)
        )

    def _object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def url(self, key: str) -> str:
        """The service's signed URL for the file (see :class:`media.storage.UrlSigner`); no request to S3."""
        if self._signer is None:
            raise StorageError("this storage was set up without a URL signer")
        return self._signer.url(key)

    def presigned_url(self, key: str, ttl: int) -> str:
        """A presigned GET straight to the bucket, valid ``ttl`` seconds (see the module docstring for the costs).

        Signed locally: no request to S3, and it does not check that the object exists.
        """
        object_key = self._object_key(key)
        if not 0 < ttl <= MAX_PRESIGN_TTL:
            raise ValueError(f"presigned URL lifetime must be 1..{MAX_PRESIGN_TTL} s, not {ttl}")
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": object_key}, ExpiresIn=ttl
        )

    def save(self, key: str, data: bytes) -> None:
        object_key = self._object_key(key)
        # Stored with the object so a presigned or CDN download gets the right type too (check_key vouched for it).
        content_type = _CONTENT_TYPES[key.rsplit(".", 1)[1]]
        self.client.put_object(Bucket=self.bucket, Key=object_key, Body=data, ContentType=content_type)

    def open(self, key: str) -> bytes:
        """The file's bytes; ``FileNotFoundError`` when there is no such object, as with LocalStorage."""
        object_key = self._object_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise FileNotFoundError(f"no media file {key!r}") from None
            raise
        body = response["Body"]
        try:
            return body.read()
        finally:
            body.close()  # back to the pool even if reading failed half-way

    def delete(self, key: str) -> None:
        # DeleteObject of a missing key succeeds on S3: delete is idempotent like unlink(missing_ok=True).
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def keys(self, older_than: float | None = None) -> list[str]:
        """Every media key stored, or only those last written before the epoch time ``older_than``.

        Objects under the prefix that are not media keys (notes, other apps' files) are ignored,
        so ``media sweep`` can never delete them.
        """
        cutoff = datetime.fromtimestamp(older_than, UTC) if older_than is not None else None
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"][len(self.prefix) :]
                # LastModified is a timezone-aware datetime (UTC), so it compares with the aware cutoff.
                if _is_media_key(key) and (cutoff is None or obj["LastModified"] < cutoff):
                    found.append(key)
        return sorted(found)

    def remove_leftovers(self, older_than: float) -> int:
        """Abort multipart uploads under the prefix started before ``older_than``; returns how many.

        ``save`` makes single PUTs, which leave nothing behind when they fail, so this is
        normally 0; it cleans up after other tools (an ``aws s3 cp`` of a backup, say), whose
        unfinished parts are billed as storage until aborted.
        """
        cutoff = datetime.fromtimestamp(older_than, UTC)
        aborted = 0
        for page in self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    try:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    except ClientError as exc:
                        if _error_code(exc) != "NoSuchUpload":  # finished or aborted meanwhile
                            raise
                        continue
                    aborted += 1
        return aborted

    def ensure_bucket(self) -> bool:
        """Create the bucket if it does not exist (for setup and tests); True when it was created."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if _error_code(exc) not in _MISSING and _error_code(exc) != "NoSuchBucket":
                raise
        params: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            # us-east-1 is the one region that refuses an explicit LocationConstraint.
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**params)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":  # another process won the race
                raise
            return False
        return True


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_media_key(key: str) -> bool:
    try:
        check_key(key)
    except StorageError:
        return False
    return True
