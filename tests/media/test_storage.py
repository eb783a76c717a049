"""Local storage writes atomically; signed URLs cannot be forged, moved or kept past expiry."""

import os
from urllib.parse import parse_qs, urlsplit

import pytest

from media.storage import LocalStorage, StorageError, UrlSigner, new_key


def test_save_open_delete_round_trip(tmp_path):
    storage = LocalStorage(tmp_path)
    key = new_key("-thumb")
    storage.save(key, b"\xff\xd8photo")
    assert storage.open(key) == b"\xff\xd8photo"
    assert storage.keys() == [key]
    storage.delete(key)
    assert storage.keys() == []


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path)
    key = new_key()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        storage.save(key, b"data")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "ab/cd/../../x.jpg", "/abs.jpg", "ab/cd/short.jpg", ""])
def test_keys_outside_the_scheme_are_refused(tmp_path, key):
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).open(key)


def _parts(url):
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, query["e"][0], query["s"][0]


def test_signed_url_verifies_on_any_host():
    signer = UrlSigner(b"k" * 32, "https://a.example.cn", ttl_s=60)
    path, expires, sig = _parts(signer.url(new_key(), now=1000))
    assert signer.verify(path, expires, sig, now=1000)
    other_host = UrlSigner(b"k" * 32, "https://b.example.cn", ttl_s=60)
    assert other_host.verify(path, expires, sig, now=1000)


def test_expired_url_fails():
    signer = UrlSigner(b"k" * 32, "http://h", ttl_s=60)
    path, expires, sig = _parts(signer.url(new_key(), now=1000))
    assert not signer.verify(path, expires, sig, now=1061)


def test_tampered_url_fails():
    signer = UrlSigner(b"k" * 32, "http://h", ttl_s=60)
    path, expires, sig = _parts(signer.url(new_key(), now=1000))
    assert not signer.verify(path.replace(".jpg", "-x.jpg"), expires, sig, now=1000)
    assert not signer.verify(path, str(int(expires) + 3600), sig, now=1000)
    assert not signer.verify(path, expires, "0" * 32, now=1000)
    assert not signer.verify(path, "soon", sig, now=1000)


@pytest.mark.parametrize("expires", ["²", "9" * 5000, "0{e}", "{arabic}", " {e}", "+{e}"])
def test_only_the_written_expiry_verifies(expires):
    signer = UrlSigner(b"k" * 32, "http://h", ttl_s=60)
    path, real, sig = _parts(signer.url(new_key(), now=1000))
    arabic = "".join(chr(0x0660 + int(d)) for d in real)
    assert not signer.verify(path, expires.format(e=real, arabic=arabic), sig, now=1000)
    assert signer.expiry(path, f"e={real}&s={sig}", now=1000) == int(real)
    assert signer.expiry(path, f"s={sig}&e={real}", now=1000) is None
