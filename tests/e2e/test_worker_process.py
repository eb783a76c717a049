"""`wenming worker` takes the jobs the service queued in Redis and sends the messages."""

import asyncio
import json
import os
import signal
import subprocess

from tests.conftest import TEMPLATES
from tests.factories import org_tree, published_task
from tests.handlers.test_review import hand_in, review_path
from tests.support import WENMING, service_env


async def test_the_worker_process_sends_queued_messages(api, database_url, wechat, redis_url):
    tree = await org_tree()
    staff, _ = await api.person("staff", tree.east.id)
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await published_task(api, staff, tree.east.id)
    sid = await hand_in(api, token, task)
    env = service_env(
        database_url, wechat, WENMING_REDIS_URL=redis_url, WENMING_SUBSCRIBE_TEMPLATES=json.dumps(TEMPLATES)
    )
    worker = await asyncio.create_subprocess_exec(
        *WENMING, "worker", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
        assert reply.status == 200
        for _ in range(150):
            if any(m["template_id"] == "tmpl-review" for m in wechat.sent_messages):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the worker sent nothing within 15 s")
        assert worker.returncode is None
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 15)
    (message,) = [m for m in wechat.sent_messages if m["template_id"] == "tmpl-review"]
    assert message["data"]["phrase2"]["value"] == "已通过"


async def test_the_worker_refuses_to_start_without_redis(tmp_path, wechat):
    env = service_env(f"sqlite://{tmp_path / 'w.sqlite3'}", wechat)
    env.pop("WENMING_REDIS_URL", None)
    proc = await asyncio.create_subprocess_exec(*WENMING, "worker", env=env, stderr=subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert "needs WENMING_REDIS_URL" in err.decode()
