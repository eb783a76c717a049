"""The image processes of one worker: where Pillow work runs, outside the event loop's process.

Pillow releases the GIL while it decodes, resizes and encodes, but not everywhere: scanning a
JPEG's segments, EXIF, the perceptual hash and the glue between the C calls are Python. A thread
in such a stretch keeps the event loop waiting for the GIL up to the interpreter's switch
interval (5 ms) each time, which is what pushed ``/healthz``'s p99 under 20 uploads to 7-10 times
its idle figure (bench/RESULTS.md). In processes of their own, image jobs share the cores with
the loop but never its GIL.

Only picklable values cross, and only small ones: a module-level function and its arguments (a
file path, a :class:`media.certificate.CertificateData`) go in, the result or the exception comes
back. An upload's JPEGs stay in files beside it (``media.uploads.prepare_upload``): megabytes
read from the pool's pipe and unpickled would hold the worker's GIL for milliseconds again. A
certificate's PNG (about 40 KB) comes back as bytes. The processes are started with ``spawn`` (forking a process
that runs an event loop and threads copies locks in whatever state they are in) and run in the
kernel's idle scheduling class, so that they take no core from the event loop.

A process that dies (killed, out of memory) breaks the whole ``ProcessPoolExecutor``: every job
in it fails with ``BrokenProcessPool``, which :class:`server.web.imagebudget.ImageBudget`
answers with 503, and the next job gets a new pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
IMAGE_PROCESSES = 2
# Where the kernel has no SCHED_IDLE (see _yield_the_cpu), the image processes run at this niceness.
FALLBACK_NICENESS = 19
log = logging.getLogger("wenming.imagepool")


class ImagePool(Executor):
    """A ``ProcessPoolExecutor`` of ``workers`` spawned processes, replaced when one of them dies."""

    def __init__(self, workers: int = IMAGE_PROCESSES) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        _allow_children()
        self._pool = self._new()

    def start(self) -> None:
        """Start every process now (they import Pillow once) rather than on the first uploads."""
        for _ in range(self._workers):
            self.submit(_ready)  # each submit to a pool with no idle process starts one

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            try:
                return self._pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                log.error("an image process died: a new pool of %d takes over", self._workers)
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new()
                return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def pids(self) -> list[int]:
        """The process ids of the running image processes (for tests and diagnostics)."""
        processes = self._pool._processes or {}  # the executor has no public way to list them
        return [p.pid for p in processes.values() if p.pid is not None]

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"), initializer=_yield_the_cpu
        )


def _yield_the_cpu() -> None:
    """Run this image process only on a core nothing else wants (Linux's SCHED_IDLE).

    On a machine with every core busy the event loop would otherwise wait for an image process's
    time slice to end before it answers (niceness 10 still left /healthz's p99 at 3-7 times its idle
    figure; bench/RESULTS.md); an idle-class process gives way as soon as the loop wakes. The price:
    while the machine is kept fully busy by other work (more workers than cores, the database on the
    same host), photos wait until it is not.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed
        os.nice(FALLBACK_NICENESS)


def _ready() -> None:
    import media.images  # noqa: F401 - loaded once per process, before the first photo waits for it


def _allow_children() -> None:
    """Let a daemonic Sanic worker start the image processes.

    multiprocessing refuses children to a daemonic process, lest they be orphaned when it is
    terminated. Ours are not: ``server.runtime.processes.follow_parent`` (run when a spawned process
    imports the main module) has the kernel terminate each image process when its worker dies.
    """
    current = multiprocessing.current_process()
    if current.daemon:
        current.daemon = False
