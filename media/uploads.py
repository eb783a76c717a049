"""From an uploaded file to clean files in storage.

The service runs the two halves apart: :func:`media.images.ingest` in an image process
(``server.web.imagepool``, CPU-bound), then :func:`save_ingested` in a thread of the worker
(I/O to local disk or S3, whose client stays in the worker). :func:`store_upload` is both in one
blocking call, for scripts.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.images import DEFAULT_MAX_PIXELS, Ingested, ingest
from media.storage import Storage, new_stem, variant_keys


@dataclass
class Stored:
    stem: str  # see media.storage.variant_keys
    image: Ingested

    @property
    def keys(self) -> tuple[str, str, str]:
        return variant_keys(self.stem)


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
