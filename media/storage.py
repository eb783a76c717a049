"""Where media files live, behind one small interface, and their signed URLs.

Files are written atomically (temp file + rename in the same folder) before
the row that points at them commits, so a crash leaves at worst an orphan
file for `media sweep`, never a row pointing at nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}(-[a-z]+)?\.(jpg|png|webp|heic)$")
# A signed URL's query exactly as :meth:`UrlSigner.url` writes it. ASCII only and no leading
# zeros: str.isdigit() and int() also take "²", "٣" and "0123", which would be other spellings
# of one URL (or a ValueError past 4300 digits).
_EXPIRES = re.compile(r"[1-9][0-9]{0,11}")
_SIGNATURE = re.compile(r"[0-9a-f]{32}")
_SIGNED_QUERY = re.compile(r"e=([1-9][0-9]{0,11})&s=([0-9a-f]{32})")


EXPIRY_STEP = 3600
# Uploads being received: inside the media root, on the disk sized for photos, swept with it.
INCOMING_DIR = ".incoming"


class StorageError(Exception):
    """A key that does not name a file of ours."""


class Storage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...
    def url(self, key: str) -> str: ...
    def open(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def keys(self, older_than: float | None = None) -> list[str]: ...
    def remove_leftovers(self, older_than: float) -> int: ...


def new_key(suffix: str = "", ext: str = "jpg") -> str:
    """A random key spread over two folder levels (a county makes hundreds of thousands of photos)."""
    return f"{new_stem()}{suffix}.{ext}"


def new_stem() -> str:
    """The random part of a photo's keys, shared by its original and derivatives."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


# A photo is kept as three JPEGs: the full-size clean copy, the display size and the thumbnail.
VARIANTS = ("", "-display", "-thumb")


def variant_keys(stem: str) -> tuple[str, str, str]:
    """The storage keys of a photo's original, display and thumb files."""
    original, display, thumb = (f"{stem}{suffix}.jpg" for suffix in VARIANTS)
    return original, display, thumb


def stem_of(key: str) -> str:
    """The stem a storage key belongs to (the inverse of :func:`variant_keys`)."""
    base = key.rsplit(".", 1)[0]
    for suffix in VARIANTS[1:]:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise StorageError(f"not a media key: {key!r}")
    return key


class LocalStorage:
    """A folder (``WENMING_MEDIA_ROOT``)."""

    def __init__(self, root: str | os.PathLike[str], signer: UrlSigner | None = None) -> None:
        self.root = Path(root)
        self._signer = signer

    def url(self, key: str) -> str:
        """A URL that serves the file without a token, for a while (see :class:`UrlSigner`)."""
        if self._signer is None:
            raise StorageError("this storage was set up without a URL signer")
        return self._signer.url(key)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, older_than: float | None = None) -> list[str]:
        """Every media key stored, or only those last written before the epoch time ``older_than``."""
        if not self.root.exists():
            return []
        found = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if _KEY.match(key) and path.is_file() and (older_than is None or _mtime(path) < older_than):
                found.append(key)
        return sorted(found)

    def remove_leftovers(self, older_than: float) -> int:
        """Delete temporary files a crash left (half-written saves, unfinished uploads); returns how many."""
        if not self.root.exists():
            return 0
        removed = 0
        for path in self.root.rglob("*"):
            temporary = path.name.startswith(".tmp-") or path.parent.name == INCOMING_DIR
            if temporary and path.is_file() and _mtime(path) < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # gone meanwhile: nothing to do


class UrlSigner:
    """Unguessable, expiring media URLs that need no Authorization header.

    The signature covers the path and the expiry, not the host, so a URL works
    through every host of a deployment.
    """

    def __init__(self, key: bytes, base_url: str, ttl_s: int, prefix: str = "/media/files/") -> None:
        self._key = key
        self._base = base_url.rstrip("/")
        self._ttl = ttl_s
        self._prefix = prefix

    def _sig(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, key: str, now: float | None = None) -> str:
        path = self._prefix + check_key(key)
        expires = int((now if now is not None else time.time()) + self._ttl)
        if self._ttl >= 2 * EXPIRY_STEP:
            # Round up so a URL stays the same for an hour: phones and proxies can cache the
            # picture instead of downloading it again on every screen refresh.
            expires = -(-expires // EXPIRY_STEP) * EXPIRY_STEP
        return f"{self._base}{path}?e={expires}&s={self._sig(path, expires)}"

    def verify(self, path: str, expires: str, signature: str, now: float | None = None) -> bool:
        """True when the URL was made by us for this path and has not expired."""
        # The raw path is signed: only the prefix and a key, never a percent-escaped spelling of them.
        keyed = path.startswith(self._prefix) and _KEY.match(path[len(self._prefix) :]) is not None
        if not (keyed and _EXPIRES.fullmatch(expires) and _SIGNATURE.fullmatch(signature)):
            return False
        if int(expires) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(signature.encode(), self._sig(path, int(expires)).encode())

    def expiry(self, path: str, query: str, now: float | None = None) -> int | None:
        """The expiry (epoch seconds) of a URL we made, given its raw path and query; None when it is not one.

        Only the form :meth:`url` writes is taken, so that each file has one URL per expiry
        (caches key on it) and nothing unusual reaches int().
        """
        match = _SIGNED_QUERY.fullmatch(query)
        if match is None or not self.verify(path, match.group(1), match.group(2), now):
            return None
        return int(match.group(1))
