"""Meetings of Party organisations (三会一课 and others): recorded with their kind, day, topic, attendance and the
minutes file (PDF, Word or an image, at most 20 MB, kept in the row), cancelled with a reason when recorded by
mistake (never deleted: a cancelled meeting does not count), listed per organisation and period, and the schedule:
for each organisation, every meeting kind due (PartyRules.meetings_due) with the last held day, the last day it is
on time and whether it is overdue, by the rule the compliance check applies (gridgov.party.rules.meeting_due).

Meetings are Party records: reading them is personal data ("personal", the organisation's grids in the reader's
scope); recording, cancelling and attaching minutes are writes naming the organisation's grids.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import asdict, dataclass
from pathlib import PurePath
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import Conflict, InvalidInput, NotFound, TooLarge
from gridgov.fields import parse_reason, parse_text
from gridgov.history import day_of, start_of
from gridgov.incidents.photos import FORMATS as IMAGE_FORMATS
from gridgov.party.orgs import Org, get_org, list_orgs
from gridgov.party.rules import PartyRules, meeting_due
from gridgov.party.volunteers import live_org, org_reach, past_day, reader_root, required_term
from gridgov.periods import DEFAULT_TIMEZONE, check_period
from gridgov.versioned import begin
from gridgov.vocab import PARTY_MEETING_KINDS

MINUTES_MAX_MB = 20
DOC_TYPE = "application/msword"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
SUFFIXES = {PDF_TYPE: ".pdf", DOC_TYPE: ".doc", DOCX_TYPE: ".docx", "image/jpeg": ".jpg", "image/png": ".png",
            "image/webp": ".webp", "image/gif": ".gif"}  # fmt: skip
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of .doc (Word 97–2003, WPS)
MAX_PEOPLE = 100_000

_MEETING = """
SELECT m.id, o.code AS org_code, o.name AS org_name, o.kind AS org_kind, m.kind, m.held_on, m.topic, m.attendees,
       m.expected, m.minutes_name, m.minutes_type, coalesce(octet_length(m.minutes), 0) AS minutes_size,
       m.created_by, m.created_at, m.cancelled_at, m.cancel_reason, m.org_id
  FROM party_meeting m JOIN party_org o ON o.id = m.org_id AND o.lineage_id IS NULL"""


@dataclass(frozen=True)
class Minutes:
    """A minutes file checked: its name as shown, its type and its bytes."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Meeting:
    """A meeting as recorded: the organisation, kind, day, topic, attendance, the minutes (if any) and whether it
    was cancelled (and why)."""

    id: int
    org_code: str
    org_name: str
    org_kind: str
    kind: str
    held_on: dt.date
    topic: str | None
    attendees: int | None
    expected: int | None
    minutes_name: str | None
    minutes_type: str | None
    minutes_size: int
    created_by: str | None
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    org_id: int = 0

    @property
    def cancelled(self) -> bool:
        """Whether the meeting was cancelled (it does not count)."""
        return self.cancelled_at is not None

    @property
    def has_minutes(self) -> bool:
        """Whether a minutes file is attached."""
        return self.minutes_name is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        out = asdict(self)
        out.pop("org_id")
        return out | {"cancelled": self.cancelled, "has_minutes": self.has_minutes}


@dataclass(frozen=True)
class Due:
    """One meeting kind an organisation must hold: every how many months, when it was last held, the last day it
    is on time, and whether it is overdue on the day asked."""

    org_code: str
    org_name: str
    org_kind: str
    kind: str
    months: int
    last_held: dt.date | None
    due_by: dt.date | None
    overdue: bool
    since: dt.date

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def _meeting(row: RowMapping) -> Meeting:
    return Meeting(**row)


# ------------------------------------------------------------------------------------------------ minutes


def check_minutes(name: str | None, data: bytes, *, max_mb: int = MINUTES_MAX_MB) -> Minutes:
    """A minutes file: PDF, Word (.doc, .docx) or an image (JPEG, PNG, WebP, GIF) by its content, at most
    ``max_mb`` MB; its name kept without any directory (the type's suffix added when it lacks one)."""
    shown = PurePath(re.sub(r"[\\/]", "/", (name or "").strip())).name[:200] or "会议记录"
    if not data:
        raise InvalidInput(f"会议记录「{shown}」是空文件")
    if len(data) > max_mb * 2**20:
        raise TooLarge(f"会议记录「{shown}」有 {len(data) / 2**20:.1f} MB，超过上限 {max_mb} MB")
    kind = _content_type(data)
    if kind is None:
        raise InvalidInput(f"会议记录「{shown}」的格式不受支持：请上传 PDF、Word（.doc/.docx）或图片（JPEG、PNG）")
    if PurePath(shown).suffix.lower() not in (SUFFIXES[kind], ".jpeg" if kind == "image/jpeg" else SUFFIXES[kind]):
        shown = f"{PurePath(shown).stem or '会议记录'}{SUFFIXES[kind]}"
    return Minutes(shown, kind, data)


def _content_type(data: bytes) -> str | None:
    """The type a file's content shows (not what its name says), among those minutes may be."""
    if data.startswith(b"%PDF-"):
        return PDF_TYPE
    if data.startswith(OLE_MAGIC):
        return DOC_TYPE
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return DOCX_TYPE if "word/document.xml" in z.namelist() else None
        except zipfile.BadZipFile:
            return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            return IMAGE_FORMATS.get(img.format or "")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


# ------------------------------------------------------------------------------------------------ reading


def _readable_org(session: Session, actor: Actor, code: str, *, as_of_moment: dt.datetime | None = None) -> Org:
    """An organisation (dissolved ones too; its state at ``as_of_moment`` when given) lying in the reader's scope."""
    authorize(session, actor, "personal")
    org = get_org(session, code, actor, as_of_moment=as_of_moment)
    authorize(session, actor, "personal", Touches(grid_ids=org_reach(session, org.id)))
    return org


def _orgs(session: Session, actor: Actor, org: str | None, parent: str | None, *,
          as_of_moment: dt.datetime | None = None) -> list[Org]:  # fmt: skip
    """One organisation the reader may see, or those under ``parent`` (default: the reader's scope) as
    gridgov.party.orgs lists them (at ``as_of_moment``, or with the dissolved ones)."""
    if org:
        return [_readable_org(session, actor, org, as_of_moment=as_of_moment)]
    reader_root(session, actor, parent)
    return list_orgs(session, actor, parent=parent, include_retired=as_of_moment is None, as_of_moment=as_of_moment)


def list_meetings(
    session: Session,
    actor: Actor,
    *,
    org: str | None = None,
    parent: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    include_cancelled: bool = True,
) -> list[Meeting]:
    """The meetings of one organisation, or of every organisation under ``parent`` (default: the reader's scope),
    held in [date_from, date_to] when given, newest first."""
    check_period(date_from, date_to)
    ids = [o.id for o in _orgs(session, actor, org, parent)]
    where = ("m.org_id = ANY(:ids) AND (CAST(:from AS date) IS NULL OR m.held_on >= :from)"
             " AND (CAST(:to AS date) IS NULL OR m.held_on <= :to)")  # fmt: skip
    if not include_cancelled:
        where += " AND m.cancelled_at IS NULL"
    stmt = f"{_MEETING} WHERE {where} ORDER BY m.held_on DESC, m.id DESC"
    rows = session.execute(text(stmt), {"ids": ids, "from": date_from, "to": date_to}).mappings()
    return [_meeting(r) for r in rows]


def _lookup(session: Session, meeting_id: int, *, lock: bool = False) -> Meeting:
    row = session.execute(text(f"{_MEETING} WHERE m.id = :i" + (" FOR UPDATE OF m" if lock else "")),
                          {"i": meeting_id}).mappings().first()  # fmt: skip
    if row is None:
        raise NotFound(f"会议记录不存在：{meeting_id}")
    return _meeting(row)


def get_meeting(session: Session, meeting_id: int, actor: Actor) -> Meeting:
    """One meeting, if its organisation lies in the reader's scope."""
    authorize(session, actor, "personal")
    meeting = _lookup(session, meeting_id)
    authorize(session, actor, "personal", Touches(grid_ids=org_reach(session, meeting.org_id)))
    return meeting


def minutes_file(session: Session, meeting_id: int, actor: Actor) -> Minutes:
    """The minutes of a meeting (personal data: only in the reader's scope); ``NotFound`` when none is attached."""
    meeting = get_meeting(session, meeting_id, actor)
    data = session.scalar(text("SELECT minutes FROM party_meeting WHERE id = :i"), {"i": meeting.id})
    if data is None or meeting.minutes_name is None:
        raise NotFound(f"会议（{meeting.held_on:%Y-%m-%d} {meeting.kind}）没有上传会议记录")
    return Minutes(meeting.minutes_name, meeting.minutes_type or "application/octet-stream", bytes(data))


_LAST_HELD = """
SELECT org_id, kind, max(held_on) AS last_held FROM party_meeting
 WHERE org_id = ANY(:ids) AND cancelled_at IS NULL AND held_on <= :day
 GROUP BY org_id, kind"""


def schedule(session: Session, actor: Actor, rules: PartyRules, *, org: str | None = None, parent: str | None = None,
             day: dt.date | None = None, timezone: str = DEFAULT_TIMEZONE) -> list[Due]:  # fmt: skip
    """For one organisation, or each under ``parent`` (default: the reader's scope), as it was at the end of ``day``
    (today): every meeting kind it must hold, when it was last held (cancelled meetings do not count), the last day
    it is on time and whether it is overdue (the compliance check's rule)."""
    day = day or day_of(None, timezone)
    orgs = _orgs(session, actor, org, parent, as_of_moment=start_of(day + dt.timedelta(days=1), timezone))
    held = {(r.org_id, r.kind): r.last_held for r in session.execute(text(_LAST_HELD), {
        "ids": [o.id for o in orgs], "day": day})}  # fmt: skip
    out: list[Due] = []
    for o in orgs:
        for kind, months in rules.meetings_due(o.kind).items():
            last = held.get((o.id, kind))
            due = meeting_due(months, last, o.founded_on, day)
            out.append(Due(o.code, o.name, o.kind, kind, months, last, due.due_by, due.overdue, due.since))
    return out


def org_choices(session: Session, actor: Actor, *, parent: str | None = None) -> list[Org]:
    """The organisations in force under ``parent`` (default: the reader's scope), for a form's pick list."""
    reader_root(session, actor, parent)
    return list_orgs(session, actor, parent=parent)


# ------------------------------------------------------------------------------------------------ writing


def _people(value: int | None, label: str) -> int | None:
    if value is None:
        return None
    if not 0 <= value <= MAX_PEOPLE:
        raise InvalidInput(f"{label}不正确：{value}")
    return value


def record_meeting(
    session: Session,
    actor: Actor,
    *,
    org: str,
    kind: str,
    held_on: dt.date | None,
    topic: str | None = None,
    attendees: int | None = None,
    expected: int | None = None,
    minutes: Minutes | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Meeting:
    """Record a meeting an organisation in force held (not in the future, not before it was founded), with its
    attendance and, when given, the minutes (checked by :func:`check_minutes`)."""
    authorize(session, actor, "write")
    found = live_org(session, org, actor)
    authorize(session, actor, "write", Touches(grid_ids=org_reach(session, found.id)))
    term = required_term(PARTY_MEETING_KINDS, kind, "会议类型")
    if held_on is None:
        raise InvalidInput("请填写会议日期")
    day = past_day(held_on, timezone, "会议日期")
    if found.founded_on is not None and day < found.founded_on:
        raise InvalidInput(f"会议日期 {day} 早于 {found.name} 的成立日期 {found.founded_on}")
    came, wanted = _people(attendees, "实到人数"), _people(expected, "应到人数")
    if came is not None and wanted is not None and came > wanted:
        raise InvalidInput(f"实到人数（{came}）多于应到人数（{wanted}）")
    begin(session, actor)
    mid = session.execute(text(
        "INSERT INTO party_meeting (org_id, kind, held_on, topic, attendees, expected, minutes_name, minutes_type, "
        "minutes, created_by) VALUES (:org, :kind, :day, :topic, :came, :wanted, :mname, :mtype, :mdata, :by) "
        "RETURNING id"),
        {"org": found.id, "kind": term, "day": day, "topic": parse_text(topic, "会议主题"), "came": came,
         "wanted": wanted, "mname": minutes.name if minutes else None,
         "mtype": minutes.content_type if minutes else None, "mdata": minutes.data if minutes else None,
         "by": actor.audit_name}).scalar_one()  # fmt: skip
    return _lookup(session, int(mid))


def _writable(session: Session, meeting_id: int, actor: Actor) -> Meeting:
    authorize(session, actor, "write")
    meeting = _lookup(session, meeting_id, lock=True)
    authorize(session, actor, "write", Touches(grid_ids=org_reach(session, meeting.org_id)))
    if meeting.cancelled:
        raise Conflict(f"该会议已于 {meeting.cancelled_at:%Y-%m-%d} 取消（{meeting.cancel_reason}）")
    return meeting


def attach_minutes(session: Session, meeting_id: int, actor: Actor, minutes: Minutes) -> Meeting:
    """Attach (or replace) the minutes of a meeting that was not cancelled."""
    meeting = _writable(session, meeting_id, actor)
    begin(session, actor)
    session.execute(text("UPDATE party_meeting SET minutes_name = :n, minutes_type = :t, minutes = :d WHERE id = :i"),
                    {"n": minutes.name, "t": minutes.content_type, "d": minutes.data, "i": meeting.id})  # fmt: skip
    return _lookup(session, meeting.id)


def cancel_meeting(session: Session, meeting_id: int, actor: Actor, *, reason: str) -> Meeting:
    """Cancel a meeting recorded by mistake, with a reason: the row stays, it no longer counts."""
    why = parse_reason(reason)
    meeting = _writable(session, meeting_id, actor)
    begin(session, actor)
    session.execute(text("UPDATE party_meeting SET cancelled_at = now(), cancel_reason = :r WHERE id = :i"),
                    {"r": why, "i": meeting.id})  # fmt: skip
    return _lookup(session, meeting.id)
