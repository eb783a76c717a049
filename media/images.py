"""The image pipeline: sniff, validate, read evidence, strip, derive — on bytes and paths.

Everything here is synchronous and CPU-bound (Pillow); callers on the event loop
run :func:`ingest` in a thread pool. No HTTP, no database.

Flow of :func:`ingest`:

1. the type is decided from the file's first bytes (:func:`sniff`), never from
   its name or a Content-Type header — anything else is 415; the SHA-256 is of
   the bytes as uploaded;
2. ``Image.open`` only parses the header, so the pixel count is checked
   (``max_pixels``, plus Pillow's own ``MAX_IMAGE_PIXELS`` guard) and so is
   the pixel count per byte of file (``MAX_PIXELS_PER_BYTE``) and, for JPEG,
   the number of scans, before a single pixel is decoded — bombs and tiny
   files of huge flat pictures are 400 ``bad_image``, fast;
3. capture time and GPS are read from EXIF (server-side evidence only);
4. an ordinary JPEG (its segments walk cleanly to an EOI; baseline, extended
   or progressive Huffman coding, 8-bit, greyscale or YCbCr; no colour profile
   but sRGB; readable EXIF whose orientation is 1-8 or absent —
   :func:`_plain_jpeg`) takes the fast path:

   - ``original`` is the upload's own picture: its segments copied byte for
     byte up to the first EOI without EXIF, XMP, ICC, MPF, comments, other
     APPn blocks or anything appended (:mod:`media.jpeg_segments`). The
     pixels are not decoded and re-encoded, and no EXIF is written at all;
   - a photo to be turned (EXIF orientation 2-8: a phone held upright stores
     the picture sideways, 6) has that copy turned upright losslessly in the
     DCT domain (:mod:`media.jpeg_transform`, libjpeg-turbo's transform: the
     blocks move, their coefficients are not re-quantised), since served files
     carry no EXIF to say how to show them. When the picture's size is not a
     whole number of MCUs (8 or 16 px) where the turn needs one, the partial
     MCU row or column that would end up at the upright picture's left or top
     edge is trimmed (under 16 px); ``width``/``height`` are the turned
     original's. Without the library (``libturbojpeg0``), or when the
     transform refuses the file or libjpeg warns about its data, the photo
     takes the decoding path below instead (what the decoder cannot read is
     400 there, as for any picture);
   - libjpeg decodes ``original`` at 1/2, 1/4 or 1/8 scale in the DCT domain
     (``draft``), the smallest whose picture still covers the 1280-px display;
     all the entropy-coded data is still read, so corrupt data fails as at
     full size; the display is resized from that (HAMMING) and encoded, the
     thumb (long edge ≤ 320) made from the display. For a turned photo the
     turned original is decoded, not the upload: the display is then the very
     picture stored, trimmed edge included, and on bench/ingest.py's photo
     this was some 10 ms cheaper than decoding the upload, cropping the
     trimmed strip and turning the small picture;

5. every other picture (PNG, WebP, HEIC, CMYK or RGB-coded JPEG, another ICC
   profile, arithmetic coding, broken EXIF, a JPEG whose structure does not
   walk, a JPEG to be turned that the lossless transform did not turn) is
   decoded in full, the EXIF orientation applied, colour taken to sRGB (ICC
   profile / CMYK), alpha flattened on white, and three JPEGs are written
   from fresh pixel data with no metadata at all (no EXIF, XMP, GPS, ICC,
   comments): ``original`` (full size), ``display`` (long edge ≤ 1280) and
   ``thumb`` (long edge ≤ 320).

No output carries metadata, on either path.

Any failure to parse or decode a file of an accepted type (truncated, corrupt,
lying header) is reported as 400 ``bad_image``; no other exception escapes
for bad input.

``phash`` is a 64-bit DCT perceptual hash (the classic pHash): the picture in
greyscale at 32x32, a 2-D DCT-II, the 8x8 lowest frequencies, one bit per
coefficient set when it is above their median; 16 hex digits, most significant
bit first. Compare two hashes with :func:`hamming`; re-encodes and resizes of
the same photo land within a few bits, unrelated photos around 32.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import mmap
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image, ImageOps

from media import jpeg_segments, jpeg_transform
from server.kernel.clock import LOCAL_TZ

try:  # HEIC/HEIF (iPhone photos); without it such uploads are 415.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    HEIF_SUPPORTED = False

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 40_000_000
# Pillow's own guard, set deliberately rather than left at its default (~89 MP):
# it warns above this and raises DecompressionBombError above twice this, at
# ``Image.open`` time. Our own, stricter width*height check runs right after.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS

DISPLAY_EDGE = 1280
THUMB_EDGE = 320
ORIGINAL_QUALITY = 90
DISPLAY_QUALITY = 85
THUMB_QUALITY = 80
# resize(): first shrink by an integer factor with Image.reduce() (cheap box
# filter), then resample with LANCZOS. At 1.5 a 4000-px phone photo is halved
# before the 1280-px resize (at 2.0 or more, phone sizes got no reduce at all);
# the result differs from a full LANCZOS by under 1/255 RMS (bench/ingest.py).
REDUCING_GAP = 1.5
# The JPEG fast path resizes a picture libjpeg has already scaled down by 1/2, 1/4 or 1/8
# in the DCT domain (an average over each block): what is left is a factor under 2. On
# bench/ingest.py's photo (2000x1500 -> 1280x960), against the full-decode LANCZOS display:
# LANCZOS 71 ms of CPU and 0.76/255 RMS apart, BICUBIC 54 ms / 0.96, HAMMING 34 ms / 1.92,
# BILINEAR 34 ms / 2.73. HAMMING is the cheapest filter that still looks the same (a JPEG
# encode at quality 85 alone moves the pixels by 2-5/255).
PLAIN_DISPLAY_FILTER = Image.Resampling.HAMMING
# Capture times without a zone (most phones) are taken to be local to the service.

JPEG, PNG, WEBP, HEIC = "image/jpeg", "image/png", "image/webp", "image/heic"
# Formats Image.open may use for each sniffed type: the bytes decide the decoder.
_PIL_FORMATS = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",), WEBP: ("WEBP",), HEIC: ("HEIF",)}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_GENERIC_BRANDS = {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
SNIFF_BYTES = 64
# A picture's decode and derive cost follows its pixels, not its bytes: a 2 KB lossless WebP of
# one colour at 6320x6320 cost 1.9 s of CPU. Real photos hold a few pixels per byte (a 12-MP phone
# JPEG is 3), screenshots and scans a few dozen to ~300 (flat RGB PNG: deflate stops at 1032:1);
# above MAX_PIXELS_PER_BYTE a file is a made-up picture, refused before decoding. Under
# PIXELS_PER_BYTE_FROM pixels decoding is cheap whatever the ratio, so small flat images pass.
# (draft() and reduce= cannot help here: they exist for JPEG and JPEG 2000 only, and the full-size
# original must be decoded anyway.)
MAX_PIXELS_PER_BYTE = 500
PIXELS_PER_BYTE_FROM = 4_000_000
# Phone cameras and encoders write 1 (baseline) to about 20 (progressive) scans.
MAX_JPEG_SCANS = 100
SOS = b"\xff\xda"
# The JPEG fast path takes these frames: baseline, extended and progressive Huffman (not
# lossless, hierarchical or arithmetic-coded).
_PLAIN_FRAMES = (0xC0, 0xC1, 0xC2)


class ImageRejected(Exception):
    """An upload refused for what it is; ``status``/``code``/``message`` map onto an API error."""

    status: int = 400
    code: str = "bad_image"
    message: str = "图片无法识别"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.message
        super().__init__(self.message)


class UnsupportedMediaType(ImageRejected):
    status, code, message = 415, "unsupported_media_type", "仅支持 JPEG、PNG、WebP、HEIC 格式的图片"


class BadImage(ImageRejected):
    status, code, message = 400, "bad_image", "图片已损坏或无法读取"


@dataclass
class Ingested:
    width: int  # of ``original``, upright
    height: int
    content_type: str  # always "image/jpeg": every output is a JPEG (an ordinary JPEG upload keeps its own picture)
    source_type: str  # what the upload was, from its bytes (image/heic, image/png, ...)
    sha256: str  # hex digest of the bytes as uploaded
    phash: str  # 16 hex digits, see module docstring
    taken_at: datetime | None  # EXIF DateTimeOriginal, timezone-aware
    gps: tuple[float, float] | None  # (lat, lng) in decimal degrees
    original: bytes
    display: bytes
    thumb: bytes


def sniff(head: bytes) -> str | None:
    """The image type from the first bytes of a file, or None if we do not accept it."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if len(head) >= 16 and head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        end = min(len(head), box_size) if box_size >= 16 else len(head)
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}
        if brands & _HEIC_BRANDS:
            return HEIC
        if brands & _AVIF_BRANDS:  # AVIF also lists mif1; not HEVC, not accepted
            return None
        if brands & _HEIF_GENERIC_BRANDS:
            return HEIC
    return None


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hashes from :attr:`Ingested.phash`."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def ingest(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Ingested:
    """Validate the image at ``path`` and produce its clean derivatives; see the module docstring.

    Raises :class:`UnsupportedMediaType` (415) or :class:`BadImage` (400).
    """
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
        content_type = sniff(head)
        if content_type is None or (content_type == HEIC and not HEIF_SUPPORTED):
            raise UnsupportedMediaType()
        f.seek(0)
        data = f.read() if content_type == JPEG else None  # the fast path copies its segments
        sha256 = hashlib.sha256(data).hexdigest() if data is not None else _file_sha256(f)
        f.seek(0)
        try:
            img = _open_checked(f, content_type, max_pixels)
            plain = _plain_jpeg(img, data) if data is not None else None
            if plain is None:
                _decode(img)  # before EXIF: some formats' EXIF reading decodes and would swallow its errors
            taken_at, gps = _evidence(img)
            if plain is not None and data is not None:
                fast = _ingest_plain_jpeg(data, plain, content_type, sha256, taken_at, gps)
                if fast is not None:
                    return fast
                _decode(img)  # not turned losslessly: decoded, turned and re-encoded like any other picture
            img = _normalise(img)
        except ImageRejected:
            raise
        except Exception as exc:  # any parser/decoder failure on untrusted bytes
            log.info("bad image %s (%s): %r", path, content_type, exc)
            raise BadImage() from exc

    try:
        # The original is stored and rarely fetched whole: baseline JPEG encodes twice as fast.
        original = _jpeg(img, ORIGINAL_QUALITY, progressive=False)
        display_img = _shrunk(img, DISPLAY_EDGE)
        display = _jpeg(display_img, DISPLAY_QUALITY)
        thumb_img = _shrunk(display_img, THUMB_EDGE)  # from the display size: same picture, less work
        thumb = _jpeg(thumb_img, THUMB_QUALITY)
        phash = _phash(thumb_img)
    except Exception as exc:  # pragma: no cover - decoded pixels should always encode
        log.warning("cannot encode image %s: %r", path, exc)
        raise BadImage() from exc
    return Ingested(
        width=img.width,
        height=img.height,
        content_type=JPEG,
        source_type=content_type,
        sha256=sha256,
        phash=phash,
        taken_at=taken_at,
        gps=gps,
        original=original,
        display=display,
        thumb=thumb,
    )


def _file_sha256(f: io.BufferedReader) -> str:
    return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class PlainJpeg:
    """An ordinary JPEG's segments and its EXIF orientation (1: upright as stored; 2-8: to be turned)."""

    layout: jpeg_segments.Layout
    orientation: int


def _plain_jpeg(img: Image.Image, data: bytes) -> PlainJpeg | None:
    """The segments of an ordinary JPEG, or None when it must take the decoding path.

    Ordinary: the segments walk cleanly to an EOI; baseline, extended or progressive Huffman coding
    at 8 bits; greyscale, or three components in YCbCr (an Adobe segment saying so, or none); no
    colour profile but sRGB (the default, so dropping it changes nothing); readable EXIF whose
    orientation is 1 or absent (the stored picture is already upright, and the original is served
    without any EXIF) or 2-8 while the lossless transform is available (:mod:`media.jpeg_transform`
    turns the picture). Anything else (CMYK/YCCK, RGB-coded, arithmetic, lossless, hierarchical,
    12-bit, another ICC profile, an orientation outside 1-8) goes through the full decode,
    conversion and re-encode.
    """
    if img.format not in ("JPEG", "MPO") or img.mode not in ("RGB", "L"):
        return None
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # broken EXIF: the decoding path decides what to make of it
        return None
    if orientation != 1 and (orientation not in jpeg_transform.FOR_ORIENTATION or not jpeg_transform.available()):
        return None  # to be turned without the lossless transform: the decoding path turns it
    try:
        layout = jpeg_segments.walk(data)
    except jpeg_segments.NotWalkable:
        return None
    frame = layout.frame
    if frame.marker not in _PLAIN_FRAMES or frame.precision != 8 or frame.components not in (1, 3):
        return None
    if (frame.width, frame.height) != img.size or len(img.tile) != 1:
        return None
    if frame.components == 3 and "adobe" in img.info and img.info.get("adobe_transform") != 1:
        return None
    icc = img.info.get("icc_profile")
    if icc and (frame.components != 3 or not _is_srgb(icc)):
        return None
    return PlainJpeg(layout, orientation)


def _is_srgb(icc: bytes) -> bool:
    """Whether an embedded ICC profile describes sRGB (what an untagged picture is taken to be)."""
    if len(icc) < 128 or icc[16:20] != b"RGB ":
        return False
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return "srgb" in ImageCms.getProfileDescription(profile).lower()
    except Exception:  # unknown/broken profile, missing littlecms: not known to be sRGB
        return False


def _ingest_plain_jpeg(
    data: bytes,
    plain: PlainJpeg,
    source_type: str,
    sha256: str,
    taken_at: datetime | None,
    gps: tuple[float, float] | None,
) -> Ingested | None:
    """The fast path: keep the upload's own picture bytes as ``original``, decode at a reduced scale for the rest.

    A picture to be turned is turned losslessly; None when that could not be done (the caller decodes it instead).
    """
    original = jpeg_segments.strip(data, plain.layout)
    if plain.orientation != 1:
        turned = _turned(original, plain.orientation)
        if turned is None:
            return None
        original = turned
    with Image.open(io.BytesIO(original), formats=("JPEG",)) as img:
        width, height = img.size  # upright; a turned picture may have lost a partial MCU row or column
        target = _fitted(img.size, DISPLAY_EDGE)
        # libjpeg scales in the DCT domain by 1/2, 1/4 or 1/8: the smallest picture still at least
        # ``target`` on both edges. Every scan's entropy-coded data is still read in full, so a
        # corrupt or cut picture fails here as it would at full size.
        img.draft("RGB", target)
        img.load()
        display_img = _resized(img, target, PLAIN_DISPLAY_FILTER)
    if display_img.mode != "RGB":
        display_img = display_img.convert("RGB")
    display_img.info.clear()  # nothing of the decoded file's markers may follow into the outputs
    try:
        display = _jpeg(display_img, DISPLAY_QUALITY)
        thumb_img = _shrunk(display_img, THUMB_EDGE)
        thumb = _jpeg(thumb_img, THUMB_QUALITY)
        phash = _phash(thumb_img)
    except Exception as exc:  # pragma: no cover - decoded pixels should always encode
        log.warning("cannot encode image: %r", exc)
        raise BadImage() from exc
    return Ingested(
        width=width,
        height=height,
        content_type=JPEG,
        source_type=source_type,
        sha256=sha256,
        phash=phash,
        taken_at=taken_at,
        gps=gps,
        original=original,
        display=display,
        thumb=thumb,
    )


def _turned(jpeg: bytes, orientation: int) -> bytes | None:
    """``jpeg`` turned upright losslessly, or None when the transform refused it (the decoding path takes over)."""
    try:
        turned, _trimmed = jpeg_transform.turn(jpeg, jpeg_transform.FOR_ORIENTATION[orientation])
    except jpeg_transform.Unavailable:
        return None  # said once when the library failed to load
    except jpeg_transform.TransformError as exc:
        # A warning is corrupt or cut data, which the decoding path then judges as it judges an upright
        # photo's (what the decoder cannot read is 400); an error, a layout the transform does not take
        # (an unusual subsampling, say).
        log.info("lossless turn of a JPEG (orientation %d) failed, decoding it instead: %s", orientation, exc)
        return None
    return turned


def _open_checked(f: io.BufferedReader, content_type: str, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse oversized pictures; nothing is decoded yet."""
    if content_type == JPEG and _jpeg_scans(f) > MAX_JPEG_SCANS:
        raise BadImage("图片编码异常")
    try:
        img = Image.open(f, formats=_PIL_FORMATS[content_type])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("图片像素过大") from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise BadImage()
    if width * height > max_pixels:
        raise BadImage("图片像素过大")
    size = os.fstat(f.fileno()).st_size
    if width * height > PIXELS_PER_BYTE_FROM and width * height > size * MAX_PIXELS_PER_BYTE:
        raise BadImage(
            f"图片像素数与文件大小不相称（{width}×{height} 像素只有 {size} 字节），不像是真实照片，请上传原图"
        )
    return img


def _decode(img: Image.Image) -> None:
    """Decode in full: truncated or corrupt data fails here."""
    if img.format in ("JPEG", "MPO"):
        # Ask libjpeg to decode straight to RGB, at full size: this path re-encodes a
        # full-size original, so no DCT scaling happens.
        img.draft("RGB", img.size)
    img.load()


def _jpeg_scans(f: io.BufferedReader) -> int:
    """How many scans (SOS markers) a JPEG holds, counted on the raw bytes.

    libjpeg walks every block of the picture for every scan, even an empty one: a
    40 KB progressive file with 4,000 empty scans of a 36-MP picture kept a thread
    busy for 15 s (tests/media/test_image_fuzz.py). Inside entropy-coded data 0xFF is
    always followed by 0x00 or a restart marker, so FF DA is a scan header (or sits in
    an embedded thumbnail or profile, which can only raise the count).
    """
    try:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            count, position = 0, data.find(SOS)
            while position != -1 and count <= MAX_JPEG_SCANS:
                count += 1
                position = data.find(SOS, position + 2)
            return count
    finally:
        f.seek(0)


def _evidence(img: Image.Image) -> tuple[datetime | None, tuple[float, float] | None]:
    """Capture time and position from EXIF; missing or nonsensical values are None."""
    try:
        exif = img.getexif()
    except Exception:  # broken EXIF is not a broken picture
        return None, None
    return _taken_at(exif), _gps(exif)


def _taken_at(exif: Image.Exif) -> datetime | None:
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        return None
    for tag, offset_tag in (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    ):
        raw = sub.get(tag)
        if not isinstance(raw, str | bytes):
            continue
        text = (raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw).strip("\x00 ")
        try:
            moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        return moment.replace(tzinfo=_exif_offset(sub.get(offset_tag)) or LOCAL_TZ)
    return None


def _exif_offset(raw: object) -> timezone | None:
    """An EXIF OffsetTime value such as "+08:00"."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not isinstance(raw, str):
        return None
    raw = raw.strip("\x00 ")
    if len(raw) != 6 or raw[0] not in "+-" or raw[3] != ":":
        return None
    try:
        minutes = int(raw[1:3]) * 60 + int(raw[4:6])
    except ValueError:
        return None
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if raw[0] == "-" else minutes))


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), b"S")
        lng = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), b"W")
    except Exception:
        return None
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    if lat == 0 and lng == 0:  # what phones write without a fix
        return None
    return lat, lng


def _degrees(value: object, ref: object, negative: bytes) -> float | None:
    if not isinstance(value, tuple | list) or not value:
        return None
    parts = [float(v) for v in value[:3]]
    if not all(math.isfinite(p) for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    deg = parts[0] + parts[1] / 60 + parts[2] / 3600
    if isinstance(ref, str):
        ref = ref.encode("ascii", "replace")
    if isinstance(ref, bytes) and ref.strip(b"\x00 ").upper() == negative:
        deg = -deg
    return round(deg, 7)


def _normalise(img: Image.Image) -> Image.Image:
    """Upright, sRGB, 8-bit RGB, no alpha, no metadata."""
    img = ImageOps.exif_transpose(img)
    icc = img.info.get("icc_profile")
    img = _to_srgb(img, icc) if icc else img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit greyscale PNG
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif img.mode == "F":
        img = img.convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in ("L", "1") and "transparency" in img.info:
        img = img.convert("LA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    elif img.mode != "RGB":
        img = img.convert("RGB")  # CMYK without a profile, L, YCbCr, LAB ...
    # A fresh image: nothing of the upload's metadata (EXIF, XMP, ICC, comments) can follow.
    clean = Image.new("RGB", img.size)
    clean.paste(img)
    return clean


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    """Convert from the embedded ICC profile to sRGB; on any trouble keep the pixels as they are."""
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        if img.mode in ("RGBA", "LA", "PA", "P"):
            img = img.convert("RGBA")
            alpha = img.getchannel("A")
            rgb = ImageCms.profileToProfile(img.convert("RGB"), src, dst, outputMode="RGB")
            rgb.putalpha(alpha)
            return rgb
        if img.mode not in ("RGB", "CMYK", "L"):
            return img
        return ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
    except Exception as exc:  # unknown/broken profile, missing littlecms
        log.info("ICC conversion skipped: %r", exc)
        return img


def _fitted(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """``size`` scaled down so that its long edge is ``edge``; unchanged when already within it."""
    width, height = size
    if max(width, height) <= edge:
        return size
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resized(
    img: Image.Image, size: tuple[int, int], resample: Image.Resampling = Image.Resampling.LANCZOS
) -> Image.Image:
    if img.size == size:
        return img
    return img.resize(size, resample, reducing_gap=REDUCING_GAP)


def _shrunk(img: Image.Image, edge: int) -> Image.Image:
    return _resized(img, _fitted(img.size, edge))


def _jpeg(img: Image.Image, quality: int, *, progressive: bool = True) -> bytes:
    # Into a real file, not a BytesIO: Pillow keeps the GIL for a whole encode into memory
    # (120 ms for 12 MP, stalling the event loop of the service) but releases it while it
    # encodes into a file descriptor (bench/uploads.py measures the difference).
    with tempfile.TemporaryFile() as out:
        # No exif=, icc_profile=, xmp=, comment=: the output carries pixels only.
        # Progressive files show a whole blurred picture early on a slow connection.
        img.save(out, format="JPEG", quality=quality, optimize=True, progressive=progressive)
        out.seek(0)
        return out.read()


_DCT_N = 32
_DCT_K = 8
_DCT = [[math.cos(math.pi * (2 * x + 1) * u / (2 * _DCT_N)) for x in range(_DCT_N)] for u in range(_DCT_K)]


def _phash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash, see the module docstring."""
    grey = img.convert("L").resize((_DCT_N, _DCT_N), Image.Resampling.LANCZOS)
    px = list(grey.tobytes())  # mode L: one byte per pixel
    rows = [px[i * _DCT_N : (i + 1) * _DCT_N] for i in range(_DCT_N)]
    # Only the K lowest frequencies are needed in each direction.
    row_dct = [[sum(c * v for c, v in zip(basis, row, strict=True)) for basis in _DCT] for row in rows]
    coeffs = [sum(_DCT[u][y] * row_dct[y][v] for y in range(_DCT_N)) for u in range(_DCT_K) for v in range(_DCT_K)]
    median = sorted(coeffs)[len(coeffs) // 2]
    bits = 0
    for c in coeffs:
        bits = (bits << 1) | (c > median)
    return f"{bits:016x}"
