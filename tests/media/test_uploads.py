"""An upload prepared in one process and saved from another: only the path and the metadata cross."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from media.images import BadImage, ingest
from media.storage import LocalStorage
from media.uploads import prepare_upload, save_prepared
from tests.images import encode, scene

PICKLED_BOUND = 4096  # bytes of the result a pool process sends back; the JPEGs alone are ~100 KB here


def test_prepared_files_are_saved_as_ingest_made_them_and_then_removed(tmp_path: Path) -> None:
    upload = tmp_path / "upload-1"
    upload.write_bytes(encode(scene((1600, 1200)), "JPEG", quality=92))
    storage = LocalStorage(tmp_path / "media")

    prepared = prepare_upload(str(upload))
    stored = save_prepared(prepared, storage)
    expected = ingest(str(upload))

    assert len(pickle.dumps(prepared)) < PICKLED_BOUND
    assert [storage.open(key) for key in stored.keys] == [expected.original, expected.display, expected.thumb]
    assert (stored.image.sha256, stored.image.phash) == (expected.sha256, expected.phash)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media", "upload-1"]


def test_a_rejected_upload_leaves_nothing_beside_it(tmp_path: Path) -> None:
    upload = tmp_path / "upload-2"
    upload.write_bytes(encode(scene(), "JPEG")[:2000])  # cut off: the picture cannot be decoded

    with pytest.raises(BadImage):
        prepare_upload(str(upload))

    assert [p.name for p in tmp_path.iterdir()] == ["upload-2"]
