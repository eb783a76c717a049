"""The processes of `wenming serve` stop together: none spins, none is left behind.

Sanic's main process spawns the workers and a multiprocessing manager (their shared state). Two
things go wrong with Sanic 25.12 as it is:

* SIGTERM before every worker has reported that it started makes the main process spin instead
  of exiting. ``WorkerManager.wait_for_ack`` takes each monitor message that arrives meanwhile
  off the pipe and sends it straight back, without waiting; the shutdown message (``None``) is
  such a message, and the workers it terminated never report, so the main process passes the
  same message through the pipe and the manager process in a busy loop, for ever.
  ``wait_for_startup`` replaces that method: it stops waiting when a shutdown was asked for, and
  hands the messages it held back to the monitor loop once instead of passing them round.
* A main process killed outright (SIGKILL, the OOM killer) leaves the workers and the manager
  process running under PID 1, still holding the port. ``follow_parent`` asks the kernel to send
  each spawned child SIGTERM when its parent dies.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from typing import Any

logger = logging.getLogger(__name__)

# The PID whose children must not outlive it; children inherit the environment, so each sets it
# to its own PID in turn (a process its worker spawns then dies with that worker).
# Not a setting (nobody sets it but the processes themselves), hence no WENMING_ prefix.
PARENT_PID_ENV = "WENMINGPROC_PARENT_PID"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def lead_children() -> None:
    """In the main process: the processes spawned from now on follow this one (``follow_parent``)."""
    os.environ[PARENT_PID_ENV] = str(os.getpid())


def stop_leading_children() -> None:
    os.environ.pop(PARENT_PID_ENV, None)


def follow_parent() -> None:
    """In a process spawned by a leading one: get SIGTERM when the parent dies, however it dies.

    Does nothing elsewhere (the main process itself, other commands, systems without prctl).
    """
    leader = os.environ.get(PARENT_PID_ENV)
    if not leader or int(leader) == os.getpid() or not sys.platform.startswith("linux"):
        return
    # The kernel's "parent" is the thread that started the process: Sanic starts its processes from
    # the main thread, which lives as long as the main process.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        logger.warning("cannot follow the parent process: prctl failed (errno %d)", ctypes.get_errno())
        return
    lead_children()
    if os.getppid() != int(leader):
        # The parent died before the request above was made: the kernel will not tell us any more.
        os.kill(os.getpid(), signal.SIGTERM)


def wait_for_startup(manager: Any) -> None:
    """``WorkerManager.wait_for_ack`` (sanic 25.12) without its busy loop; see the module docstring.

    Until every server worker has reported that it started, monitor messages are held back (the
    monitor loop must not act on a half-started set of workers); a shutdown ends the wait at once.
    """
    threshold_s = manager.THRESHOLD / 10
    deadline = time.monotonic() + threshold_s
    held: list[Any] = []
    try:
        while True:
            if manager._shutting_down:
                # A worker whose start was under way when the signal came was not told to stop by
                # the signal handler (it had no PID yet), and would keep the main process waiting
                # for it in join() while it served on: tell every worker now.
                manager.shutdown()
                return
            if manager._all_workers_ack():
                return
            if manager.monitor_subscriber.poll(0.1):
                message = manager.monitor_subscriber.recv()
                if message == "__TERMINATE_EARLY__":
                    _startup_failed(manager, "One of the worker processes exited before its startup completed.")
                held.append(message)
            if time.monotonic() > deadline:
                _startup_failed(manager, f"A worker did not start within {threshold_s:.0f} s.")
    finally:
        # Back into the pipe, in order, for the monitor loop (the shutdown message among them).
        for message in held:
            manager.monitor_publisher.send(message)


# What wait_for_startup uses of Sanic's WorkerManager (25.12).
_MANAGER_PARTS = (
    "THRESHOLD",
    "_all_workers_ack",
    "_shutting_down",
    "monitor_subscriber",
    "monitor_publisher",
    "shutdown",
    "kill",
    "wait_for_ack",
)


def _startup_failed(manager: Any, why: str) -> None:
    logger.error("Not all workers acknowledged a successful startup; shutting down. %s", why)
    manager.kill()  # raises ServerKilled, which Sanic turns into exit status 1


def guard_worker_startup(app: Any, _loop: Any = None) -> None:
    """A ``main_process_ready`` listener: the worker manager waits for its workers with ``wait_for_startup``."""
    manager = app.manager
    missing = [name for name in _MANAGER_PARTS if not hasattr(manager, name)]
    if missing:
        # A Sanic whose worker manager changed: keep its own wait rather than fail to start.
        logger.warning("Sanic's worker manager has no %s: its own startup wait is kept", ", ".join(missing))
        return

    def wait_for_ack() -> None:
        wait_for_startup(manager)

    manager.wait_for_ack = wait_for_ack
