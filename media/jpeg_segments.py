"""JPEG marker segments on the raw bytes: where they lie, and a copy of the picture without metadata.

A JPEG file is a run of marker segments (``FF xx`` + a two-byte length that counts
itself + payload) from SOI (``FF D8``) to EOI (``FF D9``); each SOS (start of scan)
segment is followed by entropy-coded data, in which ``FF`` is always followed by
``00`` (a stuffed byte) or a restart marker ``D0``-``D7``. A progressive picture has
several scans, with DHT, DRI or DQT segments allowed between them. :func:`walk`
follows that structure by the segments' own lengths up to the first EOI, so an ``FF
D9`` inside an EXIF thumbnail or an ICC profile is never taken for the end, and
anything after the first EOI (camera trailers, the second picture of an MPO, a file
appended to the photo) is not part of the picture.

:func:`strip` writes the same picture again from the kept pieces: the frame header,
quantisation and Huffman tables, restart interval, the scans with their
entropy-coded data byte for byte, JFIF APP0 and Adobe APP14 (its transform flag
decides the colour conversion) reduced to their fixed fields (a JFIF thumbnail is
dropped). Everything else is dropped: EXIF and XMP (APP1), ICC
profiles and MPF (APP2), APP3-APP13, APP15, JFXX thumbnails, comments, unknown
segments and all bytes after the first EOI; no EXIF is written, so the copy is
served as it is only for a picture stored upright (EXIF orientation 1 or none);
one to be turned is turned losslessly from it (:mod:`media.jpeg_transform`).
The decoded pixels are those of the upload: nothing a decoder reads for them is
changed.

Nothing here decodes a pixel; the caller decides whether a file is plain enough
(frame type, colour, profile) for the result to be used.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
DQT, DHT, DAC, DRI, DNL = 0xDB, 0xC4, 0xCC, 0xDD, 0xDC
APP0, APP14 = 0xE0, 0xEE
# SOF0-SOF15 except C4 (DHT), C8 (reserved JPG) and CC (DAC).
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {DHT, 0xC8, DAC}
# What a decoder needs for the pixels; APP0 and APP14 are kept only for JFIF and Adobe.
_TABLES = frozenset({DQT, DHT, DAC, DRI, DNL}) | SOF_MARKERS
# The end of entropy-coded data: FF followed by anything but a stuffed 00, a restart
# marker or another FF (fill bytes before a marker), i.e. the last FF before a marker code.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JFIF_FIELDS = 12  # "JFIF\0", version (2), density unit (1), x and y density (2 + 2); then the thumbnail size
_ADOBE_FIELDS = 12  # "Adobe", version (2), flags0 (2), flags1 (2), transform (1)
# Cameras write a few dozen segments, progressive encoders a few per scan; a file of
# millions of tiny segments would keep this Python loop busy for seconds.
MAX_SEGMENTS = 2000


class NotWalkable(ValueError):
    """The bytes do not follow the JPEG segment structure up to an EOI (truncated, garbage between segments ...)."""


@dataclass(frozen=True)
class Segment:
    """One marker segment: ``data[start:end]`` is FF, the marker code, the length and the payload.

    For an SOS segment ``scan_end`` is where its entropy-coded data ends (the next marker), else it equals ``end``.
    """

    marker: int
    start: int
    end: int
    scan_end: int

    def payload(self, data: bytes) -> bytes:
        return data[self.start + 4 : self.end]


@dataclass(frozen=True)
class Frame:
    """The frame header (SOFn): which process, sample precision, size as stored, component count."""

    marker: int
    precision: int
    width: int
    height: int
    components: int


@dataclass(frozen=True)
class Layout:
    """Every segment from SOI to the first EOI, in file order, and where that EOI ends."""

    segments: tuple[Segment, ...]
    frame: Frame
    end: int  # just past the first EOI

    @property
    def scans(self) -> int:
        return sum(1 for s in self.segments if s.marker == SOS)


def walk(data: bytes) -> Layout:
    """Follow the segments of the JPEG in ``data`` up to its first EOI; raise :class:`NotWalkable` if they do not hold.

    Requires exactly one frame header before the first scan and at least one scan.
    """
    if not data.startswith(b"\xff\xd8"):
        raise NotWalkable("no SOI")
    segments: list[Segment] = []
    frame: Frame | None = None
    pos, size = 2, len(data)
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise NotWalkable(f"no marker at {pos}")
        while pos + 1 < size and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        if pos + 1 >= size:
            raise NotWalkable("truncated at a marker")
        marker = data[pos + 1]
        if marker == EOI:
            break
        if marker == SOI or 0xD0 <= marker <= 0xD7 or marker in (0x00, 0x01):
            raise NotWalkable(f"stand-alone marker {marker:02X} outside a scan")
        if pos + 4 > size:
            raise NotWalkable("truncated segment header")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > size:
            raise NotWalkable(f"segment {marker:02X} at {pos} runs past the end")
        scan_end = end
        if marker in SOF_MARKERS:
            if frame is not None:
                raise NotWalkable("a second frame header")
            if length < 8:
                raise NotWalkable("short frame header")
            precision, height, width, components = struct.unpack(">BHHB", data[pos + 4 : pos + 10])
            frame = Frame(marker, precision, width, height, components)
        elif marker == SOS:
            if frame is None:
                raise NotWalkable("a scan before the frame header")
            found = _MARKER_IN_SCAN.search(data, end)
            if found is None:
                raise NotWalkable("entropy-coded data without an end")
            scan_end = found.start()
        segments.append(Segment(marker, pos, end, scan_end))
        if len(segments) > MAX_SEGMENTS:
            raise NotWalkable(f"more than {MAX_SEGMENTS} segments")
        pos = scan_end
    if frame is None or not any(s.marker == SOS for s in segments):
        raise NotWalkable("no frame or no scan")
    return Layout(tuple(segments), frame, pos + 2)


def kept(segment: Segment, data: bytes) -> bool:
    """Whether :func:`strip` keeps this segment: what decoding needs, JFIF APP0 and Adobe APP14."""
    if segment.marker in _TABLES or segment.marker == SOS:
        return True
    payload = segment.payload(data)
    if segment.marker == APP0:
        return payload.startswith(b"JFIF\x00") and len(payload) >= _JFIF_FIELDS
    if segment.marker == APP14:
        return payload.startswith(b"Adobe") and len(payload) >= _ADOBE_FIELDS
    return False


def _canonical(segment: Segment, data: bytes) -> bytes:
    """A kept JFIF or Adobe segment with its fixed fields only: no JFIF thumbnail, nothing appended."""
    payload = segment.payload(data)
    if segment.marker == APP0:  # identifier, version, density unit and values; thumbnail 0x0
        payload = payload[:_JFIF_FIELDS] + b"\x00\x00"
    else:  # identifier, version, flags, colour transform
        payload = payload[:_ADOBE_FIELDS]
    return bytes((0xFF, segment.marker)) + struct.pack(">H", len(payload) + 2) + payload


def strip(data: bytes, layout: Layout) -> bytes:
    """The picture of ``data`` with only the segments :func:`kept` allows, ending at the first EOI."""
    view = memoryview(data)  # slices without copying: the scans are most of a 5 MB photo
    parts: list[bytes | memoryview] = [b"\xff\xd8"]
    for segment in layout.segments:
        if not kept(segment, data):
            continue
        if segment.marker in (APP0, APP14):
            parts.append(_canonical(segment, data))
        else:
            parts.append(view[segment.start : segment.scan_end])
    parts.append(b"\xff\xd9")
    return b"".join(parts)
