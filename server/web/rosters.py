"""A task's enrollment list as a spreadsheet (报名名单), one way for the API's download and the console's button.

Staff keep it for insurance and attendance records: who enrolled, checked in and out, and the hours
each was credited for the task. Phone numbers are whole only for those ``sees_full_phones`` allows;
every download is audited as an export.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from media.reports import table_xlsx
from models.audit import record
from models.campaigns import Enrollment, Task
from models.enrollment import all_enrollments
from models.review import task_hours
from models.users import User
from server.kernel.clock import LOCAL_TZ
from server.kernel.crypto import Vault
from server.web.glossary import label
from server.web.permissions import sees_full_phones

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROSTER_HEADERS = (
    "姓名",
    "组织",
    "手机号",
    "报名时间",
    "状态",
    "签到时间",
    "签到方式",
    "签退时间",
    "服务时长(小时)",
)
CHECKIN_METHODS = {"gps": "定位签到", "scene": "扫码签到"}
# Characters a file name may not carry on Windows (and control characters).
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def _phone(person: User, vault: Vault | None) -> str:
    if vault is not None and person.phone_enc:
        return vault.decrypt(person.phone_enc) or person.phone_masked or ""
    return person.phone_masked or ""


def roster_row(e: Enrollment, hours: Decimal, vault: Vault | None) -> tuple[object, ...]:
    """One person's row; ``vault`` given: the whole phone number, else the masked one."""
    person = e.user
    return (
        person.name_on_record,
        person.org.name if person.org else "",
        _phone(person, vault),
        _local(e.enrolled_at),
        label(e.status),
        _local(e.checked_in_at),
        CHECKIN_METHODS.get(e.checkin_method or "", ""),
        _local(e.checked_out_at),
        float(hours),
    )


def roster_xlsx(task: Task, enrollments: list[Enrollment], hours: dict[int, Decimal], vault: Vault | None) -> bytes:
    """The workbook (CPU work, and decrypting: run it off the event loop)."""
    rows = [roster_row(e, hours.get(e.user_id, Decimal("0")), vault) for e in enrollments]
    return table_xlsx(f"{task.title} 报名名单", "报名名单", ROSTER_HEADERS, rows)


def roster_download(task: Task) -> dict[str, str]:
    """Download headers: an ASCII file name for old clients, 报名名单-<title>.xlsx (RFC 6266) for the rest."""
    name = _UNSAFE_NAME.sub("_", f"报名名单-{task.title}.xlsx")
    return {
        "Content-Disposition": f"attachment; filename=\"enrollments_{task.id}.xlsx\"; filename*=UTF-8''{quote(name)}"
    }


async def roster_file(user: User, task: Task, vault: Vault) -> bytes:
    """Everyone enrolled in ``task`` (the caller manages it), in enrollment order, its export audited.

    A fixed number of queries whatever the size: the enrollments in batches with their people and
    orgs, the hours in one."""
    enrollments = await all_enrollments(task.id)
    hours = await task_hours(task.id)
    full = sees_full_phones(user)
    details = {"file": "enrollments.xlsx", "rows": len(enrollments), "full_phones": full}
    await record(user, "export", f"task:{task.id}", details)
    return await asyncio.to_thread(roster_xlsx, task, enrollments, hours, vault if full else None)
