"""The installation's signing key (session and CSRF cookies): given in the settings, or a random key made once
and kept in a file only the server's user can read."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_key(path: Path) -> str:
    """The key stored at ``path``; a new random one is written there (mode 0600) the first time."""
    if path.is_file():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    try:
        os.link(tmp, path)  # fails if another process made the key first: then theirs is used
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


def derive(key: str, purpose: str) -> str:
    """A separate key for each use (the session cookie, the CSRF cookie) from the installation's key."""
    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).hexdigest()
