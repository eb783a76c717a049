"""Real image bytes for tests, made with Pillow."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def scene(size: tuple[int, int] = (800, 600), seed: int = 0) -> Image.Image:
    """A picture with structure (so perceptual hashes mean something)."""
    w, h = size
    img = Image.new("RGB", size, (30 + seed * 50 % 200, 120, 200))
    draw = ImageDraw.Draw(img)
    if seed == 0:
        draw.rectangle((0, 0, w // 2, h // 2), fill=(250, 250, 250))
        draw.ellipse((w // 2, h // 3, w - 20, h - 20), fill=(200, 30, 30))
        draw.line((0, h, w, 0), fill=(0, 0, 0), width=max(4, w // 40))
    else:
        for i in range(0, w, max(8, w // 10)):
            draw.rectangle((i, 0, i + w // 20, h), fill=(10, 10, 10))
        draw.ellipse((0, h // 2, w // 3, h), fill=(255, 255, 0))
    return img


def rational_dms(value: float) -> tuple[float, float, float]:
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60, 4)
    return (float(deg), float(minutes), seconds)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring a huge picture, with a tiny (incomplete) body."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def phone_photo(
    size: tuple[int, int] = (800, 600),
    *,
    lat: float = 31.2304,
    lng: float = 121.4737,
    taken: str = "2024:05:01 09:30:15",
    seed: int = 0,
    orientation: int = 6,
) -> bytes:
    """A JPEG as a phone writes it: EXIF orientation 6 (unless told), capture time, GPS and the maker's name.

    A green marker sits in the stored top-left corner; upright (orientation 6), it is in the top-right corner.
    """
    stored = scene(size, seed=seed)
    ImageDraw.Draw(stored).rectangle((0, 0, 60, 60), fill=(0, 255, 0))
    return encode(stored, "JPEG", exif=phone_exif(lat=lat, lng=lng, taken=taken, orientation=orientation), quality=92)


def phone_exif(
    *, lat: float = 31.2304, lng: float = 121.4737, taken: str = "2024:05:01 09:30:15", orientation: int = 6
) -> bytes:
    """A phone's EXIF block: orientation 6 (held upright; 1 when held in landscape), the maker's name, time and GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Secret Phone Co"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = rational_dms(abs(lat))
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lng >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = rational_dms(abs(lng))
    return exif.tobytes()
