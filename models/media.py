"""Uploaded photos (the files live in storage, these rows point at them) and their content checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from media.images import Ingested, hamming
from media.storage import Storage, stem_of, variant_keys
from models.users import User
from server.kernel.errors import ApiError

log = logging.getLogger("wenming.media")
# Verdicts of WeChat's content checks, worst last; "pending" means asked, answer not in yet.
VERDICTS = ("pass", "unchecked", "review", "risky")
CHECK_STATES = ("unchecked", "pending", "pass", "review", "risky")
# The 64-bit perceptual hash is also stored as four 16-bit bands: two photos within
# three bits of each other share at least one band exactly (pigeonhole), which an
# index can find; farther near-duplicates are usually caught too, by chance.
PHASH_BANDS = 4
# Perceptual hashes this close are the same photo (re-encoded, resized, lightly edited).
NEAR_DUPLICATE_BITS = 6


# The key of a photo whose owner erased their account: its files are gone, the row stays
# for the submissions that listed it.
ERASED_KEY_PREFIX = "erased/"


class MediaNotYours(ApiError):
    status, code, message = 403, "media_not_yours", "只能使用自己上传的图片"


class Media(Model):
    """A photo someone uploaded, as the clean JPEGs in storage plus the evidence read from it."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="media", on_delete=fields.CASCADE
    )
    # Storage key stem: the files are <key>.jpg, <key>-display.jpg and <key>-thumb.jpg.
    key = fields.CharField(max_length=40, unique=True)
    width = fields.IntField()
    height = fields.IntField()
    content_type = fields.CharField(max_length=32)
    source_type = fields.CharField(max_length=32)
    size_bytes = fields.IntField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    phash = fields.CharField(max_length=16)
    phash_b0 = fields.IntField(db_index=True)
    phash_b1 = fields.IntField(db_index=True)
    phash_b2 = fields.IntField(db_index=True)
    phash_b3 = fields.IntField(db_index=True)
    # Evidence for reviewers, never served: when and where the photo was taken.
    taken_at = fields.DatetimeField(null=True)
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    check_trace_id = fields.CharField(max_length=64, null=True, unique=True)
    check_result = fields.CharField(max_length=16, default="unchecked")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    owner_id: int

    class Meta:
        table = "media"

    @property
    def original_key(self) -> str:
        return variant_keys(self.key)[0]

    @property
    def display_key(self) -> str:
        return variant_keys(self.key)[1]

    @property
    def thumb_key(self) -> str:
        return variant_keys(self.key)[2]

    @property
    def erased(self) -> bool:
        return self.key.startswith(ERASED_KEY_PREFIX)

    @property
    def verdict(self) -> str:
        """The check result as reviewers read it (an unanswered check is still unchecked)."""
        return "unchecked" if self.check_result == "pending" else self.check_result


def phash_bands(phash: str) -> dict[str, int]:
    return {f"phash_b{i}": int(phash[i * 4 : i * 4 + 4], 16) for i in range(PHASH_BANDS)}


def near_candidates(media: list[Media], via: str = "") -> Q:
    """Pictures that may be the same as one of ``media``: the same SHA-256 or a shared 16-bit band
    of the perceptual hash (indexed columns); ``same_picture`` decides. ``via`` reaches the media
    through a relation ("media__")."""
    match = Q(**{f"{via}sha256__in": sorted({m.sha256 for m in media})})
    values: dict[str, set[int]] = {}
    for m in media:
        for band, value in phash_bands(m.phash).items():
            values.setdefault(band, set()).add(value)
    for band, found in values.items():
        match |= Q(**{f"{via}{band}__in": sorted(found)})
    return match


def same_picture(a: Media, b: Media) -> bool:
    """The same photo, or a near-identical one (re-encoded, resized, lightly edited)."""
    return a.sha256 == b.sha256 or hamming(a.phash, b.phash) <= NEAR_DUPLICATE_BITS


def worst(verdicts: list[str]) -> str:
    """The combined verdict of several checks: the worst one wins."""
    return max(verdicts, key=VERDICTS.index, default="pass")


async def create_media(owner: User, stem: str, image: Ingested, size_bytes: int) -> Media:
    """The row for files already saved under ``stem`` (files first, then the row)."""
    return await Media.create(
        owner_id=owner.id,
        key=stem,
        width=image.width,
        height=image.height,
        content_type=image.content_type,
        source_type=image.source_type,
        size_bytes=size_bytes,
        sha256=image.sha256,
        phash=image.phash,
        **phash_bands(image.phash),
        taken_at=image.taken_at,
        lat=image.gps[0] if image.gps else None,
        lng=image.gps[1] if image.gps else None,
    )


async def owned_media(owner: User, media_ids: list[int]) -> list[Media]:
    """The caller's own media in the order given; anyone else's or unknown → 403 media_not_yours."""
    rows = {m.id: m for m in await Media.filter(id__in=media_ids, owner_id=owner.id)}
    if len(rows) != len(set(media_ids)):
        raise MediaNotYours()
    return [rows[i] for i in media_ids]


async def picture_columns(owner: User, media_id: str | None, name: str) -> dict[str, str | None]:
    """``<name>_media_id`` and ``<name>_key`` for a profile or cover picture: the owner's own photo, or none."""
    if media_id is None:
        return {f"{name}_media_id": None, f"{name}_key": None}
    (media,) = await owned_media(owner, [int(media_id)])
    return {f"{name}_media_id": str(media.id), f"{name}_key": media.key}


async def record_check(media: list[Media], ask: Callable[[Media], Awaitable[str]]) -> None:
    """Ask for each photo's content check (``ask`` returns WeChat's trace id) and remember the trace id.

    A photo WeChat could not take stays "unchecked": the reviewer sees that, nothing else fails.
    """
    for m in media:
        try:
            trace_id = await ask(m)
        except ApiError as exc:
            log.warning("media check not requested for media %s: %s", m.id, exc.code)
            continue
        await Media.filter(id=m.id, check_result="unchecked").update(check_trace_id=trace_id, check_result="pending")


@dataclass
class SweepResult:
    orphans: list[str]  # storage keys no media row points at
    leftovers: int  # temporary files of crashed writes and uploads
    kept: int  # files in use


SWEEP_BATCH = 500


async def sweep(storage: Storage, *, older_than: float, dry_run: bool = False) -> SweepResult:
    """Remove files no media row points at, written before ``older_than`` (epoch seconds).

    Files are saved before their row commits, so a young file without a row may be an
    upload in flight: only files older than the cut-off are considered.
    """
    keys = await asyncio.to_thread(storage.keys, older_than)
    by_stem: dict[str, list[str]] = {}
    for key in keys:
        by_stem.setdefault(stem_of(key), []).append(key)
    stems = sorted(by_stem)
    used: set[str] = set()
    for i in range(0, len(stems), SWEEP_BATCH):
        batch = stems[i : i + SWEEP_BATCH]
        used.update(await Media.filter(key__in=batch).values_list("key", flat=True))
    orphans = [key for stem in stems if stem not in used for key in by_stem[stem]]
    leftovers = 0
    if not dry_run:
        for key in orphans:
            await asyncio.to_thread(storage.delete, key)
        leftovers = await asyncio.to_thread(storage.remove_leftovers, older_than)
    return SweepResult(orphans=orphans, leftovers=leftovers, kept=len(keys) - len(orphans))
