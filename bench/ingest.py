"""Image ingest benchmark: ``media.images.ingest`` against a plain decode of the same 12 MP phone photo.

Run from the repository root (either form works)::

    python -m bench.ingest [--rounds 15] [--write]
    python bench/ingest.py [--rounds 15] [--write]

One run generates a phone-like 4000x3000 JPEG (gradients, shapes, texture and
sensor-like noise, quality 92, EXIF with capture time and GPS) in a temporary
directory twice, the same picture bytes with two EXIF orientations:

- orientation 1 (a phone held in landscape, or a photo the phone or an app has
  already turned): nothing to turn, so ``ingest`` takes the JPEG fast path;
- orientation 6 (a phone held upright, the picture stored sideways): served
  files carry no EXIF, so ``ingest`` turns the picture upright losslessly with
  libjpeg-turbo's transform (``media.jpeg_transform``) and then takes the same
  reduced-scale decode as the fast path, on the turned picture (the turned fast
  path). 4000x3000 at 4:2:0 is 187.5 MCUs high, so the turn trims 8 px.

It checks that ``ingest`` reads both as expected, then times, alternating
A, B, A6, B6, A, B ... after warm-ups:

A. ``media.images.ingest(path)`` on the orientation-1 photo: the whole pipeline;
B. ``Image.open(path).load()`` on it: just decoding the file, the floor any
   pipeline that looks at the pixels has to pay;
A6, B6. the same two on the orientation-6 photo.

Each round also times a *breakdown* of each photo: the private helpers of
``media.images`` called in the order ``ingest`` calls them, one stopwatch lap
per phase. It is a reconstruction, not an instrumented ``ingest``; the sum of
its phases is printed next to the ingest median so that drift between the two
shows. The lossless turn is timed apart once more in three cuts
(``TJXOPT_NOOUTPUT`` stops it before writing): reading the coefficients
(Huffman decoding), moving the blocks, writing the turned picture (Huffman
encoding).

The Markdown section goes to stdout (progress to stderr); ``--write`` also
puts it into ``bench/RESULTS.md``, replacing an earlier run's section.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import hashlib
import io
import os
import platform
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import PIL
from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter, features
from PIL.TiffImagePlugin import IFDRational

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO_ROOT, RESULTS_PATH, _git, write_results
from media import images, jpeg_segments, jpeg_transform

SECTION_TITLE = "## Image ingest (12 MP JPEG)"

PHOTO_SIZE = (4000, 3000)  # as the sensor writes it; orientation 6 makes it 3000x4000 upright
PHOTO_QUALITY = 92
SEED = 20240518

TURN = "original: lossless turn (TurboJPEG transform)"
# Breakdown phases, in the order ingest() runs them for an ordinary JPEG (the fast path); the turn only for
# the orientation-6 photo.
PHASES = (
    "read + sniff + sha256",
    "scan count + open header + pixel checks",
    "orientation + walk segments + plain-JPEG checks (ICC, Adobe)",
    "EXIF evidence (time, GPS)",
    "original: copy the kept segments",
    TURN,
    "decode at reduced scale (draft)",
    "shrink to display (1280)",
    "encode display",
    "shrink to thumb (320)",
    "encode thumb",
    "phash",
)
# The lossless turn cut in three: each cut is the difference between two transforms that stop at different points.
TURN_CUTS = (
    "read the coefficients (Huffman decode)",
    "move the blocks (the turn itself)",
    "write the turned picture (Huffman encode)",
)
TJXOPT_NOOUTPUT = 16  # turbojpeg.h: transform, but write no picture


# --- the input photo ----------------------------------------------------------------------------------------------


def make_photo(
    path: Path,
    seed: int = SEED,
    size: tuple[int, int] = PHOTO_SIZE,
    *,
    orientation: int = 6,
    copies: dict[int, Path] | None = None,
) -> None:
    """Write a phone-like JPEG (12 MP unless ``size`` says otherwise): smooth light, objects, texture, grain, EXIF.

    ``path`` gets EXIF ``orientation`` (6: a phone held upright); each of ``copies`` (orientation -> path) gets
    the same picture bytes with that orientation instead.
    """
    rng = random.Random(seed)
    width, height = size
    vertical = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    radial = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    scene = Image.merge(
        "RGB",
        (
            vertical.point(lambda v: 90 + v // 2),
            ImageChops.invert(vertical).point(lambda v: 60 + v // 3),
            radial.point(lambda v: 200 - v // 2),
        ),
    )
    draw = ImageDraw.Draw(scene)
    for _ in range(80):
        x, y = rng.randrange(width), rng.randrange(height)
        w = rng.randrange(40, 700)
        h = int(w * rng.uniform(0.3, 1.5))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        else:
            draw.rectangle((x, y, x + w, y + h), fill=colour)
    for _ in range(150):  # twigs, wires, edges of things
        x, y = rng.randrange(width), rng.randrange(height)
        end = (x + rng.randrange(-400, 400), y + rng.randrange(-400, 400))
        draw.line((x, y, *end), fill=(rng.randrange(256),) * 3, width=rng.randrange(1, 6))
    scene = scene.filter(ImageFilter.GaussianBlur(3))  # a lens, not a vector drawing
    # Mid-frequency texture (foliage, plaster) shared by the channels, then per-channel sensor grain.
    texture = _noise(rng, (width // 8, height // 8), 60).resize(size, Image.Resampling.BICUBIC)
    scene = ImageChops.add(scene, Image.merge("RGB", (texture,) * 3), 1.0, -128)
    grain = Image.merge("RGB", [_noise(rng, size, 14) for _ in range(3)])
    scene = ImageChops.add(scene, grain, 1.0, -128)
    for value, target in {orientation: path, **(copies or {})}.items():
        scene.save(target, "JPEG", quality=PHOTO_QUALITY, subsampling="4:2:0", exif=_phone_exif(value))


def _noise(rng: random.Random, size: tuple[int, int], amplitude: int) -> Image.Image:
    """Seeded uniform noise centred on 128 (ImageChops.add with offset -128 adds it signed)."""
    raw = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    span = 2 * amplitude + 1
    return raw.point(lambda v: 128 - amplitude + v * span // 256)


def _phone_exif(orientation: int) -> Image.Exif:
    """What a phone writes: make/model, orientation (6 held upright, 1 in landscape), capture time with offset, GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Model] = "Redmi Note 12"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.DateTime] = "2024:05:18 10:21:07"
    exif[ExifTags.Base.XResolution] = IFDRational(72)
    exif[ExifTags.Base.YResolution] = IFDRational(72)
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2024:05:18 10:21:07"
    sub[ExifTags.Base.DateTimeDigitized] = "2024:05:18 10:21:07"
    sub[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    sub[ExifTags.Base.ExposureTime] = IFDRational(1, 250)
    sub[ExifTags.Base.FNumber] = IFDRational(18, 10)
    sub[ExifTags.Base.ISOSpeedRatings] = 100
    sub[ExifTags.Base.FocalLength] = IFDRational(554, 100)
    sub[ExifTags.Base.ExifImageWidth] = PHOTO_SIZE[0]
    sub[ExifTags.Base.ExifImageHeight] = PHOTO_SIZE[1]
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSVersionID] = b"\x02\x02\x00\x00"
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (IFDRational(28), IFDRational(12), IFDRational(3456, 100))
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (IFDRational(112), IFDRational(58), IFDRational(1234, 100))
    gps[ExifTags.GPS.GPSAltitudeRef] = b"\x00"
    gps[ExifTags.GPS.GPSAltitude] = IFDRational(4520, 100)
    return exif


# --- what is timed ------------------------------------------------------------------------------------------------


def plain_load(path: Path) -> None:
    with Image.open(path) as img:
        img.load()


class _Laps:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now


def ingest_phases(path: Path) -> dict[str, float]:
    """The breakdown: ingest()'s fast-path steps through the private helpers it calls, timed one by one."""
    laps = _Laps()
    with open(path, "rb") as f:
        content_type = images.sniff(f.read(images.SNIFF_BYTES))
        assert content_type == images.JPEG, "the breakdown follows the JPEG fast path"
        f.seek(0)
        data = f.read()
        hashlib.sha256(data).hexdigest()
        f.seek(0)
        laps.lap(PHASES[0])
        img = images._open_checked(f, content_type, images.DEFAULT_MAX_PIXELS)
        laps.lap(PHASES[1])
        plain = images._plain_jpeg(img, data)
        assert plain is not None, "the photo did not take the fast path"
        laps.lap(PHASES[2])
        images._evidence(img)
        laps.lap(PHASES[3])
    original = jpeg_segments.strip(data, plain.layout)
    laps.lap(PHASES[4])
    if plain.orientation != 1:
        turned = images._turned(original, plain.orientation)
        assert turned is not None, "the photo was not turned losslessly"
        original = turned
        laps.lap(TURN)
    with Image.open(io.BytesIO(original), formats=("JPEG",)) as decoded:
        target = images._fitted(decoded.size, images.DISPLAY_EDGE)
        decoded.draft("RGB", target)
        decoded.load()
        laps.lap(PHASES[6])
        display_img = images._resized(decoded, target, images.PLAIN_DISPLAY_FILTER)
        laps.lap(PHASES[7])
    images._jpeg(display_img, images.DISPLAY_QUALITY)
    laps.lap(PHASES[8])
    thumb_img = images._shrunk(display_img, images.THUMB_EDGE)
    laps.lap(PHASES[9])
    images._jpeg(thumb_img, images.THUMB_QUALITY)
    laps.lap(PHASES[10])
    images._phash(thumb_img)
    laps.lap(PHASES[11])
    return laps.laps


def turn_cuts(path: Path) -> dict[str, float]:
    """The lossless turn of ``path``'s stripped picture in three cuts (:data:`TURN_CUTS`), in seconds."""
    data = path.read_bytes()
    stripped = jpeg_segments.strip(data, jpeg_segments.walk(data))
    with Image.open(path) as img:
        op = jpeg_transform.FOR_ORIENTATION[img.getexif().get(ExifTags.Base.Orientation, 1)]
    _, trimmed = jpeg_transform.turn(stripped, op)
    options = jpeg_transform._COPYNONE | (jpeg_transform._TRIM if trimmed else jpeg_transform._PERFECT)
    lib = jpeg_transform._library(jpeg_transform._library_name())
    assert lib is not None

    def run(op_code: int, extra: int) -> float:
        handle = lib.tjInitTransform()
        out, size = jpeg_transform._Buffer(), ctypes.c_ulong(0)
        transform = jpeg_transform._Transform(op=op_code, options=options | extra)
        gc.collect()
        start = time.perf_counter()
        status = lib.tjTransform(
            handle, stripped, len(stripped), 1, ctypes.byref(out), ctypes.byref(size), transform, 0
        )
        elapsed = time.perf_counter() - start
        if out:
            lib.tjFree(out)
        lib.tjDestroy(handle)
        assert status == 0, "the transform failed"
        return elapsed

    read = run(0, TJXOPT_NOOUTPUT)  # TJXOP_NONE: the coefficients read, nothing moved
    turn = run(int(op), TJXOPT_NOOUTPUT)
    whole = run(int(op), 0)
    return dict(zip(TURN_CUTS, (read, turn - read, whole - turn), strict=True))


def _timed(fn: Callable[[], object], cpu: list[float]) -> float:
    """Wall seconds of one call; its CPU seconds (this thread's) are appended to ``cpu``."""
    gc.collect()  # a collection triggered by the previous run's garbage must not land in this one
    start, start_cpu = time.perf_counter(), time.thread_time()
    fn()
    cpu.append(time.thread_time() - start_cpu)
    return time.perf_counter() - start


@dataclass
class Pair:
    """Wall and CPU seconds of ``ingest`` and of a plain load, on one file."""

    ingest: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    ingest_cpu: list[float] = field(default_factory=list)
    load_cpu: list[float] = field(default_factory=list)


@dataclass
class Run:
    upright: Pair  # the orientation-1 photo (or ``--photo``)
    turned: Pair | None  # the orientation-6 photo, when generated
    phases: dict[str, list[float]]  # breakdown of the upright photo's ingest
    turned_phases: dict[str, list[float]] = field(default_factory=dict)  # ... and of the orientation-6 photo's
    cuts: dict[str, list[float]] = field(default_factory=dict)  # the lossless turn in three cuts


def _time_pair(pair: Pair, path: Path, keep: bool) -> str:
    ingest_cpu: list[float] = []
    load_cpu: list[float] = []
    t_ingest = _timed(lambda: images.ingest(str(path)), ingest_cpu)
    t_load = _timed(lambda: plain_load(path), load_cpu)
    if keep:
        pair.ingest.append(t_ingest)
        pair.load.append(t_load)
        pair.ingest_cpu += ingest_cpu
        pair.load_cpu += load_cpu
    return f"ingest {t_ingest * 1000:.0f} ms, load {t_load * 1000:.0f} ms"


def measure(path: Path, turned: Path | None, rounds: int, warmups: int, breakdown: bool) -> Run:
    run = Run(Pair(), Pair() if turned else None, phases={})
    for i in range(warmups + rounds):
        keep = i >= warmups
        text = _time_pair(run.upright, path, keep)
        if turned is not None and run.turned is not None:
            text += f"; orientation 6: {_time_pair(run.turned, turned, keep)}"
        samples: list[tuple[dict[str, list[float]], dict[str, float]]] = []
        if breakdown:
            gc.collect()
            samples.append((run.phases, ingest_phases(path)))
            if turned is not None:
                gc.collect()
                samples.append((run.turned_phases, ingest_phases(turned)))
                samples.append((run.cuts, turn_cuts(turned)))
        label = f"round {i - warmups + 1}/{rounds}" if keep else f"warm-up {i + 1}/{warmups}"
        print(f"{label}: {text}", file=sys.stderr)
        if keep:
            for into, laps in samples:
                for name, seconds in laps.items():
                    into.setdefault(name, []).append(seconds)
    return run


# --- reporting ----------------------------------------------------------------------------------------------------


def _p90(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=10, method="inclusive")[8]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    name = model.group(1).strip() if model else platform.machine()
    if re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.M):
        name += ", virtual machine"
    return name


def machine() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    core_text = f"{cores} logical cores" + (f" ({usable} usable)" if usable != cores else "")
    turbo = features.check_feature("libjpeg_turbo")
    turbo_text = f"libjpeg-turbo {features.version('libjpeg_turbo')}" if turbo else "libjpeg (not turbo)"
    # Pillow-SIMD publishes versions such as "9.5.0.post1"; upstream Pillow never uses .postN.
    simd = "Pillow-SIMD" if ".post" in PIL.__version__ else "Pillow (not SIMD)"
    return (
        f"{_cpu_model()}; {core_text}; Python {platform.python_version()}; "
        f"{simd} {PIL.__version__} with {turbo_text}; lossless turns: {_turbojpeg()}; "
        f"{platform.system()} {platform.release()}"
    )


def _turbojpeg() -> str:
    """Which TurboJPEG library media.jpeg_transform loads (its API has no version call: ask dpkg)."""
    if not jpeg_transform.available():
        return "no TurboJPEG library (photos to be turned are decoded)"
    try:
        version = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "libturbojpeg0"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "libturbojpeg.so.0"
    return f"libturbojpeg0 {version}"


def _command() -> str:
    where = Path.cwd()
    command = f"`{shlex.join(sys.orig_argv)}`"
    return command + ("" if where == REPO_ROOT else f" (in `{where}`)")


def code_version() -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--", "media/images.py", "media/jpeg_segments.py", "media/jpeg_transform.py")
    return f"commit `{commit}`" + (" with uncommitted changes to `media/`" if dirty else "")


def describe_input(path: Path, generated: bool) -> str:
    with Image.open(path) as img:
        orientation = img.getexif().get(ExifTags.Base.Orientation)
        fmt, (width, height) = img.format, img.size
    size_mb = path.stat().st_size / 1_000_000
    what = "synthetic phone photo generated by the benchmark (seeded)" if generated else f"`{path.name}`"
    extras = f", quality {PHOTO_QUALITY}, 4:2:0, EXIF with orientation {orientation}, capture time and GPS"
    return f"{what}: {fmt} {width}x{height}, {size_mb:.1f} MB" + (extras if generated else "")


def _rows(pair: Pair, a: str, b: str) -> list[str]:
    return [
        f"| {a} | {_ms(statistics.median(pair.ingest))} | {_ms(_p90(pair.ingest))} | {_ms(min(pair.ingest))} |",
        f"| {b} | {_ms(statistics.median(pair.load))} | {_ms(_p90(pair.load))} | {_ms(min(pair.load))} |",
    ]


def _ratio(samples: list[float], floor: list[float]) -> float:
    return statistics.median(samples) / statistics.median(floor)


def render(run: Run, *, rounds: int, warmups: int, input_text: str, output_text: str) -> str:
    up, turned = run.upright, run.turned
    order = "(A, B, A6, B6, A, B ...)" if turned else "(A and B on the same file: A, B, A, B ...)"
    lines = [
        SECTION_TITLE,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC)",
        f"- Machine: {machine()}",
        f"- Code: {code_version()}",
        f"- Command: {_command()}",
        f"- Input: {input_text}",
        f"- Output of `ingest`: {output_text}",
        f"- Method: {_count(warmups, 'warm-up round')}, then {_count(rounds, 'round')} alternating {order}, "
        "each call timed with `time.perf_counter()` after a `gc.collect()`; "
        "the files are in the page cache after the first read.",
        "",
        "| step | median | p90 | min |",
        "|---|---:|---:|---:|",
        *_rows(up, "A. `media.images.ingest(path)`, orientation 1 (fast path)", "B. `Image.open(path).load()`"),
    ]
    if turned:
        lines += _rows(
            turned, "A6. `media.images.ingest(path)`, orientation 6 (turned fast path)", "B6. `Image.open(path).load()`"
        )
    ratio = _ratio(up.ingest, up.load)
    lines += ["", f"**Ratio of medians, orientation 1 (fast path), ingest / plain load: {ratio:.2f}x**"]
    if turned:
        lines += [
            "",
            f"**Ratio of medians, orientation 6 (turned fast path), ingest / plain load: "
            f"{_ratio(turned.ingest, turned.load):.2f}x**",
        ]
    lines += [
        "",
        "CPU time of the calling thread (`time.thread_time()`, the same calls; less sensitive than wall time "
        "to other processes on the machine):",
        "",
        "| step | median CPU | min CPU | ratio of CPU medians |",
        "|---|---:|---:|---:|",
        f"| A. ingest, orientation 1 | {_ms(statistics.median(up.ingest_cpu))} | {_ms(min(up.ingest_cpu))} "
        f"| **{_ratio(up.ingest_cpu, up.load_cpu):.2f}x** |",
        f"| B. plain load | {_ms(statistics.median(up.load_cpu))} | {_ms(min(up.load_cpu))} | |",
    ]
    if turned:
        lines += [
            f"| A6. ingest, orientation 6 | {_ms(statistics.median(turned.ingest_cpu))} | "
            f"{_ms(min(turned.ingest_cpu))} | **{_ratio(turned.ingest_cpu, turned.load_cpu):.2f}x** |",
            f"| B6. plain load | {_ms(statistics.median(turned.load_cpu))} | {_ms(min(turned.load_cpu))} | |",
        ]
    if run.phases:
        lines += ["", *_breakdown(run, rounds)]
    return "\n".join(lines) + "\n"


def _medians(phases: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(samples) for name, samples in phases.items()}


def _breakdown(run: Run, rounds: int) -> list[str]:
    up = _medians(run.phases)
    turned = _medians(run.turned_phases)
    total_up, total_turned = sum(up.values()), sum(turned.values())
    ingest_up = _ms(statistics.median(run.upright.ingest))
    head = (
        "Breakdown of ingest (a reconstruction: `media.images`' private helpers called in the fast path's order, "
        f"timed in each of the same {_count(rounds, 'round')}; medians per phase):"
    )
    if not turned:
        return [
            head,
            "",
            "| phase | median | share |",
            "|---|---:|---:|",
            *(f"| {name} | {_ms(m)} | {m / total_up:.0%} |" for name, m in up.items()),
            f"| **sum of phase medians** | **{_ms(total_up)}** | (ingest median: {ingest_up}) |",
        ]
    assert run.turned is not None
    rows = []
    for name in PHASES:
        one = f"{_ms(up[name])} | {up[name] / total_up:.0%}" if name in up else "– | –"
        rows.append(f"| {name} | {one} | {_ms(turned[name])} | {turned[name] / total_turned:.0%} |")
    return [
        head,
        "",
        "| phase | orientation 1 | share | orientation 6 | share |",
        "|---|---:|---:|---:|---:|",
        *rows,
        f"| **sum of phase medians** | **{_ms(total_up)}** | (ingest median: {ingest_up}) "
        f"| **{_ms(total_turned)}** | (ingest median: {_ms(statistics.median(run.turned.ingest))}) |",
        "",
        _turned_paragraph(run, up, turned),
    ]


# The section this benchmark wrote before photos to be turned were turned losslessly (code d595f0d).
BEFORE_TURN = "372 ms, 4.49x that run's plain load of 83 ms (decoded in full, turned, re-encoded; code `d595f0d`)"


def _turned_paragraph(run: Run, up: dict[str, float], turned: dict[str, float]) -> str:
    """Where the orientation-6 photo's time goes, in the run's own figures."""
    assert run.turned is not None
    cuts = _medians(run.cuts)
    read, move, write = (cuts[name] for name in TURN_CUTS)
    decode, shrink, encode = (turned[name] for name in PHASES[6:9])
    floor = sum(up[name] for name in PHASES[6:9])
    rest = sum(turned.values()) - turned[TURN] - decode - shrink - encode
    load = statistics.median(run.upright.load)
    return (
        f"**Where the orientation-6 photo's time goes.** Before the lossless turn it took {BEFORE_TURN}; now "
        f"{_ms(statistics.median(run.turned.ingest))}, {_ratio(run.turned.ingest, run.turned.load):.2f}x. "
        f"Of its {_ms(sum(turned.values()))} of phases, the lossless turn takes {_ms(turned[TURN])} "
        f"({turned[TURN] / sum(turned.values()):.0%}); timed apart in three cuts (medians of runs of their own, "
        f"so they need not add up to it) it is "
        f"reading every coefficient, which is Huffman decoding, {_ms(read)}, moving the blocks for the 90° turn "
        f"{_ms(move)}, and writing the turned picture, which is Huffman encoding, {_ms(write)}. The rest is the "
        f"fast path's own work on the turned picture: the reduced-scale decode {_ms(decode)}, the shrink to 1280 px "
        f"{_ms(shrink)}, the display's encode {_ms(encode)}, and {_ms(rest)} for reading, hashing, checks, thumb and "
        f"phash. So the turned path is the upright fast path plus the turn, and the turn alone costs about "
        f"{turned[TURN] / load:.1f}x a plain load ({_ms(load)}): the picture's Huffman data is decoded twice (by the "
        f"turn, then by the draft decode) and encoded once more. Neither path reaches 1.0x while the display is made "
        f"from a decode of the whole entropy-coded picture: its decode, shrink and encode take {_ms(floor)} on the "
        f"orientation-1 photo, {floor / load:.2f}x a plain load, before anything else."
    )


# --- main ---------------------------------------------------------------------------------------------------------


def _check_ingest(path: Path, generated: bool, *, orientation: int = 1) -> str:
    """Run ingest once and make sure it did the work we mean to time; describe its output."""
    result = images.ingest(str(path))
    if generated:
        # Turned, the 3000 stored rows (187.5 MCUs of 16) lose their partial MCU row: 2992 columns upright.
        upright = PHOTO_SIZE if orientation == 1 else (PHOTO_SIZE[1] // 16 * 16, PHOTO_SIZE[0])
        with open(path, "rb") as f:
            data = f.read()
        stripped = jpeg_segments.strip(data, jpeg_segments.walk(data))
        own_bytes = result.original == stripped
        turned = orientation != 1 and result.original == images._turned(stripped, orientation)
        problems = []
        if (result.width, result.height) != upright:
            problems.append(f"size {result.width}x{result.height}, expected {upright[0]}x{upright[1]}")
        if orientation == 1 and not own_bytes:
            problems.append("fast path not taken")
        if orientation != 1 and not turned:
            problems.append("not turned losslessly (is libturbojpeg0 installed?)")
        if b"Exif" in result.original:
            problems.append("EXIF in the original")
        if result.gps is None:
            problems.append("no GPS read")
        if result.taken_at is None:
            problems.append("no capture time read")
        if problems:
            raise SystemExit(f"ingest did not read the generated photo as expected: {'; '.join(problems)}")
    return (
        f"original {result.width}x{result.height} {len(result.original) / 1_000_000:.1f} MB, "
        f"display {len(result.display) / 1000:.0f} kB, thumb {len(result.thumb) / 1000:.0f} kB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed rounds first (default 2)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-phase breakdown")
    parser.add_argument("--photo", type=Path, help="time this file instead of a generated photo")
    parser.add_argument("--write", action="store_true", help=f"put the section into {RESULTS_PATH.name}")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmups < 0:
        parser.error("--rounds must be >= 1 and --warmups >= 0")

    with tempfile.TemporaryDirectory(prefix="wenming-bench-") as tmp:
        turned: Path | None = None
        if args.photo:
            path, generated = args.photo, False
        else:
            path, generated = Path(tmp) / "phone-photo.jpg", True
            turned = Path(tmp) / "phone-photo-turned.jpg"
            print("generating the photo ...", file=sys.stderr)
            make_photo(path, orientation=1, copies={6: turned})
        input_text = describe_input(path, generated)
        if turned is not None:
            input_text += (
                " (A, B: nothing to turn, the fast path); the same picture bytes with EXIF orientation 6 "
                "(A6, B6: turned losslessly, then the fast path on the turned picture)"
            )
        print(f"input: {input_text}", file=sys.stderr)
        output_text = _check_ingest(path, generated)
        if turned is not None:
            output_text = f"orientation 1: {output_text}; orientation 6: {_check_ingest(turned, True, orientation=6)}"
        run = measure(path, turned, args.rounds, args.warmups, breakdown=not args.no_breakdown)

    section = render(run, rounds=args.rounds, warmups=args.warmups, input_text=input_text, output_text=output_text)
    print(section)
    if args.write:
        write_results(section, SECTION_TITLE)
        print(f"written to {RESULTS_PATH.relative_to(REPO_ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
