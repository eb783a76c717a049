"""Malformed images through the pipeline (issue "Hardening", item 3).

A corpus of broken pictures, built here deterministically from small valid seeds (JPEG with
EXIF/GPS/orientation, progressive, CMYK, ICC-tagged; PNG RGBA, palette + tRNS, 16-bit, ICC +
eXIf; WebP lossy, lossless, animated, with metadata; HEIC), each mutated in named ways: bit flips,
byte runs of 0x00/0xFF, truncation, markers/chunks removed, duplicated or swapped, length fields
set to huge values, declared sizes of 2^31-1 / 65535x65535 / 0x0 / VP8X maxima, ICC profiles of
megabytes of garbage or with huge tag counts and nested LUTs, EXIF with looping or deep IFDs, an
APP1 claiming 65535 bytes, a valid header followed by megabytes of zeros, a progressive JPEG with
thousands of scans, empty files ...

Every case must come out of :func:`media.images.ingest` either as clean JPEGs (decoded here: no
EXIF, no ICC) or as an ``ImageRejected`` (400/415) — within :data:`CASE_TIMEOUT` seconds. Any other
exception, a hang or a slow case fails the test, named ``seed/mutation#n``; rebuild its bytes with
``case_bytes(seed, mutation, n)`` from this module to reproduce it. A smaller subset goes through
POST /api/v1/media: 201/400/413/415 in the error shape, never a 500, nothing left behind.
"""

from __future__ import annotations

import asyncio
import functools
import io
import random
import re
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import pytest
from PIL import Image, ImageCms

import media.images
from media.images import DEFAULT_MAX_PIXELS, ImageRejected, Ingested, ingest, sniff
from models.media import Media
from tests.conftest import Reply
from tests.images import encode, phone_exif, phone_photo, png_chunk, scene

pytestmark = [
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),  # Pillow on corrupt EXIF, malformed MPO, ...
]

CASE_TIMEOUT = 5.0  # seconds per file, parse + decode + three JPEG encodes
HANG_GRACE = 60.0  # how long a failing run waits for overrunning cases, so they do not slow the next tests
MB = 1024 * 1024


def built_in_profile(name: str) -> bytes:
    """A littleCMS built-in profile with a fixed creation date and no ID, so the corpus is the same on every run."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile(name)).tobytes()
    return profile[:24] + struct.pack(">6H", 2024, 5, 1, 0, 0, 0) + profile[36:84] + bytes(16) + profile[100:]


SRGB_ICC = built_in_profile("sRGB")


# --- seeds: small valid pictures of every kind the service accepts -------------------------------


def _big_icc() -> bytes:
    """A valid sRGB profile padded to ~150 KB: three APP2 segments in a JPEG."""
    padded = SRGB_ICC + bytes(150_000)
    return struct.pack(">I", len(padded)) + padded[4:]


def _png_rgb16() -> bytes:
    w, h = 64, 48
    rows = b"".join(
        b"\x00" + b"".join(struct.pack(">HHH", x * 1000, y * 1300, (x * y) % 65536) for x in range(w)) for y in range(h)
    )
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def _png_gray16() -> bytes:
    return encode(scene((96, 72)).convert("L").convert("I").point(lambda v: v * 257).convert("I;16"), "PNG")


def _png_palette() -> bytes:
    img = scene((96, 72), seed=1).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return encode(img, "PNG", transparency=0)


def _png_rgba() -> bytes:
    img = scene((96, 72)).convert("RGBA")
    img.putalpha(Image.linear_gradient("L").resize((96, 72)))
    return encode(img, "PNG")


def _webp_animated() -> bytes:
    frames = [scene((96, 72), seed=i) for i in range(3)]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0, quality=60)


def _heic(**params) -> bytes | None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return encode(scene((96, 72)), "HEIF", quality=50, **params)
    except (ImportError, OSError, KeyError, ValueError, RuntimeError):  # no HEVC encoder in this build
        return None


SEEDS: dict[str, Callable[[], bytes | None]] = {
    "jpeg_exif": lambda: phone_photo((96, 72)),
    "jpeg_progressive": lambda: encode(scene((128, 96), seed=1), "JPEG", quality=80, progressive=True, optimize=True),
    "jpeg_cmyk": lambda: encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", quality=90),
    "jpeg_icc": lambda: encode(scene((96, 72)), "JPEG", icc_profile=SRGB_ICC, exif=phone_exif()),
    "jpeg_big_icc": lambda: encode(scene((96, 72), seed=1), "JPEG", icc_profile=_big_icc()),
    "png_rgba": _png_rgba,
    "png_palette_trns": _png_palette,
    "png_gray16": _png_gray16,
    "png_rgb16": _png_rgb16,
    "png_icc_exif": lambda: encode(scene((96, 72)), "PNG", icc_profile=SRGB_ICC, exif=phone_exif()),
    "webp_lossy": lambda: encode(scene((96, 72)), "WEBP", quality=70),
    "webp_lossless": lambda: encode(scene((64, 48), seed=1), "WEBP", lossless=True),
    "webp_animated": _webp_animated,
    "webp_meta": lambda: encode(scene((96, 72)), "WEBP", quality=70, exif=phone_exif(), icc_profile=SRGB_ICC),
    "heic": _heic,
    "heic_exif": lambda: _heic(exif=phone_exif()),
}


@functools.cache
def seed_bytes(name: str) -> bytes | None:
    """The seed's bytes; None for a HEIC seed when this pillow-heif cannot encode HEIC."""
    return b"" if name == "synthetic" else SEEDS[name]()


# --- containers: where the chunks / segments / boxes of a file are -------------------------------


@dataclass
class Chunk:
    start: int
    end: int
    kind: bytes  # JPEG: the marker byte; PNG/WebP/HEIC: the four-character code
    len_at: int | None = None  # offset of the length field, None for standalone JPEG markers


_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def kind_of(data: bytes) -> str:
    return {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}[sniff(data[:64])]


def chunks(data: bytes) -> list[Chunk]:
    kind = kind_of(data)
    out: list[Chunk] = []
    if kind == "jpeg":
        pos = 0
        while pos + 2 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD8, 0xD9, 0x01) or 0xD0 <= marker <= 0xD7:
                out.append(Chunk(pos, pos + 2, bytes([marker])))
                pos += 2
                continue
            end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
            if marker == 0xDA:  # the entropy-coded data runs to the next real marker
                found = _JPEG_NEXT_MARKER.search(data, end)
                end = found.start() if found else len(data)
            out.append(Chunk(pos, min(end, len(data)), bytes([marker]), pos + 2))
            pos = end
    elif kind == "png":
        pos = 8
        while pos + 12 <= len(data):
            length = int.from_bytes(data[pos : pos + 4], "big")
            out.append(Chunk(pos, pos + 12 + length, data[pos + 4 : pos + 8], pos))
            pos += 12 + length
    elif kind == "webp":
        pos = 12
        while pos + 8 <= len(data):
            size = int.from_bytes(data[pos + 4 : pos + 8], "little")
            out.append(Chunk(pos, pos + 8 + size + (size & 1), data[pos : pos + 4], pos + 4))
            pos += 8 + size + (size & 1)
    else:  # HEIC: the boxes we know, wherever they are nested
        for fourcc in (b"ftyp", b"meta", b"hdlr", b"pitm", b"iloc", b"iinf", b"infe", b"iprp", b"ipco", b"hvcC"):
            out += _boxes(data, fourcc)
        for fourcc in (b"ispe", b"ipma", b"colr", b"pixi", b"mdat", b"Exif", b"iref", b"idat"):
            out += _boxes(data, fourcc)
    return out


def _boxes(data: bytes, fourcc: bytes) -> list[Chunk]:
    found = []
    for m in re.finditer(re.escape(fourcc), data):
        start = m.start() - 4
        size = int.from_bytes(data[start : start + 4], "big") if start >= 0 else 0
        if 8 <= size <= len(data) - start:
            found.append(Chunk(start, start + size, fourcc, start))
    return found


def header_end(data: bytes) -> int:
    """Where the picture data starts: after the headers, before the pixels."""
    for c in chunks(data):
        if c.kind == b"\xda":
            return c.start + 2 + int.from_bytes(data[c.start + 2 : c.start + 4], "big")
        if c.kind in (b"IDAT", b"VP8 ", b"VP8L", b"ANMF", b"mdat"):
            return c.start + 8
    return len(data) // 2


def riff(body_chunks: list[bytes]) -> bytes:
    body = b"WEBP" + b"".join(body_chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def without(data: bytes, pick: Callable[[Chunk], bool]) -> bytes:
    out, pos = [], 0
    for c in chunks(data):
        if pick(c):
            out.append(data[pos : c.start])
            pos = c.end
    return b"".join(out) + data[pos:]


def png_with(data: bytes, kind: bytes, body: bytes | None, *, after: bytes = b"IHDR") -> bytes:
    """The PNG with its ``kind`` chunks replaced by one with ``body`` (None: just removed)."""
    parts = [data[:8]]
    placed = body is None
    for c in chunks(data):
        if c.kind == kind:
            continue
        parts.append(data[c.start : c.end])
        if c.kind == after and not placed:
            parts.append(png_chunk(kind, body))
            placed = True
    return b"".join(parts)


def webp_with(data: bytes, fourcc: bytes, payload: bytes | None) -> bytes:
    """The WebP with the ``fourcc`` chunk's payload replaced (None: removed); sizes recomputed."""
    out = []
    for c in chunks(data):
        if c.kind == fourcc:
            if payload is not None:
                out.append(webp_chunk(fourcc, payload))
        else:
            out.append(data[c.start : c.end])
    return riff(out)


def jpeg_with(data: bytes, segments: list[bytes], *, drop: Callable[[Chunk], bool] = lambda c: False) -> bytes:
    """The JPEG with ``segments`` inserted right after SOI and the segments ``drop`` picks removed."""
    rest = without(data, drop)
    return rest[:2] + b"".join(segments) + rest[2:]


# --- EXIF (TIFF) with looping, deep and lying IFDs ------------------------------------------------

BYTE, ASCII, SHORT, LONG, RATIONAL = 1, 2, 3, 4, 5
ORIENTATION, MAKE, EXIF_IFD, GPS_IFD, INTEROP_IFD = 0x0112, 0x010F, 0x8769, 0x8825, 0xA005
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011


def ifd(entries: list[tuple[int, int, int, int | bytes]], next_ifd: int, e: str = "<") -> bytes:
    out = struct.pack(e + "H", len(entries))
    for tag, typ, count, value in entries:
        if isinstance(value, int):
            value = struct.pack(e + "H", value) if typ == SHORT and count == 1 else struct.pack(e + "I", value)
        out += struct.pack(e + "HHI", tag, typ, count) + value.ljust(4, b"\x00")[:4]
    return out + struct.pack(e + "I", next_ifd)


def ifd_size(n_entries: int) -> int:
    return 2 + 12 * n_entries + 4


def tiff(e: str, first: int, body: bytes) -> bytes:
    return (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", first) + body


def evil_exif(n: int) -> bytes:
    """TIFF bytes (no "Exif\\0\\0" prefix) of EXIF variant ``n``."""
    return EXIF_VARIANTS[n % len(EXIF_VARIANTS)]()


def _exif_self_loop() -> bytes:
    return tiff("<", 8, ifd([(ORIENTATION, SHORT, 1, 6)], 8))


def _exif_subifds_to_ifd0(e: str = "<") -> bytes:
    return tiff(e, 8, ifd([(ORIENTATION, SHORT, 1, 6), (EXIF_IFD, LONG, 1, 8), (GPS_IFD, LONG, 1, 8)], 8, e))


def _exif_gps_self() -> bytes:
    gps_at = 8 + ifd_size(1)
    ifd0 = ifd([(GPS_IFD, LONG, 1, gps_at)], gps_at)
    gps = ifd([(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, 8), (4, RATIONAL, 3, gps_at), (GPS_IFD, LONG, 1, gps_at)], 8)
    return tiff("<", 8, ifd0 + gps)


def _exif_deep_chain(depth: int = 400) -> bytes:
    size = ifd_size(1)
    body = b"".join(
        ifd([(ORIENTATION, SHORT, 1, 1 + i % 8)], 8 + (i + 1) * size if i < depth - 1 else 8) for i in range(depth)
    )
    return tiff("<", 8, body)


def _exif_deep_nesting(depth: int = 400) -> bytes:
    size = ifd_size(2)
    body = b"".join(
        ifd([(EXIF_IFD, LONG, 1, 8 + (i + 1) * size if i < depth - 1 else 8), (INTEROP_IFD, LONG, 1, 8 + i * size)], 0)
        for i in range(depth)
    )
    return tiff("<", 8, body)


def _exif_huge_entry_count() -> bytes:
    body = ifd([(ORIENTATION, SHORT, 1, 6), (MAKE, ASCII, 4, b"abc\x00")], 0)
    return tiff("<", 8, b"\xff\xff" + body[2:])


def _exif_huge_value_counts() -> bytes:
    return tiff(
        "<", 8, ifd([(MAKE, ASCII, 0x7FFFFFFF, 40), (0x011A, RATIONAL, 0x10000000, 8), (EXIF_IFD, LONG, 1, 8)], 0)
    )


def _exif_wild_offsets() -> bytes:
    return tiff("<", 8, ifd([(EXIF_IFD, LONG, 1, 0xFFFFFFFF), (GPS_IFD, LONG, 1, 0x7FFFFFFF)], 0xFFFFFFF0))


def _exif_ifd0_in_header() -> bytes:
    return tiff("<", 0, ifd([(ORIENTATION, SHORT, 1, 3)], 0))


def _exif_orientation_odd() -> bytes:
    return tiff(
        "<",
        8,
        ifd([(ORIENTATION, SHORT, 1000, 8), (MAKE, ASCII, 3, b"ab\x00")], 0) + bytes(2000),
    )


def _exif_orientation_values() -> bytes:
    sub_at = 8 + ifd_size(2)
    return tiff("<", 8, ifd([(ORIENTATION, SHORT, 1, 65535), (EXIF_IFD, LONG, 1, sub_at)], 0) + ifd([], 0))


def _exif_datetime_garbage() -> bytes:
    sub_at = 8 + ifd_size(1)
    text_at = sub_at + ifd_size(2)
    sub = ifd([(DATETIME_ORIGINAL, ASCII, 60_000, text_at), (OFFSET_TIME_ORIGINAL, ASCII, 4, b"+99\x00")], 0)
    return tiff("<", 8, ifd([(EXIF_IFD, LONG, 1, sub_at)], 0) + sub + b"9999:99:99 99:99:99" + b"\xff" * 59_981)


def _exif_gps_zero_denominators() -> bytes:
    gps_at = 8 + ifd_size(1)
    lat_at = gps_at + ifd_size(4)
    lng_at = lat_at + 24
    gps = ifd([(1, ASCII, 2, b"S\x00"), (2, RATIONAL, 3, lat_at), (3, SHORT, 1, 0xFFFF), (4, RATIONAL, 3, lng_at)], 0)
    lat = struct.pack("<6I", 1, 0, 0, 0, 0xFFFFFFFF, 1)
    lng = struct.pack("<6I", 0xFFFFFFFF, 1, 0xFFFFFFFF, 1, 0xFFFFFFFF, 1)
    return tiff("<", 8, ifd([(GPS_IFD, LONG, 1, gps_at)], 0) + gps + lat + lng)


def _exif_bogus_types() -> bytes:
    return tiff("<", 8, ifd([(ORIENTATION, 0, 1, 6), (MAKE, 13, 0x1000000, 8), (EXIF_IFD, 255, 1, 8)], 0))


EXIF_VARIANTS: list[Callable[[], bytes]] = [
    _exif_self_loop,
    _exif_subifds_to_ifd0,
    _exif_gps_self,
    _exif_deep_chain,
    _exif_deep_nesting,
    _exif_huge_entry_count,
    _exif_huge_value_counts,
    _exif_wild_offsets,
    _exif_ifd0_in_header,
    _exif_orientation_odd,
    _exif_orientation_values,
    _exif_datetime_garbage,
    _exif_gps_zero_denominators,
    _exif_bogus_types,
    lambda: _exif_subifds_to_ifd0(">"),
]


# --- ICC profiles: megabytes of garbage, lying headers, deep LUTs ---------------------------------


def icc_with(base: bytes, extra: list[tuple[bytes, bytes]], *, tag_count: int | None = None) -> bytes:
    """``base`` (a valid profile) with tags added or replaced; offsets and sizes recomputed."""
    n = int.from_bytes(base[128:132], "big")
    tags = {}
    for i in range(n):
        sig, off, size = struct.unpack(">4sII", base[132 + 12 * i : 144 + 12 * i])
        tags[sig] = base[off : off + size]
    tags.update(extra)
    table_end = 132 + 12 * len(tags)
    entries, data, pos = [], b"", table_end
    for sig, body in tags.items():
        entries.append(struct.pack(">4sII", sig, pos, len(body)))
        padded = body + b"\x00" * (-len(body) % 4)
        data += padded
        pos += len(padded)
    count = len(tags) if tag_count is None else tag_count
    profile = base[4:128] + struct.pack(">I", count) + b"".join(entries) + data
    return struct.pack(">I", len(profile) + 4) + profile


def evil_icc(n: int, rng: random.Random, *, compressible: bool = False) -> bytes:
    """ICC profile variant ``n``; the garbage ones are 1-16 MB (``compressible``: a repeated block, for PNG)."""
    variant = n % 15
    if variant < 4:
        size = (1_000_000, 2 * MB, 4 * MB, 16 * MB)[variant]  # the first fits Pillow's 1 MiB cap on PNG iCCP
        if compressible or variant == 3:
            block = rng.randbytes(8192)
            return (block * (size // len(block) + 1))[:size]
        return rng.randbytes(size)
    if variant == 4:  # a real header, then a tag table claiming 4 billion tags
        return icc_with(SRGB_ICC, [], tag_count=0xFFFFFFFF)
    if variant == 5:  # a real profile declaring itself 4 GB long
        return b"\xff\xff\xff\xff" + SRGB_ICC[4:]
    if variant == 6:  # A2B0 lut16: 15 in, 15 out, 255 grid points (255^15 entries), no table data
        lut = b"mft2" + bytes(4) + bytes([15, 15, 255, 0]) + struct.pack(">9i", *([65536, 0, 0, 0] * 3)[:9])
        return icc_with(SRGB_ICC, [(b"A2B0", lut + struct.pack(">HH", 4096, 4096) + bytes(64))])
    if variant == 7:  # A2B0 lutAtoB whose element offsets point back at itself; a CLUT of 255^3 cells
        mab = b"mAB " + bytes(4) + bytes([3, 3, 0, 0]) + struct.pack(">5I", 0, 0, 0, 32, 0)
        clut = bytes([255, 255, 255] + [0] * 13) + bytes([2, 0, 0, 0]) + bytes(256)
        return icc_with(SRGB_ICC, [(b"A2B0", mab + clut), (b"A2B1", mab), (b"B2A0", mab)])
    if variant == 8:  # 3000 tags all sharing one 20-byte XYZ body
        table = b"".join(
            struct.pack(">4sII", struct.pack(">I", 0x41000000 + i), 132 + 12 * 3000, 20) for i in range(3000)
        )
        body = SRGB_ICC[4:128] + struct.pack(">I", 3000) + table + b"XYZ " + bytes(16)
        return struct.pack(">I", len(body) + 4) + body
    if variant == 9:  # the red TRC claiming 4 billion entries
        return icc_with(SRGB_ICC, [(b"rTRC", b"curv" + bytes(4) + b"\xff\xff\xff\xff" + bytes(64))])
    if variant == 10:
        return built_in_profile("LAB")
    if variant == 11:
        return built_in_profile("XYZ")
    if variant == 12:
        return SRGB_ICC[: rng.randrange(20, len(SRGB_ICC))]
    if variant == 13:  # an RGB profile saying it is for CMYK data
        return SRGB_ICC[:16] + b"CMYK" + SRGB_ICC[20:]
    # variant 14: the description as a multi-localised string with 4 billion records
    return icc_with(SRGB_ICC, [(b"desc", b"mluc" + bytes(4) + b"\xff\xff\xff\xff" + struct.pack(">I", 12) + bytes(64))])


def jpeg_icc_segments(profile: bytes, *, total: int | None = None) -> list[bytes]:
    """APP2 ICC_PROFILE segments carrying ``profile`` (``total``: the declared number of segments)."""
    parts = [profile[i : i + 65519] for i in range(0, len(profile), 65519)] or [b""]
    if total is not None:
        parts = parts[:16]
    declared = total or len(parts)
    return [jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes([i + 1, declared & 0xFF]) + p) for i, p in enumerate(parts)]


# --- mutations -----------------------------------------------------------------------------------
# Each takes the seed's bytes, a random generator seeded by the case's name, and the case number.

Mutation = Callable[[bytes, random.Random, int], bytes]


def m_bitflip(data: bytes, rng: random.Random, n: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        i = rng.randrange(min(12, len(out) - 1), len(out))  # mostly past the magic, so the decoders see it
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def m_overwrite(data: bytes, rng: random.Random, n: int) -> bytes:
    out = bytearray(data)
    at = rng.randrange(8, len(out))
    run = min(rng.choice((1, 4, 16, 64, 256)), len(out) - at)
    out[at : at + run] = bytes([rng.choice((0x00, 0xFF))]) * run
    return bytes(out)


def m_truncate(data: bytes, rng: random.Random, n: int) -> bytes:
    return data[: rng.randrange(1, len(data))]


def m_drop_chunk(data: bytes, rng: random.Random, n: int) -> bytes:
    victim = rng.choice(chunks(data)[1:] or chunks(data))
    return data[: victim.start] + data[victim.end :]


def m_dup_chunk(data: bytes, rng: random.Random, n: int) -> bytes:
    c = rng.choice(chunks(data))
    return data[: c.end] + data[c.start : c.end] * rng.choice((1, 2, 50)) + data[c.end :]


def m_swap_chunks(data: bytes, rng: random.Random, n: int) -> bytes:
    found = [c for c in chunks(data) if kind_of(data) != "heic" or c.kind in (b"meta", b"mdat", b"ftyp")]
    if len(found) < 2:
        return data[::-1]
    a, b = sorted(rng.sample(found, 2), key=lambda c: c.start)
    if a.end > b.start:
        return data
    return data[: a.start] + data[b.start : b.end] + data[a.end : b.start] + data[a.start : a.end] + data[b.end :]


def m_huge_length(data: bytes, rng: random.Random, n: int) -> bytes:
    """A chunk/segment/box length field set to something huge (or absurdly small)."""
    kind = kind_of(data)
    found = [c for c in chunks(data) if c.len_at is not None]
    c = rng.choice(found)
    out = bytearray(data)
    if kind == "jpeg":
        out[c.len_at : c.len_at + 2] = struct.pack(">H", rng.choice((0xFFFF, 0xFFFE, 0, 1, 2)))
    elif kind == "png":
        out[c.len_at : c.len_at + 4] = struct.pack(">I", rng.choice((0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 0)))
    elif kind == "webp":
        at = rng.choice((c.len_at, 4))  # the chunk's size, or the RIFF size itself
        out[at : at + 4] = struct.pack("<I", rng.choice((0xFFFFFFFF, 0xFFFFFFF6, 0x7FFFFFFF, 0, 1)))
    else:
        out[c.len_at : c.len_at + 4] = struct.pack(">I", rng.choice((0xFFFFFFFF, 0x7FFFFFFF, 0, 1, 7)))
        if out[c.len_at : c.len_at + 4] == b"\x00\x00\x00\x01":  # 64-bit "largesize" follows the type
            out[c.len_at + 8 : c.len_at + 8] = b"\xff" * 8
    return bytes(out)


def m_zeros_after_header(data: bytes, rng: random.Random, n: int) -> bytes:
    """A valid header, then megabytes of zeros where the pixels should be."""
    return data[: header_end(data)] + bytes(rng.choice((1, 2, 3)) * MB)


def m_trailing_zeros(data: bytes, rng: random.Random, n: int) -> bytes:
    return data + bytes(rng.choice((1, 2)) * MB)


def m_splice(data: bytes, rng: random.Random, n: int) -> bytes:
    donor = seed_bytes(rng.choice([s for s in SEEDS if not s.startswith("heic")]))
    assert donor is not None
    at, take = rng.randrange(8, len(data)), rng.randrange(0, len(donor) - 64)
    return data[:at] + donor[take : take + rng.choice((16, 64, 512))] + data[at:]


GENERIC: dict[str, tuple[Mutation, int]] = {  # name: (mutation, cases per seed)
    "bitflip": (m_bitflip, 5),
    "overwrite": (m_overwrite, 2),
    "truncate": (m_truncate, 3),
    "drop_chunk": (m_drop_chunk, 2),
    "dup_chunk": (m_dup_chunk, 1),
    "swap_chunks": (m_swap_chunks, 1),
    "huge_length": (m_huge_length, 2),
    "zeros_after_header": (m_zeros_after_header, 1),
    "trailing_zeros": (m_trailing_zeros, 1),
    "splice": (m_splice, 1),
}


# JPEG ---------------------------------------------------------------------------------------------

JPEG_SIZES = [(65500, 65500), (65500, None), (None, 65500), (0, None), (None, 0), (1, 65500), (65535, 65535), (0, 0)]


def _sof(data: bytes) -> Chunk:
    return next(c for c in chunks(data) if c.kind[0] in (0xC0, 0xC1, 0xC2))


def jpeg_sof_size(data: bytes, rng: random.Random, n: int) -> bytes:
    h, w = JPEG_SIZES[n % len(JPEG_SIZES)]
    sof, out = _sof(data), bytearray(data)
    old_h, old_w = struct.unpack(">HH", data[sof.start + 5 : sof.start + 9])
    out[sof.start + 5 : sof.start + 9] = struct.pack(">HH", old_h if h is None else h, old_w if w is None else w)
    return bytes(out)


def jpeg_sof_type(data: bytes, rng: random.Random, n: int) -> bytes:
    sof, out = _sof(data), bytearray(data)
    out[sof.start + 1] = (0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCA, 0xCB, 0xCF, 0xF7, 0xC0)[n % 10]
    return bytes(out)


def jpeg_sof_fields(data: bytes, rng: random.Random, n: int) -> bytes:
    sof, out = _sof(data), bytearray(data)
    s = sof.start
    if n == 0:
        out[s + 9] = 0  # no components
    elif n == 1:
        out[s + 9] = 255  # 255 components in a 3-component segment
    elif n == 2:
        out[s + 11] = 0x00  # sampling factors 0x0
    elif n == 3:
        out[s + 11] = 0xFF  # sampling factors 15x15
    elif n == 4:
        out[s + 12] = 3  # a quantisation table never defined
    elif n == 5:
        out[s + 4] = 12  # 12-bit precision
    elif n == 6:
        out[s + 4] = 16
    else:
        out[s + 4] = 0
    return bytes(out)


def jpeg_drop_marker(data: bytes, rng: random.Random, n: int) -> bytes:
    marker = (0xDB, 0xC4, 0xC0, 0xDA, 0xD9, 0xE0)[n % 6]
    return without(data, lambda c: c.kind[0] == marker or (marker == 0xC0 and c.kind[0] in (0xC0, 0xC2)))


def jpeg_dup_marker(data: bytes, rng: random.Random, n: int) -> bytes:
    sof = _sof(data)
    if n == 0:  # a second SOF declaring another size
        other = bytearray(data[sof.start : sof.end])
        other[5:9] = struct.pack(">HH", 30000, 30000)
        return data[: sof.end] + bytes(other) + data[sof.end :]
    if n == 1:  # SOI twice
        return data[:2] + data
    if n == 2:  # EOI right after the frame header
        return data[: sof.end] + b"\xff\xd9" + data[sof.end :]
    if n == 3:  # restart interval 1 with no RST markers in the data
        return data[: sof.end] + jpeg_segment(0xDD, b"\x00\x01") + data[sof.end :]
    if n == 4:  # every segment before the scan, twice
        first_scan = next(c for c in chunks(data) if c.kind == b"\xda")
        return data[: first_scan.start] + data[2 : first_scan.start] + data[first_scan.start :]
    # thousands of empty APP15 and COM segments
    return data[:2] + (jpeg_segment(0xEF, b"") + jpeg_segment(0xFE, b"x")) * 4000 + data[2:]


def jpeg_bad_tables(data: bytes, rng: random.Random, n: int) -> bytes:
    if n == 0:  # Huffman counts summing to more than 256 symbols
        table = jpeg_segment(0xC4, b"\x00" + bytes([255] * 16) + bytes(40))
    elif n == 1:  # a Huffman table with too many codes of length 1
        table = jpeg_segment(0xC4, b"\x10" + bytes([3] + [0] * 15) + b"\x00\x01\x02")
    elif n == 2:  # a 16-bit quantisation table cut short
        table = jpeg_segment(0xDB, b"\x10" + bytes(20))
    else:  # quantisation table id 15
        table = jpeg_segment(0xDB, b"\x0f" + bytes(range(1, 65)))
    sof = _sof(data)
    return data[: sof.start] + table + data[sof.start :]


def jpeg_app1_65535(data: bytes, rng: random.Random, n: int) -> bytes:
    """An APP1 claiming 65535 bytes: with fewer bytes behind it, or 65533 bytes of half-EXIF."""
    if n == 0:
        return data[:2] + b"\xff\xe1\xff\xffExif\x00\x00II*\x00\x08\x00\x00\x00" + data[2:]
    body = b"Exif\x00\x00" + _exif_subifds_to_ifd0() + rng.randbytes(65533 - 6 - 26)
    return jpeg_with(data, [b"\xff\xe1\xff\xff" + body], drop=lambda c: c.kind == b"\xe1")


def jpeg_exif(data: bytes, rng: random.Random, n: int) -> bytes:
    return jpeg_with(data, [jpeg_segment(0xE1, b"Exif\x00\x00" + evil_exif(n))], drop=lambda c: c.kind == b"\xe1")


def jpeg_icc(data: bytes, rng: random.Random, n: int) -> bytes:
    profile = evil_icc(n, rng)
    segments = jpeg_icc_segments(profile, total=255 if len(profile) >= 16 * MB else None)
    return jpeg_with(data, segments, drop=lambda c: c.kind == b"\xe2")


def jpeg_icc_chunk_numbers(data: bytes, rng: random.Random, n: int) -> bytes:
    """ICC segments numbered wrongly: 0 of 0, duplicated numbers, 3 of 2."""
    body = SRGB_ICC
    seq = ((0, 0), (1, 1), (3, 2), (255, 255))[n % 4]
    segs = [jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes(seq) + body)] * (2 if n == 1 else 1)
    return jpeg_with(data, segs, drop=lambda c: c.kind == b"\xe2")


def jpeg_mpf(data: bytes, rng: random.Random, n: int) -> bytes:
    """An MPF (multi-picture) APP2 that makes Pillow open the file as MPO, with lying entries."""
    count, offset, size = ((2, 0xFFFFFFF0, 0xFFFFFFFF), (0xFFFFFFFF, 0, 16), (3, 0, len(data)))[n % 3]
    e = ">"
    entries_at = 8 + ifd_size(3)
    mpentries = struct.pack(e + "IIIHH", 0x20030000, len(data), 0, 0, 0) + struct.pack(
        e + "IIIHH", 0x00000000, size, offset, 0, 0
    )
    mp_ifd = ifd([(0xB000, 7, 4, b"0100"), (0xB001, LONG, 1, count), (0xB002, 7, 16 * 2, entries_at)], 0, e)
    body = b"MPF\x00" + b"MM\x00*" + struct.pack(e + "I", 8) + mp_ifd + mpentries
    return jpeg_with(data, [jpeg_segment(0xE2, body)])


def jpeg_scan_bomb(data: bytes, rng: random.Random, n: int) -> bytes:
    """A progressive 6000x6000 greyscale JPEG (36 MP, under the pixel limit) made of nothing but
    scans: each empty AC scan makes libjpeg walk all 562,500 blocks, ~12 bytes per scan.

    #0 has 20 scans (well under a second); #1 has 4000 scans in 48 KB and keeps a core busy for
    ~10 s (it grows linearly: 1 MB of such scans is minutes), a denial of service with one upload."""
    w = h = 6000
    scans = (20, 4000)[n % 2]
    dqt = jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)
    sof = jpeg_segment(0xC2, struct.pack(">BHHB", 8, h, w, 1) + b"\x01\x11\x00")
    # DC table 0: one code ("0") for category 0; AC table 0: one code ("0") for EOBRUN 2^14..2^15-1.
    dht = jpeg_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00" + b"\x10" + bytes([1] + [0] * 15) + b"\xe0")
    dc_scan = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x00\x00")
    ac_scan = jpeg_segment(0xDA, b"\x01\x01\x00\x01\x3f\x00")
    return b"\xff\xd8" + dqt + sof + dht + dc_scan + ac_scan * scans + b"\xff\xd9"


# PNG ----------------------------------------------------------------------------------------------

PNG_SIZES = [
    (2**31 - 1, 2**31 - 1),
    (65535, 65535),
    (0, 0),
    (0, 72),
    (2**31 - 1, 1),
    (1, 2**31 - 1),
    (6325, 6325),  # just over the 40 MP limit, under Pillow's hard error
    (6000, 6000),  # under the limit: a decode that runs out of data
    (20000, 1),
    (2**32 - 1, 2**32 - 1),
]


def _ihdr(data: bytes) -> Chunk:
    return next(c for c in chunks(data) if c.kind == b"IHDR")


def _with_ihdr(data: bytes, body: bytes, *, fix_crc: bool = True) -> bytes:
    c = _ihdr(data)
    new = png_chunk(b"IHDR", body)
    if not fix_crc:
        new = new[:-4] + data[c.end - 4 : c.end]
    return data[: c.start] + new + data[c.end :]


def png_ihdr_size(data: bytes, rng: random.Random, n: int) -> bytes:
    c = _ihdr(data)
    w, h = PNG_SIZES[n % len(PNG_SIZES)]
    body = struct.pack(">II", w, h) + data[c.start + 16 : c.start + 21]
    return _with_ihdr(data, body, fix_crc=n < len(PNG_SIZES))  # the last ones keep the old CRC


def png_ihdr_fields(data: bytes, rng: random.Random, n: int) -> bytes:
    c = _ihdr(data)
    body = bytearray(data[c.start + 8 : c.start + 21])
    at, value = ((8, 3), (8, 16), (8, 0), (9, 5), (9, 7), (10, 1), (11, 1), (12, 1), (12, 2), (9, 3))[n % 10]
    body[at] = value  # bit depth, colour type, compression, filter, interlace
    return _with_ihdr(data, bytes(body))


def png_structure(data: bytes, rng: random.Random, n: int) -> bytes:
    ihdr = _ihdr(data)
    if n == 0:  # a second IHDR declaring another size
        return (
            data[: ihdr.end]
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 6, 0, 0, 0))
            + data[ihdr.end :]
        )
    if n == 1:  # no PLTE for a palette picture
        return png_with(data, b"PLTE", None)
    if n == 2:  # an empty PLTE
        return png_with(data, b"PLTE", b"")
    if n == 3:  # a PLTE of 400 entries
        return png_with(data, b"PLTE", bytes(range(256)) * 4 + bytes(176))
    if n == 4:  # a tRNS longer than the palette
        return png_with(data, b"tRNS", b"\x00" * 4000, after=b"PLTE")
    if n == 5:  # the picture data in 5000 one-byte IDAT chunks
        idat = b"".join(data[c.start + 8 : c.end - 4] for c in chunks(data) if c.kind == b"IDAT")
        pieces = b"".join(png_chunk(b"IDAT", idat[i : i + 1]) for i in range(min(len(idat), 5000)))
        tail = png_chunk(b"IDAT", idat[5000:]) if len(idat) > 5000 else b""
        return png_with(data, b"IDAT", None)[:-12] + pieces + tail + png_chunk(b"IEND", b"")
    if n == 6:  # a zTXt that inflates to 64 MB
        return png_with(data, b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(64 * MB), 9))
    if n == 7:  # 2000 text chunks
        return data[: ihdr.end] + png_chunk(b"tEXt", b"k\x00" + b"v" * 1000) * 2000 + data[ihdr.end :]
    if n == 8:  # APNG: 2^31-1 frames announced, the first frame far bigger than the canvas
        actl = png_chunk(b"acTL", struct.pack(">II", 2**31 - 1, 0))
        fctl = png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 2**31 - 1, 2**31 - 1, 2**31, 2**31, 1, 0, 0, 0))
        return data[: ihdr.end] + actl + fctl + data[ihdr.end :]
    if n == 9:  # APNG with a frame control chunk cut short and frames that never come
        actl = png_chunk(b"acTL", struct.pack(">II", 5, 0))
        return data[: ihdr.end] + actl + png_chunk(b"fcTL", b"\x00\x00\x00\x00\xff") + data[ihdr.end :]
    # an iTXt whose compressed text is garbage
    return (
        data[: ihdr.end]
        + png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + rng.randbytes(4000))
        + data[ihdr.end :]
    )


def png_idat_bomb(data: bytes, rng: random.Random, n: int) -> bytes:
    """Small files that inflate to a huge picture of zeros: legal, just big (or just over the limit)."""
    w, h, depth, colour, interlace, bpp, extra = (
        (6000, 6000, 8, 0, 0, 1, 1),  # 36 MP greyscale
        (6325, 6325, 8, 0, 0, 1, 1),  # 40.005 MP: over the limit
        (2000, 2000, 8, 0, 0, 1, 16),  # 16 times more data than the picture needs
        (6324, 6324, 8, 0, 0, 1, 1),  # 39.99 MP: just under the limit
        (6324, 6324, 16, 6, 1, 8, 2),  # the same as 16-bit RGBA, Adam7-interlaced: 640 MB inflated
    )[n % 5]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace)
    size, step = (w * bpp + 1) * h * extra, 16 * MB
    packer = zlib.compressobj(1)
    raw = b"".join(packer.compress(bytes(min(step, size - i))) for i in range(0, size, step)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", raw) + png_chunk(b"IEND", b"")


def png_exif(data: bytes, rng: random.Random, n: int) -> bytes:
    return png_with(data, b"eXIf", evil_exif(n))


def png_icc(data: bytes, rng: random.Random, n: int) -> bytes:
    profile = evil_icc(n, rng, compressible=n % 15 >= 2)
    return png_with(data, b"iCCP", b"ICC\x00\x00" + zlib.compress(profile, 6))


# WebP ---------------------------------------------------------------------------------------------

WEBP_CANVAS = [(1 << 24, 1 << 24), (16384, 16384), (6325, 6325), (1, 1), (192, 72), (1 << 24, 1)]


def webp_canvas(data: bytes, rng: random.Random, n: int) -> bytes:
    """The VP8X canvas declared as something else: up to 2^24 x 2^24 (the field's maximum)."""
    vp8x = next(c for c in chunks(data) if c.kind == b"VP8X")
    w, h = WEBP_CANVAS[n % len(WEBP_CANVAS)]
    out = bytearray(data)
    out[vp8x.start + 12 : vp8x.start + 18] = (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    return bytes(out)


def webp_vp8x_flags(data: bytes, rng: random.Random, n: int) -> bytes:
    vp8x = next(c for c in chunks(data) if c.kind == b"VP8X")
    out = bytearray(data)
    out[vp8x.start + 8] = (0xFF, 0x02, 0x00, 0x3E)[n % 4]  # everything / animation only / nothing
    return bytes(out)


def webp_frame_size(data: bytes, rng: random.Random, n: int) -> bytes:
    """The bitstream's own size fields: VP8 14-bit + scale, VP8L 14-bit."""
    out = bytearray(data)
    c = next(c for c in chunks(data) if c.kind in (b"VP8 ", b"VP8L"))
    w, h = ((16383, 16383), (0, 0), (16383, 1), (0xFFFF, 0xFFFF), (6000, 6000))[n % 5]
    if c.kind == b"VP8 ":
        at = c.start + 8 + 6  # after the 3-byte frame tag and the 9d 01 2a start code
        out[at : at + 4] = struct.pack("<HH", w & 0xFFFF, h & 0xFFFF)
    else:
        w, h = min(max(w, 1), 16384), min(max(h, 1), 16384)
        bits = (w - 1) | (h - 1) << 14 | (data[c.start + 12] >> 4 & 0xF) << 28
        out[c.start + 9 : c.start + 13] = struct.pack("<I", bits)
    return bytes(out)


def webp_animation(data: bytes, rng: random.Random, n: int) -> bytes:
    found = chunks(data)
    frames = [c for c in found if c.kind == b"ANMF"]
    out = bytearray(data)
    first = frames[0].start + 8
    if n == 0:  # frame offset at the 24-bit maximum (x2)
        out[first : first + 6] = b"\xff" * 6
    elif n == 1:  # frame size at the 24-bit maximum
        out[first + 6 : first + 12] = b"\xff" * 6
    elif n == 2:  # frame size 1x1 around a 96x72 bitstream
        out[first + 6 : first + 12] = bytes(6)
    elif n == 3:  # 600 copies of the last frame
        last = frames[-1]
        return riff([data[c.start : c.end] for c in found] + [data[last.start : last.end]] * 600)
    elif n == 4:  # no frames at all
        return webp_with(data, b"ANMF", None)
    else:  # ANIM chunk cut to two bytes
        return webp_with(data, b"ANIM", b"\xff\xff")
    return bytes(out)


def webp_exif(data: bytes, rng: random.Random, n: int) -> bytes:
    return webp_with(data, b"EXIF", evil_exif(n))


def webp_icc(data: bytes, rng: random.Random, n: int) -> bytes:
    profile = evil_icc(n, rng)
    if len(profile) < 16 * MB:
        return webp_with(data, b"ICCP", profile)
    # declared 16 MB, carrying 1 MB
    lie = b"ICCP" + struct.pack("<I", len(profile)) + profile[:MB]
    return riff([lie if c.kind == b"ICCP" else data[c.start : c.end] for c in chunks(data)])


def webp_magic_tricks(data: bytes, rng: random.Random, n: int) -> bytes:
    if n == 0:  # a RIFF that is not a WebP after all: "WEBP" then a WAVE chunk
        return riff([webp_chunk(b"fmt ", bytes(16)), webp_chunk(b"data", bytes(100))])
    if n == 1:  # VP8X without any image chunk
        return riff([data[c.start : c.end] for c in chunks(data) if c.kind == b"VP8X"])
    if n == 2:  # VP8 and VP8L in one file
        lossless = seed_bytes("webp_lossless")
        assert lossless is not None
        return riff([data[c.start : c.end] for c in chunks(data)] + [lossless[12:]])
    return riff([data[c.start : c.end] for c in chunks(data)] + [webp_chunk(b"ALPH", rng.randbytes(3000))])


# HEIC ---------------------------------------------------------------------------------------------

HEIC_SIZES = [(0, 0), (2**32 - 1, 2**32 - 1), (65535, 65535), (6000, 6000), (1, 2**31), (192, 144)]


def heic_ispe(data: bytes, rng: random.Random, n: int) -> bytes:
    ispe = next(c for c in chunks(data) if c.kind == b"ispe")
    out = bytearray(data)
    out[ispe.start + 12 : ispe.start + 20] = struct.pack(">II", *HEIC_SIZES[n % len(HEIC_SIZES)])
    return bytes(out)


def heic_structure(data: bytes, rng: random.Random, n: int) -> bytes:
    found = {c.kind: c for c in chunks(data)}
    out = bytearray(data)
    if n == 0:  # the item's extent: 4 GB at offset 4 GB
        end = found[b"iloc"].end
        out[end - 8 : end] = b"\xff" * 8
    elif n == 1:  # the extent pointing at the file's own header
        end = found[b"iloc"].end
        out[end - 8 : end] = struct.pack(">II", 0, 64)
    elif n == 2:  # the primary item is one that does not exist
        at = found[b"pitm"].start + 12
        out[at : at + 2] = b"\xff\xff"
    elif n == 3:  # property associations claiming 4 billion entries
        at = found[b"ipma"].start + 12
        out[at : at + 4] = b"\xff\xff\xff\xff"
    elif n == 4:  # decoder configuration replaced with garbage
        c = found[b"hvcC"]
        out[c.start + 8 : c.end] = rng.randbytes(c.end - c.start - 8)
    elif n == 5:  # picture data all zeros
        c = found[b"mdat"]
        out[c.start + 8 : c.end] = bytes(c.end - c.start - 8)
    elif n == 6:  # the brand says AVIF (not accepted)
        out[8:12] = b"avif"
        out[16:28] = b"avifmif1miaf"
    elif n == 7:  # only the generic brand
        out[8:12] = b"mif1"
        out[16:28] = b"mif1mif1mif1"
    elif n == 8:  # item info claiming 65535 items
        at = found[b"iinf"].start + 12
        out[at : at + 2] = b"\xff\xff"
    elif n == 9:  # meta box nested in itself 3000 times
        meta = found[b"meta"]
        wrap = data[meta.start : meta.end]
        for _ in range(3000):
            wrap = struct.pack(">I", len(wrap) + 12) + b"meta" + bytes(4) + wrap
        return data[: meta.start] + wrap + data[meta.end :]
    else:  # the whole file repeated: two ftyp, two meta, two mdat
        return data + data
    return bytes(out)


def heic_exif(data: bytes, rng: random.Random, n: int) -> bytes | None:
    return _heic(exif=b"Exif\x00\x00" + evil_exif(n))


def heic_icc(data: bytes, rng: random.Random, n: int) -> bytes | None:
    return _heic(icc_profile=evil_icc((0, 2, 4, 6, 7, 10)[n % 6], rng))  # garbage of 1 and 4 MB, lies, LUTs


# Synthetic ----------------------------------------------------------------------------------------


def synthetic(data: bytes, rng: random.Random, n: int) -> bytes:
    return [
        b"",
        b"\xff\xd8\xff",
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\x00\x00\x00\x00WEBP",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        b"\xff\xd8\xff" + bytes(2 * MB),
        b"\x89PNG\r\n\x1a\n" + b"\xff" * MB,
        rng.randbytes(4096),
        b"\xff\xd8\xff\xe0" + rng.randbytes(8192),
    ][n % 9]


# --- the corpus ----------------------------------------------------------------------------------


STRUCTURAL: list[tuple[tuple[str, ...], str, Mutation, int]] = [  # (seeds, name, mutation, cases per seed)
    (("jpeg_exif", "jpeg_progressive"), "sof_size", jpeg_sof_size, len(JPEG_SIZES)),
    (("jpeg_exif",), "sof_type", jpeg_sof_type, 10),
    (("jpeg_cmyk",), "sof_fields", jpeg_sof_fields, 8),
    (("jpeg_exif", "jpeg_progressive"), "drop_marker", jpeg_drop_marker, 6),
    (("jpeg_exif", "jpeg_progressive"), "dup_marker", jpeg_dup_marker, 6),
    (("jpeg_exif",), "bad_tables", jpeg_bad_tables, 4),
    (("jpeg_exif",), "app1_65535", jpeg_app1_65535, 2),
    (("jpeg_exif",), "exif", jpeg_exif, len(EXIF_VARIANTS)),
    (("jpeg_icc",), "icc", jpeg_icc, 15),
    (("jpeg_cmyk",), "icc", jpeg_icc, 8),
    (("jpeg_big_icc",), "icc_chunk_numbers", jpeg_icc_chunk_numbers, 4),
    (("jpeg_exif",), "mpf", jpeg_mpf, 3),
    (("png_rgba", "png_gray16"), "ihdr_size", png_ihdr_size, len(PNG_SIZES)),
    (("png_rgba",), "ihdr_size_old_crc", lambda d, r, n: png_ihdr_size(d, r, n + len(PNG_SIZES)), 2),
    (("png_rgba", "png_rgb16"), "ihdr_fields", png_ihdr_fields, 10),
    (("png_palette_trns",), "structure", png_structure, 11),
    (("synthetic",), "png_idat_bomb", png_idat_bomb, 5),
    (("png_icc_exif",), "exif", png_exif, 8),
    (("png_icc_exif",), "icc", png_icc, 15),
    (("webp_meta", "webp_animated"), "vp8x_canvas", webp_canvas, len(WEBP_CANVAS)),
    (("webp_meta", "webp_animated"), "vp8x_flags", webp_vp8x_flags, 4),
    (("webp_lossy", "webp_lossless"), "frame_size", webp_frame_size, 5),
    (("webp_animated",), "animation", webp_animation, 6),
    (("webp_meta",), "exif", webp_exif, 8),
    (("webp_meta",), "icc", webp_icc, 15),
    (("webp_lossy",), "magic_tricks", webp_magic_tricks, 4),
    (("heic",), "ispe", heic_ispe, len(HEIC_SIZES)),
    (("heic",), "structure", heic_structure, 11),
    (("heic",), "exif", heic_exif, 5),
    (("heic",), "icc", heic_icc, 6),
    (("synthetic",), "raw", synthetic, 9),
    # Last: if it overruns its bound, its decoder thread cannot be stopped and would slow the cases after it.
    (("synthetic",), "jpeg_scan_bomb", jpeg_scan_bomb, 2),
]

MUTATIONS: dict[str, Mutation] = {name: mutation for name, (mutation, _) in GENERIC.items()}
for _seeds, _name, _mutation, _count in STRUCTURAL:
    MUTATIONS.setdefault(_name, _mutation)
# Structural names shared across formats ("exif", "icc") resolve by the seed's format.
_BY_FORMAT = {
    ("exif", "jpeg"): jpeg_exif,
    ("exif", "png"): png_exif,
    ("exif", "webp"): webp_exif,
    ("exif", "heic"): heic_exif,
    ("icc", "jpeg"): jpeg_icc,
    ("icc", "png"): png_icc,
    ("icc", "webp"): webp_icc,
    ("icc", "heic"): heic_icc,
    ("structure", "png"): png_structure,
    ("structure", "heic"): heic_structure,
}


def corpus() -> list[tuple[str, str, int]]:
    """Every case as (seed, mutation, number)."""
    cases = [(seed, name, i) for seed in SEEDS for name, (_, count) in GENERIC.items() for i in range(count)]
    cases += [(seed, name, i) for seeds, name, _, count in STRUCTURAL for seed in seeds for i in range(count)]
    return cases


def case_bytes(seed: str, mutation: str, n: int) -> bytes | None:
    """The bytes of one case, the same on every run (None: a HEIC case without an HEIC encoder)."""
    data = seed_bytes(seed)
    if data is None:
        return None
    rng = random.Random(f"{seed}/{mutation}#{n}")
    fn = MUTATIONS[mutation]
    if seed != "synthetic":
        fn = _BY_FORMAT.get((mutation, kind_of(data)), fn)
    return fn(data, rng, n)


# --- running a case ------------------------------------------------------------------------------


@dataclass
class Outcome:
    result: Ingested | None = None
    error: BaseException | None = None
    seconds: float = 0.0
    done: bool = False
    trace: str = ""
    worker: threading.Thread | None = None


def run_bounded(path: str, timeout: float = CASE_TIMEOUT) -> Outcome:
    """``ingest(path)`` in a worker thread, waited for at most ``timeout`` seconds.

    A daemon thread rather than a ThreadPoolExecutor: a decoder stuck in C cannot be
    interrupted, and an executor's worker would keep the test run from exiting."""
    outcome = Outcome()

    def work() -> None:
        started = time.perf_counter()
        try:
            outcome.result = ingest(path)
        except BaseException as exc:  # reported by the caller, whatever it is
            outcome.error = exc
            outcome.trace = traceback.format_exc()
        outcome.seconds = time.perf_counter() - started
        outcome.done = True

    worker = outcome.worker = threading.Thread(target=work, name=f"fuzz {Path(path).name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome.done and (frame := sys._current_frames().get(worker.ident or 0)) is not None:
        outcome.trace = "".join(traceback.format_stack(frame))  # where it is stuck
    return outcome


def check_clean(result: Ingested) -> None:
    assert result.content_type == "image/jpeg"
    for name, data in (("original", result.original), ("display", result.display), ("thumb", result.thumb)):
        img = Image.open(io.BytesIO(data))
        img.load()
        assert img.format == "JPEG" and img.mode == "RGB", name
        assert not img.getexif(), f"{name} carries EXIF"
        assert not {"icc_profile", "exif", "xmp", "comment"} & set(img.info), f"{name} carries {set(img.info)}"
        assert b"Exif" not in data and b"ICC_PROFILE" not in data, name
    assert Image.open(io.BytesIO(result.original)).size == (result.width, result.height)
    assert max(Image.open(io.BytesIO(result.display)).size) <= 1280
    assert max(Image.open(io.BytesIO(result.thumb)).size) <= 320


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    skipped: int = 0
    largest: int = 0
    hung: list[tuple[str, Outcome]] = field(default_factory=list)


def test_malformed_images_are_refused_or_cleaned_never_crash_or_hang(tmp_path: Path) -> None:
    assert Image.MAX_IMAGE_PIXELS == DEFAULT_MAX_PIXELS == media.images.DEFAULT_MAX_PIXELS
    tally = Tally()
    started = time.perf_counter()
    for seed, mutation, n in corpus():
        name = f"{seed}/{mutation}#{n}"
        data = case_bytes(seed, mutation, n)
        if data is None:
            tally.skipped += 1
            continue
        tally.largest = max(tally.largest, len(data))
        # One file per case, removed once done: should a decoder take the process down, the file
        # left in tmp_path names the culprit (and a stuck thread keeps reading its own file).
        path = tmp_path / f"{seed}-{mutation}-{n}.bin"
        path.write_bytes(data)
        outcome = run_bounded(str(path))
        repro = f"case_bytes({seed!r}, {mutation!r}, {n}) [{len(data)} bytes]"
        if not outcome.done:
            tally.failures.append(f"{name}: HANG, still running after {CASE_TIMEOUT:.0f} s -- {repro}\n{outcome.trace}")
            tally.outcomes["hang"] += 1
            tally.hung.append((name, outcome))
            continue
        path.unlink()
        tally.seconds[name] = outcome.seconds
        if outcome.error is None:
            assert outcome.result is not None
            try:
                check_clean(outcome.result)
            except Exception as exc:
                tally.failures.append(f"{name}: success but unclean output: {exc!r} -- {repro}")
            key = "ok"
        elif isinstance(outcome.error, ImageRejected):
            key = str(outcome.error.status)
            if outcome.error.status not in (400, 415):
                tally.failures.append(f"{name}: refused with status {outcome.error.status} -- {repro}")
        else:
            key = type(outcome.error).__name__
            tally.failures.append(f"{name}: CRASH {outcome.error!r} -- {repro}\n{outcome.trace}")
        tally.outcomes[key] += 1
        if outcome.seconds >= CASE_TIMEOUT:
            tally.failures.append(f"{name}: took {outcome.seconds:.1f} s (bound {CASE_TIMEOUT:.0f} s) -- {repro}")
    deadline = time.monotonic() + HANG_GRACE
    for name, outcome in tally.hung:
        assert outcome.worker is not None
        outcome.worker.join(max(0.0, deadline - time.monotonic()))
        if outcome.done:
            tally.failures.append(f"{name}: ... finished after {outcome.seconds:.1f} s")
        else:
            tally.failures.append(f"{name}: ... still running after another {HANG_GRACE:.0f} s")
    slowest = sorted(tally.seconds.items(), key=lambda kv: -kv[1])[:5]
    summary = (
        f"{sum(tally.outcomes.values())} cases in {time.perf_counter() - started:.1f} s "
        f"({tally.skipped} skipped, largest {tally.largest / MB:.1f} MB): {dict(sorted(tally.outcomes.items()))}; "
        f"slowest: {', '.join(f'{k} {v:.2f}s' for k, v in slowest)}"
    )
    print(summary)
    if tally.failures:
        pytest.fail(summary + "\n" + "\n".join(tally.failures), pytrace=False)
    assert max(tally.seconds.values()) < CASE_TIMEOUT, summary


def test_corpus_is_deterministic_and_sized() -> None:
    cases = corpus()
    assert 300 <= len(cases) <= 650
    assert len(set(cases)) == len(cases)
    sample = cases[::29]
    first = [case_bytes(*case) for case in sample]
    seed_bytes.cache_clear()
    time.sleep(1.1)  # seeds rebuilt a second later: nothing may depend on the clock (ICC headers carry a date)
    for case, data in zip(sample, first, strict=True):
        assert case_bytes(*case) == data, case
    assert built_in_profile("sRGB") == SRGB_ICC


# --- the same through POST /api/v1/media ---------------------------------------------------------

HTTP_CASES = [
    ("synthetic", "raw", 0),  # empty file
    ("synthetic", "raw", 1),
    ("synthetic", "raw", 5),  # JPEG magic + 2 MB of zeros: over the lowered size limit
    ("synthetic", "raw", 7),
    ("jpeg_exif", "bitflip", 0),
    ("jpeg_exif", "truncate", 1),
    ("jpeg_exif", "sof_size", 0),
    ("jpeg_exif", "sof_size", 1),
    ("jpeg_exif", "sof_type", 3),
    ("jpeg_exif", "app1_65535", 0),
    ("jpeg_exif", "app1_65535", 1),
    ("jpeg_exif", "exif", 0),
    ("jpeg_exif", "exif", 4),
    ("jpeg_exif", "mpf", 0),
    ("jpeg_icc", "icc", 0),  # ~1 MB of garbage ICC
    ("jpeg_icc", "icc", 6),
    ("jpeg_progressive", "drop_marker", 1),
    ("jpeg_progressive", "zeros_after_header", 0),
    ("jpeg_cmyk", "overwrite", 0),
    ("png_rgba", "ihdr_size", 0),
    ("png_rgba", "ihdr_size", 2),
    ("png_palette_trns", "structure", 1),
    ("png_gray16", "huge_length", 0),
    ("png_icc_exif", "icc", 4),
    ("png_icc_exif", "exif", 1),
    ("synthetic", "png_idat_bomb", 0),
    ("webp_meta", "vp8x_canvas", 0),
    ("webp_animated", "animation", 1),
    ("webp_lossless", "frame_size", 0),
    ("webp_lossy", "trailing_zeros", 0),
    ("heic", "ispe", 1),
    ("heic", "structure", 4),
]
MEDIA = "/api/v1/media"
HTTP_SIZE_LIMIT = 1 * MB  # lowered for this test, so the megabyte-sized cases meet it
ERROR_CODES = {400: {"bad_image", "invalid_request"}, 413: {"payload_too_large"}, 415: {"unsupported_media_type"}}


def stored_files(api) -> list[str]:
    """Every file under the media root, the upload folder included (as in tests/handlers/test_media.py)."""
    root = Path(api.service.config.media_root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def post_file(api, token: str, data: bytes) -> Reply:
    """POST /media as ``Api.upload`` does (multipart, field ``file``), named after what the bytes look like.

    Over the size limit the request says ``Expect: 100-continue`` (the service refuses it by its
    declared length before the body is sent, so the client is not cut off mid-write) and
    ``Connection: close`` (the refused connection is not handed to the next request)."""
    try:
        kind = kind_of(data)
    except KeyError:
        kind = "jpeg"
    form = aiohttp.FormData()
    form.add_field("file", data, filename=f"photo.{kind}", content_type=f"image/{kind}")
    big = len(data) > HTTP_SIZE_LIMIT
    headers = {"Authorization": f"Bearer {token}"} | ({"Connection": "close"} if big else {})
    async with api.session.post(api.service.base_url + MEDIA, data=form, headers=headers, expect100=big) as resp:
        raw = await resp.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
        return Reply(resp.status, body, resp.headers)


async def test_malformed_uploads_answer_201_400_413_415_and_leave_nothing(api, tmp_path: Path) -> None:
    token, _ = await api.person("volunteer")
    config = api.service.config
    limit = config.max_upload_bytes
    object.__setattr__(config, "max_upload_bytes", HTTP_SIZE_LIMIT)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    try:
        for seed, mutation, n in HTTP_CASES:
            name = f"{seed}/{mutation}#{n}"
            data = case_bytes(seed, mutation, n)
            if data is None:
                continue
            files_before, rows_before = stored_files(api), await Media.all().count()
            try:
                reply = await asyncio.wait_for(post_file(api, token, data), 2 * CASE_TIMEOUT)
            except TimeoutError:
                failures.append(f"{name}: no answer within {2 * CASE_TIMEOUT:.0f} s")
                continue
            statuses[reply.status] += 1
            rows_after = await Media.all().count()
            for _ in range(50):  # a 413 may answer before the partial upload is removed
                files_after = stored_files(api)
                if not any(f.startswith(".") for f in files_after):
                    break
                await asyncio.sleep(0.02)
            new_files = sorted(set(files_after) - set(files_before))
            expected = _expected_status(tmp_path, data)
            if expected is not None and reply.status != expected:
                failures.append(f"{name}: HTTP {reply.status}, but ingest() says {expected}")
            if reply.status == 201:
                if rows_after != rows_before + 1 or len(new_files) != 3:
                    failures.append(f"{name}: 201 but rows {rows_before}->{rows_after}, new files {new_files}")
                async with api.session.get(reply.body["url"]) as resp:
                    served = await resp.read()
                img = Image.open(io.BytesIO(served))
                if resp.status != 200 or img.format != "JPEG" or img.getexif() or "icc_profile" in img.info:
                    failures.append(f"{name}: 201 but the served file is {resp.status} {img.format} {img.info}")
            elif reply.status not in ERROR_CODES:
                failures.append(f"{name}: HTTP {reply.status} {reply.body!r}")
            else:
                error = reply.body.get("error") if isinstance(reply.body, dict) else None
                if not error or error.get("code") not in ERROR_CODES[reply.status] or not error.get("message"):
                    failures.append(f"{name}: HTTP {reply.status} not in the error shape: {reply.body!r}")
                if rows_after != rows_before or new_files:
                    failures.append(f"{name}: refused ({reply.status}) but left rows/files: {new_files}")
    finally:
        object.__setattr__(config, "max_upload_bytes", limit)
    print(f"{sum(statuses.values())} uploads: {dict(sorted(statuses.items()))}")
    if failures:
        pytest.fail(f"{statuses}\n" + "\n".join(failures), pytrace=False)
    assert set(statuses) <= {201, 400, 413, 415} and len(statuses) >= 3, statuses


def _expected_status(tmp_path: Path, data: bytes) -> int | None:
    if not data:
        return 400  # no file at all: invalid_request
    if len(data) > HTTP_SIZE_LIMIT:
        return 413
    path = tmp_path / "expected.bin"
    path.write_bytes(data)
    outcome = run_bounded(str(path))
    if isinstance(outcome.error, ImageRejected):
        return outcome.error.status
    return 201 if outcome.result is not None else None
