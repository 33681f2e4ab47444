"""The data model. Geometries are stored in EPSG:4326; metric work uses geography or a projection.

Grid history: the live row of a grid keeps its ``id`` for life (so foreign keys never move).
Before an edit, the old state is copied to a history row (``lineage_id`` = the live id,
``valid_to`` set). A removed grid keeps its live row with ``valid_to`` set. "As of T" is
``valid_from <= T < coalesce(valid_to, infinity)`` over all rows, identity ``coalesce(lineage_id, id)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from gridgov import vocab

SRID = 4326

# The words stored in CHECKed columns come from the vocabulary (one home: gridgov.vocab).
LEVELS = vocab.LEVELS
# Staff roles and household kinds are checked against ``vocab_term`` by triggers (migration 0008): extendable.
MEMBER_TYPES = vocab.MEMBER_TYPES.terms
SEXES = vocab.SEXES.terms
INCIDENT_STATUSES = vocab.INCIDENT_STATUSES.terms
INCIDENT_LEVELS = vocab.INCIDENT_LEVELS.terms
SHIFTS = vocab.SHIFTS.terms
USER_ROLES = vocab.ROLES.terms
JOB_STATES = ("queued", "running", "done", "failed")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


def _geom_checks(name: str, col: str = "geom", nullable: bool = True) -> list[CheckConstraint]:
    valid = f"ST_IsValid({col})" if not nullable else f"{col} IS NULL OR ST_IsValid({col})"
    srid = f"ST_SRID({col}) = {SRID}" if not nullable else f"{col} IS NULL OR ST_SRID({col}) = {SRID}"
    return [CheckConstraint(valid, name=f"{name}_{col}_valid"), CheckConstraint(srid, name=f"{name}_{col}_srid")]


class Base(DeclarativeBase):
    """Declarative base; GiST indexes come from GeoAlchemy2's ``spatial_index=True``."""


# Columns whose change makes a new version of a record (migration 0007's trigger, gridgov_keep_version):
# everything but the identity, the derived grid_id and the bookkeeping below.
TRACKED = {
    "household": ("code", "address", "building_id", "kind", "geom"),
    "person": ("code", "household_id", "name", "id_number", "sex", "birth_year", "phone", "is_resident_rep",
               "is_volunteer", "is_party_member", "member_type", "sensitive_tags"),
    "building": ("code", "name", "address", "floors", "geom"),
    "staff": ("code", "name", "phone", "organisation"),
    "patrol_team": ("code", "name", "kind", "shift", "unit", "grid_id", "leader_staff_id"),
    "patrol_area": ("code", "name", "team_id", "geom", "route", "rota_grid_ids"),
    "resident_unit": ("code", "name", "kind", "address", "geom", "contact_name", "contact_phone", "has_party_org",
                      "member_of_org_id", "joined_on"),
    "party_org": ("code", "name", "kind", "form", "parent_id", "grid_ids", "unit_id", "secretary_person_id",
                  "secretary_staff_id", "founded_on", "phone"),
    "volunteer_team": ("code", "name", "kind", "grid_id", "org_id", "leader_person_id"),
    "party_duty_area": ("code", "name", "duty", "geom", "org_id", "person_ids"),
}  # fmt: skip


class Versioned:
    """History kept as grids keep it: the live row keeps its id for life; a trigger copies the old state to a
    history row (``lineage_id`` = live id, ``valid_to`` = when the change took effect) before each change;
    removal is a retirement (``valid_to`` and ``end_reason`` on the live row). Live: ``valid_to IS NULL``;
    as of T: ``valid_from <= T < coalesce(valid_to, infinity)``, identity ``coalesce(lineage_id, id)``."""

    @declared_attr
    def lineage_id(cls) -> Mapped[int | None]:  # noqa: N805
        """The live row this history row is a former state of."""
        return mapped_column(BigInteger, ForeignKey(f"{cls.__tablename__}.id"), index=True)  # type: ignore[attr-defined]

    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_by: Mapped[str | None] = mapped_column(Text)


def _versioned(name: str) -> tuple[Any, ...]:
    """The checks and indexes every versioned table has."""
    return (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name=f"{name}_validity_order"),
        CheckConstraint("lineage_id IS NULL OR valid_to IS NOT NULL", name=f"{name}_history_rows_closed"),
        CheckConstraint("lineage_id IS NOT NULL OR (valid_to IS NULL) = (end_reason IS NULL)",
                        name=f"{name}_retired_with_reason"),  # fmt: skip
        Index(f"{name}_code_identity_uq", "code", unique=True, postgresql_where=text("lineage_id IS NULL")),
        Index(f"{name}_live_idx", "id", postgresql_where=text("valid_to IS NULL")),
        Index(f"{name}_code_live_idx", "code", postgresql_where=text("valid_to IS NULL")),
    )


class VocabTerm(Base):
    """A term of a vocabulary an administrator may extend (gridgov.vocab.CONFIGURABLE): the built-in ones and
    the street's own, each with its synonyms; ``public`` says whether a staff role is shown on boards."""

    __tablename__ = "vocab_term"
    vocabulary: Mapped[str] = mapped_column(String(32), primary_key=True)
    term: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    synonyms: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    public: Mapped[bool | None] = mapped_column(Boolean)
    builtin: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("term ~ '\\S' AND length(term) <= 16", name="vocab_term_plain"),)


class Grid(Base):
    """A grid (网格) at one level, one version per row."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lineage_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, server_default="1", nullable=False)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_in("level", LEVELS), name="grid_level_known"),
        CheckConstraint("(level = 'street') = (parent_id IS NULL)", name="grid_parent_iff_not_street"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="grid_validity_order"),
        CheckConstraint("lineage_id IS NULL OR valid_to IS NOT NULL", name="grid_history_rows_closed"),
        *_geom_checks("grid", nullable=False),
        Index("grid_code_live_uq", "code", unique=True, postgresql_where=text("valid_to IS NULL")),
        Index("grid_level_live_idx", "level", postgresql_where=text("valid_to IS NULL")),
    )


class Staff(Versioned, Base):
    """A staff member (网格工作人员); contact details may appear on 公示 boards."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    organisation: Mapped[str | None] = mapped_column(Text)
    __table_args__ = _versioned("staff")


class GridRole(Base):
    """A role held by a staff member on a grid, in force on the days ``since <= day < until``; one person may
    hold several. Ending a role (a hand-over, a departure) sets ``until`` and a reason; the row stays."""

    __tablename__ = "grid_role"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    since: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    until: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("until IS NULL OR until >= since", name="grid_role_dates_order"),
        Index("grid_role_once", "grid_id", "staff_id", "role", unique=True, postgresql_where=text("until IS NULL")),
    )


class Building(Versioned, Base):
    """A building (楼栋): a polygon footprint or a point."""

    __tablename__ = "building"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    floors: Mapped[int | None] = mapped_column(SmallInteger)
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)
    grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    __table_args__ = (
        CheckConstraint("GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON', 'POINT')", name="building_geom_kind"),
        CheckConstraint("floors IS NULL OR floors BETWEEN 1 AND 200", name="building_floors_range"),
        *_geom_checks("building", nullable=False),
        *_versioned("building"),
    )


class Household(Versioned, Base):
    """A household (户) at a point."""

    __tablename__ = "household"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    building_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("building.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    __table_args__ = (
        *_geom_checks("household", nullable=False),
        *_versioned("household"),
    )


class Person(Versioned, Base):
    """A resident. Name, ID number, phone and tags are private: never on public outputs."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(Text, info={"private": True})
    id_number: Mapped[str | None] = mapped_column(String(18), info={"private": True})
    sex: Mapped[str | None] = mapped_column(String(2))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    phone: Mapped[str | None] = mapped_column(String(32), info={"private": True})
    is_resident_rep: Mapped[bool] = mapped_column(Boolean, server_default="false")
    is_volunteer: Mapped[bool] = mapped_column(Boolean, server_default="false")
    is_party_member: Mapped[bool] = mapped_column(Boolean, server_default="false")
    member_type: Mapped[str | None] = mapped_column(String(8))
    sensitive_tags: Mapped[list[str] | None] = mapped_column(ARRAY(Text), info={"private": True})
    __table_args__ = (
        CheckConstraint("sex IS NULL OR " + _in("sex", SEXES), name="person_sex_known"),
        CheckConstraint(
            "(is_party_member AND member_type IS NOT NULL AND " + _in("member_type", MEMBER_TYPES) + ") OR "
            "(NOT is_party_member AND member_type IS NULL)",
            name="person_member_type_iff_member",
        ),
        CheckConstraint("birth_year IS NULL OR birth_year BETWEEN 1880 AND 2100", name="person_birth_year"),
        Index("person_party_idx", "household_id", postgresql_where=text("is_party_member")),
        *_versioned("person"),
    )


class PartyContact(Base):
    """党员联系户: a Party member linked to a household (1–3 per member), since a day."""

    __tablename__ = "party_contact"
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    created_by: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """An incident (事件) in the 数字城管 workflow: its place, category, status (the last step done), level (who
    handles it), the staff it is dispatched to and the deadline of the step it waits for. ``version`` counts the
    steps: two people acting at once, one wins. Its timeline is ``incident_event``."""

    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    category: Mapped[str] = mapped_column(Text)
    subcategory: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(8), server_default="上报")
    level: Mapped[str] = mapped_column(String(8), server_default="网格")
    grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    source: Mapped[str | None] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(4), server_default="一般")
    address: Mapped[str | None] = mapped_column(Text)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    reported_by: Mapped[str | None] = mapped_column(Text)
    assignee_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"), index=True)
    step_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    review_on: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    __table_args__ = (
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="incident_status_known"),
        CheckConstraint(_in("level", INCIDENT_LEVELS), name="incident_level_known"),
        CheckConstraint(_in("urgency", vocab.INCIDENT_URGENCIES.terms), name="incident_urgency_known"),
        Index("incident_open_deadline_idx", "deadline",
              postgresql_where=text(f"status NOT IN {vocab.INCIDENT_ENDED!r}")),
        *_geom_checks("incident", nullable=False),
    )


class IncidentEvent(Base):
    """A step of a case's timeline: who did what when, the status and level before and after, the staff it was
    dispatched to, a note, the deadline of the step it started and whether the step it ended was overdue."""

    __tablename__ = "incident_event"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    action: Mapped[str] = mapped_column(String(8))
    from_status: Mapped[str | None] = mapped_column(String(4))
    to_status: Mapped[str] = mapped_column(String(4))
    from_level: Mapped[str | None] = mapped_column(String(4))
    to_level: Mapped[str] = mapped_column(String(4))
    actor: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("app_user.id"))
    staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    overdue: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    review_on: Mapped[dt.date | None] = mapped_column(Date)


class IncidentPhoto(Base):
    """A photo of a case, attached to the step that took it (上报: before, 处置: after), with a thumbnail; kept
    in the database so a step and its photos are written in one transaction and backed up together."""

    __tablename__ = "incident_photo"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incident_event.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IncidentTimeLimit(Base):
    """A step's time limit in working days, for a category ('' = every category) and urgency ('' = either); the
    most specific row applies."""

    __tablename__ = "incident_time_limit"
    category: Mapped[str] = mapped_column(String(16), primary_key=True, server_default="")
    step: Mapped[str] = mapped_column(String(4), primary_key=True)
    urgency: Mapped[str] = mapped_column(String(4), primary_key=True, server_default="")
    working_days: Mapped[float] = mapped_column(Numeric(6, 3))
    updated_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("working_days > 0 AND working_days <= 365", name="incident_time_limit_positive"),
        CheckConstraint(_in("step", vocab.INCIDENT_STEPS.terms), name="incident_time_limit_step_known"),
        CheckConstraint(_in("urgency", ("", *vocab.INCIDENT_URGENCIES.terms)),
                        name="incident_time_limit_urgency_known"),
    )


class IncidentDispatchRule(Base):
    """The staff role a category's cases are dispatched to by default (a category without a rule: 网格员)."""

    __tablename__ = "incident_dispatch_rule"
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    staff_role: Mapped[str] = mapped_column(String(16))
    updated_by: Mapped[str | None] = mapped_column(Text)


class WorkCalendar(Base):
    """A day that is not as the week says: a public holiday (休) or a make-up working day (班)."""

    __tablename__ = "work_calendar"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(2))
    name: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint("kind IN ('休', '班')", name="work_calendar_kind_known"),)


class PatrolTeam(Versioned, Base):
    """A patrol team (巡逻队): its kind, usual shift, the unit it comes from (notified each afternoon), the grid
    it serves (a community or the street: its scope) and its leader; history kept like records'."""

    __tablename__ = "patrol_team"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(16))
    shift: Mapped[str | None] = mapped_column(String(4))
    unit: Mapped[str | None] = mapped_column(Text)
    grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    leader_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    __table_args__ = (
        CheckConstraint("shift IS NULL OR " + _in("shift", vocab.SHIFTS.terms), name="patrol_team_shift_known"),
        *_versioned("patrol_team"),
    )


class PatrolTeamMember(Base):
    """A staff member (cadre, volunteer) in a team, on the days ``since <= day < until``, as 队长 or 队员."""

    __tablename__ = "patrol_team_member"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("patrol_team.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8), server_default="队员")
    since: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    until: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("role", vocab.TEAM_MEMBER_ROLES.terms), name="patrol_team_member_role_known"),
        CheckConstraint("until IS NULL OR until >= since", name="patrol_team_member_dates_order"),
        Index("patrol_team_member_once", "team_id", "staff_id", unique=True, postgresql_where=text("until IS NULL")),
    )


class PatrolArea(Versioned, Base):
    """A patrol area (巡逻区域), with its planned route where one exists; it may span several communities, which
    then lead it in turn (``rota_grid_ids``: the first leads in odd months, the second in even months)."""

    __tablename__ = "patrol_area"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("patrol_team.id", ondelete="CASCADE"),
                                                index=True)  # fmt: skip
    name: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    route: Mapped[Any | None] = mapped_column(Geometry("LINESTRING", srid=SRID, spatial_index=True))
    rota_grid_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    __table_args__ = (
        *_geom_checks("patrol_area", nullable=False),
        *_geom_checks("patrol_area", "route"),
        *_versioned("patrol_area"),
    )


class PatrolTrack(Base):
    """A recorded walk: a team's (or one member's) night patrol of one shift (上半夜 20:00–23:30, 下半夜
    23:30–06:00), or a grid worker's daytime inspection (日巡查, no shift). ``geom``: the walked parts (a gap in
    the recording splits it)."""

    __tablename__ = "patrol_track"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("patrol_team.id", ondelete="CASCADE"),
                                                index=True)  # fmt: skip
    staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8), server_default=vocab.NIGHT_PATROL)
    night: Mapped[dt.date] = mapped_column(Date, index=True)
    shift: Mapped[str | None] = mapped_column(String(4))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("shift IS NULL OR " + _in("shift", vocab.SHIFTS.terms), name="patrol_track_shift_known"),
        CheckConstraint(_in("kind", vocab.TRACK_KINDS.terms), name="patrol_track_kind_known"),
        CheckConstraint(f"(kind = '{vocab.DAY_INSPECTION}') = (shift IS NULL)", name="patrol_track_shift_if_night"),
        CheckConstraint("team_id IS NOT NULL OR staff_id IS NOT NULL", name="patrol_track_walker"),
        CheckConstraint("ended_at >= started_at", name="patrol_track_time_order"),
        UniqueConstraint("team_id", "staff_id", "night", "shift", "started_at", name="patrol_track_once"),
        *_geom_checks("patrol_track", nullable=False),
    )


class PatrolPoint(Base):
    """A timed point of a track, so the time spent inside each grid can be computed; ``flag`` marks what the
    cleaning found (gridgov.vocab.POINT_FLAGS): a jump (left out) or the first fix after a gap."""

    __tablename__ = "patrol_point"
    track_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrol_track.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    t: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    elevation: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[str | None] = mapped_column(String(4))
    __table_args__ = (
        CheckConstraint("flag IS NULL OR " + _in("flag", vocab.POINT_FLAGS.terms), name="patrol_point_flag_known"),
        *_geom_checks("patrol_point", nullable=False),
    )


class PatrolRoster(Base):
    """Who patrols on one night and shift (排班): a team, its area (and the community leading it that month),
    the leader present, the on-duty cadre (值班领导) and the community staff member (社区值班人员); made by the
    rules of a month (``source`` 规则) or by hand (手工)."""

    __tablename__ = "patrol_roster"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    night: Mapped[dt.date] = mapped_column(Date, index=True)
    shift: Mapped[str] = mapped_column(String(4))
    team_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("patrol_team.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("patrol_area.id"))
    lead_grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"))
    leader_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    duty_cadre_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    community_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    source: Mapped[str] = mapped_column(String(4), server_default="手工")
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (
        CheckConstraint(_in("shift", vocab.SHIFTS.terms), name="patrol_roster_shift_known"),
        CheckConstraint(_in("source", vocab.ROSTER_SOURCES.terms), name="patrol_roster_source_known"),
        UniqueConstraint("night", "shift", "team_id", name="patrol_roster_once"),
    )


class RosterChange(Base):
    """A change to a rostered shift: 请假 (``staff_id`` away) or 替班 (``substitute_staff_id`` stands in for
    ``staff_id``), with a note; kept, never overwritten."""

    __tablename__ = "roster_change"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    roster_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("patrol_roster.id", ondelete="CASCADE"),
                                           index=True)  # fmt: skip
    kind: Mapped[str] = mapped_column(String(4))
    staff_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("staff.id"))
    substitute_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.ROSTER_CHANGES.terms), name="roster_change_kind_known"),
        CheckConstraint("(kind = '替班') = (substitute_staff_id IS NOT NULL)", name="roster_change_substitute"),
    )


class ResidentUnit(Versioned, Base):
    """A resident unit (驻区单位) or 两新 organisation: its place (assigned to a grid by the boundary rule), its
    Party contact (personal data), whether it has a Party organisation, and the 大党委 it joined as a member unit."""

    __tablename__ = "resident_unit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)
    grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(Text, info={"private": True})
    contact_phone: Mapped[str | None] = mapped_column(String(32), info={"private": True})
    has_party_org: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    member_of_org_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("party_org.id", use_alter=True))
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.UNIT_KINDS.terms), name="resident_unit_kind_known"),
        *_geom_checks("resident_unit"),
        *_versioned("resident_unit"),
    )


class PartyOrg(Versioned, Base):
    """A Party organisation (党委, 党总支, 党支部, 党小组): its form, parent, the grids it is built on, the unit it
    belongs to (驻区单位党组织), its secretary (a resident member or a staff member) and founding date;
    dissolution is a retirement with its date and reason."""

    __tablename__ = "party_org"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(4))
    form: Mapped[str] = mapped_column(String(8))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("party_org.id"), index=True)
    grid_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'::bigint[]"))
    unit_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("resident_unit.id"))
    secretary_person_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("person.id"))
    secretary_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    phone: Mapped[str | None] = mapped_column(String(32))
    founded_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.PARTY_ORG_KINDS.terms), name="party_org_kind_known"),
        CheckConstraint(_in("form", vocab.PARTY_ORG_FORMS.terms), name="party_org_form_known"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="party_org_not_own_parent"),
        Index("party_org_grid_ids_idx", "grid_ids", postgresql_using="gin"),
        *_versioned("party_org"),
    )


class PartyOrgPost(Base):
    """A committee post of an organisation held by a member or a staff member (a 兼职委员 may come from a member
    unit), on the days ``since <= day < until``."""

    __tablename__ = "party_org_post"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("party_org.id", ondelete="CASCADE"), index=True)
    post: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("person.id"))
    staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    unit_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("resident_unit.id"))
    since: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    until: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (staff_id IS NULL)", name="party_org_post_holder"),
        CheckConstraint("until IS NULL OR until >= since", name="party_org_post_dates_order"),
    )


class PartyMembership(Base):
    """A Party member's organisation on the days ``since <= day < until`` (one at a time; moves keep history)."""

    __tablename__ = "party_membership"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("person.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("party_org.id"), index=True)
    since: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    until: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("until IS NULL OR until >= since", name="party_membership_dates_order"),
        Index("party_membership_once", "person_id", unique=True, postgresql_where=text("until IS NULL")),
    )


class PartyRegister(Base):
    """A member's registers: when they joined the Party, 在职党员报到 (employer, its Party organisation, the day
    they reported to the community), 流动党员 (direction, from/to, 活动证 and how they are managed) and their
    consent to 亮身份 (shown by name on public boards). Personal data."""

    __tablename__ = "party_register"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    joined_party_on: Mapped[dt.date | None] = mapped_column(Date)
    employer: Mapped[str | None] = mapped_column(Text)
    employer_org: Mapped[str | None] = mapped_column(Text)
    reported_on: Mapped[dt.date | None] = mapped_column(Date)
    flow: Mapped[str | None] = mapped_column(String(2))
    flow_place: Mapped[str | None] = mapped_column(Text)
    certificate_no: Mapped[str | None] = mapped_column(String(40))
    certificate_on: Mapped[dt.date | None] = mapped_column(Date)
    flow_mode: Mapped[str | None] = mapped_column(String(2))
    shows_identity: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("flow IS NULL OR " + _in("flow", vocab.PARTY_FLOWS.terms), name="party_register_flow_known"),
        CheckConstraint("flow_mode IS NULL OR " + _in("flow_mode", vocab.PARTY_FLOW_MODES.terms),
                        name="party_register_flow_mode_known"),
    )


class PartyContactVisit(Base):
    """A visit of a member to a household they are linked to (党员联系户走访)."""

    __tablename__ = "party_contact_visit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("person.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("household.id", ondelete="CASCADE"))
    visited_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VolunteerTeam(Versioned, Base):
    """A volunteer team (志愿服务队) of a grid: its kind, the organisation that leads it and its leader."""

    __tablename__ = "volunteer_team"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(8))
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grid.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("party_org.id"))
    leader_person_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("person.id"))
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.VOLUNTEER_TEAM_KINDS.terms), name="volunteer_team_kind_known"),
        *_versioned("volunteer_team"),
    )


class VolunteerTeamMember(Base):
    """A resident in a volunteer team on the days ``since <= day < until``."""

    __tablename__ = "volunteer_team_member"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("volunteer_team.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("person.id", ondelete="CASCADE"))
    since: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    until: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("until IS NULL OR until >= since", name="volunteer_team_member_dates_order"),
        Index("volunteer_team_member_once", "team_id", "person_id", unique=True,
              postgresql_where=text("until IS NULL")),
    )


class VolunteerActivity(Base):
    """An activity of a volunteer team: the day, hours, what, how many took part."""

    __tablename__ = "volunteer_activity"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("volunteer_team.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Numeric(5, 1))
    title: Mapped[str] = mapped_column(Text)
    participants: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("hours > 0 AND hours <= 24", name="volunteer_activity_hours"),
        CheckConstraint("participants IS NULL OR participants >= 0", name="volunteer_activity_participants"),
    )


class PartyMeeting(Base):
    """A meeting of an organisation (三会一课 and others): kind, day, topic, attendance and the minutes file; a
    meeting recorded by mistake is cancelled with a reason, not deleted."""

    __tablename__ = "party_meeting"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("party_org.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    held_on: Mapped[dt.date] = mapped_column(Date)
    topic: Mapped[str | None] = mapped_column(Text)
    attendees: Mapped[int | None] = mapped_column(Integer)
    expected: Mapped[int | None] = mapped_column(Integer)
    minutes_name: Mapped[str | None] = mapped_column(Text)
    minutes_type: Mapped[str | None] = mapped_column(String(100))
    minutes: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.PARTY_MEETING_KINDS.terms), name="party_meeting_kind_known"),
        CheckConstraint("attendees IS NULL OR attendees >= 0", name="party_meeting_attendees"),
        CheckConstraint("(cancelled_at IS NULL) = (cancel_reason IS NULL)", name="party_meeting_cancel_reason"),
    )


class PartyDutyArea(Versioned, Base):
    """A 党员责任区: a polygon with its duty, the organisation it belongs to and the members responsible."""

    __tablename__ = "party_duty_area"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    duty: Mapped[str] = mapped_column(String(8))
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    org_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("party_org.id"))
    person_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'::bigint[]"))
    __table_args__ = (
        CheckConstraint(_in("duty", vocab.PARTY_DUTIES.terms), name="party_duty_area_duty_known"),
        *_geom_checks("party_duty_area", nullable=False),
        *_versioned("party_duty_area"),
    )


class DataRevision(Base):
    """A counter per kind of source data (``grid``, ``patrol``), raised by statement triggers on every write, so
    figures derived from it (stored per-track statistics, cached coverage) know when they are stale. A row in a
    table, not a sequence: it follows the transaction, so a reader's snapshot sees the revision of its data."""

    __tablename__ = "data_revision"
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class TrackGridStat(Base):
    """Metres, seconds and entries of one track inside one leaf grid (the rule of ``track_grid_stats.sql``),
    computed when the track is imported or a grid near it changes; ``grid_rev`` on the track's footprint row
    tells whether they are still current."""

    __tablename__ = "track_grid_stat"
    track_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrol_track.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True)
    length_m: Mapped[float] = mapped_column(Float)
    seconds_inside: Mapped[float] = mapped_column(Float)
    entries: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("track_grid_stat_grid_idx", "grid_id"),)


class TrackDerived(Base):
    """Per track: the grid revision its statistics were computed against (NULL = never)."""

    __tablename__ = "track_derived"
    track_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrol_track.id", ondelete="CASCADE"), primary_key=True
    )
    grid_rev: Mapped[int] = mapped_column(BigInteger)


class TrackFootprint(Base):
    """A track buffered by ``buffer_m`` in the metric projection ``srid`` (the costly half of coverage), kept
    for the few buffers recently asked for."""

    __tablename__ = "track_footprint"
    track_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrol_track.id", ondelete="CASCADE"), primary_key=True
    )
    buffer_m: Mapped[float] = mapped_column(Float, primary_key=True)
    srid: Mapped[int] = mapped_column(Integer, primary_key=True)
    geom: Mapped[Any] = mapped_column(Geometry(geometry_type=None, srid=-1, spatial_index=False))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NightFootprint(Base):
    """The union of one night's track footprints (for a buffer and projection): a period's coverage unions these
    few shapes instead of every track. ``track_ids`` names the footprints it was made from, so a night whose
    tracks changed is seen and made again."""

    __tablename__ = "night_footprint"
    night: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    buffer_m: Mapped[float] = mapped_column(Float, primary_key=True)
    srid: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    geom: Mapped[Any] = mapped_column(Geometry(geometry_type=None, srid=-1, spatial_index=False))


class DerivedCache(Base):
    """Results computed from source data (coverage of a period …), keyed by what was asked and valid only
    while the source revisions are those stored."""

    __tablename__ = "derived_cache"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    revision: Mapped[str] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GridFinding(Base):
    """A stored validation finding (overlap, gap, …) shown to staff until a later validation clears it."""

    __tablename__ = "grid_finding"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    message: Mapped[str] = mapped_column(Text)
    location: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True))
    area_m2: Mapped[float | None] = mapped_column(Float)
    length_m: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[Any | None] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True))
    source: Mapped[str] = mapped_column(String(16))
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (Index("grid_finding_codes_idx", "codes", postgresql_using="gin"),)


class ApiToken(Base):
    """An API token; only its SHA-256 is stored. Roles and scopes as users' (``vocab.ROLES``)."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    scope_grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint(_in("role", USER_ROLES), name="api_token_role_known"),)


class AppUser(Base):
    """A person who logs in to the workspace: a role and a scope as a token has; the password only as an argon2
    hash. Never deleted (disabled instead), so the audit log's names stay meaningful."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    scope_grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grid.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    __table_args__ = (
        CheckConstraint(_in("role", USER_ROLES), name="app_user_role_known"),
        CheckConstraint("username ~ '^[A-Za-z0-9_.@-]{2,64}$'", name="app_user_username_plain"),
        Index("app_user_username_key", func.lower(text("username")), unique=True),
    )


class UserSession(Base):
    """A logged-in browser: the cookie carries a random secret, only its SHA-256 is stored; revoked on logout,
    on a password change or when the user is disabled."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """A long task run in the background (a street's ledger, a batch of boards, a large import): its progress for
    the page that polls it, and the file it made."""

    __tablename__ = "job"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    progress: Mapped[float] = mapped_column(Float, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    result_path: Mapped[str | None] = mapped_column(Text)
    result_name: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str | None] = mapped_column(Text)  # host:pid of the server process running it
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATES), name="job_status_known"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="job_progress_fraction"),
    )


class AuditLog(Base):
    """Who wrote what, when: filled by triggers on every audited table (see the migration)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[int | None] = mapped_column(BigInteger)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    __table_args__ = (Index("audit_log_row_idx", "table_name", "row_id"),)


class Installation(Base):
    """The installation's street, recorded by ``gridgov init`` (one row): the name the street goes by here, the
    official one where the bundled division list knows the code, and the list's source and version."""

    __tablename__ = "installation"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    street_code: Mapped[str] = mapped_column(String(32))
    street_name: Mapped[str] = mapped_column(Text)
    official_name: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    division_source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint("id = 1", name="installation_one_row"),)


class Division(Base):
    """An official division (NBS 统计用区划代码) of the installation's street: the street itself and its
    communities (村级), as the bundled list gives them; grids are drawn by users, these only name them."""

    __tablename__ = "division"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(12))
    __table_args__ = (CheckConstraint("level IN ('street', 'community')", name="division_level_known"),)


AUDITED_TABLES = (
    "grid",
    "staff",
    "grid_role",
    "building",
    "household",
    "person",
    "party_contact",
    "incident",
    "patrol_team",
    "patrol_area",
    "patrol_track",
    "api_token",
)
