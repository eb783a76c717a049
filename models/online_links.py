"""Links handed in as evidence of online work, normalised so one post has one key.

Pure: no database, no network. A link is trimmed; when it was pasted with the app's share text
around it (抖音, 快手, 小红书 and 哔哩哔哩 all share like that) the first http(s) URL in the text is
taken. Then: scheme and host lower-cased, http upgraded to https on the platforms' hosts, default
ports dropped (others kept), the fragment dropped, duplicate slashes collapsed, tracking and share
parameters dropped, and a recognised post, video, article or profile rewritten to its platform's one
canonical URL (the table below). Ids keep their case: BV1xx411c7mD and BV1XX411C7MD are two videos.

Short links (v.douyin.com, b23.tv, xhslink.com...) cannot be resolved offline: they are kept as
given but for the https scheme, host case and tracking parameters, their platform is known, their
post id is not; two short links to one post have two keys. Likewise a WeChat article as
``/s/<token>`` and as ``/s?__biz=...`` cannot be matched offline. Xiaohongshu's ``xsec_token``
(which some notes need to open outside the app) is dropped: it is per-viewer and would give one note
many keys. Bilibili's ``p`` (part of a multi-part video) is dropped too: the item is the video.
``mid`` is never treated as tracking (it is the post of a WeChat article and of some Weibo links).
Weibo's base62 post id (``bid``) is converted to its numeric ``mid`` so the desktop and
mobile links of one post share a key. Links of other sites are kept (platform None), tracking
parameters dropped (a recognised item's canonical URL has no port); IP-literal hosts are accepted
but belong to no platform.

Supported shapes (given → canonical):
抖音 video    https://www.douyin.com/video/7300000000000000001 → same
抖音 video    https://m.douyin.com/share/video/7300000000000000001 → https://www.douyin.com/video/7300000000000000001
抖音 video    https://www.iesdouyin.com/share/video/7300000000000000001/ → https://www.douyin.com/video/7300000000000000001
抖音 video    https://www.douyin.com/discover?modal_id=7300000000000000001 → https://www.douyin.com/video/7300000000000000001
抖音 note     https://www.douyin.com/note/7300000000000000002 (also /share/note/<id>)
抖音 profile  https://www.douyin.com/user/MS4wLjABAAAAxyz (also /share/user/<sec_uid>)
抖音 short    https://v.douyin.com/iRNBho5/
快手 video    https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns
快手 video    https://v.m.chenzhongtech.com/fw/photo/3xk9sjg7m5qh8ns → https://www.kuaishou.com/short-video/3xk9sjg7m5qh8ns
              (also m.gifshow.com, c.kuaishou.com, m.kuaishou.com /fw/photo/<id>)
快手 profile  https://www.kuaishou.com/profile/3xgv8ctd5c4bnkq (also live.kuaishou.com/u/<id>)
快手 short    https://v.kuaishou.com/Jw9dAb and https://www.kuaishou.com/f/X4nTYqz9zZ
微博 post     https://weibo.com/1642634100/z0JH2lOMb (account = uid, post id = numeric mid)
微博 post     https://m.weibo.cn/status/z0JH2lOMb → https://m.weibo.cn/detail/3501756485200075
微博 post     https://m.weibo.cn/detail/3501756485200075 (also weibo.cn/status/<id>)
微博 profile  https://weibo.com/u/1642634100 (also weibo.com/<uid>, m.weibo.cn/u/<uid>, m.weibo.cn/profile/<uid>)
微博 short    https://t.cn/A6xyz12 and https://mapp.api.weibo.cn/fx/8f3e0a.html
视频号        https://channels.weixin.qq.com/... (platform known, no post id)
视频号 short  https://weixin.qq.com/sph/AbCdEf12
公众号 article https://mp.weixin.qq.com/s/Xy3_kZ-abcDEF12345
公众号 article https://mp.weixin.qq.com/s?__biz=MzA3NjE5NjQ2MA==&mid=2650000001&idx=1&sn=0a1b2c (keeps
              __biz, mid, idx, sn in that order; also /mp/appmsg/show?...; account = __biz)
公众号 profile https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz=MzA3NjE5NjQ2MA==
哔哩哔哩 video https://www.bilibili.com/video/BV1xx411c7mD/ (also m.bilibili.com, bilibili.com, av170001)
哔哩哔哩 article https://www.bilibili.com/read/cv1234567
哔哩哔哩 post  https://www.bilibili.com/opus/912345678901234567 (also t.bilibili.com/<id>, m.bilibili.com/dynamic/<id>)
哔哩哔哩 profile https://space.bilibili.com/123456 (also m.bilibili.com/space/<mid>)
哔哩哔哩 short https://b23.tv/AbC12dE (also bili2233.cn)
小红书 post   https://www.xiaohongshu.com/explore/64a1b2c3d4e5f60718293a4b (also /discovery/item/<id>)
小红书 profile https://www.xiaohongshu.com/user/profile/5f0a1b2c3d4e5f6071829304
小红书 short  https://xhslink.com/a/AbCdEf1234
头条 article  https://www.toutiao.com/article/7300000000000000003/ (also www.toutiao.com/a<id>/, m.toutiao.com/i<id>/)
头条 post     https://www.toutiao.com/w/7300000000000000004/
头条 video    https://www.toutiao.com/video/7300000000000000005/
头条 profile  https://www.toutiao.com/c/user/token/MS4wLjABAAAAabc/
头条 short    https://m.toutiao.com/is/AbCdEfG/
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

PLATFORMS = ("douyin", "kuaishou", "weibo", "wechat_channels", "wechat_mp", "bilibili", "xiaohongshu", "toutiao")
PLATFORM_NAMES = {
    "douyin": "抖音",
    "kuaishou": "快手",
    "weibo": "微博",
    "wechat_channels": "视频号",
    "wechat_mp": "微信公众号",
    "bilibili": "哔哩哔哩",
    "xiaohongshu": "小红书",
    "toutiao": "今日头条",
}
KINDS = ("post", "video", "article", "profile", "short", "other")
MAX_LENGTH = 2048


class LinkError(ValueError):
    """A link that cannot be evidence; its message is Chinese, for the person who typed it."""


@dataclass(frozen=True)
class Link:
    """A normalised link: ``platform`` one of PLATFORMS or None, ``kind`` one of KINDS, ``post_id`` the
    platform's id of the item and ``account`` the account (uid, sec_uid, __biz...) when the URL shows
    them, ``short`` for a short link kept as given."""

    url: str
    platform: str | None
    kind: str
    post_id: str | None = None
    account: str | None = None
    short: bool = False


# Weibo shows a post's numeric mid as base62 groups of 7 digits ("bid"): one post, two spellings.
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def weibo_mid(post: str) -> str:
    """The numeric mid of a Weibo post id written either way (3501756485200075 or z0JH2lOMb)."""
    if post.isdigit() and len(post) >= 12:
        return post
    groups, end = [], len(post)
    while end > 0:
        start = max(0, end - 4)
        number = 0
        for char in post[start:end]:
            number = number * 62 + _BASE62.index(char)
        groups.insert(0, str(number).zfill(7) if start else str(number))
        end = start
    return "".join(groups)


@dataclass(frozen=True)
class Shape:
    """One URL shape of a platform: hosts and path pattern → kind and canonical URL.

    ``url``, ``post_id`` and ``account`` are templates over the path's named groups and the
    required query ``params`` (name, value pattern); ``keep`` lists the query parameters the
    canonical URL carries, in that order.
    """

    kind: str
    hosts: tuple[str, ...]
    path: str
    url: str = ""
    post_id: str | None = "{id}"
    account: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    keep: tuple[str, ...] = ()
    convert: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Platform:
    hosts: tuple[str, ...]
    shapes: tuple[Shape, ...]


def _short(*hosts: str, path: str = r"/.+") -> Shape:
    return Shape("short", hosts, path, post_id=None)


_DOUYIN = ("www.douyin.com", "douyin.com", "m.douyin.com", "www.iesdouyin.com", "iesdouyin.com")
_KUAISHOU = ("www.kuaishou.com", "kuaishou.com", "m.kuaishou.com", "live.kuaishou.com")
_KUAISHOU_SHARE = ("v.m.chenzhongtech.com", "m.gifshow.com", "c.kuaishou.com", "m.kuaishou.com")
_WEIBO = ("weibo.com", "www.weibo.com")
_WEIBO_MOBILE = ("m.weibo.cn", "weibo.cn", "m.weibo.com")
_BILIBILI = ("www.bilibili.com", "bilibili.com", "m.bilibili.com")
_XHS = ("www.xiaohongshu.com", "xiaohongshu.com")
_TOUTIAO = ("www.toutiao.com", "toutiao.com", "m.toutiao.com")
_MP_PARAMS = (("__biz", r"[A-Za-z0-9+/=%_-]+"), ("mid", r"\d+"), ("idx", r"\d+"))

# The one table of per-platform rules: the first matching shape wins.
RULES: dict[str, Platform] = {
    "douyin": Platform(
        (*_DOUYIN, "v.douyin.com"),
        (
            Shape(
                "video",
                _DOUYIN,
                r".*",
                "https://www.douyin.com/video/{modal_id}",
                "{modal_id}",
                None,
                params=(("modal_id", r"\d+"),),
            ),
            Shape("video", _DOUYIN, r"(?:/share)?/video/(?P<id>\d+)", "https://www.douyin.com/video/{id}"),
            Shape("post", _DOUYIN, r"(?:/share)?/note/(?P<id>\d+)", "https://www.douyin.com/note/{id}"),
            Shape(
                "profile",
                _DOUYIN,
                r"(?:/share)?/user/(?P<account>[\w.-]+)",
                "https://www.douyin.com/user/{account}",
                None,
                "{account}",
            ),
            _short("v.douyin.com"),
        ),
    ),
    "kuaishou": Platform(
        (*_KUAISHOU, *_KUAISHOU_SHARE, "v.kuaishou.com"),
        (
            Shape("video", _KUAISHOU, r"/short-video/(?P<id>\w+)", "https://www.kuaishou.com/short-video/{id}"),
            Shape("video", _KUAISHOU_SHARE, r"/fw/photo/(?P<id>\w+)", "https://www.kuaishou.com/short-video/{id}"),
            Shape(
                "profile",
                _KUAISHOU,
                r"(?:/profile|/u)/(?P<account>\w+)",
                "https://www.kuaishou.com/profile/{account}",
                None,
                "{account}",
            ),
            _short("www.kuaishou.com", "kuaishou.com", path=r"/f/[\w-]+"),
            _short("v.kuaishou.com"),
        ),
    ),
    "weibo": Platform(
        (*_WEIBO, *_WEIBO_MOBILE, "t.cn", "mapp.api.weibo.cn"),
        (
            Shape(
                "profile",
                _WEIBO + _WEIBO_MOBILE,
                r"(?:/u|/profile)?/(?P<account>\d{5,})",
                "https://weibo.com/u/{account}",
                None,
                "{account}",
            ),
            Shape(
                "post",
                _WEIBO,
                r"/(?P<account>\d{5,})/(?P<id>\d{12,}|[0-9A-Za-z]{9})",
                "https://weibo.com/{account}/{id}",
                account="{account}",
                convert=weibo_mid,
            ),
            Shape(
                "post",
                _WEIBO_MOBILE + _WEIBO,
                r"/(?:status|detail)/(?P<id>\d{12,}|[0-9A-Za-z]{9})",
                "https://m.weibo.cn/detail/{post_id}",
                convert=weibo_mid,
            ),
            _short("t.cn"),
            _short("mapp.api.weibo.cn", path=r"/fx/[\w-]+\.html"),
        ),
    ),
    "wechat_channels": Platform(("channels.weixin.qq.com",), (_short("weixin.qq.com", path=r"/sph/\w+"),)),
    "wechat_mp": Platform(
        ("mp.weixin.qq.com",),
        (
            Shape("article", ("mp.weixin.qq.com",), r"/s/(?P<id>[\w-]+)", "https://mp.weixin.qq.com/s/{id}"),
            Shape(
                "article",
                ("mp.weixin.qq.com",),
                r"/s|/mp/appmsg/show",
                "https://mp.weixin.qq.com/s",
                "{__biz}:{mid}:{idx}",
                "{__biz}",
                params=_MP_PARAMS,
                keep=("__biz", "mid", "idx", "sn"),
            ),
            Shape(
                "profile",
                ("mp.weixin.qq.com",),
                r"/mp/profile_ext",
                "https://mp.weixin.qq.com/mp/profile_ext",
                None,
                "{__biz}",
                params=(("action", "home"), _MP_PARAMS[0]),
                keep=("action", "__biz"),
            ),
        ),
    ),
    "bilibili": Platform(
        (*_BILIBILI, "space.bilibili.com", "t.bilibili.com", "b23.tv", "bili2233.cn"),
        (
            Shape(
                "video", _BILIBILI, r"/video/(?P<id>BV1[0-9A-Za-z]{9}|av\d+)", "https://www.bilibili.com/video/{id}/"
            ),
            Shape("article", _BILIBILI, r"/read/(?:mobile/)?(?P<id>cv\d+)", "https://www.bilibili.com/read/{id}"),
            Shape("post", _BILIBILI, r"/(?:opus|dynamic)/(?P<id>\d+)", "https://www.bilibili.com/opus/{id}"),
            Shape("post", ("t.bilibili.com",), r"/(?P<id>\d+)", "https://www.bilibili.com/opus/{id}"),
            Shape(
                "profile",
                ("space.bilibili.com",),
                r"/(?P<account>\d+)",
                "https://space.bilibili.com/{account}",
                None,
                "{account}",
            ),
            Shape(
                "profile",
                _BILIBILI,
                r"/space/(?P<account>\d+)",
                "https://space.bilibili.com/{account}",
                None,
                "{account}",
            ),
            _short("b23.tv", "bili2233.cn"),
        ),
    ),
    "xiaohongshu": Platform(
        (*_XHS, "xhslink.com"),
        (
            Shape(
                "post",
                _XHS,
                r"(?:/explore|/discovery/item)/(?P<id>[0-9a-zA-Z]{24})",
                "https://www.xiaohongshu.com/explore/{id}",
            ),
            Shape(
                "profile",
                _XHS,
                r"/user/profile/(?P<account>[0-9a-zA-Z]{24})",
                "https://www.xiaohongshu.com/user/profile/{account}",
                None,
                "{account}",
            ),
            _short("xhslink.com"),
        ),
    ),
    "toutiao": Platform(
        _TOUTIAO,
        (
            Shape(
                "article",
                _TOUTIAO,
                r"(?:/article/|/group/|/a|/i)(?P<id>\d{6,})",
                "https://www.toutiao.com/article/{id}/",
            ),
            Shape("post", _TOUTIAO, r"/w/(?:a)?(?P<id>\d{6,})", "https://www.toutiao.com/w/{id}/"),
            Shape("video", _TOUTIAO, r"/video/(?P<id>\d{6,})", "https://www.toutiao.com/video/{id}/"),
            Shape(
                "profile",
                _TOUTIAO,
                r"/c/user/token/(?P<account>[\w.-]+)",
                "https://www.toutiao.com/c/user/token/{account}/",
                None,
                "{account}",
            ),
            _short("m.toutiao.com", path=r"/is/\w+"),
        ),
    ),
}

# Query parameters that say who shared, from where and when: never part of an item's identity.
TRACKING = frozenset(
    {
        "spm", "spm_id_from", "from", "from_source", "timestamp", "xsec_token", "xsec_source", "vd_source",
        "is_from_webapp", "sender_device", "enter_from", "previous_page", "u_code", "did", "iid", "unique_k",
        "bbid", "ts", "chksm", "scene", "srcid", "sharer_sharetime", "sharer_shareid", "mpshare", "wfr",
        "tt_from", "wxshare_count", "app_platform", "apptime", "appuid", "shareredirect", "launch_id",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "share")

_URL_IN_TEXT = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+", re.IGNORECASE)
_HOST = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_COMPILED: dict[str, re.Pattern[str]] = {}


def normalise(raw: str) -> Link:
    """The normalised link of a URL, or of the first URL in a pasted share text."""
    scheme, host, port, path, query = _split(extract_url(raw))
    found = _match(host, path, query)
    if found is None:
        platform = _platform_of_host(host)
        if platform is not None:  # the platforms all serve https
            scheme, port = "https", None if port == 443 else port
        return Link(_join(scheme, host, port, _clean_path(path), _drop_tracking(query)), platform, "other")
    platform, shape, values = found
    if shape.kind == "short":  # kept as given: it cannot be resolved offline
        url = _join("https", host, None if port == 443 else port, path or "/", _drop_tracking(query))
        return Link(url, platform, "short", short=True)
    return _canonical(platform, shape, values, query)


def _canonical(platform: str, shape: Shape, values: dict[str, str], query: str) -> Link:
    post_id = shape.post_id.format(**values) if shape.post_id else None
    if post_id is not None and shape.convert is not None:
        post_id = shape.convert(post_id)
    values["post_id"] = post_id or ""
    kept = _keep(query, shape.keep)
    url = shape.url.format(**values) + (f"?{kept}" if kept else "")
    account = shape.account.format(**values) if shape.account else None
    return Link(url, platform, shape.kind, post_id, account)


def link_key(link: Link) -> str:
    """What two hand-ins of one item share: platform, kind and post id when known, else the URL."""
    if link.platform and link.post_id:
        return f"{link.platform}:{link.kind}:{link.post_id}"
    if link.platform and link.kind == "profile" and link.account:
        return f"{link.platform}:profile:{link.account}"
    return link.url


def platform_of(raw: str) -> str | None:
    """The platform of a link, None for other sites or a link that is not one."""
    try:
        return normalise(raw).platform
    except LinkError:
        return None


def extract_url(raw: str) -> str:
    """The URL itself, or the first URL of a share text ("7.43 复制打开抖音，看看【…】 https://v.douyin.com/…")."""
    if not isinstance(raw, str) or not raw.strip():
        raise LinkError("链接不能为空")
    text = raw.strip()
    if len(text) > MAX_LENGTH:
        raise LinkError(f"链接过长（最多 {MAX_LENGTH} 个字符）")
    if _CONTROL.search(text):
        raise LinkError("链接中不能有空格或控制字符")
    spaced = any(char.isspace() for char in text)
    if re.match(r"https?://", text, re.IGNORECASE) and (not spaced or text.isascii()):
        if spaced:
            raise LinkError("链接中不能有空格或控制字符")
        return text
    found = _URL_IN_TEXT.search(text)
    if found is None:
        if "://" in text or re.match(r"(javascript|data|mailto|file|ftp):", text, re.IGNORECASE):
            raise LinkError("只接受 http:// 或 https:// 开头的链接")
        raise LinkError("没有找到链接：请粘贴以 http:// 或 https:// 开头的链接")
    return found.group(0).rstrip(".,;:!?)]}")


def _split(url: str) -> tuple[str, str, int | None, str, str]:
    try:
        parts = urlsplit(url)
        port, hostname = parts.port, parts.hostname
    except ValueError as exc:
        raise LinkError("链接格式不正确（主机或端口无效）") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise LinkError("只接受 http:// 或 https:// 开头的链接")
    if "@" in parts.netloc:
        raise LinkError("链接中不能带用户名或密码")
    host = (hostname or "").rstrip(".")
    if not host:
        raise LinkError("链接缺少网站地址")
    host = _valid_host(host)
    if port == {"http": 80, "https": 443}[scheme]:
        port = None
    return scheme, host, port, parts.path, parts.query


def _valid_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.fullmatch(host):
            raise LinkError("链接的网站地址无效") from None
        return host
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _platform_of_host(host: str) -> str | None:
    return next((name for name, rule in RULES.items() if host in rule.hosts), None)


def _match(host: str, path: str, query: str) -> tuple[str, Shape, dict[str, str]] | None:
    clean = _clean_path(path).rstrip("/")
    params = _params(query)
    for platform, rule in RULES.items():
        for shape in rule.shapes:
            if host not in shape.hosts:
                continue
            matched = _compiled(shape.path).fullmatch(clean if shape.kind != "short" else path.rstrip("/"))
            if matched is None or not _has_params(params, shape.params):
                continue
            values = {name: params[name] for name, _ in shape.params}
            values.update({k: v for k, v in matched.groupdict().items() if v is not None})
            return platform, shape, values
    return None


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _COMPILED:
        _COMPILED[pattern] = re.compile(pattern, re.ASCII)  # ids are ASCII: \w is [A-Za-z0-9_]
    return _COMPILED[pattern]


def _has_params(params: dict[str, str], wanted: tuple[tuple[str, str], ...]) -> bool:
    return all(name in params and re.fullmatch(pattern, params[name]) for name, pattern in wanted)


def _pieces(query: str) -> list[tuple[str, str]]:
    """(decoded name, raw piece) of each query parameter, raw pieces kept as written."""
    return [(unquote_plus(piece.split("=", 1)[0]), piece) for piece in query.split("&") if piece]


def _params(query: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, piece in _pieces(query):
        values.setdefault(name, unquote_plus(piece.partition("=")[2]))
    return values


def _keep(query: str, names: tuple[str, ...]) -> str:
    first = {}
    for name, piece in _pieces(query):
        first.setdefault(name, piece)
    return "&".join(first[name] for name in names if name in first)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING or lowered.startswith(TRACKING_PREFIXES)


def _drop_tracking(query: str) -> str:
    return "&".join(piece for name, piece in _pieces(query) if not _is_tracking(name))


def _clean_path(path: str) -> str:
    path = re.sub(r"/{2,}", "/", path)
    return path.rstrip("/") or "/"


def _join(scheme: str, host: str, port: int | None, path: str, query: str) -> str:
    netloc = f"{host}:{port}" if port is not None else host
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
