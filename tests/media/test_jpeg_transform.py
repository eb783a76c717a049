"""Lossless JPEG turns through libjpeg-turbo, on real JPEG bytes made here with Pillow.

These need ``libturbojpeg0`` (``make system-deps`` installs it; so does CI): without it they fail.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from media import jpeg_transform
from media.jpeg_segments import walk
from media.jpeg_transform import FOR_ORIENTATION, Op, TransformError, Unavailable, turn
from tests.images import encode, phone_exif, scene

# What Pillow does for each EXIF orientation (PIL.ImageOps.exif_transpose).
PIL_TURN = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
INVERSE = {Op.ROT90: Op.ROT270, Op.ROT270: Op.ROT90}  # every other operation undoes itself


def textured(size: tuple[int, int]) -> Image.Image:
    """A scene with grain, as photos have: a re-encode of it visibly moves pixels."""
    grain = Image.merge("RGB", [Image.effect_noise(size, 40) for _ in range(3)])
    return Image.blend(scene(size), grain, 0.3)


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def rms(a: Image.Image, b: Image.Image) -> float:
    """Root-mean-square difference per channel value (0-255) of two same-sized pictures."""
    diff = ImageChops.difference(a, b)
    return math.sqrt(sum(v * v for v in ImageStat.Stat(diff).rms) / len(diff.getbands()))


def test_the_library_is_installed() -> None:
    assert jpeg_transform.available(), "libturbojpeg.so.0 does not load: install libturbojpeg0 (make system-deps)"


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4", "grey"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_turns_move_the_coefficients_and_nothing_else(orientation: int, subsampling: str) -> None:
    picture = textured((640, 480))  # a whole number of MCUs either way round
    if subsampling == "grey":
        source = encode(picture.convert("L"), "JPEG", quality=90)
    else:
        source = encode(picture, "JPEG", quality=90, subsampling=subsampling)
    op = FOR_ORIENTATION[orientation]

    turned, trimmed = turn(source, op)

    assert not trimmed
    want = decoded(source).transpose(PIL_TURN[orientation])
    got = decoded(turned)
    assert got.size == want.size and got.mode == want.mode
    # Pillow's turn of the decoded picture, within a rounding step where the inverse DCT and the chroma
    # upsampling run the other way round (a transposed block, a mirrored chroma sample).
    assert rms(got, want) < 0.6  # a wrong turn is tens of levels away
    # Turned back, the very coefficients of the source: the decoded pixels are equal bit for bit (a decode
    # and re-encode at the source's quality comes close, but moves some pixels by a step or more).
    back, _ = turn(turned, INVERSE.get(op, op))
    assert decoded(back).tobytes() == decoded(source).tobytes()


def test_no_marker_of_the_source_is_copied() -> None:
    source = encode(scene((320, 240)), "JPEG", quality=90, exif=phone_exif(), comment=b"Secret Phone Co")
    assert b"Exif" in source and b"Secret" in source

    turned, _ = turn(source, Op.ROT90)

    layout = walk(turned)
    assert layout.end == len(turned)
    extra = [s for s in layout.segments if 0xE1 <= s.marker <= 0xEF or s.marker == 0xFE]
    assert extra == []
    app0 = [s.payload(turned) for s in layout.segments if s.marker == 0xE0]
    assert all(p.startswith(b"JFIF\x00") for p in app0)  # libjpeg's own JFIF header, nothing else
    assert b"Exif" not in turned and b"Secret" not in turned and b"GPS" not in turned


@pytest.mark.parametrize(("subsampling", "mcu"), [("4:2:0", 16), ("4:4:4", 8)])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_partial_mcu_is_trimmed_from_the_upright_left_or_top(orientation: int, subsampling: str, mcu: int) -> None:
    width, height = 333, 250  # neither a multiple of 8 nor of 16
    source = encode(scene((width, height)), "JPEG", quality=95, subsampling=subsampling)
    upright = decoded(source).transpose(PIL_TURN[orientation])

    turned, trimmed = turn(source, FOR_ORIENTATION[orientation])

    got = decoded(turned)
    cut_w, cut_h = upright.width - got.width, upright.height - got.height
    assert 0 <= cut_w < mcu and 0 <= cut_h < mcu
    assert trimmed == (cut_w > 0 or cut_h > 0)
    if orientation != 5:  # a transpose never needs trimming; every other turn moves a right or bottom edge
        assert trimmed
    # What is left is the upright picture without its leftmost/topmost few pixels (not its right/bottom ones).
    assert rms(got, upright.crop((cut_w, cut_h, upright.width, upright.height))) < 1
    if trimmed:
        assert rms(got, upright.crop((0, 0, got.width, got.height))) > 5


def test_corrupt_data_is_an_error_that_says_whether_libjpeg_only_warned() -> None:
    source = encode(scene((320, 240)), "JPEG", quality=90)
    layout = walk(source)
    scan = next(s for s in layout.segments if s.marker == 0xDA)
    cut = source[: (scan.end + scan.scan_end) // 2] + b"\xff\xd9"  # the scan ends half way: a warning

    with pytest.raises(TransformError) as info:
        turn(cut, Op.ROT90)
    assert info.value.warning

    with pytest.raises(TransformError) as info:
        turn(b"\xff\xd8\xff\xd9", Op.ROT90)  # no frame at all
    assert str(info.value)


def test_switched_off_or_missing_library_is_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = encode(scene((64, 48)), "JPEG")
    for value in (jpeg_transform.OFF, str(tmp_path / "libturbojpeg.so.0")):
        monkeypatch.setenv(jpeg_transform.LIBRARY_ENV, value)
        assert not jpeg_transform.available()
        with pytest.raises(Unavailable):
            turn(source, Op.ROT90)
    monkeypatch.delenv(jpeg_transform.LIBRARY_ENV)
    assert jpeg_transform.available()
