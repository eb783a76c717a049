"""The volunteer service certificate (志愿服务证明) as a PNG: pure, synchronous Pillow drawing.

No HTTP, no database: callers load the figures, build a :class:`CertificateData`
and call :func:`render_certificate` (in a thread pool when on the event loop —
a render takes a few tens of milliseconds of CPU).

The page is A4 portrait at 150 dpi (1240x1754 px): sharp enough to print, and as
a palette PNG of a few dozen colours it stays well under 400 KB for weak mobile
networks. Text is set with a CJK font found by :func:`find_cjk_font` (Debian's
``fonts-noto-cjk``; Serif preferred, as formal Chinese documents are set in a
Song/Ming face). Chinese text wraps character by character at its measured width,
with the basic line-breaking rules (no line starts with a closing mark such as
"，" or "）", none ends with an opening one). A name or organisation too long for
the page is cut with "…" at a fixed width, so the layout can never overflow.

The verification URL is printed in full and also drawn as a QR code (byte mode,
error-correction level M), made by the small encoder at the end of this module:
the project has no QR dependency, and the standard's algorithm is short.
"""

from __future__ import annotations

import functools
import glob
import io
import math
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from PIL import Image, ImageDraw, ImageFont

FONT_ENV = "WENMING_CJK_FONT"
FONT_PACKAGE = "fonts-noto-cjk"
# Serif first: certificates and official letters are set in a Song/Ming face.
# The globs pick up other weights from fonts-noto-cjk-extra; then older or
# smaller CJK packages that a server might have instead.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-*.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK*.tt[cf]",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

PAGE_SIZE = (1240, 1754)  # A4 at 150 dpi
DPI = 150
RAMP_STEPS = 16  # shades from paper to each ink: smooth anti-aliasing in a 64-colour palette PNG

PAPER = (255, 253, 247)
INK = (34, 30, 28)
RED = (160, 27, 32)  # frame and title: the usual red of Chinese certificates
GREY = (96, 90, 86)

TITLE = "志愿服务证明"
SERIAL_RE = re.compile(r"[A-Za-z0-9-]{1,32}")

# Line-breaking rules (禁则): marks that may not begin a line, and that may not end one.
_NO_LINE_START = frozenset("，。、；：！？）》」』】〕〉…—·’”%,.;:!?)]}")
_NO_LINE_END = frozenset("（《「『【〔〈‘“([{")
MAX_UNSPLIT_WORD = 16  # longer runs of Latin letters and digits (a URL's path) may break anywhere

# Bounds of sanity (100000 hours is over eleven years without sleep): beyond them
# the figures are a bug upstream, and the page layout is only checked up to them.
MAX_HOURS = Decimal(100_000)
MAX_TASKS = 1_000_000


class FontMissing(Exception):
    """No usable CJK font on this machine; the message says what to install."""


@dataclass(frozen=True)
class CertificateData:
    name: str  # the person's name or nickname
    org: str  # e.g. "祁东县洪桥街道育贤社区"
    service_hours: Decimal | float
    approved_tasks: int
    issued_on: date  # a calendar date in Asia/Shanghai
    serial: str  # e.g. "WM-2026-000123-7F3K"
    verify_url: str
    issuer: str = "网络文明志愿服务平台"

    def __post_init__(self) -> None:
        # These come from our own database: a bad value is a bug upstream, not user input.
        if not self.name.strip():
            raise ValueError("name is empty")
        if not SERIAL_RE.fullmatch(self.serial):
            raise ValueError(f"serial must be 1-32 letters, digits or dashes: {self.serial!r}")
        tasks = self.approved_tasks
        if isinstance(tasks, bool) or not isinstance(tasks, int) or not 0 <= tasks < MAX_TASKS:
            raise ValueError(f"approved_tasks must be an int in [0, {MAX_TASKS}): {tasks!r}")
        if Decimal(format_hours(self.service_hours)) >= MAX_HOURS:  # format_hours rejects NaN and negatives
            raise ValueError(f"service_hours must be under {MAX_HOURS}: {self.service_hours!r}")
        if not self.verify_url.strip():
            raise ValueError("verify_url is empty")


def format_hours(hours: Decimal | float) -> str:
    """Hours rounded half-up to one decimal, without a trailing ".0": 12.5, 100, 0.3."""
    try:
        # str() first: Decimal(0.1) would carry the float's binary error into the rounding.
        value = Decimal(str(hours)) if isinstance(hours, float) else Decimal(hours)
        if not value.is_finite():
            raise InvalidOperation
        rounded = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"service_hours is not a finite number: {hours!r}") from exc
    if rounded < 0:
        raise ValueError(f"service_hours is negative: {hours!r}")
    text = f"{rounded:f}"
    return text[:-2] if text.endswith(".0") else text


def format_date(day: date) -> str:
    """2026年3月5日: official documents write month and day without a leading zero (GB/T 9704)."""
    return f"{day.year}年{day.month}月{day.day}日"


# --- fonts ---------------------------------------------------------------------------


def find_cjk_font() -> str:
    """Path to a font file with Chinese glyphs; raises :class:`FontMissing`.

    Looks at ``$WENMING_CJK_FONT`` (when set it must exist and have Chinese
    glyphs: a typo should fail loudly, not fall back to another font), then the
    Debian paths of fonts-noto-cjk and a few others, then ``fc-list :lang=zh``.
    The answer is cached per value of the variable.
    """
    return _find_cjk_font(os.environ.get(FONT_ENV, "").strip())


@functools.lru_cache(maxsize=8)
def _find_cjk_font(explicit: str) -> str:
    if explicit:
        if not os.path.isfile(explicit):
            raise FontMissing(f"{FONT_ENV}={explicit} does not exist; {_install_hint()}")
        if not _has_cjk_glyphs(explicit):
            raise FontMissing(f"{FONT_ENV}={explicit} is not a font with Chinese glyphs; {_install_hint()}")
        return explicit
    for pattern in FONT_CANDIDATES:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path) and _has_cjk_glyphs(path):
                return path
    for path in _fc_list_zh():
        if _has_cjk_glyphs(path):
            return path
    raise FontMissing(f"no font with Chinese glyphs found; {_install_hint()}")


def _install_hint() -> str:
    return f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}) or set {FONT_ENV}"


def _fc_list_zh() -> list[str]:
    """Font files fontconfig says cover Chinese, best guesses first."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    paths = {line.split(":", 1)[0].strip() for line in out.splitlines() if line.strip()}
    # Regular weights of a Serif/Song face make the most formal page; prefer them, deterministically.
    return sorted(
        (p for p in paths if os.path.isfile(p)),
        key=lambda p: ("Regular" not in p, not any(s in p for s in ("Serif", "Song", "Ming")), p),
    )


def _has_cjk_glyphs(path: str) -> bool:
    """True if the font draws Chinese rather than its missing-glyph box."""
    try:
        font = _font(path, 32)
    except FontMissing:
        return False
    # U+10FFFD is a private-use code point no CJK font maps: it shows the .notdef glyph.
    return _glyph_bytes(font, "证") != _glyph_bytes(font, "\U0010fffd")


@functools.lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font at ``path``; in a collection (.ttc), its Simplified Chinese face.

    Cached and shared by the renders of a thread pool: FreeType faces are not
    thread-safe, but Pillow works on them under the GIL (and under a lock of its
    own in free-threaded builds since 12.2).
    """
    try:
        return ImageFont.truetype(path, size, index=_sc_face_index(path))
    except OSError as exc:
        raise FontMissing(f"cannot load font {path}: {exc}; {_install_hint()}") from exc


@functools.lru_cache(maxsize=8)
def _sc_face_index(path: str) -> int:
    # Noto CJK collections open on their Japanese face (index 0), whose forms of
    # some shared characters differ from the mainland standard; pick the "SC" face.
    for index in range(32):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith((" SC", " CN", " GB")) or "Simplified" in family:
            return index
    return 0


def _bold_sibling(path: str) -> str:
    """The Bold file next to a Regular one (NotoSerifCJK-Bold.ttc), else the same file."""
    directory, name = os.path.split(path)
    if "Regular" in name:
        bold = os.path.join(directory, name.replace("Regular", "Bold"))
        if os.path.isfile(bold) and _has_cjk_glyphs(bold):
            return bold
    return path


def _glyph_bytes(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=4096)
def _drawable(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether ``font`` has a glyph for ``char`` (emoji in WeChat nicknames usually have none)."""
    return _glyph_bytes(font, char) != _glyph_bytes(font, "\U0010fffd")


# --- text layout ---------------------------------------------------------------------

# A styled piece of text: (text, font, colour).
Run = tuple[str, ImageFont.FreeTypeFont, tuple[int, int, int]]


def _clean(text: str, font: ImageFont.FreeTypeFont) -> str:
    """One line of printable text: whitespace collapsed, controls and glyphless characters dropped."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    kept = [
        c
        for c in text
        if c == " " or (unicodedata.category(c)[0] not in "CZ" and _drawable(font, c))  # C*: controls, formats
    ]
    return "".join(kept).strip()


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> str:
    """``text``, or its longest prefix plus "…" that fits in ``max_width``."""
    if font.getlength(text) <= max_width:
        return text
    lo, hi = 0, len(text)  # binary search: a 200-character name costs a handful of measurements
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid] + "…") <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def _runs_width(chars: list[tuple[str, int]], runs: list[Run]) -> float:
    return sum(runs[style][1].getlength(text) for text, style in _group(chars))


def _group(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Consecutive characters of one style joined: measured and drawn as one string, so kerning matches."""
    groups: list[tuple[str, int]] = []
    for char, style in chars:
        if groups and groups[-1][1] == style:
            groups[-1] = (groups[-1][0] + char, style)
        else:
            groups.append((char, style))
    return groups


def _wrap(runs: list[Run], width: float, first_indent: float = 0) -> list[list[tuple[str, int]]]:
    """Break styled text into lines no wider than ``width``, one character at a time.

    Chinese has no spaces to break at, so any character boundary is a break
    point, except that a closing mark never starts a line (the character before
    it moves down with it) and an opening mark never ends one.
    """
    chars = [(c, style) for style, (text, _, _) in enumerate(runs) for c in text]
    lines: list[list[tuple[str, int]]] = [[]]
    for char, style in chars:
        line = lines[-1]
        if not line and char == " " and len(lines) > 1:
            continue  # a wrapped line does not start with a space
        available = width - (first_indent if len(lines) == 1 else 0)
        if not line or _runs_width([*line, (char, style)], runs) <= available:
            line.append((char, style))
            continue
        carried: list[tuple[str, int]] = []
        if char in _NO_LINE_START and len(line) > 1:
            carried.append(line.pop())
        elif _is_word(char):
            # A number or short Latin word moves down whole rather than split ("10000 / 00000").
            start = len(line)
            while start > 0 and _is_word(line[start - 1][0]):
                start -= 1
            if 0 < start and len(line) - start < MAX_UNSPLIT_WORD:
                carried, line[start:] = line[start:], []
        while len(line) > 1 and line[-1][0] in _NO_LINE_END:
            carried.insert(0, line.pop())
        while line and line[-1][0] == " ":
            line.pop()
        lines.append([*carried, (char, style)])
    return [line for line in lines if line]


def _is_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == ".")


def _draw_line(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], line: list[tuple[str, int]], runs: list[Run]
) -> None:
    x, y = xy
    for text, style in _group(line):
        _, font, colour = runs[style]
        draw.text((x, y), text, font=font, fill=colour, anchor="ls")
        x += font.getlength(text)


def _draw_spaced(
    draw: ImageDraw.ImageDraw,
    centre_x: float,
    baseline: float,
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
    spacing: float,
) -> tuple[float, float]:
    """Draw ``text`` centred with extra space between characters (a title's look); returns its x span."""
    widths = [font.getlength(c) for c in text]
    total = sum(widths) + spacing * (len(text) - 1)
    x = left = centre_x - total / 2
    for char, w in zip(text, widths, strict=True):
        draw.text((x, baseline), char, font=font, fill=fill, anchor="ls")
        x += w + spacing
    return left, left + total


# --- the page ------------------------------------------------------------------------

# Geometry, in pixels of the 1240x1754 page. Body text sits between LEFT and RIGHT.
OUTER_FRAME = 46
INNER_FRAME = 62
LEFT, RIGHT = 150, 1090
TITLE_BASELINE = 330
TITLE_SIZE = 96
BODY_TOP = 560
BODY_SIZE = 42
BODY_LEADING = 84  # baseline to baseline: double spacing, as on printed certificates
NAME_MAX_EM = 12  # a longer name is cut with "…"
ORG_MAX_EM = 28
SIGN_CENTRE_X = 880
SIGN_BASELINE = 1230
FOOTER_RULE_Y = 1360
QR_BOX = (150, 1390, 410, 1650)  # left, top, right, bottom (quiet zone included)
FOOTER_LEFT = 450
FOOTER_TOP = 1430  # first baseline
FOOTER_SIZE = 28
FOOTER_LEADING = 44
URL_MAX_LINES = 3  # with a two-line serial and the hint, the footer just fits above the frame
QR_MIN_MODULE_PX = 3  # below this a printed code stops scanning reliably: show only the URL


def render_certificate(data: CertificateData, *, font_path: str | None = None) -> bytes:
    """The certificate for ``data`` as PNG bytes (1240x1754, 150 dpi, palette colour).

    ``font_path`` overrides :func:`find_cjk_font`; raises :class:`FontMissing`
    when no CJK font can be loaded.
    """
    path = font_path or find_cjk_font()
    bold_path = _bold_sibling(path)
    regular = _font(path, BODY_SIZE)
    bold = _font(bold_path, BODY_SIZE)

    img = Image.new("RGB", PAGE_SIZE, PAPER)
    draw = ImageDraw.Draw(img)
    _draw_frame(draw)

    title_font = _font(bold_path, TITLE_SIZE)
    left, right = _draw_spaced(draw, PAGE_SIZE[0] / 2, TITLE_BASELINE, TITLE, title_font, RED, TITLE_SIZE * 0.35)
    _draw_ornament(draw, left, right, TITLE_BASELINE + 60)

    name = _ellipsize(_clean(data.name, bold), bold, BODY_SIZE * NAME_MAX_EM) or "—"
    org = _ellipsize(_clean(data.org, regular), regular, BODY_SIZE * ORG_MAX_EM)
    body: list[Run] = [
        ("兹证明 ", regular, INK),
        (name, bold, INK),
        (" 同志", regular, INK),
        (f"（{org}）" if org else "", regular, INK),
        ("参加网络文明志愿服务，经审核累计志愿服务时长 ", regular, INK),
        (format_hours(data.service_hours), bold, INK),
        (" 小时，完成任务 ", regular, INK),
        (str(data.approved_tasks), bold, INK),
        (" 项。", regular, INK),
    ]
    baseline = BODY_TOP
    indent = BODY_SIZE * 2  # paragraphs open with a two-character indent
    for paragraph in (body, [("特此证明。", regular, INK)]):
        for i, line in enumerate(_wrap(paragraph, RIGHT - LEFT, first_indent=indent)):
            _draw_line(draw, (LEFT + (indent if i == 0 else 0), baseline), line, paragraph)
            baseline += BODY_LEADING

    sign_font = _font(path, 38)
    issuer = _ellipsize(_clean(data.issuer, sign_font), sign_font, 2 * (RIGHT - SIGN_CENTRE_X) + 200)
    sign_y = max(SIGN_BASELINE, baseline + BODY_LEADING)
    for offset, text in ((0, issuer), (64, format_date(data.issued_on))):
        width = sign_font.getlength(text)
        # Centred under each other, but never past the right margin.
        x = min(SIGN_CENTRE_X - width / 2, RIGHT - width)
        draw.text((x, sign_y + offset), text, font=sign_font, fill=INK, anchor="ls")

    _draw_footer(draw, img, data, path)

    out = io.BytesIO()
    # Every pixel is paper, an ink, or an anti-aliased blend of the two, so a fixed
    # palette of those ramps is exact enough, deterministic, and 30x faster than
    # computing one. No dithering: flat colours compress far better.
    paletted = img.quantize(palette=_palette(), dither=Image.Dither.NONE)
    paletted.save(out, format="PNG", optimize=True, dpi=(DPI, DPI))
    return out.getvalue()


@functools.cache
def _palette() -> Image.Image:
    def ramp(start: tuple[int, int, int], end: tuple[int, int, int]) -> list[int]:
        steps = RAMP_STEPS - 1
        return [round(a + (b - a) * k / steps) for k in range(RAMP_STEPS) for a, b in zip(start, end, strict=True)]

    white, black = (255, 255, 255), (0, 0, 0)
    palette = Image.new("P", (1, 1))
    palette.putpalette(ramp(PAPER, INK) + ramp(PAPER, RED) + ramp(PAPER, GREY) + ramp(white, black))
    return palette


def _draw_frame(draw: ImageDraw.ImageDraw) -> None:
    w, h = PAGE_SIZE
    draw.rectangle((OUTER_FRAME, OUTER_FRAME, w - OUTER_FRAME, h - OUTER_FRAME), outline=RED, width=7)
    draw.rectangle((INNER_FRAME, INNER_FRAME, w - INNER_FRAME, h - INNER_FRAME), outline=RED, width=2)
    # Corner brackets inside the inner frame, a common motif of Chinese certificates.
    arm, gap = 70, 14
    for cx, sx in ((INNER_FRAME + gap, 1), (w - INNER_FRAME - gap, -1)):
        for cy, sy in ((INNER_FRAME + gap, 1), (h - INNER_FRAME - gap, -1)):
            draw.line((cx, cy, cx + sx * arm, cy), fill=RED, width=3)
            draw.line((cx, cy, cx, cy + sy * arm), fill=RED, width=3)
            dot_x, dot_y = cx + sx * 14, cy + sy * 14  # a small square inside each bracket
            draw.rectangle((dot_x - 4, dot_y - 4, dot_x + 4, dot_y + 4), fill=RED)


def _draw_ornament(draw: ImageDraw.ImageDraw, left: float, right: float, y: float) -> None:
    """A rule under the title with a small diamond in the middle."""
    mid = (left + right) / 2
    draw.line((left, y, mid - 18, y), fill=RED, width=2)
    draw.line((mid + 18, y, right, y), fill=RED, width=2)
    draw.polygon(((mid - 10, y), (mid, y - 8), (mid + 10, y), (mid, y + 8)), fill=RED)


def _draw_footer(draw: ImageDraw.ImageDraw, img: Image.Image, data: CertificateData, path: str) -> None:
    """Serial number, verification URL and its QR code, under a thin rule."""
    draw.line((LEFT, FOOTER_RULE_Y, RIGHT, FOOTER_RULE_Y), fill=GREY, width=1)
    font = _font(path, FOOTER_SIZE)
    url = "".join(data.verify_url.split())  # a URL has no whitespace; a stray newline would break the layout

    has_qr = _draw_qr(img, url.encode("utf-8"), QR_BOX)
    left = FOOTER_LEFT if has_qr else LEFT
    width = RIGHT - left
    baseline = FOOTER_TOP
    runs: list[Run] = [(f"证书编号：{data.serial}", font, INK)]
    for line in _wrap(runs, width):  # a 32-character serial takes two lines beside the QR code
        _draw_line(draw, (left, baseline), line, runs)
        baseline += FOOTER_LEADING
    runs = [("验证：", font, INK), (url, font, INK)]
    lines = _wrap(runs, width)
    if len(lines) > URL_MAX_LINES:  # absurdly long: keep the layout, cut the last line
        last = "".join(c for c, _ in lines[URL_MAX_LINES - 1])
        lines = [*lines[: URL_MAX_LINES - 1], [(c, 1) for c in _ellipsize(last + "…", font, width)]]
    for line in lines:
        _draw_line(draw, (left, baseline), line, runs)
        baseline += FOOTER_LEADING
    hint = "扫描二维码或访问上述网址，可核验本证明真伪。" if has_qr else "访问上述网址，可核验本证明真伪。"
    draw.text((left, baseline + 10), hint, font=font, fill=GREY, anchor="ls")


def _draw_qr(img: Image.Image, payload: bytes, box: tuple[int, int, int, int]) -> bool:
    """Draw ``payload`` as a QR code centred in ``box``; False when it cannot be drawn legibly there."""
    try:
        matrix = qr_matrix(payload)
    except ValueError:
        return False
    quiet = 4  # the standard's quiet zone, in modules
    side = len(matrix) + 2 * quiet
    module = min(box[2] - box[0], box[3] - box[1]) // side
    if module < QR_MIN_MODULE_PX:
        return False
    x0 = box[0] + (box[2] - box[0] - side * module) // 2 + quiet * module
    y0 = box[1] + (box[3] - box[1] - side * module) // 2 + quiet * module
    draw = ImageDraw.Draw(img)
    # White under the code, not the page's cream: scanners want the strongest contrast.
    end = side - quiet
    draw.rectangle(
        (x0 - quiet * module, y0 - quiet * module, x0 + end * module - 1, y0 + end * module - 1), fill=(255, 255, 255)
    )
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x, y = x0 + c * module, y0 + r * module
                draw.rectangle((x, y, x + module - 1, y + module - 1), fill=(0, 0, 0))
    return True


# --- QR code (ISO/IEC 18004, Model 2), byte mode, error-correction level M ------------
#
# The structure follows the standard directly: data bits -> codewords -> Reed-Solomon
# blocks, interleaved -> zig-zag placement -> the mask with the lowest penalty ->
# format (and version) information. Level M restores up to 15% damage: enough for a
# printed page that gets folded or stamped on.

# Per version 1..40 (index 0 unused), level M only.
_ECC_PER_BLOCK_M = (-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28)
_ECC_PER_BLOCK_M += (28,) * 17
_BLOCKS_M = (-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28)
_BLOCKS_M += (29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49)
_FORMAT_BITS_M = 0b00  # the two error-correction bits of level M in the format information


def qr_capacity(version: int) -> int:
    """Bytes a byte-mode, level-M QR code of ``version`` (1-40) holds."""
    count_bits = 8 if version <= 9 else 16
    return (_data_codewords(version) * 8 - 4 - count_bits) // 8


def qr_matrix(payload: bytes) -> list[list[bool]]:
    """The modules (True = dark) of the smallest level-M QR code holding ``payload``, without quiet zone.

    Raises ValueError if it does not fit even version 40.
    """
    version = next((v for v in range(1, 41) if qr_capacity(v) >= len(payload)), None)
    if version is None:
        raise ValueError(f"{len(payload)} bytes do not fit in a QR code")
    codewords = _interleaved(version, _data_bytes(version, payload))
    size = 4 * version + 17
    modules = [[False] * size for _ in range(size)]
    reserved = [[False] * size for _ in range(size)]
    _function_patterns(version, modules, reserved)
    _place(codewords, modules, reserved)
    best = min(range(8), key=lambda m: _penalty(_masked(version, modules, reserved, m)))
    return _masked(version, modules, reserved, best)


def _num_raw_data_modules(version: int) -> int:
    """Modules left for codewords once the function patterns are placed."""
    result = (16 * version + 128) * version + 64
    if version >= 2:
        align = version // 7 + 2
        result -= (25 * align - 10) * align - 55
        if version >= 7:
            result -= 36  # the two version-information blocks
    return result


def _data_codewords(version: int) -> int:
    return _num_raw_data_modules(version) // 8 - _ECC_PER_BLOCK_M[version] * _BLOCKS_M[version]


def _data_bytes(version: int, payload: bytes) -> list[int]:
    """Mode indicator, length, payload, terminator and padding, as codewords."""
    bits: list[int] = []

    def put(value: int, length: int) -> None:
        bits.extend((value >> i) & 1 for i in reversed(range(length)))

    put(0b0100, 4)  # byte mode
    put(len(payload), 8 if version <= 9 else 16)
    for byte in payload:
        put(byte, 8)
    capacity = _data_codewords(version) * 8
    put(0, min(4, capacity - len(bits)))
    put(0, -len(bits) % 8)
    data = [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8)]
    pad = (0xEC, 0x11)
    data.extend(pad[i % 2] for i in range(capacity // 8 - len(data)))
    return data


def _gf_mul(x: int, y: int) -> int:
    """Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1, the QR field."""
    z = 0
    for i in reversed(range(8)):
        z = (z << 1) ^ ((z >> 7) * 0x11D)
        z ^= ((y >> i) & 1) * x
    return z


def _rs_divisor(degree: int) -> list[int]:
    """Coefficients of prod(x - 2^i, i < degree), highest power (implicit 1) dropped."""
    result = [0] * (degree - 1) + [1]
    root = 1
    for _ in range(degree):
        for j in range(degree):
            result[j] = _gf_mul(result[j], root)
            if j + 1 < degree:
                result[j] ^= result[j + 1]
        root = _gf_mul(root, 2)
    return result


def _rs_remainder(data: list[int], divisor: list[int]) -> list[int]:
    result = [0] * len(divisor)
    for byte in data:
        factor = byte ^ result.pop(0)
        result.append(0)
        for i, coefficient in enumerate(divisor):
            result[i] ^= _gf_mul(coefficient, factor)
    return result


def _interleaved(version: int, data: list[int]) -> list[int]:
    """Split into blocks, append each block's error correction, interleave the blocks."""
    num_blocks, ecc_len = _BLOCKS_M[version], _ECC_PER_BLOCK_M[version]
    raw = _num_raw_data_modules(version) // 8
    num_short = num_blocks - raw % num_blocks
    short_len = raw // num_blocks  # a short block's length, error correction included
    divisor = _rs_divisor(ecc_len)
    blocks: list[list[int]] = []
    k = 0
    for i in range(num_blocks):
        chunk = data[k : k + short_len - ecc_len + (0 if i < num_short else 1)]
        k += len(chunk)
        ecc = _rs_remainder(chunk, divisor)
        # A placeholder keeps short and long blocks aligned for the column-wise read below.
        blocks.append(chunk + ([0] if i < num_short else []) + ecc)
    return [
        block[i]
        for i in range(len(blocks[0]))
        for j, block in enumerate(blocks)
        if i != short_len - ecc_len or j >= num_short
    ]


def _alignment_positions(version: int) -> list[int]:
    if version == 1:
        return []
    count = version // 7 + 2
    step = (version * 8 + count * 3 + 5) // (count * 4 - 4) * 2
    size = 4 * version + 17
    return [6, *sorted(size - 7 - i * step for i in range(count - 1))]


def _function_patterns(version: int, modules: list[list[bool]], reserved: list[list[bool]]) -> None:
    size = len(modules)

    def put(x: int, y: int, dark: bool) -> None:
        modules[y][x] = dark
        reserved[y][x] = True

    for i in range(size):  # timing patterns
        put(6, i, i % 2 == 0)
        put(i, 6, i % 2 == 0)
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):  # finder patterns with their separators
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                if 0 <= cx + dx < size and 0 <= cy + dy < size:
                    put(cx + dx, cy + dy, max(abs(dx), abs(dy)) not in (2, 4))
    positions = _alignment_positions(version)
    last = len(positions) - 1
    for i, cx in enumerate(positions):
        for j, cy in enumerate(positions):
            if (i, j) in ((0, 0), (0, last), (last, 0)):
                continue  # these would sit on a finder pattern
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    put(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1)
    _put_format(modules, reserved, 0)  # reserve the format areas; the real bits come with the mask
    if version >= 7:
        remainder = version
        for _ in range(12):
            remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25)
        bits = version << 12 | remainder
        for i in range(18):
            a, b = size - 11 + i % 3, i // 3
            put(a, b, (bits >> i) & 1 == 1)
            put(b, a, (bits >> i) & 1 == 1)


def _put_format(modules: list[list[bool]], reserved: list[list[bool]], mask: int) -> None:
    size = len(modules)
    data = _FORMAT_BITS_M << 3 | mask
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    bits = (data << 10 | remainder) ^ 0x5412

    def put(x: int, y: int, i: int) -> None:
        modules[y][x] = (bits >> i) & 1 == 1
        reserved[y][x] = True

    for i in range(6):
        put(8, i, i)
    put(8, 7, 6)
    put(8, 8, 7)
    put(7, 8, 8)
    for i in range(9, 15):
        put(14 - i, 8, i)
    for i in range(8):
        put(size - 1 - i, 8, i)
    for i in range(8, 15):
        put(8, size - 15 + i, i)
    modules[size - 8][8] = True  # the dark module, always set
    reserved[size - 8][8] = True


def _place(codewords: list[int], modules: list[list[bool]], reserved: list[list[bool]]) -> None:
    """Codeword bits in the standard's zig-zag: two-module columns, right to left, alternating up and down."""
    size = len(modules)
    total = len(codewords) * 8
    i = 0
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5  # skip the vertical timing pattern
        upward = (right + 1) & 2 == 0
        for vert in range(size):
            y = size - 1 - vert if upward else vert
            for x in (right, right - 1):
                if not reserved[y][x] and i < total:
                    modules[y][x] = (codewords[i >> 3] >> (7 - (i & 7))) & 1 == 1
                    i += 1
        right -= 2


_MASKS = (
    lambda x, y: (x + y) % 2 == 0,
    lambda x, y: y % 2 == 0,
    lambda x, y: x % 3 == 0,
    lambda x, y: (x + y) % 3 == 0,
    lambda x, y: (x // 3 + y // 2) % 2 == 0,
    lambda x, y: x * y % 2 + x * y % 3 == 0,
    lambda x, y: (x * y % 2 + x * y % 3) % 2 == 0,
    lambda x, y: ((x + y) % 2 + x * y % 3) % 2 == 0,
)


def _masked(version: int, modules: list[list[bool]], reserved: list[list[bool]], mask: int) -> list[list[bool]]:
    test = _MASKS[mask]
    result = [
        [dark ^ (not reserved[y][x] and test(x, y)) for x, dark in enumerate(row)] for y, row in enumerate(modules)
    ]
    _put_format(result, [row[:] for row in reserved], mask)
    return result


def _penalty(modules: list[list[bool]]) -> int:
    """The standard's mask score: long runs, 2x2 blocks, finder look-alikes, dark/light imbalance."""
    size = len(modules)
    lines = ["".join("1" if d else "0" for d in row) for row in modules]
    lines += ["".join(lines[y][x] for y in range(size)) for x in range(size)]
    score = 0
    for line in lines:
        for run in re.findall(r"0{5,}|1{5,}", line):
            score += 3 + len(run) - 5
        padded = "0000" + line + "0000"  # the quiet zone counts as light
        score += 40 * (padded.count("10111010000") + padded.count("00001011101"))
    for y in range(size - 1):
        for x in range(size - 1):
            if modules[y][x] == modules[y][x + 1] == modules[y + 1][x] == modules[y + 1][x + 1]:
                score += 3
    dark = sum(map(sum, modules))
    score += 10 * max(0, math.ceil(abs(dark * 20 - size * size * 10) / (size * size)) - 1)
    return score
