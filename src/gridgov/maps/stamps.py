"""What a map file was drawn from, kept in a comment at its end, so an unchanged map need not be drawn again.

Light on purpose (no folium): the CLI reads a stamp before deciding whether to import the map code at all.
"""

from __future__ import annotations

from pathlib import Path

MARKER = "<!-- gridgov-stamp: "


def stamp_comment(stamp: str) -> str:
    """The comment that records ``stamp`` at the end of an HTML file."""
    return f"{MARKER}{stamp} -->\n"


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
