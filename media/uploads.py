"""From an uploaded file to clean files in storage: one blocking call for a worker thread."""

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
    image = ingest(path, max_pixels=max_pixels)
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
