"""Photos of incidents: checked as images (Pillow), sized, given a thumbnail, stored beside the step that took
them (before: 上报; after: 处置), and read back only by those who may see the case's details."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.errors import InvalidInput, NotFound, TooLarge

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
THUMBNAIL_PX = 320
MAX_PIXELS = 60_000_000  # a 60-megapixel photo is the most a phone takes; more is a decompression bomb


@dataclass(frozen=True)
class Photo:
    """An uploaded photo as received: its file name (may be None) and bytes."""

    filename: str | None
    data: bytes


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo that is an image: its type, size, hash and thumbnail (JPEG)."""

    filename: str | None
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes


def check_photos(photos: Sequence[Photo], *, max_bytes: int, max_count: int) -> list[CheckedPhoto]:
    """Every photo checked (an image of a known type, not too large, not too many), or ``InvalidInput`` /
    ``TooLarge`` naming the photo."""
    if len(photos) > max_count:
        raise InvalidInput(f"一次最多上传 {max_count} 张照片，收到 {len(photos)} 张")
    return [_check(p, i + 1, max_bytes) for i, p in enumerate(photos)]


def _check(photo: Photo, n: int, max_bytes: int) -> CheckedPhoto:
    name = photo.filename or f"第 {n} 张"
    if not photo.data:
        raise InvalidInput(f"照片「{name}」是空文件")
    if len(photo.data) > max_bytes:
        raise TooLarge(f"照片「{name}」有 {len(photo.data) / 2**20:.1f} MB，超过上限 {max_bytes / 2**20:g} MB")
    try:
        with Image.open(io.BytesIO(photo.data)) as img:
            kind = img.format or ""
            if kind not in FORMATS:
                raise InvalidInput(f"照片「{name}」的格式不受支持（{kind or '未知'}）：请上传 JPEG、PNG 或 WebP 图片")
            if img.width * img.height > MAX_PIXELS:
                raise InvalidInput(f"照片「{name}」像素过多（{img.width}×{img.height}）")
            img.load()
            upright = ImageOps.exif_transpose(img)
            width, height = upright.size
            thumb = upright.convert("RGB")
            thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"照片「{name}」不是可读的图片文件") from exc
    return CheckedPhoto(photo.filename, photo.data, FORMATS[kind], width, height,
                        hashlib.sha256(photo.data).hexdigest(), out.getvalue())  # fmt: skip


def store_photos(session: Session, incident_id: int, event_id: int, photos: Sequence[CheckedPhoto]) -> int:
    """Store the checked photos of a step (one statement)."""
    if not photos:
        return 0
    session.execute(
        text("""INSERT INTO incident_photo (incident_id, event_id, filename, content_type, data, thumbnail, sha256,
                                            width, height)
                VALUES (:i, :e, :f, :t, :d, :th, :h, :w, :ht)"""),
        [{"i": incident_id, "e": event_id, "f": p.filename, "t": p.content_type, "d": p.data, "th": p.thumbnail,
          "h": p.sha256, "w": p.width, "ht": p.height} for p in photos],
    )  # fmt: skip
    return len(photos)


@dataclass(frozen=True)
class StoredPhoto:
    """A stored photo's bytes and type, for a download."""

    incident_id: int
    filename: str | None
    content_type: str
    data: bytes


def photo_bytes(session: Session, photo_id: int, *, thumbnail: bool = False) -> StoredPhoto:
    """A stored photo (or its thumbnail); the caller has checked the actor may see the case's details."""
    column = "thumbnail" if thumbnail else "data"
    row = session.execute(text(f"SELECT incident_id, filename, content_type, {column} AS data FROM incident_photo "
                               "WHERE id = :id"), {"id": photo_id}).one_or_none()  # fmt: skip
    if row is None:
        raise NotFound(f"照片不存在：{photo_id}")
    kind = "image/jpeg" if thumbnail else row.content_type
    return StoredPhoto(row.incident_id, row.filename, kind, bytes(row.data))
