"""Photos: streaming upload through the image pipeline, and the signed file URLs."""

from __future__ import annotations

import asyncio
import time

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.media_schemas import MediaRead
from media.images import ImageRejected
from media.storage import StorageError, check_key
from media.uploads import prepare_upload, remove_files, save_prepared
from models.media import create_media
from models.users import User
from server.kernel.errors import (
    ApiError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from server.web.endpoint import endpoint, json_response
from server.web.multipart import discard
from server.web.services import Services, services_of

bp = Blueprint("media", url_prefix="/media")
files = Blueprint("media_files", url_prefix="/media/files")
UPLOAD_FIELD = "file"


class BadImage(ApiError):
    status, code, message = 400, "bad_image", "图片已损坏或无法读取"


@bp.post("", stream=True)
@endpoint(
    summary="上传图片",
    response=MediaRead,
    status=201,
    idempotent=True,
    rate_limit="upload",
    errors=(PayloadTooLarge, UnsupportedMediaType, BadImage, RateLimited, RequestTimeout, ServiceUnavailable),
    tag="media",
    upload_field=UPLOAD_FIELD,
    upload_types=("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"),
)
async def upload(request: Request, user: User, services: Services) -> HTTPResponse:
    """One photo per request (multipart field `file`, as wx.uploadFile sends); JPEG, PNG, WebP or HEIC."""
    await services.image_budget.check(str(user.id))  # before reading the body
    received = await services.uploads.receive(request, str(user.id), field=UPLOAD_FIELD)
    try:
        # Decoding and encoding in an image process; saving (local disk or S3) in a thread here.
        prepared = await services.image_budget.run(str(user.id), prepare_upload, received.path)
    except ImageRejected as exc:
        raise _as_api_error(exc) from None
    finally:
        discard(received.path)
    # A request cancelled before this leaves the prepared files in .incoming for `wenming media sweep`.
    stored = await asyncio.to_thread(save_prepared, prepared, services.storage)
    try:
        media = await create_media(user, stored.stem, stored.image, received.size)
    except BaseException:
        await asyncio.to_thread(remove_files, services.storage, stored.keys)
        raise
    return json_response(MediaRead.of(media, services.storage), status=201)


def _as_api_error(exc: ImageRejected) -> ApiError:
    return UnsupportedMediaType(exc.message) if exc.status == 415 else BadImage(exc.message)


@files.get("/<key:path>")
@endpoint(
    summary="图片文件（签名地址）", auth=False, errors=(Forbidden, NotFound), produces=("image/jpeg",), tag="media"
)
async def serve_file(request: Request, key: str) -> HTTPResponse:
    """A photo file by its signed, expiring URL; no Authorization needed (for `<image>` and WeChat)."""
    expires = services_of(request).signer.expiry(request.path, request.query_string)
    if expires is None:
        raise Forbidden("图片链接无效或已过期，请刷新页面")
    try:
        data = await asyncio.to_thread(services_of(request).storage.open, check_key(key))
    except (StorageError, FileNotFoundError):
        raise NotFound("图片不存在") from None
    max_age = max(0, expires - int(time.time()))
    return HTTPResponse(
        data,
        content_type="image/jpeg",
        headers={"Cache-Control": f"private, max-age={max_age}, immutable", "X-Content-Type-Options": "nosniff"},
    )
