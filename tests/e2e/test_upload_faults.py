"""A service killed in the middle of an upload: no row points at a missing file, sweep removes the orphans.

Each test runs its own `wenming serve` process on SQLite with its own media root, so it can kill it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest

from media.storage import INCOMING_DIR
from server.wechat.fake import FakeWeChat
from tests.conftest import Api
from tests.images import encode, scene
from tests.support import ServiceProcess, multipart, run_cli, send_half_an_upload, service_env


async def poll(cond: Callable[[], bool], deadline_s: float = 10) -> float | None:
    """Poll until ``cond()``; the seconds it took, or None at the deadline."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if cond():
            return time.monotonic() - start
        await asyncio.sleep(0.01)
    return None


# -- a service killed in the middle of an upload -----------------------------------------------------


def media_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def media_rows(db_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return conn.execute("SELECT count(*) FROM media").fetchone()[0]


async def kill(svc: ServiceProcess) -> None:
    assert svc.proc is not None
    os.killpg(svc.proc.pid, signal.SIGKILL)
    await asyncio.wait_for(svc.proc.wait(), 10)


@dataclass
class UploadScene:
    svc: ServiceProcess
    env: dict[str, str]
    db_path: Path
    root: Path  # WENMING_MEDIA_ROOT
    token: str


@asynccontextmanager
async def upload_scene(wechat: FakeWeChat, tmp_path: Path) -> AsyncIterator[UploadScene]:
    """`wenming serve` on SQLite with its own media root, and a signed-in volunteer."""
    db_path, root = tmp_path / "uploads.sqlite3", tmp_path / "media"
    env = service_env(f"sqlite://{db_path}", wechat)
    os.rmdir(env["WENMING_MEDIA_ROOT"])  # service_env's fresh folder: this test's files go under tmp_path
    env["WENMING_MEDIA_ROOT"] = str(root)
    assert (await run_cli("migrate", env=env))[0] == 0
    async with ServiceProcess(env) as svc:
        async with aiohttp.ClientSession() as session:
            token, _ = await Api(SimpleNamespace(base_url=svc.base_url), wechat, session).login()
        yield UploadScene(svc, env, db_path, root, token)


async def test_killed_mid_upload_leaves_only_a_temporary_file_that_sweep_removes(
    wechat: FakeWeChat, tmp_path: Path
) -> None:
    async with upload_scene(wechat, tmp_path) as up:
        writer = await send_half_an_upload(up.svc.base_url, up.token, encode(scene((1600, 1200)), "JPEG", quality=95))
        incoming = up.root / INCOMING_DIR
        assert await poll(lambda: incoming.is_dir() and any(incoming.iterdir())), "the upload never started"

        await kill(up.svc)
        writer.close()

    leftovers = media_files(up.root)
    assert len(leftovers) == 1 and leftovers[0].startswith(f"{INCOMING_DIR}/"), leftovers
    assert media_rows(up.db_path) == 0

    status, out, err = await run_cli("media", "sweep", "--older-than", "0", env=up.env)

    assert status == 0, err
    assert "removed 0 orphan file(s) and 1 temporary file(s); 0 file(s) in use" in out
    assert media_files(up.root) == []


async def test_killed_between_saving_the_files_and_the_row_leaves_orphans_that_sweep_removes(
    wechat: FakeWeChat, tmp_path: Path
) -> None:
    async with upload_scene(wechat, tmp_path) as up:
        # Hold SQLite's write lock: the service saves the photo's three files, then its INSERT waits
        # (for up to its busy timeout, 5 s) — the window in which it is killed.
        blocker = sqlite3.connect(up.db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            body, content_type = multipart(encode(scene((1600, 1200)), "JPEG", quality=95))
            headers = {"Authorization": f"Bearer {up.token}", "Content-Type": content_type}
            async with aiohttp.ClientSession() as session:

                async def upload() -> int:
                    async with session.post(f"{up.svc.base_url}/api/v1/media", data=body, headers=headers) as resp:
                        return resp.status

                sending = asyncio.create_task(upload())

                def saved() -> bool:
                    files = media_files(up.root)
                    return len(files) == 3 and not any(f.startswith(INCOMING_DIR) or "/.tmp-" in f for f in files)

                assert await poll(saved, 4), f"the files were not saved in time: {media_files(up.root)}"
                await kill(up.svc)
                with pytest.raises(aiohttp.ClientError):
                    await sending
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

    orphans = media_files(up.root)
    assert len(orphans) == 3 and not any(f.startswith(INCOMING_DIR) for f in orphans), orphans
    assert media_rows(up.db_path) == 0

    status, out, err = await run_cli("media", "sweep", "--older-than", "0", env=up.env)

    assert status == 0, err
    assert "removed 3 orphan file(s) and 0 temporary file(s); 0 file(s) in use" in out
    assert media_files(up.root) == []
