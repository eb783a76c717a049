"""Links as evidence: each platform's real URL shapes normalise to one URL and one key per item."""

from __future__ import annotations

import re

import pytest

# hypothesis comes with schemathesis (a dev dependency, tests/security/test_api_fuzz.py).
from hypothesis import given, settings
from hypothesis import strategies as st

from models import online_links
from models.online_links import PLATFORM_NAMES, PLATFORMS, Link, LinkError, link_key, normalise, platform_of

DY = "7300000000000000001"
XHS = "64a1b2c3d4e5f60718293a4b"
BIZ = "MzA3NjE5NjQ2MA=="
MP = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000001&idx=1&sn=0a1b2c3d"

CASES = [
    # 抖音
    (f"https://www.douyin.com/video/{DY}", Link(f"https://www.douyin.com/video/{DY}", "douyin", "video", DY)),
    (
        f"HTTP://WWW.DOUYIN.COM:80//video/{DY}/?previous_page=app_code_link&is_from_webapp=1&sender_device=pc#top",
        Link(f"https://www.douyin.com/video/{DY}", "douyin", "video", DY),
    ),
    (
        f"https://m.douyin.com/share/video/{DY}/?region=CN&u_code=abc&did=1&iid=2&share_sign=x&timestamp=170",
        Link(f"https://www.douyin.com/video/{DY}", "douyin", "video", DY),
    ),
    (f"https://www.iesdouyin.com/share/video/{DY}/", Link(f"https://www.douyin.com/video/{DY}", "douyin", "video", DY)),
    (
        f"https://www.douyin.com/user/MS4wLjABAAAAxyz?modal_id={DY}&enter_from=personal_homepage",
        Link(f"https://www.douyin.com/video/{DY}", "douyin", "video", DY),
    ),
    (
        "https://www.douyin.com/note/7300000000000000002",
        Link("https://www.douyin.com/note/7300000000000000002", "douyin", "post", "7300000000000000002"),
    ),
    (
        "https://www.iesdouyin.com/share/user/MS4wLjABAAAAxyz?sec_uid=MS4wLjABAAAAxyz&utm_source=copy",
        Link("https://www.douyin.com/user/MS4wLjABAAAAxyz", "douyin", "profile", None, "MS4wLjABAAAAxyz"),
    ),
    (
        "7.43 复制打开抖音，看看【乡村志愿者的作品】家乡的秋天 # 乡村振兴 "
        "https://v.douyin.com/iRNBho5/ a@A.Gx 02/28 NjV:/",
        Link("https://v.douyin.com/iRNBho5/", "douyin", "short", short=True),
    ),
    ("http://V.Douyin.com/iRNBho5/", Link("https://v.douyin.com/iRNBho5/", "douyin", "short", short=True)),
    ("https://www.douyin.com/?recommend=1", Link("https://www.douyin.com/?recommend=1", "douyin", "other")),
    # 快手
    (
        "https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns?authorId=3xgv8ctd5c4bnkq&streamSource=profile&area=profilexxnull",
        Link("https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns", "kuaishou", "video", "3xk9sjg7m5qh8ns"),
    ),
    (
        "https://v.m.chenzhongtech.com/fw/photo/3xk9sjg7m5qh8ns?fid=1&cc=share_copylink&shareMethod=TOKEN&timestamp=1",
        Link("https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns", "kuaishou", "video", "3xk9sjg7m5qh8ns"),
    ),
    (
        "https://m.gifshow.com/fw/photo/3xk9sjg7m5qh8ns",
        Link("https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns", "kuaishou", "video", "3xk9sjg7m5qh8ns"),
    ),
    (
        "https://live.kuaishou.com/u/3xgv8ctd5c4bnkq",
        Link("https://www.kuaishou.com/profile/3xgv8ctd5c4bnkq", "kuaishou", "profile", None, "3xgv8ctd5c4bnkq"),
    ),
    (
        "https://v.kuaishou.com/Jw9dAb 家乡的秋天 该作品在快手被播放过1.2万次，点击链接，打开【快手】直接观看！",
        Link("https://v.kuaishou.com/Jw9dAb", "kuaishou", "short", short=True),
    ),
    (
        "https://www.kuaishou.com/f/X4nTYqz9zZ-abc",
        Link("https://www.kuaishou.com/f/X4nTYqz9zZ-abc", "kuaishou", "short", short=True),
    ),
    # 微博: the base62 bid and the numeric mid of one post (z0JH2lOMb is 3501756485200075)
    (
        "https://weibo.com/1642634100/z0JH2lOMb?refer_flag=1001030103_&type=comment#_rnd1700000000000",
        Link("https://weibo.com/1642634100/z0JH2lOMb", "weibo", "post", "3501756485200075", "1642634100"),
    ),
    (
        "https://www.weibo.com/1642634100/z0JH2lOMb",
        Link("https://weibo.com/1642634100/z0JH2lOMb", "weibo", "post", "3501756485200075", "1642634100"),
    ),
    (
        "http://m.weibo.cn/status/z0JH2lOMb?sourceType=weixin&from=10DC095010",
        Link("https://m.weibo.cn/detail/3501756485200075", "weibo", "post", "3501756485200075"),
    ),
    (
        "https://m.weibo.cn/detail/3501756485200075",
        Link("https://m.weibo.cn/detail/3501756485200075", "weibo", "post", "3501756485200075"),
    ),
    (
        "https://weibo.com/u/1642634100?is_all=1",
        Link("https://weibo.com/u/1642634100", "weibo", "profile", None, "1642634100"),
    ),
    (
        "https://m.weibo.cn/profile/1642634100",
        Link("https://weibo.com/u/1642634100", "weibo", "profile", None, "1642634100"),
    ),
    ("http://t.cn/A6xyz12", Link("https://t.cn/A6xyz12", "weibo", "short", short=True)),
    # 公众号
    (
        f"https://mp.weixin.qq.com/s?sn=0a1b2c3d&chksm=9a8b&idx=1&__biz={BIZ}&mid=2650000001&scene=21#wechat_redirect",
        Link(MP, "wechat_mp", "article", f"{BIZ}:2650000001:1", BIZ),
    ),
    (
        f"http://mp.weixin.qq.com/mp/appmsg/show?__biz={BIZ}&appmsgid=10000&itemidx=1&mid=2650000001&idx=1&sn=0a1b2c3d",
        Link(MP, "wechat_mp", "article", f"{BIZ}:2650000001:1", BIZ),
    ),
    (
        "https://mp.weixin.qq.com/s/Xy3_kZ-abcDEF12345?poc_token=HAbc&from=timeline",
        Link("https://mp.weixin.qq.com/s/Xy3_kZ-abcDEF12345", "wechat_mp", "article", "Xy3_kZ-abcDEF12345"),
    ),
    (
        f"https://mp.weixin.qq.com/mp/profile_ext?__biz={BIZ}&action=home&scene=124#wechat_redirect",
        Link(f"https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz={BIZ}", "wechat_mp", "profile", None, BIZ),
    ),
    # 视频号
    (
        "https://channels.weixin.qq.com/web/pages/feed?utm_source=x",
        Link("https://channels.weixin.qq.com/web/pages/feed", "wechat_channels", "other"),
    ),
    (
        "https://weixin.qq.com/sph/AbCdEf12",
        Link("https://weixin.qq.com/sph/AbCdEf12", "wechat_channels", "short", short=True),
    ),
    # 哔哩哔哩
    (
        "https://www.bilibili.com/video/BV1xx411c7mD/?spm_id_from=333.1007.tianma.1-1-1.click&vd_source=0a1b2c",
        Link("https://www.bilibili.com/video/BV1xx411c7mD/", "bilibili", "video", "BV1xx411c7mD"),
    ),
    (
        "https://m.bilibili.com/video/BV1xx411c7mD?share_source=copy_web&share_medium=android",
        Link("https://www.bilibili.com/video/BV1xx411c7mD/", "bilibili", "video", "BV1xx411c7mD"),
    ),
    (
        "https://www.bilibili.com/video/av170001",
        Link("https://www.bilibili.com/video/av170001/", "bilibili", "video", "av170001"),
    ),
    (
        "https://www.bilibili.com/read/cv1234567?from=search",
        Link("https://www.bilibili.com/read/cv1234567", "bilibili", "article", "cv1234567"),
    ),
    (
        "https://t.bilibili.com/912345678901234567",
        Link("https://www.bilibili.com/opus/912345678901234567", "bilibili", "post", "912345678901234567"),
    ),
    (
        "https://m.bilibili.com/dynamic/912345678901234567",
        Link("https://www.bilibili.com/opus/912345678901234567", "bilibili", "post", "912345678901234567"),
    ),
    (
        "https://space.bilibili.com/123456/dynamic",
        Link("https://space.bilibili.com/123456/dynamic", "bilibili", "other"),
    ),
    (
        "https://space.bilibili.com/123456",
        Link("https://space.bilibili.com/123456", "bilibili", "profile", None, "123456"),
    ),
    (
        "【大国重器 第一集-哔哩哔哩】 https://b23.tv/AbC12dE",
        Link("https://b23.tv/AbC12dE", "bilibili", "short", short=True),
    ),
    # 小红书
    (
        f"https://www.xiaohongshu.com/explore/{XHS}?xsec_token=ABxyz=&xsec_source=pc_feed",
        Link(f"https://www.xiaohongshu.com/explore/{XHS}", "xiaohongshu", "post", XHS),
    ),
    (
        f"http://xiaohongshu.com/discovery/item/{XHS}?app_platform=ios&share_from_user_hidden=true&type=normal",
        Link(f"https://www.xiaohongshu.com/explore/{XHS}", "xiaohongshu", "post", XHS),
    ),
    (
        "https://www.xiaohongshu.com/user/profile/5f0a1b2c3d4e5f6071829304",
        Link(
            "https://www.xiaohongshu.com/user/profile/5f0a1b2c3d4e5f6071829304",
            "xiaohongshu",
            "profile",
            None,
            "5f0a1b2c3d4e5f6071829304",
        ),
    ),
    (
        "64 乡村志愿者发布了一篇小红书笔记，快来看吧！ 😆 cWgLk3XbKpN6bNb 😆 http://xhslink.com/a/AbCdEf1234，复制本条信息，打开【小红书】App查看精彩内容！",
        Link("https://xhslink.com/a/AbCdEf1234", "xiaohongshu", "short", short=True),
    ),
    # 今日头条
    (
        "https://www.toutiao.com/article/7300000000000000003/?log_from=abc&wid=1700000000000",
        Link("https://www.toutiao.com/article/7300000000000000003/", "toutiao", "article", "7300000000000000003"),
    ),
    (
        "https://m.toutiao.com/i7300000000000000003/",
        Link("https://www.toutiao.com/article/7300000000000000003/", "toutiao", "article", "7300000000000000003"),
    ),
    (
        "https://www.toutiao.com/a7300000000000000003/",
        Link("https://www.toutiao.com/article/7300000000000000003/", "toutiao", "article", "7300000000000000003"),
    ),
    (
        "https://www.toutiao.com/w/7300000000000000004/",
        Link("https://www.toutiao.com/w/7300000000000000004/", "toutiao", "post", "7300000000000000004"),
    ),
    (
        "https://www.toutiao.com/video/7300000000000000005/?channel=&source=search_tab",
        Link("https://www.toutiao.com/video/7300000000000000005/", "toutiao", "video", "7300000000000000005"),
    ),
    ("https://m.toutiao.com/is/AbCdEfG/", Link("https://m.toutiao.com/is/AbCdEfG/", "toutiao", "short", short=True)),
    # The "also" shapes of the module's list
    ("https://weibo.com/1642634100", Link("https://weibo.com/u/1642634100", "weibo", "profile", None, "1642634100")),
    ("https://m.weibo.cn/u/1642634100", Link("https://weibo.com/u/1642634100", "weibo", "profile", None, "1642634100")),
    (
        "https://mapp.api.weibo.cn/fx/8f3e0a.html?from=wx",
        Link("https://mapp.api.weibo.cn/fx/8f3e0a.html", "weibo", "short", short=True),
    ),
    ("https://bili2233.cn/AbC12dE", Link("https://bili2233.cn/AbC12dE", "bilibili", "short", short=True)),
    (
        "https://m.bilibili.com/space/123456",
        Link("https://space.bilibili.com/123456", "bilibili", "profile", None, "123456"),
    ),
    (
        "https://www.bilibili.com/read/mobile/cv1234567",
        Link("https://www.bilibili.com/read/cv1234567", "bilibili", "article", "cv1234567"),
    ),
    (
        "https://www.iesdouyin.com/share/note/7300000000000000002/",
        Link("https://www.douyin.com/note/7300000000000000002", "douyin", "post", "7300000000000000002"),
    ),
    (
        "https://www.kuaishou.com/profile/3xgv8ctd5c4bnkq",
        Link("https://www.kuaishou.com/profile/3xgv8ctd5c4bnkq", "kuaishou", "profile", None, "3xgv8ctd5c4bnkq"),
    ),
    (
        "https://c.kuaishou.com/fw/photo/3xk9sjg7m5qh8ns?cc=share_wxms",
        Link("https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns", "kuaishou", "video", "3xk9sjg7m5qh8ns"),
    ),
    (
        "https://www.toutiao.com/w/a7300000000000000004/",
        Link("https://www.toutiao.com/w/7300000000000000004/", "toutiao", "post", "7300000000000000004"),
    ),
    (
        "https://www.toutiao.com/c/user/token/MS4wLjABAAAAabc/?source=feed",
        Link("https://www.toutiao.com/c/user/token/MS4wLjABAAAAabc/", "toutiao", "profile", None, "MS4wLjABAAAAabc"),
    ),
    # Other sites: kept, tracking dropped, platform unknown
    (
        "HTTPS://Www.Example.COM:8443//News/Item.html?id=7&utm_source=wx&utm_medium=share&spm=a.b#comments",
        Link("https://www.example.com:8443/News/Item.html?id=7", None, "other"),
    ),
    ("http://192.168.1.10/a/", Link("http://192.168.1.10/a", None, "other")),
    ("http://[::1]:8080/x", Link("http://[::1]:8080/x", None, "other")),
    ("https://www.gov.cn", Link("https://www.gov.cn/", None, "other")),
]


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[case[0][:60] for case in CASES])
def test_normalise_each_shape(raw: str, expected: Link) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw", [case[0] for case in CASES])
def test_normalising_twice_changes_nothing(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once.url) == once


def test_every_platform_has_a_chinese_name_and_cases() -> None:
    assert set(PLATFORM_NAMES) == set(PLATFORMS)
    assert set(PLATFORM_NAMES.values()) == {
        "抖音",
        "快手",
        "微博",
        "视频号",
        "微信公众号",
        "哔哩哔哩",
        "小红书",
        "今日头条",
    }
    assert {expected.platform for _, expected in CASES} == {*PLATFORMS, None}


DOC_LINES = [line for line in online_links.__doc__.splitlines() if "https://" in line]


@pytest.mark.parametrize("line", DOC_LINES)
def test_the_documented_shapes_are_what_normalise_does(line: str) -> None:
    """The module's list of shapes (it goes into the issue's closing note) says what happens."""
    name, kind, *_ = line.split()
    urls = re.findall(r"https?://\S+", line)
    expected = {url: url for url in urls}
    if "→" in line:
        expected = {urls[0]: urls[0] if "→ same" in line else urls[1]}
    for raw, canonical in expected.items():
        link = normalise(raw)
        assert link.url == canonical
        assert link.platform is not None and PLATFORM_NAMES[link.platform].endswith(name)
        assert link.kind == ("other" if kind.startswith("http") else {"note": "post"}.get(kind, kind))


# The same item reached by desktop, mobile, share page and tracked links: one key.
SAME_ITEM = [
    [
        f"https://www.douyin.com/video/{DY}",
        f"https://m.douyin.com/share/video/{DY}?u_code=1",
        f"https://www.iesdouyin.com/share/video/{DY}/",
        f"https://www.douyin.com/discover?modal_id={DY}",
    ],
    [
        "https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns?authorId=3xgv8ctd5c4bnkq",
        "https://v.m.chenzhongtech.com/fw/photo/3xk9sjg7m5qh8ns?fid=1",
    ],
    [
        "https://weibo.com/1642634100/z0JH2lOMb",
        "https://m.weibo.cn/status/z0JH2lOMb",
        "https://m.weibo.cn/detail/3501756485200075",
        "https://weibo.cn/status/3501756485200075?from=x",
    ],
    [
        MP,
        f"https://mp.weixin.qq.com/s?__biz={BIZ.replace('=', '%3D')}&mid=2650000001&idx=1&sn=0a1b2c3d&chksm=1",
        f"https://mp.weixin.qq.com/mp/appmsg/show?__biz={BIZ}&mid=2650000001&idx=1",
    ],
    [
        "https://www.bilibili.com/video/BV1xx411c7mD",
        "https://m.bilibili.com/video/BV1xx411c7mD/?vd_source=1",
        "http://bilibili.com/video/BV1xx411c7mD?share_source=copy_web",
    ],
    [f"https://www.xiaohongshu.com/explore/{XHS}?xsec_token=A", f"https://www.xiaohongshu.com/discovery/item/{XHS}"],
    [
        "https://www.toutiao.com/article/7300000000000000003/",
        "https://m.toutiao.com/i7300000000000000003/",
        "https://www.toutiao.com/a7300000000000000003",
        "https://toutiao.com/group/7300000000000000003/",
    ],
    [
        "https://v.douyin.com/iRNBho5/",
        "HTTP://V.DOUYIN.COM/iRNBho5/?utm_source=copy",
        "看看 https://v.douyin.com/iRNBho5/",
    ],
    ["https://example.com/news?id=1", "https://EXAMPLE.com:443/news/?id=1&utm_campaign=x#top"],
]


@pytest.mark.parametrize("variants", SAME_ITEM, ids=[group[0][:50] for group in SAME_ITEM])
def test_variants_of_one_item_share_a_key(variants: list[str]) -> None:
    assert len({link_key(normalise(raw)) for raw in variants}) == 1


def test_different_items_have_different_keys() -> None:
    raws = [group[0] for group in SAME_ITEM] + [
        "https://www.douyin.com/video/7300000000000000009",
        "https://www.douyin.com/note/7300000000000000001",  # same number, a note is another item
        "https://www.toutiao.com/video/7300000000000000003/",
        "https://weibo.com/1642634100/z0JH2lOMc",
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000001&idx=2&sn=0a1b2c3d",
        "https://www.bilibili.com/video/BV1xx411c7mE",
        "https://v.douyin.com/iRNBho6/",
        "https://example.com/news?id=2",
    ]
    keys = [link_key(normalise(raw)) for raw in raws]
    assert len(set(keys)) == len(keys)


def test_bv_ids_keep_their_case() -> None:
    upper = normalise("https://www.bilibili.com/video/BV1xx411c7mD")
    lower = normalise("https://www.bilibili.com/video/BV1XX411C7MD")
    assert upper.post_id == "BV1xx411c7mD" and lower.post_id == "BV1XX411C7MD"
    assert link_key(upper) != link_key(lower)
    assert normalise("https://www.bilibili.com/video/bv1xx411c7md").kind == "other"  # not a BV id


def test_path_case_is_kept_host_case_is_not() -> None:
    link = normalise("https://MP.WEIXIN.QQ.COM/s/Xy3_kZ-abcDEF12345")
    assert link.url == "https://mp.weixin.qq.com/s/Xy3_kZ-abcDEF12345"
    assert link_key(link) != link_key(normalise("https://mp.weixin.qq.com/s/xy3_kz-abcdef12345"))


def test_link_key_of_items_profiles_and_others() -> None:
    assert link_key(normalise(f"https://www.douyin.com/video/{DY}")) == f"douyin:video:{DY}"
    assert link_key(normalise("https://space.bilibili.com/123456")) == "bilibili:profile:123456"
    assert link_key(normalise("https://b23.tv/AbC12dE")) == "https://b23.tv/AbC12dE"
    assert link_key(normalise("https://example.com/a?b=1")) == "https://example.com/a?b=1"


def test_platform_of() -> None:
    assert platform_of("https://b23.tv/AbC12dE") == "bilibili"
    assert platform_of("复制打开抖音 https://v.douyin.com/iRNBho5/") == "douyin"
    assert platform_of("https://www.gov.cn/") is None
    assert platform_of("not a link") is None
    assert platform_of("") is None
    assert platform_of("https://weixin.qq.com/cgi-bin/readtemplate") is None  # WeChat, but not 视频号


BAD = [
    ("", "不能为空"),
    ("   \n ", "不能为空"),
    ("https://example.com/" + "a" * 2048, "过长"),
    ("ftp://example.com/file", "http"),
    ("javascript:alert(1)", "http"),
    ("www.douyin.com/video/1", "没有找到链接"),
    ("看看这个作品", "没有找到链接"),
    ("https://", "网站地址"),
    ("https:///video/1", "网站地址"),
    ("https://www.douyin.com/video/73 00", "空格"),
    ("https://www.douyin.com/video/73\t00", "空格"),
    ("https://www.douyin.com/video/73\x0000", "控制字符"),
    ("https://www.douyin.com/\x7f", "控制字符"),
    ("https://user:secret@www.douyin.com/video/1", "用户名或密码"),
    ("https://user@example.com/", "用户名或密码"),
    ("https://example.com:99999/", "端口"),
    ("https://example.com:port/", "端口"),
    ("https://[::1/", "格式不正确"),
    ("https://exa%6dple.com/", "网站地址无效"),
    ("https://bad..host/", "网站地址无效"),
    ("https://-bad.example/", "网站地址无效"),
    ("https://例子.中国/", "网站地址无效"),
]


@pytest.mark.parametrize(("raw", "message"), BAD, ids=[repr(case[0][:40]) for case in BAD])
def test_links_that_cannot_be_evidence_say_why_in_chinese(raw: str, message: str) -> None:
    with pytest.raises(LinkError, match=message):
        normalise(raw)


def test_link_error_is_a_value_error() -> None:
    assert issubclass(LinkError, ValueError)
    with pytest.raises(ValueError):
        normalise(None)  # type: ignore[arg-type]


def test_longest_accepted_link() -> None:
    raw = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert normalise(raw).url == raw


_url_chars = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_hosts = st.sampled_from(
    ["www.douyin.com", "v.douyin.com", "weibo.com", "m.weibo.cn", "mp.weixin.qq.com", "www.bilibili.com", "b23.tv",
     "www.xiaohongshu.com", "m.toutiao.com", "example.com", "[::1]", "10.0.0.1", "WWW.KUAISHOU.COM", "t.bilibili.com"]
)  # fmt: skip
_paths = st.lists(
    st.one_of(
        st.sampled_from(["video", "s", "detail", "status", "explore", "BV1xx411c7mD", "u", "i73000000", "share", ""]),
        st.from_regex(r"[0-9A-Za-z_%-]{0,24}", fullmatch=True),
        _url_chars,
    ),
    max_size=5,
)
_queries = st.lists(
    st.tuples(st.sampled_from(["__biz", "mid", "idx", "sn", "modal_id", "utm_source", "from", "a", ""]), _url_chars),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
    host=_hosts,
    port=st.sampled_from(["", ":80", ":443", ":8080", ":0", ":x"]),
    path=_paths,
    query=_queries,
    before=st.sampled_from(["", "  ", "复制打开抖音，看看 ", "【标题】"]),
    after=st.sampled_from(["", " ", "，打开【小红书】", "#frag"]),
)
def test_random_urls_raise_only_link_error_and_settle(scheme, host, port, path, query, before, after) -> None:
    raw = f"{before}{scheme}://{host}{port}/{'/'.join(path)}?{'&'.join(f'{k}={v}' for k, v in query)}{after}"
    _settles(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=120),
        st.builds("{}{}://{}".format, _url_chars, st.sampled_from(["http", "HTTPS"]), st.text(max_size=80)),
    )
)
def test_any_text_raises_only_link_error_and_settles(raw: str) -> None:
    _settles(raw)


def _settles(raw: str) -> None:
    try:
        once = normalise(raw)
    except LinkError:
        return
    assert normalise(once.url) == once
    assert once.kind in ("post", "video", "article", "profile", "short", "other")
    assert once.platform is None or once.platform in PLATFORMS
    assert link_key(normalise(once.url)) == link_key(once)
