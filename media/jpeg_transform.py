"""Lossless turns of a JPEG in the DCT domain: libjpeg-turbo's TurboJPEG transform API, through ctypes.

A JPEG stores its picture as 8x8 blocks of DCT coefficients. Flipping or turning the
picture by a multiple of 90 degrees only moves those blocks and flips the sign of some
coefficients (what ``jpegtran`` does): no pixel is decoded and re-encoded, so nothing is
lost, and it costs one Huffman decode and one Huffman encode of the picture. The result
here carries no marker of the source at all (``TJXOPT_COPYNONE``: no EXIF, XMP, ICC,
comment or APPn; libjpeg writes its own JFIF APP0) and is baseline with the standard
Huffman tables.

Blocks move whole, and so do MCUs (the 8x8 or 16x16 cells of a colour-subsampled picture),
but a partial MCU can only stay at the right or bottom edge of a picture. When the width or
height is not a whole number of MCUs and the turn would carry such a partial MCU row or
column to the left or top, :func:`turn` trims it: the upright picture loses a strip narrower
than one MCU (under 8 or 16 pixels) at its left and/or top edge. ``TJXOPT_PERFECT`` is tried
first, so a picture whose size is a whole number of MCUs (as phone cameras write them) is
never trimmed.

The library is Debian's ``libturbojpeg0`` (``libturbojpeg.so.0``; TurboJPEG API 2.x), loaded
on first use. ``$WENMING_TURBOJPEG`` names another file to load, or is ``off`` to go without
it; :func:`available` says whether it could be loaded, and :func:`turn` raises
:class:`Unavailable` when not. A handle is made for each call, so calls from several threads
do not share state; ctypes releases the GIL for the C call.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from enum import IntEnum

log = logging.getLogger(__name__)

LIBRARY_ENV = "WENMING_TURBOJPEG"
DEFAULT_LIBRARY = "libturbojpeg.so.0"
OFF = "off"


class Op(IntEnum):
    """TurboJPEG's transform operations (``enum TJXOP`` in turbojpeg.h)."""

    HFLIP = 1  # mirror left-right
    VFLIP = 2  # mirror top-bottom
    TRANSPOSE = 3  # mirror along the top-left to bottom-right diagonal
    TRANSVERSE = 4  # mirror along the top-right to bottom-left diagonal
    ROT90 = 5  # clockwise
    ROT180 = 6
    ROT270 = 7  # counter-clockwise


# EXIF orientation -> the operation that makes the stored picture upright (as PIL.ImageOps.exif_transpose).
FOR_ORIENTATION: dict[int, Op] = {
    2: Op.HFLIP,
    3: Op.ROT180,
    4: Op.VFLIP,
    5: Op.TRANSPOSE,
    6: Op.ROT90,
    7: Op.TRANSVERSE,
    8: Op.ROT270,
}

# Transform options (TJXOPT_*) and error codes (enum TJERR) of turbojpeg.h.
_PERFECT, _TRIM, _COPYNONE = 1, 2, 64
_TJERR_WARNING = 0


class Unavailable(RuntimeError):
    """The TurboJPEG library cannot be loaded here (not installed, or switched off)."""


class TransformError(RuntimeError):
    """libjpeg could not transform these bytes, or warned while reading them (``warning``: corrupt or cut data)."""

    def __init__(self, message: str, *, warning: bool) -> None:
        super().__init__(message)
        self.warning = warning


class _Region(ctypes.Structure):  # tjregion
    _fields_ = (("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int))


class _Transform(ctypes.Structure):  # tjtransform; customFilter is a function pointer, left NULL
    _fields_ = (
        ("r", _Region),
        ("op", ctypes.c_int),
        ("options", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("customFilter", ctypes.c_void_p),
    )


_Buffer = ctypes.POINTER(ctypes.c_ubyte)


def available() -> bool:
    """Whether :func:`turn` can work: the library named by ``$WENMING_TURBOJPEG`` (or the default) loads."""
    return _library(_library_name()) is not None


def turn(jpeg: bytes, op: Op) -> tuple[bytes, bool]:
    """``jpeg`` turned by ``op`` without decoding its pixels; also whether a partial MCU row or column was trimmed.

    Raises :class:`Unavailable` without the library and :class:`TransformError` when libjpeg
    fails or warns (a warning means corrupt or truncated data: the output is not used).
    """
    lib = _library(_library_name())
    if lib is None:
        raise Unavailable(f"cannot load {_library_name()}")
    try:
        return _transform(lib, jpeg, op, _COPYNONE | _PERFECT), False
    except TransformError as exc:
        if exc.warning:
            raise
        # Not a whole number of MCUs where the turn needs one (or the bytes are unusable, and this fails too).
        return _transform(lib, jpeg, op, _COPYNONE | _TRIM), True


def _library_name() -> str:
    return os.environ.get(LIBRARY_ENV, "").strip() or DEFAULT_LIBRARY


@functools.cache
def _library(name: str) -> ctypes.CDLL | None:
    """The library with its functions declared, or None when it is switched off or missing (said once per name)."""
    if name == OFF:
        log.info("lossless JPEG turns switched off ($%s=%s): photos to be turned are decoded", LIBRARY_ENV, OFF)
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.tjInitTransform.argtypes = ()
        lib.tjInitTransform.restype = ctypes.c_void_p
        lib.tjTransform.argtypes = (
            ctypes.c_void_p,  # handle
            ctypes.c_char_p,  # jpegBuf
            ctypes.c_ulong,  # jpegSize
            ctypes.c_int,  # n
            ctypes.POINTER(_Buffer),  # dstBufs
            ctypes.POINTER(ctypes.c_ulong),  # dstSizes
            ctypes.POINTER(_Transform),  # transforms
            ctypes.c_int,  # flags
        )
        lib.tjTransform.restype = ctypes.c_int
        lib.tjFree.argtypes = (_Buffer,)
        lib.tjFree.restype = None
        lib.tjDestroy.argtypes = (ctypes.c_void_p,)
        lib.tjDestroy.restype = ctypes.c_int
        lib.tjGetErrorStr2.argtypes = (ctypes.c_void_p,)
        lib.tjGetErrorStr2.restype = ctypes.c_char_p
        lib.tjGetErrorCode.argtypes = (ctypes.c_void_p,)
        lib.tjGetErrorCode.restype = ctypes.c_int
    except (OSError, AttributeError) as exc:  # not installed, or older than TurboJPEG API 2.0
        log.warning("cannot load %s (%s): photos to be turned are decoded; install libturbojpeg0", name, exc)
        return None
    return lib


def _transform(lib: ctypes.CDLL, jpeg: bytes, op: Op, options: int) -> bytes:
    handle = lib.tjInitTransform()
    if not handle:
        raise TransformError(_message(lib, None), warning=False)
    out = _Buffer()  # NULL: the library allocates (and grows) the output buffer
    size = ctypes.c_ulong(0)
    transform = _Transform(op=int(op), options=options)
    try:
        if lib.tjTransform(handle, jpeg, len(jpeg), 1, ctypes.byref(out), ctypes.byref(size), transform, 0) != 0:
            raise TransformError(_message(lib, handle), warning=lib.tjGetErrorCode(handle) == _TJERR_WARNING)
        return ctypes.string_at(out, size.value)
    finally:
        if out:  # allocated even when the transform failed part way
            lib.tjFree(out)
        lib.tjDestroy(handle)


def _message(lib: ctypes.CDLL, handle: int | None) -> str:
    raw = lib.tjGetErrorStr2(handle)
    return raw.decode("utf-8", "replace").strip() if raw else "unknown TurboJPEG error"
