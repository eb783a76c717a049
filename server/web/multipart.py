"""Streaming multipart uploads: one file field to a temporary file, counted as it arrives.

Sanic puts no size limit on a ``stream=True`` route, so the limit is enforced
here: a declared ``Content-Length`` over the limit is refused before a byte is
read, and a body that grows past it (chunked, or lying) is refused at the
chunk that crosses it. Nothing is held in memory beyond one chunk, and the
temporary file is removed on every failure.

Sanic's timeouts are idle timeouts, reset by every byte that arrives: a client
sending a byte now and then would hold its connection and its temporary file
for as long as it likes. So the whole body has a deadline, and past it the
answer is 408 and the connection is closed rather than read to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sanic import Request

from server.kernel.errors import InvalidRequest, PayloadTooLarge, RequestTimeout

# Room for the multipart framing and small form fields wx.uploadFile adds (formData).
FORM_OVERHEAD = 64 * 1024


@dataclass
class Received:
    path: str  # the file's bytes, exactly as uploaded; the caller removes it
    size: int
    filename: str | None


class _FilePart:
    """Collects one named field of a multipart body into an open file."""

    def __init__(self, field: str, out: Any, max_bytes: int, noun: str = "图片") -> None:
        self.field = field
        self.noun = noun
        self.out = out
        self.max_bytes = max_bytes
        self.size = 0
        self.found = False
        self.filename: str | None = None
        self._writing = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._header_name = self._header_value = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        name = params.get(b"name", b"").decode("utf-8", "replace")
        # The first part named like the field wins; repeats are ignored like other fields.
        self._writing = name == self.field and not self.found
        if self._writing:
            self.found = True
            raw = params.get(b"filename")
            # Kept for the audit log: without U+0000, which PostgreSQL cannot store in text.
            self.filename = raw.decode("utf-8", "replace").replace("\x00", "")[:255] if raw else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._writing:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise PayloadTooLarge(_too_large(self.max_bytes, self.noun))
        self.out.write(data[start:end])

    def _part_end(self) -> None:
        self._writing = False


def _too_large(max_bytes: int, noun: str = "图片") -> str:
    return f"{noun}不能超过 {max_bytes / 1024 / 1024:.0f} MB"


async def receive_file(
    request: Request, *, field: str, max_bytes: int, tmp_dir: str, deadline_s: float, noun: str = "图片"
) -> Received:
    """Stream the multipart field ``field`` of a ``stream=True`` request to a file under ``tmp_dir``.

    The whole body must arrive within ``deadline_s`` seconds; otherwise :class:`RequestTimeout`.
    ``noun`` names the file in the too-large refusal (``图片``, ``名册文件``)."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidRequest.fields({field: "请以 multipart/form-data 上传，文件字段名为 file"})
    body_limit = max_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise PayloadTooLarge(_too_large(max_bytes, noun))

    os.makedirs(tmp_dir, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            part = _FilePart(field, out, max_bytes, noun)
            try:
                async with asyncio.timeout(deadline_s):
                    await _parse(request, boundary, part, body_limit)
            except TimeoutError:
                close_after_answer(request)
                raise RequestTimeout(
                    f"上传超时：文件 file 须在 {deadline_s:.0f} 秒内传完，请在网络较好时重试"
                ) from None
        if not part.found:
            raise InvalidRequest.fields({field: "缺少文件字段 file"})
        if part.size == 0:
            raise InvalidRequest.fields({field: "文件为空"})
        return Received(path=path, size=part.size, filename=part.filename)
    except BaseException:
        discard(path)
        raise


async def _parse(request: Request, boundary: bytes, part: _FilePart, body_limit: int) -> None:
    try:
        parser = MultipartParser(boundary, part.callbacks())
    except FormParserError:
        raise InvalidRequest("multipart 格式无效") from None
    total = 0
    try:
        while (chunk := await request.stream.read()) is not None:  # type: ignore[union-attr]
            total += len(chunk)
            if total > body_limit:
                raise PayloadTooLarge(_too_large(part.max_bytes, part.noun))
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise InvalidRequest("multipart 格式无效") from None


def streams_a_body(request: Request) -> bool:
    """True for a streamed request (an upload) whose body is the handler's to read."""
    return bool(request.stream is not None and getattr(request.stream, "request_body", None))


def close_after_answer(request: Request) -> None:
    """Close the connection after the answer instead of reading the rest of an unread body.

    Sanic reads away what a handler left unread so that the connection can serve the next
    request; a client trickling a byte now and then would hold it open all the while. A body
    limit of zero makes that read stop at once and close the connection (Sanic's own way out
    of a body it does not want)."""
    if streams_a_body(request):
        request.stream.keep_alive = False  # type: ignore[union-attr]
        request.stream.request_max_size = 0  # type: ignore[union-attr]


def discard(path: str) -> None:
    """Remove a temporary upload (a cheap metadata operation, fine on the loop)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
