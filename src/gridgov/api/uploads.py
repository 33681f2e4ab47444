"""Uploaded files: streamed to a temporary file with a size limit (413 beyond it)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import UploadFile

from gridgov.errors import InvalidInput, TooLarge

CHUNK = 1 << 20


@contextlib.contextmanager
def save_upload(upload: UploadFile, max_mb: int) -> Iterator[Path]:
    """The upload as a temporary file keeping its name's suffix; deleted afterwards."""
    name = Path(upload.filename or "upload")
    if not name.suffix:
        raise InvalidInput("上传文件缺少扩展名，无法判断格式")
    limit = max_mb * CHUNK
    with tempfile.TemporaryDirectory(prefix="gridgov-upload-") as tmp:
        path = Path(tmp) / name.name  # .name drops any directory part a client sent
        size = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"文件过大：超过 {max_mb} MB 上限")
                out.write(chunk)
        yield path
