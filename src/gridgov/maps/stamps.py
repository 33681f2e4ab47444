"""What a map file was drawn from, kept in a comment at its end, so an unchanged map need not be drawn again.

Light on purpose (no folium): the CLI reads a stamp before deciding whether to import the map code at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MARKER = "<!-- gridgov-stamp: "


def stamp_comment(stamp: str) -> str:
    """The comment that records ``stamp`` at the end of an HTML file."""
    return f"{MARKER}{stamp} -->\n"


def map_stamp(session: Session, options: dict[str, Any], settings_json: str, day: dt.date) -> str:
    """What a map is drawn from: the stored data's fingerprint, the map's options, the settings, the version and
    the day (a map's defaults may depend on it), as a short digest."""
    from gridgov import __version__
    from gridgov.db.revisions import data_version

    about = {"data": data_version(session), "options": options, "version": __version__, "day": day,
             "settings": settings_json}  # fmt: skip
    return hashlib.sha256(json.dumps(about, sort_keys=True, default=str).encode()).hexdigest()[:24]


def is_current(path: Path, stamp: str) -> bool:
    """True when the map file at ``path`` was saved with ``stamp`` and its assets (``lib/``) are still beside it."""
    return stamp_of(path) == stamp and (Path(path).parent / "lib").is_dir()


def stamp_of(path: Path) -> str | None:
    """The stamp a map file was saved with (None for a missing file or one saved without)."""
    try:
        with Path(path).open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 200))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    at = tail.rfind(MARKER)
    return tail[at + len(MARKER) :].split(" -->", 1)[0] if at >= 0 else None
