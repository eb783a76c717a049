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
error-correction level M, encoded by segno).
"""

from __future__ import annotations

import functools
import glob
import io
import itertools
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import segno
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


MAX_LISTED = 20  # activities a page can list at most; fewer if the body runs long


@dataclass(frozen=True)
class Activity:
    """One line of the certificate's table: what the person did, on which day, for how many hours."""

    title: str
    day: date
    hours: Decimal


@dataclass(frozen=True)
class CertificateData:
    name: str  # the person's name or nickname
    org: str  # e.g. "祁东县洪桥街道育贤社区"
    service_hours: Decimal | float
    approved_tasks: int  # service activities in all (the table lists the newest of them)
    issued_on: date  # a calendar date in Asia/Shanghai
    serial: str  # e.g. "WM-2026-000123-7F3K"
    verify_url: str
    issuer: str = "网络文明志愿服务平台"
    # The part of service_hours an admin granted (荣誉时长); the rest is credit hours (信用时长).
    honour_hours: Decimal | float = Decimal(0)
    activities: tuple[Activity, ...] = ()  # newest first
    leader: str = ""  # the issuing org's person in charge (负责人)
    handler: str = ""  # 经办人
    contact: str = ""  # 联系电话

    @property
    def credit(self) -> Decimal:
        return Decimal(format_hours(self.service_hours)) - Decimal(format_hours(self.honour_hours))

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
        if Decimal(format_hours(self.honour_hours)) > Decimal(format_hours(self.service_hours)):
            raise ValueError(f"honour_hours {self.honour_hours!r} exceed service_hours {self.service_hours!r}")


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
TITLE_BASELINE = 240
TITLE_SIZE = 96
SERIAL_BASELINE = 370  # 编号, right-aligned under the title's rule
SERIAL_SIZE = 26
BODY_TOP = 470
BODY_SIZE = 36
BODY_LEADING = 62
NAME_MAX_EM = 12  # a longer name is cut with "…"
ORG_MAX_EM = 28
TABLE_SIZE = 25
TABLE_HEADER = 44
TABLE_ROW = 38
# Columns of the activity table: 序号, 服务项目, 服务日期, 时长（小时）; their right edges.
TABLE_COLUMNS = (LEFT + 80, LEFT + 560, LEFT + 770, RIGHT)
SIGN_CENTRE_X = 880
SIGN_BASELINE = 1320  # the issuer's line; the date follows 56 px below
SIGN_SIZE = 36
FOOTER_RULE_Y = 1440
QR_BOX = (150, 1458, 380, 1688)  # left, top, right, bottom (quiet zone included)
FOOTER_LEFT = 410
FOOTER_TOP = 1496  # first baseline
FOOTER_SIZE = 26
FOOTER_LEADING = 38
URL_MAX_LINES = 2
QR_MIN_MODULE_PX = 3  # below this a printed code stops scanning reliably: show only the URL
BLANK_RULE = 150  # the line left to sign on when no 负责人 or 经办人 is configured


def render_certificate(data: CertificateData, *, font_path: str | None = None) -> bytes:
    """The certificate for ``data`` as PNG bytes (1240x1754, 150 dpi, palette colour).

    Laid out as a 志愿服务证明 under the ministry's rules: title and number, the statement of the
    person's hours (credit and honour), the activities as a table, the issuing org and date, then
    its person in charge, handler and contact beside the QR code that opens the verification page.
    ``font_path`` overrides :func:`find_cjk_font`; raises :class:`FontMissing` when no CJK font can be loaded.
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
    serial_font = _font(path, SERIAL_SIZE)
    draw.text((RIGHT, SERIAL_BASELINE), f"编号：{data.serial}", font=serial_font, fill=GREY, anchor="rs")

    name = _ellipsize(_clean(data.name, bold), bold, BODY_SIZE * NAME_MAX_EM) or "—"
    org = _ellipsize(_clean(data.org, regular), regular, BODY_SIZE * ORG_MAX_EM)
    listed = data.activities[:MAX_LISTED]
    body: list[Run] = [
        ("兹证明 ", regular, INK),
        (name, bold, INK),
        (" 同志", regular, INK),
        (f"（{org}）" if org else "", regular, INK),
        ("参加网络文明志愿服务，经审核累计志愿服务时长 ", regular, INK),
        (format_hours(data.service_hours), bold, INK),
        (" 小时（其中信用时长 ", regular, INK),
        (format_hours(data.credit), bold, INK),
        (" 小时、荣誉时长 ", regular, INK),
        (format_hours(data.honour_hours), bold, INK),
        (" 小时），参加志愿服务项目 ", regular, INK),
        (str(data.approved_tasks), bold, INK),
        (" 项。" if not listed else " 项，主要服务内容如下：", regular, INK),
    ]
    baseline = BODY_TOP
    indent = BODY_SIZE * 2  # paragraphs open with a two-character indent
    for i, line in enumerate(_wrap(body, RIGHT - LEFT, first_indent=indent)):
        _draw_line(draw, (LEFT + (indent if i == 0 else 0), baseline), line, body)
        baseline += BODY_LEADING

    closing_room = BODY_LEADING + 40  # "特此证明。" and a gap before the issuer
    if listed:
        baseline = _draw_activities(draw, path, data, baseline - BODY_LEADING + 36, SIGN_BASELINE - closing_room)
        baseline += BODY_LEADING
    runs: list[Run] = [("特此证明。", regular, INK)]
    _draw_line(draw, (LEFT + indent, baseline), _wrap(runs, RIGHT - LEFT)[0], runs)

    sign_font = _font(path, SIGN_SIZE)
    issuer = _ellipsize(_clean(data.issuer, sign_font), sign_font, 2 * (RIGHT - SIGN_CENTRE_X) + 200)
    sign_y = max(SIGN_BASELINE, baseline + BODY_LEADING + 20)
    for offset, text in ((0, issuer), (56, format_date(data.issued_on))):
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


def _tint(colour: tuple[int, int, int], step: int) -> tuple[int, int, int]:
    """The palette's own blend of paper towards ``colour``, ``step`` of RAMP_STEPS - 1."""
    steps = RAMP_STEPS - 1
    return tuple(round(a + (b - a) * step / steps) for a, b in zip(PAPER, colour, strict=True))  # type: ignore[return-value]


def _draw_activities(draw: ImageDraw.ImageDraw, path: str, data: CertificateData, top: float, limit: float) -> float:
    """The activity table from ``top``, as many rows as fit above ``limit``; returns the last baseline."""
    font = _font(path, TABLE_SIZE)
    head = _font(_bold_sibling(path), TABLE_SIZE)
    rows = list(data.activities[:MAX_LISTED])
    room = int((limit - top - TABLE_HEADER - TABLE_ROW) // TABLE_ROW)  # one row kept for "等 N 项"
    rows = rows[: max(room, 1)]
    more = data.approved_tasks - len(rows)
    bottom = top + TABLE_HEADER + TABLE_ROW * len(rows)
    draw.rectangle((LEFT, top, RIGHT, top + TABLE_HEADER), fill=_tint(RED, 2))
    edges = (LEFT, *TABLE_COLUMNS)
    headers = ("序号", "服务项目", "服务日期", "时长（小时）")
    for (x0, x1), text in zip(itertools.pairwise(edges), headers, strict=True):
        draw.text(((x0 + x1) / 2, top + TABLE_HEADER / 2), text, font=head, fill=INK, anchor="mm")
    for i, activity in enumerate(rows):
        y = top + TABLE_HEADER + TABLE_ROW * i + TABLE_ROW / 2
        title = _ellipsize(_clean(activity.title, font), font, TABLE_COLUMNS[1] - TABLE_COLUMNS[0] - 24) or "—"
        cells = (
            (str(i + 1), "mm"),
            (title, "lm"),
            (format_date(activity.day), "mm"),
            (format_hours(activity.hours), "mm"),
        )
        for (x0, x1), (text, anchor) in zip(itertools.pairwise(edges), cells, strict=True):
            x = x0 + 12 if anchor == "lm" else (x0 + x1) / 2
            draw.text((x, y), text, font=font, fill=INK, anchor=anchor)
    for k in range(len(rows) + 2):  # horizontal rules: top, under the header, under each row
        y = top if k == 0 else top + TABLE_HEADER + TABLE_ROW * (k - 1)
        draw.line((LEFT, y, RIGHT, y), fill=GREY, width=2 if k in (0, len(rows) + 1) else 1)
    for x in edges:
        draw.line((x, top, x, bottom), fill=GREY, width=2 if x in (LEFT, RIGHT) else 1)
    baseline = bottom
    if more > 0:
        baseline += TABLE_ROW
        note = f"以上列出最近 {len(rows)} 项，另有 {more} 项未列出（共 {data.approved_tasks} 项）。"
        draw.text((LEFT, baseline - 8), note, font=font, fill=GREY, anchor="ls")
    return baseline


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
    """The issuer's person in charge, handler and contact, the verification URL and its QR code."""
    draw.line((LEFT, FOOTER_RULE_Y, RIGHT, FOOTER_RULE_Y), fill=GREY, width=1)
    font = _font(path, FOOTER_SIZE)
    url = "".join(data.verify_url.split())  # a URL has no whitespace; a stray newline would break the layout

    has_qr = _draw_qr(img, url.encode("utf-8"), QR_BOX)
    left = FOOTER_LEFT if has_qr else LEFT
    width = RIGHT - left
    baseline = FOOTER_TOP
    half = left + width / 2
    _draw_signer(draw, font, (left, baseline), "负责人：", data.leader, half - left - 20)
    _draw_signer(draw, font, (half, baseline), "经办人：", data.handler, RIGHT - half)
    baseline += FOOTER_LEADING
    _draw_signer(draw, font, (left, baseline), "联系电话：", data.contact, width)
    baseline += FOOTER_LEADING
    runs: list[Run] = [("核验网址：", font, INK), (url, font, INK)]
    lines = _wrap(runs, width)
    if len(lines) > URL_MAX_LINES:  # absurdly long: keep the layout, cut the last line
        last = "".join(c for c, _ in lines[URL_MAX_LINES - 1])
        lines = [*lines[: URL_MAX_LINES - 1], [(c, 1) for c in _ellipsize(last + "…", font, width)]]
    for line in lines:
        _draw_line(draw, (left, baseline), line, runs)
        baseline += FOOTER_LEADING
    hint = "微信或手机相机扫描二维码，可核验本证明真伪。" if has_qr else "访问上述网址，可核验本证明真伪。"
    draw.text((left, baseline + 6), hint, font=font, fill=GREY, anchor="ls")


def _draw_signer(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont,
    xy: tuple[float, float],
    label: str,
    value: str,
    width: float,
) -> None:
    """``label`` and the configured ``value``; with none, a line to sign on by hand."""
    x, y = xy
    draw.text((x, y), label, font=font, fill=INK, anchor="ls")
    x += font.getlength(label)
    text = _ellipsize(_clean(value, font), font, width - font.getlength(label))
    if text:
        draw.text((x, y), text, font=font, fill=INK, anchor="ls")
    else:
        draw.line((x + 4, y + 4, x + 4 + BLANK_RULE, y + 4), fill=GREY, width=1)


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


# --- QR code ---------------------------------------------------------------------------


def qr_matrix(payload: bytes) -> list[list[bool]]:
    """The modules (True = dark) of the smallest level-M QR code holding ``payload``, without quiet zone.

    Level M restores up to 15% damage: enough for a printed page that gets folded or stamped on.
    Raises ValueError if it does not fit a QR code at all.
    """
    try:
        code = segno.make(payload, error="m", micro=False, boost_error=False)
    except segno.DataOverflowError as exc:
        raise ValueError(f"{len(payload)} bytes do not fit in a QR code") from exc
    return [[bool(module) for module in row] for row in code.matrix]
