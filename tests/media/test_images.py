"""The image pipeline on real image bytes made here with Pillow (no mocks)."""

from __future__ import annotations

import hashlib
import io
import logging
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw, ImageOps, ImageStat

from media import jpeg_transform
from media.images import BadImage, ImageRejected, Ingested, UnsupportedMediaType, hamming, ingest, sniff
from media.jpeg_segments import strip, walk
from media.jpeg_transform import FOR_ORIENTATION, Op, turn
from tests.images import bomb_png, encode, phone_exif, phone_photo, rational_dms, scene


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def assert_clean(data: bytes) -> None:
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    assert img.mode == "RGB"
    assert not img.getexif()
    assert "icc_profile" not in img.info and "xmp" not in img.info and "comment" not in img.info
    assert b"Exif" not in data and b"GPS" not in data and b"ICC_PROFILE" not in data


def assert_outputs(result: Ingested) -> None:
    assert result.content_type == "image/jpeg"
    for data in (result.original, result.display, result.thumb):
        assert_clean(data)
    assert Image.open(io.BytesIO(result.original)).size == (result.width, result.height)
    assert max(Image.open(io.BytesIO(result.display)).size) <= 1280
    assert max(Image.open(io.BytesIO(result.thumb)).size) <= 320
    assert len(result.phash) == 16 and int(result.phash, 16) >= 0


def rejected(path: str) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        ingest(path)
    return info.value


# --- sniffing ------------------------------------------------------------------------


def test_sniff_by_magic_bytes() -> None:
    img = Image.new("RGB", (4, 4))
    assert sniff(encode(img, "JPEG")[:64]) == "image/jpeg"
    assert sniff(encode(img, "PNG")[:64]) == "image/png"
    assert sniff(encode(img, "WEBP")[:64]) == "image/webp"
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") == "image/heic"
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic") == "image/heic"
    assert sniff(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf") is None
    assert sniff(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2") is None  # MP4 video
    assert sniff(encode(Image.new("P", (1, 1)), "GIF")[:64]) is None
    assert sniff(b'<svg xmlns="http://www.w3.org/2000/svg"/>') is None
    assert sniff(b"hello") is None
    assert sniff(b"") is None


# --- the happy paths -----------------------------------------------------------------


def test_jpeg_with_exif_gps_and_orientation_comes_out_upright_and_clean(tmp_path: Path) -> None:
    # A marker in the stored top-left corner: after a 90° clockwise turn (orientation 6)
    # it must be in the top-right corner of the upright picture.
    data = phone_photo((800, 600))
    assert b"Exif" in data and b"Secret Phone Co" in data  # the input does carry metadata

    result = ingest(write(tmp_path, "photo.jpg", data))

    assert_outputs(result)
    # Swapped vs stored; the lossless turn trims the stored picture's partial bottom row of 16-px MCUs
    # (600 = 37.5 of them), which the turn would carry to the left edge.
    assert (result.width, result.height) == (592, 800)
    upright = Image.open(io.BytesIO(result.original))
    r, g, b = upright.getpixel((upright.width - 10, 10))
    assert g > 200 and r < 60 and b < 60
    assert result.taken_at == datetime(2024, 5, 1, 1, 30, 15, tzinfo=UTC)  # 09:30 in Shanghai
    assert result.taken_at.utcoffset() is not None
    assert result.gps is not None
    assert result.gps[0] == pytest.approx(31.2304, abs=1e-4)
    assert result.gps[1] == pytest.approx(121.4737, abs=1e-4)
    for out in (result.original, result.display, result.thumb):
        assert b"Secret Phone Co" not in out


def test_southern_western_gps_and_explicit_offset(tmp_path: Path) -> None:
    exif = Image.Exif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2023:12:31 23:00:00"
    sub[ExifTags.Base.OffsetTimeOriginal] = "-03:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = rational_dms(22.9068)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = rational_dms(43.1729)
    data = encode(scene((200, 100)), "JPEG", exif=exif.tobytes())

    result = ingest(write(tmp_path, "rio.jpg", data))

    assert result.taken_at == datetime(2024, 1, 1, 2, 0, tzinfo=UTC)
    assert result.gps == pytest.approx((-22.9068, -43.1729), abs=1e-4)


def test_no_exif_means_no_evidence(tmp_path: Path) -> None:
    result = ingest(write(tmp_path, "plain.png", encode(scene((300, 200)), "PNG")))
    assert result.taken_at is None and result.gps is None
    assert (result.width, result.height) == (300, 200)
    assert_outputs(result)


def test_sha256_is_of_the_uploaded_bytes(tmp_path: Path) -> None:
    data = phone_photo((800, 600), orientation=1)  # the fast path: the original is the upload's own picture
    result = ingest(write(tmp_path, "x.jpg", data))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.original != data  # the metadata is gone


def test_large_photo_derivatives_are_bounded_and_fast(tmp_path: Path) -> None:
    data = encode(scene((4000, 3000)), "JPEG", quality=90)  # 12 MP
    path = write(tmp_path, "big.jpg", data)
    started = time.perf_counter()
    result = ingest(path)
    elapsed = time.perf_counter() - started
    assert (result.width, result.height) == (4000, 3000)
    assert Image.open(io.BytesIO(result.display)).size == (1280, 960)
    assert Image.open(io.BytesIO(result.thumb)).size == (320, 240)
    assert_outputs(result)
    assert elapsed < 5


def test_small_image_is_not_enlarged(tmp_path: Path) -> None:
    result = ingest(write(tmp_path, "tiny.webp", encode(scene((100, 50)), "WEBP")))
    assert Image.open(io.BytesIO(result.thumb)).size == (100, 50)
    assert Image.open(io.BytesIO(result.display)).size == (100, 50)
    assert_outputs(result)


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (120, 80), (0, 255, 255, 0))  # pure red in CMYK
    result = ingest(write(tmp_path, "print.jpg", encode(cmyk, "JPEG", quality=95)))
    assert_outputs(result)
    out = Image.open(io.BytesIO(result.original))
    r, g, b = out.getpixel((60, 40))
    assert r > 200 and g < 60 and b < 60


def test_icc_profile_is_applied_and_not_kept(tmp_path: Path) -> None:
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(scene((200, 150)), "JPEG", icc_profile=srgb_profile)
    assert b"ICC_PROFILE" in data
    result = ingest(write(tmp_path, "icc.jpg", data))
    assert_outputs(result)


def test_png_alpha_is_flattened_on_white(tmp_path: Path) -> None:
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((50, 0, 99, 99), fill=(0, 0, 255, 255))
    result = ingest(write(tmp_path, "logo.png", encode(img, "PNG")))
    assert_outputs(result)
    out = Image.open(io.BytesIO(result.original))
    assert all(c > 245 for c in out.getpixel((10, 50)))  # was transparent
    r, g, b = out.getpixel((80, 50))
    assert b > 200 and r < 40 and g < 40


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    ImageDraw.Draw(img).rectangle((20, 0, 39, 39), fill=1)
    result = ingest(write(tmp_path, "p.png", encode(img, "PNG", transparency=0)))
    out = Image.open(io.BytesIO(result.original))
    assert all(c > 245 for c in out.getpixel((5, 20)))
    assert out.getpixel((30, 20))[0] > 200


def test_heic_is_accepted(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif not installed")
    pillow_heif.register_heif_opener()
    try:
        data = encode(scene((640, 480)), "HEIF", quality=80)
    except (OSError, KeyError, ValueError) as exc:  # pragma: no cover - build without an HEVC encoder
        pytest.skip(f"this pillow-heif cannot encode HEIC: {exc}")
    assert sniff(data[:64]) == "image/heic"

    result = ingest(write(tmp_path, "IMG_0001.HEIC", data))

    assert (result.width, result.height) == (640, 480)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert_outputs(result)


# --- perceptual hash -----------------------------------------------------------------


def test_phash_is_stable_under_reencoding_and_far_for_another_picture(tmp_path: Path) -> None:
    base = scene((1024, 768), seed=0)
    a = ingest(write(tmp_path, "a.jpg", encode(base, "JPEG", quality=95)))
    b = ingest(write(tmp_path, "b.jpg", encode(base.resize((500, 375)), "JPEG", quality=40)))
    c = ingest(write(tmp_path, "c.png", encode(base, "PNG")))
    other = ingest(write(tmp_path, "d.jpg", encode(scene((1024, 768), seed=1), "JPEG", quality=95)))

    assert hamming(a.phash, b.phash) <= 6
    assert hamming(a.phash, c.phash) <= 6
    assert hamming(a.phash, other.phash) >= 16


# --- refusals ------------------------------------------------------------------------


def test_text_renamed_jpg_is_415(tmp_path: Path) -> None:
    err = rejected(write(tmp_path, "evil.jpg", b"just some text, not a picture\n" * 10))
    assert isinstance(err, UnsupportedMediaType)
    assert (err.status, err.code) == (415, "unsupported_media_type")
    assert err.message


def test_svg_is_415(tmp_path: Path) -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    err = rejected(write(tmp_path, "x.png", svg))
    assert (err.status, err.code) == (415, "unsupported_media_type")


def test_gif_is_415(tmp_path: Path) -> None:
    err = rejected(write(tmp_path, "pixel.jpg", encode(Image.new("P", (1, 1)), "GIF")))
    assert (err.status, err.code) == (415, "unsupported_media_type")


def test_empty_file_is_415(tmp_path: Path) -> None:
    err = rejected(write(tmp_path, "empty.jpg", b""))
    assert err.status == 415


def test_truncated_jpeg_is_400(tmp_path: Path) -> None:
    data = encode(scene((800, 600)), "JPEG", quality=90)
    err = rejected(write(tmp_path, "cut.jpg", data[: len(data) // 2]))
    assert isinstance(err, BadImage)
    assert (err.status, err.code) == (400, "bad_image")


def test_jpeg_header_only_is_400(tmp_path: Path) -> None:
    err = rejected(write(tmp_path, "head.jpg", b"\xff\xd8\xff\xe0garbage"))
    assert (err.status, err.code) == (400, "bad_image")


def test_corrupt_png_is_400(tmp_path: Path) -> None:
    data = bytearray(encode(scene((200, 200)), "PNG"))
    data[100:140] = b"\x00" * 40
    err = rejected(write(tmp_path, "bad.png", bytes(data)))
    assert (err.status, err.code) == (400, "bad_image")


def test_decompression_bomb_png_is_400_fast(tmp_path: Path) -> None:
    path = write(tmp_path, "bomb.png", bomb_png(30000, 30000))
    started = time.perf_counter()
    err = rejected(path)
    assert time.perf_counter() - started < 1
    assert (err.status, err.code) == (400, "bad_image")


def test_a_2_kb_webp_of_40_megapixels_is_refused_before_decoding(tmp_path: Path) -> None:
    # Lossless WebP of one colour: 6320x6320 (just under the 40-MP cap) in under 2 KB, ~1.9 s to ingest.
    data = encode(Image.new("RGB", (6320, 6320), (200, 30, 30)), "WEBP", lossless=True)
    assert len(data) < 4096
    path = write(tmp_path, "flat.webp", data)

    started = time.perf_counter()
    err = rejected(path)

    assert time.perf_counter() - started < 0.5
    assert (err.status, err.code) == (400, "bad_image")
    assert "像素" in err.message and "文件大小" in err.message


def test_pixels_per_byte_bound_spares_small_and_plausible_pictures(tmp_path: Path) -> None:
    # Under 4 MP any file size is fine: decoding it is cheap whatever it compresses to.
    small_flat = encode(Image.new("RGB", (1000, 1000), (255, 255, 255)), "WEBP", lossless=True)
    # 6 MP of flat colour as RGB PNG: deflate's 1032:1 limit leaves about 300 pixels per byte.
    flat_rgb = encode(Image.new("RGB", (3000, 2000), (240, 240, 240)), "PNG")
    # The same picture as 8-bit grey packs 3x the pixels into each byte: past the bound.
    flat_grey = encode(Image.new("L", (3000, 2000), 240), "PNG")

    assert ingest(write(tmp_path, "small.webp", small_flat)).width == 1000
    assert ingest(write(tmp_path, "flat.png", flat_rgb)).width == 3000
    assert rejected(write(tmp_path, "grey.png", flat_grey)).code == "bad_image"


def test_own_pixel_limit_applies_below_pillows(tmp_path: Path) -> None:
    data = encode(scene((400, 300)), "PNG")
    path = write(tmp_path, "ok.png", data)
    assert ingest(path, max_pixels=120_000).width == 400
    with pytest.raises(BadImage):
        ingest(path, max_pixels=119_999)
    # Just above the default limit but below Pillow's hard error (2x): still refused, undecoded.
    started = time.perf_counter()
    with pytest.raises(BadImage), pytest.warns(Image.DecompressionBombWarning):
        ingest(write(tmp_path, "big.png", bomb_png(8000, 6000)))
    assert time.perf_counter() - started < 1


# --- the JPEG fast path: the upload's own picture bytes, decoded at a reduced scale ----------------

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description GPSLatitude="31,13.8N" CreatorTool="Secret"/></x:xmpmeta>'


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def camera_jpeg(kind: str, *, orientation: int = 1) -> bytes:
    """A phone photo (EXIF orientation, GPS, capture time, maker) as cameras and apps lay it out.

    Orientation 1 (held in landscape, or already turned by the phone) takes the fast path; the green
    marker is in the stored top-left corner.
    """
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    stored = scene((1600, 1200), seed=1)
    ImageDraw.Draw(stored).rectangle((0, 0, 120, 120), fill=(0, 255, 0))
    params: dict[str, object] = {"exif": phone_exif(orientation=orientation), "quality": 92, "icc_profile": srgb}
    if kind == "progressive":
        params["progressive"] = True
    elif kind == "restart":
        params["restart_marker_rows"] = 2
    elif kind == "444":
        params["subsampling"] = "4:4:4"
    jpeg = encode(stored, "JPEG", **params)
    extra = (
        _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
        + _segment(0xFE, b"Secret Phone Co comment \xff\xd9")
        + _segment(0xED, b"Photoshop 3.0\x008BIM Secret caption")
    )
    # After EOI: what some phones append (a depth map, a second MPO picture, a maker's trailer).
    trailer = encode(scene((160, 120), seed=2), "JPEG") + b"Secret trailer"
    return jpeg[:2] + extra + jpeg[2:] + trailer


def rms(a: Image.Image, b: Image.Image) -> float:
    """Root-mean-square difference per channel value (0-255) of two same-sized pictures."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return math.sqrt(sum(v * v for v in ImageStat.Stat(diff).rms) / 3)


def full_decode_derivatives(data: bytes) -> list[tuple[Image.Image, Image.Image]]:
    """Display and thumb as the full-decode path makes them (decoded, upright, LANCZOS): (pixels, JPEG-encoded)."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    display = img.copy()
    display.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
    thumb = display.copy()
    thumb.thumbnail((320, 320), Image.Resampling.LANCZOS)
    return [
        (display, Image.open(io.BytesIO(encode(display, "JPEG", quality=85)))),
        (thumb, Image.open(io.BytesIO(encode(thumb, "JPEG", quality=80)))),
    ]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", ["baseline", "progressive", "restart", "444"])
def test_camera_jpeg_original_is_its_own_picture_without_metadata(tmp_path: Path, kind: str) -> None:
    data = camera_jpeg(kind)
    assert all(s in data for s in (b"GPS", b"Secret", b"xmpmeta", b"ICC_PROFILE"))

    result = ingest(write(tmp_path, f"{kind}.jpg", data))

    assert_outputs(result)
    original = result.original
    img = Image.open(io.BytesIO(original))
    # No EXIF at all (not even the orientation), no GPS, XMP, comment, profile or Photoshop block, nothing after EOI.
    assert not img.getexif() and b"Exif" not in original
    assert not {"comment", "xmp", "icc_profile", "photoshop", "mp"} & set(img.info)
    for secret in (b"GPS", b"Secret", b"xmpmeta", b"8BIM", b"ICC_PROFILE"):
        assert secret not in original, secret
    assert original.endswith(b"\xff\xd9") and walk(original).end == len(original)
    # The same entropy-coded data: decoded, the stored picture is the upload's, pixel for pixel.
    img.load()
    upload = Image.open(io.BytesIO(data))
    upload.load()
    assert img.size == upload.size == (1600, 1200) and img.tobytes() == upload.tobytes()
    assert original == strip(data, walk(data))
    assert (result.width, result.height) == (1600, 1200)
    assert result.taken_at == datetime(2024, 5, 1, 1, 30, 15, tzinfo=UTC)
    assert result.gps == pytest.approx((31.2304, 121.4737), abs=1e-4)
    # Display and thumb look like the full decode's.
    display, thumb = Image.open(io.BytesIO(result.display)), Image.open(io.BytesIO(result.thumb))
    (want_display, display_jpeg), (want_thumb, thumb_jpeg) = full_decode_derivatives(data)
    assert display.size == want_display.size == (1280, 960)
    assert thumb.size == want_thumb.size == (320, 240)
    # Closer to the full-decode path's output than a JPEG encode at the same quality is to its own input.
    for got, jpeg, pixels in ((display, display_jpeg, want_display), (thumb, thumb_jpeg, want_thumb)):
        assert rms(got, jpeg) < min(2.5, rms(jpeg, pixels))
    r, g, b = display.getpixel((20, 20))  # the marker stays top left: nothing to turn
    assert g > 200 and r < 60 and b < 60


# Where the stored picture's top-left corner (the marker) is once upright, for each EXIF orientation.
UPRIGHT_CORNER = {1: "tl", 2: "tr", 3: "br", 4: "bl", 5: "tl", 6: "tr", 7: "br", 8: "bl"}
INVERSE_TURN = {Op.ROT90: Op.ROT270, Op.ROT270: Op.ROT90}  # every other operation undoes itself


def marker_at(img: Image.Image, corner: str, inset: int = 20) -> bool:
    """Whether the green marker is in that corner of ``img`` (and so in no other)."""
    x = img.width - inset if corner[1] == "r" else inset
    y = img.height - inset if corner[0] == "b" else inset
    r, g, b = img.convert("RGB").getpixel((x, y))
    return g > 200 and r < 60 and b < 60


def assert_no_metadata_segments(data: bytes) -> None:
    """Only the picture: no APP1-APP15 (EXIF, XMP, ICC, MPF ...), comment, foreign APP0 or bytes after EOI."""
    layout = walk(data)
    assert layout.end == len(data)
    for s in layout.segments:
        assert not (0xE1 <= s.marker <= 0xEF or s.marker == 0xFE), hex(s.marker)
        if s.marker == 0xE0:
            assert s.payload(data).startswith(b"JFIF\x00")
    for secret in (b"Exif", b"GPS", b"Secret", b"xmpmeta", b"8BIM", b"ICC_PROFILE"):
        assert secret not in data, secret


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", ["baseline", "progressive", "restart", "444"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_photo_to_be_turned_is_turned_losslessly_upright_without_metadata(
    tmp_path: Path, orientation: int, kind: str
) -> None:
    """Orientation 2-8: the upload's own coefficients, turned upright in the DCT domain; no EXIF written."""
    data = camera_jpeg(kind, orientation=orientation)
    sideways = orientation >= 5

    result = ingest(write(tmp_path, "turned.jpg", data))

    assert_outputs(result)  # no EXIF at all on any output, the orientation included
    for out in (result.original, result.display, result.thumb):
        assert_no_metadata_segments(out)
    upright_size = (1200, 1600) if sideways else (1600, 1200)  # 1600x1200 is a whole number of MCUs
    assert (result.width, result.height) == upright_size
    original = Image.open(io.BytesIO(result.original))
    display = Image.open(io.BytesIO(result.display))
    assert original.size == upright_size
    assert display.size == ((960, 1280) if sideways else (1280, 960))
    for img in (original, display):
        assert [marker_at(img, c) for c in ("tl", "tr", "bl", "br")] == [
            c == UPRIGHT_CORNER[orientation] for c in ("tl", "tr", "bl", "br")
        ]
    # Not decoded and re-encoded: turned back losslessly, the original decodes to the upload's pixels exactly.
    op = FOR_ORIENTATION[orientation]
    back, _ = turn(result.original, INVERSE_TURN.get(op, op))
    stored = Image.open(io.BytesIO(strip(data, walk(data))))
    assert Image.open(io.BytesIO(back)).tobytes() == stored.tobytes()
    # Upright, it is what Pillow makes of the full decode, to a rounding step.
    assert rms(original, ImageOps.exif_transpose(Image.open(io.BytesIO(data)))) < 0.6
    assert result.taken_at == datetime(2024, 5, 1, 1, 30, 15, tzinfo=UTC)
    assert result.gps == pytest.approx((31.2304, 121.4737), abs=1e-4)
    (want_display, display_jpeg), _ = full_decode_derivatives(data)
    assert display.size == want_display.size
    assert rms(display, display_jpeg) < 2.5


@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_turn_of_a_picture_that_is_not_whole_mcus_trims_under_one_mcu(tmp_path: Path, orientation: int) -> None:
    stored = scene((1000, 750), seed=1)  # 4:2:0, 16-px MCUs: 62.5 x 46.875
    ImageDraw.Draw(stored).rectangle((0, 0, 60, 60), fill=(0, 255, 0))
    data = encode(stored, "JPEG", quality=92, exif=phone_exif(orientation=orientation))
    full = (750, 1000) if orientation >= 5 else (1000, 750)

    result = ingest(write(tmp_path, "odd.jpg", data))

    assert_outputs(result)
    assert_no_metadata_segments(result.original)
    cut_w, cut_h = full[0] - result.width, full[1] - result.height
    assert 0 <= cut_w < 16 and 0 <= cut_h < 16
    if orientation != 5:  # only a transpose leaves the partial MCUs at the right and bottom
        assert cut_w or cut_h
    original = Image.open(io.BytesIO(result.original))
    display = Image.open(io.BytesIO(result.display))
    assert original.size == (result.width, result.height)
    assert marker_at(original, UPRIGHT_CORNER[orientation]) and marker_at(display, UPRIGHT_CORNER[orientation])
    # The strip went from the upright left/top edge: the rest is the upright picture, not shifted.
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert rms(original, upright.crop((cut_w, cut_h, *full))) < 1
    # The display (under 1280 px here, so not shrunk) is the trimmed original's picture, re-encoded.
    assert display.size == original.size
    assert rms(display, original) < 3


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_broken_photo_to_be_turned_is_400(tmp_path: Path) -> None:
    data = camera_jpeg("baseline", orientation=6)
    # Cut short: no EOI, so it is not taken as an ordinary JPEG and the decoder refuses it.
    err = rejected(write(tmp_path, "cut.jpg", data[: len(data) // 2]))
    assert err.status == 400 and err.code == "bad_image"
    # Well formed up to its end, but a Huffman table libjpeg refuses: the transform fails, and so does
    # the full decode that is tried instead.
    layout = walk(data)
    dht = next(s for s in layout.segments if s.marker == 0xC4)
    bogus = bytearray(data)
    bogus[dht.start + 5 : dht.start + 21] = b"\xff" * 16  # code counts adding up to far more than 256
    err = rejected(write(tmp_path, "bogus.jpg", bytes(bogus)))
    assert err.status == 400 and err.code == "bad_image"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_without_the_library_a_photo_to_be_turned_is_decoded_turned_and_re_encoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = phone_photo((800, 600))  # orientation 6, 600 px not a whole number of 16-px MCUs
    path = write(tmp_path, "photo.jpg", data)
    missing = str(tmp_path / "libturbojpeg.so.0")  # a name no earlier test loaded: its failure is said here
    for switch in (jpeg_transform.OFF, missing):
        monkeypatch.setenv(jpeg_transform.LIBRARY_ENV, switch)
        with caplog.at_level(logging.INFO, logger="media.jpeg_transform"):
            caplog.clear()
            results = [ingest(path), ingest(path)]
        said = [r for r in caplog.records if r.name == "media.jpeg_transform"]
        assert len(said) == 1, switch  # once, not per photo
        assert said[0].levelno == (logging.INFO if switch == jpeg_transform.OFF else logging.WARNING)
        for result in results:
            assert_outputs(result)
            assert_no_metadata_segments(result.original)
            assert (result.width, result.height) == (600, 800)  # decoded and turned whole: nothing trimmed
            assert marker_at(Image.open(io.BytesIO(result.original)), "tr")
            assert marker_at(Image.open(io.BytesIO(result.display)), "tr")
    monkeypatch.delenv(jpeg_transform.LIBRARY_ENV)
    assert (ingest(path).width, ingest(path).height) == (592, 800)  # the lossless turn again


def test_reduced_decode_still_reads_every_scan(tmp_path: Path) -> None:
    data = camera_jpeg("progressive")
    cut = data[: len(data) // 2]
    err = rejected(write(tmp_path, "cut.jpg", cut))
    assert err.status == 400 and err.code == "bad_image"
    img = Image.open(io.BytesIO(cut))
    img.draft("RGB", (200, 150))  # 1/8 scale: the entropy-coded data is still read to its end
    with pytest.raises(OSError):
        img.load()


def test_unusual_jpegs_take_the_full_decode_path(tmp_path: Path) -> None:
    """A profile other than sRGB, an RGB-coded or CMYK picture: decoded, converted, re-encoded upright."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    for old in (b"sRGB", "sRGB".encode("utf-16-be")):  # the description, in whichever encoding lcms wrote it
        at = profile.find(old)
        while at != -1:
            profile[at : at + len(old)] = (
                old.upper().replace(b"S", b"P") if len(old) == 4 else "PRGB".encode("utf-16-be")
            )
            at = profile.find(old)
    stored = scene((400, 300))
    exif = phone_exif(orientation=1)  # nothing to turn: only what is unusual sends them to the decoding path
    cases = {
        "other-profile": encode(stored, "JPEG", exif=exif, icc_profile=bytes(profile)),
        "cmyk": encode(stored.convert("CMYK"), "JPEG", exif=exif),
        "rgb-coded": encode(stored, "JPEG", exif=exif, keep_rgb=True),
    }
    for name, data in cases.items():
        result = ingest(write(tmp_path, f"{name}.jpg", data))
        assert_outputs(result)
        assert result.original != strip(data, walk(data)), name  # re-encoded, not the upload's picture bytes
        assert Image.open(io.BytesIO(result.original)).size == (400, 300), name


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_greyscale_and_mpo_photos_take_the_fast_path(tmp_path: Path) -> None:
    grey = encode(scene((800, 600)).convert("L"), "JPEG", exif=phone_exif(orientation=1), quality=90)
    result = ingest(write(tmp_path, "grey.jpg", grey))
    original = Image.open(io.BytesIO(result.original))
    assert original.mode == "L" and not original.getexif() and b"Exif" not in result.original
    assert original.tobytes() == Image.open(io.BytesIO(grey)).tobytes()
    display = Image.open(io.BytesIO(result.display))
    assert display.mode == "RGB" and display.size == (800, 600)
    assert_clean(result.display)

    # A stereo/depth camera's MPO: the first picture is the photo, the second must not be stored.
    first = scene((800, 600))
    out = io.BytesIO()
    second = scene((800, 600), seed=1)
    first.save(out, "MPO", save_all=True, append_images=[second], exif=phone_exif(orientation=1), quality=90)
    mpo = out.getvalue()
    assert Image.open(io.BytesIO(mpo)).format == "MPO" and b"MPF" in mpo
    result = ingest(write(tmp_path, "stereo.jpg", mpo))
    assert_outputs(result)
    assert b"MPF" not in result.original and result.original.count(b"\xff\xd8") == 1
    assert walk(result.original).end == len(result.original)
    assert Image.open(io.BytesIO(result.original)).format == "JPEG"
    assert result.original == strip(mpo, walk(mpo))  # the first picture's own bytes: the fast path
    assert (result.width, result.height) == (800, 600)
