"""`wenming demo` starts from nothing and its printed curl lines work."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import WENMING, free_port


async def start_demo(port: int, cwd: Path, **extra_env: str) -> asyncio.subprocess.Process:
    """`wenming demo --port PORT` in ``cwd`` and its own process group, without this shell's WENMING_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env.update(extra_env)
    return await asyncio.create_subprocess_exec(
        *WENMING,
        "demo",
        "--port",
        str(port),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def read_instructions(proc: asyncio.subprocess.Process) -> list[str]:
    """The lines the demo prints, up to its list of other sign-in codes."""
    printed = []
    while not any(line.startswith("Other demo sign-in codes") for line in printed):
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, "demo exited early:\n" + "".join(printed)
        printed.append(line.decode())
    return printed


async def healthz_answers(port: int, tries: int) -> bool:
    """Whether the demo's /healthz answers within ``tries`` probes, 0.1 s apart."""
    for _ in range(tries):
        probe = await asyncio.create_subprocess_exec("curl", "-sf", f"http://127.0.0.1:{port}/healthz")
        if await probe.wait() == 0:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_demo_prints_curl_lines_that_sign_in(tmp_path):
    port = free_port()
    proc = await start_demo(port, tmp_path)
    try:
        printed = await read_instructions(proc)
        commands = [
            line.strip() for line in printed if line.strip().startswith(("TOKEN=", "STAFF=", "MEDIA=", "curl "))
        ]
        assert len(commands) == 8
        # The quiz block needs the quiz routes: printed, not run here.
        quiz = [line.strip() for line in printed if "quiz" in line and line.strip().startswith(("QUIZ=", "RESULT="))]
        assert len(quiz) == 2 and "/quiz/attempts" in quiz[0] and "/finish" in quiz[1]
        # Each curl prints one JSON document without a newline: echo one after each.
        script = "set -e\n" + "\necho\n".join(commands) + "\necho\nsleep 3\n" + commands[-1] + "\n"
        # Wait for the worker: the instructions print just before it binds.
        await healthz_answers(port, 100)
        shell = await asyncio.create_subprocess_exec(
            "bash", "-c", script, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await asyncio.wait_for(shell.communicate(), 30)
        assert shell.returncode == 0, err.decode()
        me, users, enrollment, submission, listed, later = [
            json.loads(line) for line in out.decode().splitlines() if line.strip()
        ]
        assert me["nickname"] == "志愿者小王" and me["role"] == "volunteer"
        assert me["org"]["name"] == "洪桥街道"
        assert {u["nickname"] for u in users["items"]} >= {"志愿者小王", "祁东美食达人"}
        assert enrollment["status"] == "enrolled"
        assert submission["status"] == "pending" and len(submission["media"]) == 1
        assert listed["items"][0]["id"] == submission["id"]
        # The fake WeChat answered the photo check by push, as WeChat would.
        assert later["items"][0]["risk"]["content"] == "pass"
        assert not (tmp_path / "var").exists(), "demo must not write into the working directory"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        await proc.wait()


@pytest.mark.parametrize(
    ("how", "when"),
    [
        ("SIGTERM to the main process", "serving"),
        ("Ctrl-C (SIGINT to the process group)", "serving"),
        ("SIGTERM to the main process", "starting"),
    ],
)
async def test_the_demo_removes_its_data_when_it_stops(tmp_path, how, when):
    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = await start_demo(port, tmp_path, TMPDIR=str(temp))  # TMPDIR: where the demo makes its data folder
    try:
        printed = await read_instructions(proc)
        (data,) = [line.split()[1] for line in printed if line.strip().startswith("data:")]
        assert data.startswith(f"{temp}/") and os.listdir(temp) == [data.rsplit("/", 1)[1]], printed
        if when == "serving" and not await healthz_answers(port, 300):
            pytest.fail("the demo did not start serving")
        if how.startswith("Ctrl-C"):
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert os.listdir(temp) == [], f"{data} left behind:\n{rest.decode()[-3000:]}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
