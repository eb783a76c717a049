"""Links as evidence of online work: checked against the task and the person, one item one submission.

A submission to an online task (``Task.online``) hands in links to posts. Each is normalised
(``models.online_links``) and must be of one of the task's platforms (400
``link_platform_mismatch``). Where the task asks for the person's own account (``own_account``)
and the URL shows the account (a Weibo post shows its uid, a WeChat article its ``__biz``), the
account must be one of the person's verified accounts on that platform (400
``link_account_mismatch``); where the URL does not show it and the person has no verified account
on the platform, the reviewer sees the flag ``account_unverified``.

One item, one submission, across everyone: ``live_key`` (the item's key while its submission is
alive) is unique, so of any number of concurrent hand-ins of one item exactly one commits and the
others answer 409 ``link_claimed``. A rejected or withdrawn submission lets go of its links
(``free_links``); the key stays in ``link_key``, so the next hand-in of that item, by anyone,
shows the reviewer ``link_used``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.accounts import PlatformAccount, account_ref
from models.online_links import PLATFORM_NAMES, Link, LinkError, link_key, normalise
from models.users import User
from server.kernel.errors import ApiError, Conflict, InvalidRequest


class LinkPlatformMismatch(ApiError):
    status, code, message = 400, "link_platform_mismatch", "链接不属于本任务要求的平台"


class LinkAccountMismatch(ApiError):
    status, code, message = 400, "link_account_mismatch", "链接不属于您已认证的平台账号"


class LinkClaimed(Conflict):
    code, message = "link_claimed", "该作品链接已被提交过"


class SubmissionLink(Model):
    """One normalised link of a submission, in the order given."""

    id = fields.IntField(primary_key=True)
    submission: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Submission", related_name="link_rows", on_delete=fields.CASCADE
    )
    user_id = fields.IntField(db_index=True)
    position = fields.IntField()
    url = fields.CharField(max_length=2048)
    platform = fields.CharField(max_length=16, null=True)
    # The item's key (models.online_links.link_key), kept for good; hashed when long (a URL key).
    link_key = fields.CharField(max_length=255, db_index=True)
    # The same key while the submission is alive, NULL once it is rejected or withdrawn.
    live_key = fields.CharField(max_length=255, null=True, unique=True)
    short = fields.BooleanField(default=False)

    submission_id: int

    class Meta:
        table = "submission_links"


@dataclass(frozen=True)
class CheckedLinks:
    """The links of a hand-in, normalised, with their keys and what the reviewer should see."""

    links: list[Link]
    keys: list[str]
    account_unverified: list[str]  # platforms shown to the reviewer

    @property
    def urls(self) -> list[str]:
        return [link.url for link in self.links]


def stored_key(link: Link) -> str:
    """``link_key`` fitted to the column: a long URL key becomes its SHA-256."""
    key = link_key(link)
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def check_links(online: dict[str, Any], user: User, raw_links: list[str]) -> CheckedLinks:
    """Normalise and check the links of a hand-in to an online task; see the module docstring."""
    if online.get("require_link") and not raw_links:
        raise InvalidRequest.fields({"links": "请填写作品链接"})
    links: list[Link] = []
    for i, raw in enumerate(raw_links):
        try:
            links.append(normalise(raw))
        except LinkError as exc:
            raise InvalidRequest.fields({f"links.{i}": str(exc)}) from None
    platforms = online.get("platforms") or []
    for i, link in enumerate(links):
        if link.platform not in platforms:
            names = "、".join(PLATFORM_NAMES[p] for p in platforms)
            raise LinkPlatformMismatch(
                f"第 {i + 1} 个链接不是本任务要求的平台（{names}）的作品", details={"field": f"links.{i}"}
            )
    keys = [stored_key(link) for link in links]
    if len(set(keys)) != len(keys):
        raise InvalidRequest.fields({"links": "同一作品的链接重复填写了"})
    unverified = await _check_accounts(online, user, links) if online.get("own_account") else []
    return CheckedLinks(links, keys, unverified)


async def _check_accounts(online: dict[str, Any], user: User, links: list[Link]) -> list[str]:
    accounts = await PlatformAccount.filter(user_id=user.id, status="verified")
    unverified: list[str] = []
    for i, link in enumerate(links):
        mine = [a for a in accounts if a.platform == link.platform]
        if link.account is not None:
            if not any(_shows(link.account, a) for a in mine):
                name = PLATFORM_NAMES.get(link.platform or "", "")
                raise LinkAccountMismatch(
                    f"第 {i + 1} 个链接的发布账号不是您已认证的{name}账号，请先在“我的账号”中绑定并等待认证",
                    details={"field": f"links.{i}"},
                )
        elif not mine and link.platform is not None and link.platform not in unverified:
            unverified.append(link.platform)
    return unverified


def _shows(shown: str, account: PlatformAccount) -> bool:
    """Whether a link showing account ``shown`` shows ``account``: its id read from its profile URL, or
    its handle (some put their uid there).

    The id is read again when the account was claimed before ``account_ref`` was stored. Ids keep
    their case (a Douyin sec_uid, a WeChat __biz are case-sensitive); handles do not.
    """
    ref = account.account_ref or account_ref(account.platform, account.profile_url)
    return shown == ref or shown.casefold() == account.handle.strip().casefold()


async def claimed_by(keys: list[str]) -> SubmissionLink | None:
    """A live link row holding one of ``keys``, if any."""
    if not keys:
        return None
    return await SubmissionLink.filter(live_key__in=keys).first()


def link_claimed(row: SubmissionLink, user: User) -> LinkClaimed:
    """409 ``link_claimed``; the submission is named only to its own author."""
    if row.user_id == user.id:
        return LinkClaimed("您已提交过该作品链接", details={"submission_id": str(row.submission_id)})
    return LinkClaimed("该作品链接已被他人提交过，同一作品只能提交一次")


async def used_before(keys: list[str]) -> list[str]:
    """Earlier submissions that handed in one of ``keys`` and let go of it (rejected or withdrawn).

    Anyone's, the person's own included: a reviewer of a hand-in after a rejection reads why the
    link was refused before. A live holder never shows here: it makes the hand-in a 409.
    """
    if not keys:
        return []
    rows = await SubmissionLink.filter(link_key__in=keys).values_list("submission_id", flat=True)
    return [str(i) for i in sorted(set(rows))]


def link_rows(submission_id: int, user: User, checked: CheckedLinks) -> list[SubmissionLink]:
    return [
        SubmissionLink(
            submission_id=submission_id,
            user_id=user.id,
            position=i,
            url=link.url,
            platform=link.platform,
            link_key=key,
            live_key=key,
            short=link.short,
        )
        for i, (link, key) in enumerate(zip(checked.links, checked.keys, strict=True))
    ]


async def free_links(submission_ids: list[int]) -> None:
    """Let go of the links of rejected or withdrawn submissions (inside the caller's transaction)."""
    if submission_ids:
        await SubmissionLink.filter(submission_id__in=submission_ids).update(live_key=None)


async def free_links_of_cancelled_task(task_id: int) -> None:
    """A cancelled task's evidence awaiting review is never reviewed: its posts may go to another task."""
    held = await SubmissionLink.filter(
        submission__task_id=task_id, submission__status__in=("pending", "flagged"), live_key__isnull=False
    ).values_list("id", flat=True)
    if held:
        await SubmissionLink.filter(id__in=list(held)).update(live_key=None)


async def forget_links(user_id: int) -> None:
    """Erase a person's links as their submissions' text and links are erased (models.privacy).

    The keys stay, as a photo's hashes do: approved work keeps its item, and a later hand-in of
    an item they let go of still shows the reviewer ``link_used``.
    """
    await SubmissionLink.filter(user_id=user_id).update(url="")
