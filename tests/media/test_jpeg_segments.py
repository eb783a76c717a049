"""The byte-level JPEG walk and metadata strip, on real JPEG bytes made here with Pillow."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms

from media.jpeg_segments import (
    APP0,
    DHT,
    DRI,
    SOS,
    NotWalkable,
    kept,
    strip,
    walk,
)
from tests.images import encode, phone_exif, scene

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on the made-up MPF header

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="6" GPSLatitude="31,13.8N"/></x:xmpmeta>'


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def with_metadata(jpeg: bytes, *, trailer: bytes = b"") -> bytes:
    """``jpeg`` with what cameras and editors add: XMP, a comment holding FF D9, an APP13 block, an MPF header."""
    extra = (
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
        + segment(0xFE, b"shot by Secret Phone Co \xff\xd9 not the end")
        + segment(0xED, b"Photoshop 3.0\x008BIM secret caption")
        + segment(0xE2, b"MPF\x00MM\x00\x2a\x00\x00\x00\x08 secret")
    )
    return jpeg[:2] + extra + jpeg[2:] + trailer


def pixels(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.tobytes()


def markers(data: bytes) -> list[int]:
    return [s.marker for s in walk(data).segments]


def test_walk_finds_frame_scans_and_the_first_eoi() -> None:
    jpeg = encode(scene((320, 240)), "JPEG", quality=90, exif=phone_exif())
    trailer = b"\xff\xd8 a second picture or a camera trailer \xff\xd9"
    data = with_metadata(jpeg, trailer=trailer)

    layout = walk(data)

    assert layout.end == len(data) - len(trailer)
    assert data[layout.end - 2 : layout.end] == b"\xff\xd9"
    assert (layout.frame.width, layout.frame.height, layout.frame.precision) == (320, 240, 8)
    assert layout.frame.marker == 0xC0 and layout.frame.components == 3
    assert layout.scans == 1
    assert 0xFE in markers(data)  # the comment with FF D9 inside was read as one segment, not as the end


def test_strip_keeps_the_picture_and_drops_everything_else() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    jpeg = encode(scene((320, 240)), "JPEG", quality=90, exif=phone_exif(), icc_profile=icc)
    data = with_metadata(jpeg, trailer=encode(scene((64, 48), seed=1), "JPEG"))

    clean = strip(data, walk(data))

    assert pixels(clean) == pixels(data)  # the same entropy-coded data, the same tables
    assert clean.endswith(b"\xff\xd9") and walk(clean).end == len(clean)  # nothing after the EOI
    for secret in (b"Exif", b"GPS", b"Secret Phone Co", b"xmpmeta", b"8BIM", b"MPF", b"ICC_PROFILE", b"secret"):
        assert secret not in clean, secret
    img = Image.open(io.BytesIO(clean))
    assert not img.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment", "mp", "photoshop"} & set(img.info)
    assert all(kept(s, clean) for s in walk(clean).segments)
    assert markers(clean)[0] == APP0  # JFIF stays


def test_progressive_scans_with_tables_between_them_are_copied() -> None:
    data = with_metadata(encode(scene((333, 251)), "JPEG", quality=85, progressive=True, exif=phone_exif()))

    layout = walk(data)
    clean = strip(data, layout)

    assert layout.scans > 5
    codes = markers(data)
    first_scan = codes.index(SOS)
    assert DHT in codes[first_scan:]  # libjpeg writes Huffman tables between the scans
    assert markers(clean).count(SOS) == layout.scans
    assert pixels(clean) == pixels(data)


def test_restart_markers_inside_scans_are_not_ends() -> None:
    data = encode(scene((256, 256)), "JPEG", quality=90, restart_marker_blocks=4, exif=phone_exif())
    layout = walk(data)
    assert DRI in markers(data)
    scan = next(s for s in layout.segments if s.marker == SOS)
    assert any(bytes((0xFF, rst)) in data[scan.end : scan.scan_end] for rst in range(0xD0, 0xD8))
    clean = strip(data, layout)
    assert pixels(clean) == pixels(data)


def test_fill_bytes_before_a_marker_are_skipped() -> None:
    jpeg = encode(scene((64, 64)), "JPEG")
    padded = jpeg[:2] + b"\xff\xff\xff" + jpeg[2:]  # FF fill bytes may precede any marker
    assert pixels(strip(padded, walk(padded))) == pixels(jpeg)


def test_no_exif_is_written_whatever_the_upload_held() -> None:
    jpeg = encode(scene((120, 80)), "JPEG", exif=phone_exif())  # orientation 6 among the tags
    no_jfif = jpeg[:2] + jpeg[20:]  # a phone's layout: EXIF first, no JFIF
    assert walk(no_jfif).segments[0].marker != APP0
    for data in (jpeg, no_jfif):
        clean = strip(data, walk(data))
        assert b"Exif" not in clean and b"Secret Phone Co" not in clean
        assert not Image.open(io.BytesIO(clean)).getexif()
        assert pixels(clean) == pixels(data)


@pytest.mark.parametrize(
    "cut",
    [
        lambda d: d[: len(d) // 2],  # entropy data cut short: no EOI
        lambda d: d[:-2],  # just the EOI missing
        lambda d: d[:1] + d[2:],  # no SOI
        lambda d: d[:30],  # inside a segment
        lambda d: d[:20] + b"garbage" + d[20:],  # bytes between segments
        lambda d: d[:2] + segment(0xFE, b"x")[:2] + b"\xff\xff" + d[2:],  # a length past the end
    ],
)
def test_what_does_not_walk_is_refused(cut) -> None:
    data = encode(scene((200, 150)), "JPEG", quality=80)
    with pytest.raises(NotWalkable):
        walk(cut(data))


def test_a_scan_without_a_frame_or_a_file_of_tiny_segments_is_refused() -> None:
    data = encode(scene((64, 64)), "JPEG")
    sof = data.index(b"\xff\xc0")
    length = struct.unpack(">H", data[sof + 2 : sof + 4])[0]
    with pytest.raises(NotWalkable):
        walk(data[:sof] + data[sof + 2 + length :])
    with pytest.raises(NotWalkable):
        walk(data[:2] + segment(0xFE, b"") * 5000 + data[2:])


def test_jfif_thumbnail_and_bytes_after_the_adobe_fields_are_dropped() -> None:
    jpeg = encode(scene((64, 48)), "JPEG")
    assert jpeg[6:11] == b"JFIF\x00"
    length = struct.unpack(">H", jpeg[4:6])[0]
    thumbnail = bytes((2, 1)) + b"\x10\x20\x30" * 2  # a 2x1 RGB thumbnail of the picture as it once was
    jfif = segment(0xE0, jpeg[6:18] + thumbnail)
    adobe = segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + b"secret appended")
    data = jpeg[:2] + jfif + adobe + jpeg[4 + length :]

    clean = strip(data, walk(data))

    assert b"\x10\x20\x30" not in clean and b"secret" not in clean
    assert clean.startswith(b"\xff\xd8" + segment(0xE0, jpeg[6:18] + b"\x00\x00"))
    assert segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01") in clean
    assert pixels(clean) == pixels(jpeg)
