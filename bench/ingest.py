"""Image ingest benchmark: ``media.images.ingest`` against a plain decode of the same 12 MP phone photo.

Run from the repository root (either form works)::

    python -m bench.ingest [--rounds 15] [--write]
    python bench/ingest.py [--rounds 15] [--write]

One run generates a phone-like 4000x3000 JPEG (gradients, shapes, texture and
sensor-like noise, quality 92, EXIF with orientation 6, capture time and GPS)
in a temporary directory, checks that ``ingest`` reads it as expected, then
times, alternating A, B, A, B ... after warm-ups:

A. ``media.images.ingest(path)``: the whole pipeline;
B. ``Image.open(path).load()``: just decoding the same file, the floor any
   pipeline that looks at the pixels has to pay.

Each round also times a *breakdown*: the private helpers of ``media.images``
called in the order ``ingest`` calls them, one stopwatch lap per phase. It is
a reconstruction, not an instrumented ``ingest``; the sum of its phases is
printed next to the ingest median so that drift between the two shows.

The Markdown section goes to stdout (progress to stderr); ``--write`` also
puts it into ``bench/RESULTS.md``, replacing an earlier run's section.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import os
import platform
import random
import re
import shlex
import statistics
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
from media import images, jpeg_segments

SECTION_TITLE = "## Image ingest (12 MP JPEG)"

PHOTO_SIZE = (4000, 3000)  # as the sensor writes it; orientation 6 makes it 3000x4000 upright
PHOTO_QUALITY = 92
SEED = 20240518

# Breakdown phases, in the order ingest() runs them for an ordinary JPEG (the fast path).
PHASES = (
    "read + sniff + sha256",
    "scan count + open header + pixel checks",
    "walk segments + plain-JPEG checks (ICC, Adobe, orientation)",
    "EXIF evidence (time, GPS)",
    "original: copy the kept segments",
    "decode at reduced scale (draft)",
    "shrink to display (1280)",
    "orientation (transpose)",
    "encode display",
    "shrink to thumb (320)",
    "encode thumb",
    "phash",
)


# --- the input photo ----------------------------------------------------------------------------------------------


def make_photo(path: Path, seed: int = SEED, size: tuple[int, int] = PHOTO_SIZE) -> None:
    """Write a phone-like JPEG (12 MP unless ``size`` says otherwise): smooth light, objects, texture, grain, EXIF."""
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
    scene.save(path, "JPEG", quality=PHOTO_QUALITY, subsampling="4:2:0", exif=_phone_exif())


def _noise(rng: random.Random, size: tuple[int, int], amplitude: int) -> Image.Image:
    """Seeded uniform noise centred on 128 (ImageChops.add with offset -128 adds it signed)."""
    raw = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    span = 2 * amplitude + 1
    return raw.point(lambda v: 128 - amplitude + v * span // 256)


def _phone_exif() -> Image.Exif:
    """What a phone writes: make/model, orientation 6 (held upright), capture time with offset, GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Model] = "Redmi Note 12"
    exif[ExifTags.Base.Orientation] = 6
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
    original = jpeg_segments.strip(data, plain.layout, orientation=plain.orientation)
    laps.lap(PHASES[4])
    with Image.open(io.BytesIO(original), formats=("JPEG",)) as decoded:
        target = images._fitted(decoded.size, images.DISPLAY_EDGE)
        decoded.draft("RGB", target)
        decoded.load()
        laps.lap(PHASES[5])
        display_img = images._resized(decoded, target, images.PLAIN_DISPLAY_FILTER)
        laps.lap(PHASES[6])
        display_img = images._upright(display_img, plain.orientation)
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


def _timed(fn: Callable[[], object], cpu: list[float]) -> float:
    """Wall seconds of one call; its CPU seconds (this thread's) are appended to ``cpu``."""
    gc.collect()  # a collection triggered by the previous run's garbage must not land in this one
    start, start_cpu = time.perf_counter(), time.thread_time()
    fn()
    cpu.append(time.thread_time() - start_cpu)
    return time.perf_counter() - start


@dataclass
class Run:
    ingest: list[float]
    load: list[float]
    phases: dict[str, list[float]]
    ingest_cpu: list[float] = field(default_factory=list)
    load_cpu: list[float] = field(default_factory=list)


def measure(path: Path, rounds: int, warmups: int, breakdown: bool) -> Run:
    run = Run(ingest=[], load=[], phases={name: [] for name in PHASES} if breakdown else {})
    for i in range(warmups + rounds):
        t_ingest = _timed(lambda: images.ingest(str(path)), run.ingest_cpu)
        t_load = _timed(lambda: plain_load(path), run.load_cpu)
        laps: dict[str, float] = {}
        if breakdown:
            gc.collect()
            laps = ingest_phases(path)
        label = f"warm-up {i + 1}/{warmups}" if i < warmups else f"round {i - warmups + 1}/{rounds}"
        print(f"{label}: ingest {t_ingest * 1000:.0f} ms, load {t_load * 1000:.0f} ms", file=sys.stderr)
        if i < warmups:
            del run.ingest_cpu[-1], run.load_cpu[-1]
            continue
        run.ingest.append(t_ingest)
        run.load.append(t_load)
        for name, seconds in laps.items():
            run.phases[name].append(seconds)
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
        f"{simd} {PIL.__version__} with {turbo_text}; {platform.system()} {platform.release()}"
    )


def _command() -> str:
    where = Path.cwd()
    command = f"`{shlex.join(sys.orig_argv)}`"
    return command + ("" if where == REPO_ROOT else f" (in `{where}`)")


def code_version() -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--", "media/images.py", "media/jpeg_segments.py")
    return f"commit `{commit}`" + (" with uncommitted changes to `media/`" if dirty else "")


def describe_input(path: Path, generated: bool) -> str:
    with Image.open(path) as img:
        orientation = img.getexif().get(ExifTags.Base.Orientation)
        fmt, (width, height) = img.format, img.size
    size_mb = path.stat().st_size / 1_000_000
    what = "synthetic phone photo generated by the benchmark (seeded)" if generated else f"`{path.name}`"
    extras = f", quality {PHOTO_QUALITY}, 4:2:0, EXIF with orientation {orientation}, capture time and GPS"
    return f"{what}: {fmt} {width}x{height}, {size_mb:.1f} MB" + (extras if generated else "")


def render(run: Run, *, rounds: int, warmups: int, input_text: str, output_text: str) -> str:
    ingest_med, load_med = statistics.median(run.ingest), statistics.median(run.load)
    lines = [
        SECTION_TITLE,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC)",
        f"- Machine: {machine()}",
        f"- Code: {code_version()}",
        f"- Command: {_command()}",
        f"- Input: {input_text}",
        f"- Output of `ingest`: {output_text}",
        f"- Method: {_count(warmups, 'warm-up round')}, then {_count(rounds, 'round')} alternating A and B "
        "on the same file (A, B, A, B ...), each call timed with `time.perf_counter()` after a `gc.collect()`; "
        "the file is in the page cache after the first read.",
        "",
        "| step | median | p90 | min |",
        "|---|---:|---:|---:|",
        f"| A. `media.images.ingest(path)` | {_ms(ingest_med)} | {_ms(_p90(run.ingest))} | {_ms(min(run.ingest))} |",
        f"| B. `Image.open(path).load()` | {_ms(load_med)} | {_ms(_p90(run.load))} | {_ms(min(run.load))} |",
        "",
        f"**Ratio of medians, ingest / plain load: {ingest_med / load_med:.2f}x**",
    ]
    if run.ingest_cpu:
        ingest_cpu, load_cpu = statistics.median(run.ingest_cpu), statistics.median(run.load_cpu)
        lines += [
            "",
            "CPU time of the calling thread (`time.thread_time()`, the same calls; less sensitive than wall time "
            "to other processes on the machine):",
            "",
            "| step | median CPU | min CPU |",
            "|---|---:|---:|",
            f"| A. ingest | {_ms(ingest_cpu)} | {_ms(min(run.ingest_cpu))} |",
            f"| B. plain load | {_ms(load_cpu)} | {_ms(min(run.load_cpu))} |",
            "",
            f"**Ratio of CPU medians: {ingest_cpu / load_cpu:.2f}x**",
        ]
    if run.phases:
        medians = {name: statistics.median(samples) for name, samples in run.phases.items()}
        total = sum(medians.values())
        lines += [
            "",
            "Breakdown of ingest (a reconstruction: `media.images`' private helpers called in ingest's order, "
            f"timed in each of the same {_count(rounds, 'round')}; medians per phase):",
            "",
            "| phase | median | share |",
            "|---|---:|---:|",
            *(f"| {name} | {_ms(m)} | {m / total:.0%} |" for name, m in medians.items()),
            f"| **sum of phase medians** | **{_ms(total)}** | (ingest median: {_ms(ingest_med)}) |",
        ]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------------------------------


def _check_ingest(path: Path, generated: bool) -> str:
    """Run ingest once and make sure it did the work we mean to time; describe its output."""
    result = images.ingest(str(path))
    if generated:
        upright = (PHOTO_SIZE[1], PHOTO_SIZE[0])
        problems = []
        if (result.width, result.height) != upright:
            problems.append(f"size {result.width}x{result.height}, expected {upright[0]}x{upright[1]}")
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
        if args.photo:
            path, generated = args.photo, False
        else:
            path, generated = Path(tmp) / "phone-photo.jpg", True
            print("generating the photo ...", file=sys.stderr)
            make_photo(path)
        input_text = describe_input(path, generated)
        print(f"input: {input_text}", file=sys.stderr)
        output_text = _check_ingest(path, generated)
        run = measure(path, args.rounds, args.warmups, breakdown=not args.no_breakdown)

    section = render(run, rounds=args.rounds, warmups=args.warmups, input_text=input_text, output_text=output_text)
    print(section)
    if args.write:
        write_results(section, SECTION_TITLE)
        print(f"written to {RESULTS_PATH.relative_to(REPO_ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
