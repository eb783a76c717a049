"""The certificate renderer, with the real CJK font and real PNG bytes (no mocks).

Without fonts-noto-cjk (or $WENMING_CJK_FONT) these tests are skipped, which
the services-required CI pass turns into failures.
"""

from __future__ import annotations

import io
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from media import certificate
from media.certificate import (
    Activity,
    CertificateData,
    FontMissing,
    find_cjk_font,
    format_date,
    format_hours,
    qr_matrix,
    render_certificate,
)

URL = "https://wm.qidong.gov.cn/v/WM-2026-000123-7F3K"


@pytest.fixture
def font(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv(certificate.FONT_ENV, raising=False)
    try:
        return find_cjk_font()
    except FontMissing as exc:
        pytest.skip(str(exc))


def cert(**changes: object) -> CertificateData:
    fields: dict[str, object] = {
        "name": "张晓明",
        "org": "祁东县洪桥街道育贤社区",
        "service_hours": Decimal("12.50"),
        "approved_tasks": 8,
        "issued_on": date(2026, 3, 5),
        "serial": "WM-2026-000123-7F3K",
        "verify_url": URL,
    }
    fields.update(changes)
    return CertificateData(**fields)  # type: ignore[arg-type]


def render(data: CertificateData, font: str) -> Image.Image:
    return Image.open(io.BytesIO(render_certificate(data, font_path=font)))


def dark_pixels(img: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Pixels in ``box`` darker than mid-grey."""
    histogram = img.convert("L").crop(box).histogram()
    return sum(histogram[:128])


# --- the page ------------------------------------------------------------------------


def test_renders_an_a4_png_small_enough_for_mobile(font: str) -> None:
    data = render_certificate(cert(), font_path=font)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    assert img.size == (1240, 1754)
    assert round(img.info["dpi"][0]) == 150
    assert len(data) < 400_000


def test_title_is_drawn(font: str) -> None:
    img = render(cert(), font)
    title_band = (300, certificate.TITLE_BASELINE - certificate.TITLE_SIZE, 940, certificate.TITLE_BASELINE)
    # Six heavy 96-px glyphs ink a good share of the band; an empty or tofu-less band has none.
    assert dark_pixels(img, title_band) > 5_000
    # Between the title's rule and the number, and between the number and the body: nothing.
    serial_top = certificate.SERIAL_BASELINE - certificate.SERIAL_SIZE - 4
    assert dark_pixels(img, (300, certificate.TITLE_BASELINE + 80, 940, serial_top)) == 0
    assert dark_pixels(img, (300, certificate.SERIAL_BASELINE + 12, 940, certificate.BODY_TOP - 50)) == 0
    # The number is printed, right-aligned.
    assert dark_pixels(img, (700, serial_top, certificate.RIGHT, certificate.SERIAL_BASELINE + 8)) > 300


def test_a_different_name_changes_only_the_text_after_it(font: str) -> None:
    one = render(cert(name="张晓明"), font).convert("RGB")
    other = render(cert(name="李华强"), font).convert("RGB")
    first_line = (certificate.LEFT, certificate.BODY_TOP - 50, certificate.RIGHT, certificate.BODY_TOP + 15)
    assert ImageChops.difference(one.crop(first_line), other.crop(first_line)).getbbox() is not None
    header = (0, 0, 1240, certificate.BODY_TOP - 60)
    assert ImageChops.difference(one.crop(header), other.crop(header)).getbbox() is None


def test_very_long_texts_stay_inside_the_margins(font: str) -> None:
    img = render(
        cert(
            name="欧阳" * 100,
            org="祁东县洪桥街道育贤社区网络文明志愿服务队" * 10,
            issuer="祁东县委宣传部网络文明志愿服务平台管理中心" * 5,
            service_hours=Decimal("99999.9"),
            approved_tasks=999_999,
            serial="WM-2026-000123-7F3K-ABCDEFGHIJKL",
            verify_url=URL + "/" + "x" * 400,
        ),
        font,
    )
    assert img.size == certificate.PAGE_SIZE
    w = certificate.PAGE_SIZE[0]
    inner = certificate.INNER_FRAME
    # Between the frame's corner brackets and the text column nothing may be inked.
    top, bottom = certificate.INNER_FRAME + 120, certificate.PAGE_SIZE[1] - certificate.INNER_FRAME - 120
    assert dark_pixels(img, (inner + 8, top, certificate.LEFT - 4, bottom)) == 0
    assert dark_pixels(img, (certificate.RIGHT + 6, top, w - inner - 8, bottom)) == 0
    # Name and organisation were cut short: the body ends well above the signature, which is in place.
    assert dark_pixels(img, (certificate.LEFT, 1010, certificate.RIGHT, certificate.SIGN_BASELINE - 50)) == 0
    assert dark_pixels(img, (600, certificate.SIGN_BASELINE - 40, certificate.RIGHT, certificate.SIGN_BASELINE)) > 0
    # ... cut, not dropped: the body's first line is inked.
    first_line = (certificate.LEFT, certificate.BODY_TOP - 50, certificate.RIGHT, certificate.BODY_TOP + 15)
    assert dark_pixels(img, first_line) > 3_000


def test_characters_the_font_lacks_are_dropped_not_drawn_as_boxes(font: str) -> None:
    plain = render(cert(name="小明"), font).convert("RGB")
    with_emoji = render(cert(name="小明🌸\n"), font).convert("RGB")
    assert ImageChops.difference(plain, with_emoji).getbbox() is None


# --- fonts ---------------------------------------------------------------------------


def test_font_draws_real_chinese_glyphs(font: str) -> None:
    face = ImageFont.truetype(font, 48)

    def ink(text: str) -> Image.Image:
        img = Image.new("L", (320, 64), 0)
        ImageDraw.Draw(img).text((4, 4), text, font=face, fill=255)
        return img

    words, boxes = ink("志愿服务证明"), ink("口口口口口口")
    # A font without these glyphs draws the same missing-glyph box for every character.
    differing = sum(ImageChops.difference(words, boxes).point(lambda v: 255 if v > 64 else 0).histogram()[255:])
    assert differing > 0.05 * 320 * 64


def test_env_font_is_used(font: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen.ttc"
    chosen.symlink_to(font)
    monkeypatch.setenv(certificate.FONT_ENV, str(chosen))
    assert find_cjk_font() == str(chosen)


def test_missing_env_font_is_an_error_not_a_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(certificate.FONT_ENV, str(tmp_path / "nope.ttc"))
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        find_cjk_font()


def test_env_file_that_is_not_a_font_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(os.urandom(2048))
    monkeypatch.setenv(certificate.FONT_ENV, str(bogus))
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        find_cjk_font()


# --- figures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (12.5, "12.5"),
        (100, "100"),
        (Decimal("100.00"), "100"),
        (Decimal("12.25"), "12.3"),
        (0.05, "0.1"),
        (Decimal("7.04"), "7"),
        (0, "0"),
    ],
)
def test_hours_have_at_most_one_decimal(hours: Decimal | float, text: str) -> None:
    assert format_hours(hours) == text


def test_date_is_written_the_official_way() -> None:
    assert format_date(date(2026, 3, 5)) == "2026年3月5日"
    assert format_date(date(2026, 12, 31)) == "2026年12月31日"


@pytest.mark.parametrize(
    "changes",
    [
        {"serial": "WM 2026"},
        {"serial": "W" * 33},
        {"service_hours": -1},
        {"service_hours": float("nan")},
        {"service_hours": float("inf")},
        {"service_hours": 100_000},
        {"approved_tasks": -1},
        {"name": "  "},
    ],
)
def test_impossible_data_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        cert(**changes)


# --- QR code -------------------------------------------------------------------------


def test_qr_matrix_has_the_fixed_patterns() -> None:
    m = qr_matrix(URL.encode())
    size = len(m)
    assert size == 33  # 46 bytes need version 4 at level M
    finder = [[max(abs(x - 3), abs(y - 3)) != 2 for x in range(7)] for y in range(7)]
    assert [row[:7] for row in m[:7]] == finder
    assert [row[-7:] for row in m[:7]] == finder
    assert [row[:7] for row in m[-7:]] == finder
    assert [m[6][x] for x in range(8, size - 8)] == [x % 2 == 0 for x in range(8, size - 8)]
    assert m[size - 8][8]  # the always-dark module


def test_the_drawn_qr_code_is_the_url(font: str) -> None:
    img = render(cert(), font).convert("RGB")
    matrix = qr_matrix(URL.encode())
    box = certificate.QR_BOX
    # Only the QR code uses pure black; its extent gives the module grid.
    bbox = img.crop(box).convert("L").point(lambda v: 255 if v == 0 else 0).getbbox()
    assert bbox is not None
    left, top, right, _ = bbox
    module = (right - left) / len(matrix)
    assert module >= certificate.QR_MIN_MODULE_PX

    def dark(r: int, c: int) -> bool:  # sampled at the centre of the module
        x, y = box[0] + left + int((c + 0.5) * module), box[1] + top + int((r + 0.5) * module)
        return img.getpixel((x, y)) == (0, 0, 0)

    size = len(matrix)
    assert [[dark(r, c) for c in range(size)] for r in range(size)] == matrix


def test_url_too_long_for_a_legible_code_is_only_printed(font: str) -> None:
    img = render(cert(verify_url=URL + "?" + "a" * 1500), font).convert("RGB")
    assert (0, 0, 0) not in {c for _, c in img.crop(certificate.QR_BOX).getcolors(1 << 16)}
    assert dark_pixels(img, certificate.QR_BOX) > 0  # the URL's text runs there instead


# --- the ministry's form: hours split, activities, signer ----------------------------------


def activities(n: int) -> tuple[Activity, ...]:
    return tuple(
        Activity(f"网络普法进社区宣讲第{i + 1}场", date(2026, 3, 1 + i % 28), Decimal("2.5")) for i in range(n)
    )


def table_box() -> tuple[int, int, int, int]:
    """Below a four-line body and its closing "特此证明。", above the issuer."""
    return (certificate.LEFT, certificate.BODY_TOP + 290, certificate.RIGHT, certificate.SIGN_BASELINE - 100)


def test_the_credit_and_honour_split_changes_the_body(font: str) -> None:
    one = render(cert(service_hours=Decimal("12.5"), honour_hours=Decimal("2")), font).convert("RGB")
    other = render(cert(service_hours=Decimal("12.5"), honour_hours=Decimal("4")), font).convert("RGB")
    body = (certificate.LEFT, certificate.BODY_TOP - 50, certificate.RIGHT, certificate.BODY_TOP + 200)
    assert ImageChops.difference(one.crop(body), other.crop(body)).getbbox() is not None


def test_honour_hours_beyond_the_total_are_refused() -> None:
    with pytest.raises(ValueError):
        cert(service_hours=Decimal("2"), honour_hours=Decimal("3"))


def test_activities_are_drawn_as_a_table_and_the_rest_counted(font: str) -> None:
    none = render(cert(approved_tasks=0), font)
    some = render(cert(activities=activities(3), approved_tasks=3), font)
    many = render(cert(activities=activities(12), approved_tasks=40), font)

    box = table_box()
    assert dark_pixels(none, box) == 0
    assert dark_pixels(some, box) > 3_000
    assert dark_pixels(many, box) > dark_pixels(some, box)
    # Whatever the number of rows, the issuer and the date stay above the footer's rule.
    rule = certificate.FOOTER_RULE_Y
    assert dark_pixels(many, (600, rule - 6, certificate.RIGHT, rule - 1)) == 0


def test_the_most_a_page_lists_still_leaves_the_footer_alone(font: str) -> None:
    img = render(
        cert(
            org="祁东县洪桥街道育贤社区网络文明志愿服务队" * 10,
            activities=activities(certificate.MAX_LISTED),
            approved_tasks=999,
        ),
        font,
    )
    rule = certificate.FOOTER_RULE_Y
    assert dark_pixels(img, (certificate.LEFT, rule - 6, certificate.RIGHT, rule - 1)) == 0


def test_signer_is_printed_or_left_blank_to_sign(font: str) -> None:
    blank = render(cert(), font).convert("RGB")
    named = render(cert(leader="王建国", handler="李红", contact="0734-6123456"), font).convert("RGB")
    footer = (certificate.FOOTER_LEFT, certificate.FOOTER_RULE_Y + 4, certificate.RIGHT, certificate.FOOTER_TOP + 50)
    assert ImageChops.difference(blank.crop(footer), named.crop(footer)).getbbox() is not None
    assert dark_pixels(blank, footer) > 0  # the labels, and lines to sign on
