"""From an uploaded file to clean files in storage.

The service runs the two halves apart: :func:`prepare_upload` in an image process
(``server.web.imagepool``, CPU-bound), which leaves the three JPEGs in files beside the upload,
then :func:`save_prepared` in a thread of the worker (I/O to local disk or S3, whose client
stays in the worker). Only the path and the metadata cross between the processes: 4-5 MB of JPEG
coming back through the pool's pipe held the worker's GIL for milliseconds at a time while it
was read and unpickled. :func:`store_upload` is all of it in one blocking call, for scripts.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from media.images import DEFAULT_MAX_PIXELS, Ingested, ingest
from media.storage import Storage, new_stem, variant_keys


@dataclass
class Stored:
    stem: str  # see media.storage.variant_keys
    image: Ingested

    @property
    def keys(self) -> tuple[str, str, str]:
        return variant_keys(self.stem)


@dataclass
class Prepared:
    """An ingested upload whose three JPEGs wait in files (see :func:`prepare_upload`)."""

    image: Ingested  # its original, display and thumb are empty: the bytes are in ``paths``
    paths: tuple[str, str, str]  # original, display, thumb


def prepare_upload(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Prepared:
    """:func:`media.images.ingest` the file at ``path`` and write the three JPEGs beside it.

    Raises ``ImageRejected`` subclasses for bad input, and then leaves no file behind."""
    image = ingest(path, max_pixels=max_pixels)
    paths = (f"{path}.original", f"{path}.display", f"{path}.thumb")
    try:
        for name, data in zip(paths, (image.original, image.display, image.thumb), strict=True):
            Path(name).write_bytes(data)
    except BaseException:
        remove_prepared(paths)
        raise
    return Prepared(replace(image, original=b"", display=b"", thumb=b""), paths)


def save_prepared(prepared: Prepared, storage: Storage) -> Stored:
    """Save the prepared files as :func:`save_ingested` does, then remove them (saved or not)."""
    try:
        original, display, thumb = (Path(name).read_bytes() for name in prepared.paths)
        return save_ingested(replace(prepared.image, original=original, display=display, thumb=thumb), storage)
    finally:
        remove_prepared(prepared.paths)


def remove_prepared(paths: tuple[str, ...]) -> None:
    for name in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def store_upload(path: str, storage: Storage, max_pixels: int = DEFAULT_MAX_PIXELS) -> Stored:
    """Validate and derive (see :func:`media.images.ingest`), then save the three files.

    Either all three files are saved or none is left behind. Raises
    ``ImageRejected`` subclasses for bad input.
    """
    return save_ingested(ingest(path, max_pixels=max_pixels), storage)


def save_ingested(image: Ingested, storage: Storage) -> Stored:
    """Save the three files of an ingested image under a new stem: all three or none."""
    stem = new_stem()
    saved: list[str] = []
    try:
        for key, data in zip(variant_keys(stem), (image.original, image.display, image.thumb), strict=True):
            storage.save(key, data)
            saved.append(key)
    except BaseException:
        remove_files(storage, saved)
        raise
    return Stored(stem=stem, image=image)


def remove_files(storage: Storage, keys: list[str] | tuple[str, ...]) -> None:
    for key in keys:
        storage.delete(key)
