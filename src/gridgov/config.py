"""Settings from the environment (prefix ``GRIDGOV_``) and an optional ``.env`` file."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_T = TypeVar("_T", bound=BaseSettings)


class _Group(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", env_file=".env", extra="ignore")


class DatabaseSettings(_Group):
    """Where the database is, and how long a request's statements may run."""

    home: Path = Field(default=Path(".gridgov"), description="Where the embedded PostGIS cluster lives.")
    database_url: str | None = Field(
        default=None, description="An external PostgreSQL/PostGIS server; when set, the embedded one is unused."
    )
    database_name: str = "gridgov"
    pg_user: str = Field(default="postgres", description="Unprivileged OS user that runs the embedded server as root.")
    statement_timeout_s: float = Field(
        default=60, ge=0, description="API requests' statements are cancelled after this many seconds (0 = never)."
    )

    @property
    def home_abs(self) -> Path:
        """Absolute GRIDGOV_HOME."""
        return self.home.expanduser().resolve()


class ServerSettings(_Group):
    """The web server: address, uploads, per-client limits, and where data and outputs live."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: int = 50
    client_concurrency: int = Field(
        default=2, description="Expensive requests (ledger, boards, maps) one client may have running at once."
    )
    geodata_dir: Path = Path("geodata")
    maps_dir: Path = Path("maps")


class AuthSettings(_Group):
    """Logins and browser sessions of the workspace."""

    secret_key: str | None = Field(
        default=None,
        description="Signs the session and CSRF cookies; default: a random key kept in GRIDGOV_HOME/secret_key.",
    )
    session_hours: float = Field(default=12, gt=0, description="A login lasts at most this many hours.")
    session_idle_minutes: float = Field(default=120, gt=0, description="A login ends after this long unused.")
    cookie_secure: bool = Field(default=False, description="Send cookies only over HTTPS (set it behind HTTPS).")
    login_max_failures: int = Field(default=5, ge=1, description="Wrong passwords in a row before a lock.")
    login_lock_minutes: float = Field(default=15, gt=0, description="How long a locked account waits.")


class ClockSettings(_Group):
    """The local clock: dates users type and shifts are in this zone."""

    timezone: str = "Asia/Shanghai"


class GridSettings(_Group):
    """Grid topology, codes and size limits."""

    tolerance_m: float = Field(default=0.5, description="Topology tolerance in metres.")
    min_gap_area_m2: float = Field(default=1.0, description="Smaller gaps between sibling grids are not reported.")
    sliver_width_m: float = Field(default=2.0, description="Grids (or parts) thinner than this are slivers.")
    allowed_gaps_path: Path | None = Field(
        default=None, description="Polygons (rivers, parks, roads) where siblings may leave their parent uncovered."
    )
    code_scheme: str | None = Field(default=None, description="JSON code scheme; default: NBS 9/12 digits + serials.")
    max_grid_vertices: int = Field(
        default=20_000, ge=4, description="Vertices one grid may have; larger boundaries must be simplified first."
    )
    locate_max_age_s: float = Field(
        default=1.0, ge=0, description="Point lookups (/api/locate) may answer from grids this many seconds old."
    )
    import_max_distance_m: float = Field(
        default=20_000.0, gt=0,
        description="Imported points (households, buildings, incidents, tracks) farther than this from every live "
        "grid are refused: a wrong coordinate system or swapped columns.",
    )


class PatrolSettings(_Group):
    """Patrol coverage, track cleaning, attendance (考勤) and the night allowance."""

    patrol_buffer_m: float = 25.0
    coverage_threshold: float = Field(default=0.5, description="Grids with patrol coverage below this are highlighted.")
    late_grace_minutes: float = Field(
        default=15.0, ge=0, le=240, description="迟到: first fix inside the area later than the shift start plus this."
    )
    early_grace_minutes: float = Field(
        default=15.0, ge=0, le=240, description="早退: last fix inside the area earlier than the shift end minus this."
    )
    # Phones that record only when moving leave minutes between fixes while someone stands still. A fix faster
    # than max_speed_kmh is a jump only when the track comes back (a spike): a patrol car at 60 km/h is travel.
    max_speed_kmh: float = Field(
        default=40.0, gt=0, le=500, description="A fix reached faster than this, off the way and back, is a GPS jump."
    )
    max_gap_minutes: float = Field(
        default=10.0, gt=0, le=600, description="A longer pause between fixes is a gap in the recording (not walked)."
    )
    allowance_per_night: float = Field(default=80.0, ge=0, description="Night allowance per person and shift (元).")
    probation_months: int = Field(
        default=0, ge=0, le=24, description="Months after joining a team without the allowance (试用期); 0: none."
    )


class IncidentSettings(_Group):
    """The incident loop (事件处置): working hours for deadlines, photos, escalation and what the public sees."""

    workday_start: dt.time = Field(default=dt.time(8, 30), description="Working hours start (deadlines count them).")
    workday_end: dt.time = Field(default=dt.time(17, 30), description="Working hours end.")
    photo_max_mb: float = Field(default=10.0, gt=0, le=50, description="Largest photo a step may carry.")
    photos_per_step: int = Field(default=6, ge=1, le=20, description="Photos one step may carry.")
    escalate_overdue: bool = Field(
        default=True, description="Cases whose step is overdue at 网格 or 社区 level go up a level by themselves."
    )
    sweep_minutes: float = Field(
        default=5.0, gt=0, description="How often the server looks for overdue cases (escalation, marks)."
    )
    public_round_m: float = Field(
        default=100.0, ge=0, description="Public outputs (Open311, public map) round a case's place to this grid."
    )


class PartySettings(_Group):
    """The rules Party building on the grid is checked against (党建网格); cities differ, so they are settings."""

    party_general_branch_min: int = Field(default=50, ge=1, description="Members from which a 党总支 is formed.")
    party_committee_over: int = Field(default=100, ge=1, description="Members above which a 党委 is formed.")
    party_branch_min: int = Field(default=3, ge=1, description="Fewest members of a 党支部.")
    party_contacts_min: int = Field(default=1, ge=0, description="Fewest households a member links (党员联系户).")
    party_contacts_max: int = Field(default=3, ge=1, description="Most households a member links.")
    party_volunteer_share: float = Field(default=0.5, ge=0, le=1, description="Share of members who volunteer.")
    volunteer_team_min: int = Field(default=15, ge=1, description="Fewest people in a volunteer team.")
    volunteer_hours_min: float = Field(default=4.0, gt=0, description="A team's monthly activity lasts at least this.")
    party_ageing_age: int = Field(default=60, ge=30, le=100, description="Members this old or older count as older.")
    party_ageing_share: float = Field(
        default=0.5, ge=0, le=1, description="An organisation is ageing when older members exceed this share."
    )


class MapSettings(_Group):
    """Maps: basemaps, vector tiles and the local front-end assets."""

    basemap: str = Field(
        default="none", description="Map background: none | tianditu | intranet | osm | amap (amap tiles are GCJ-02)."
    )
    tianditu_key: str | None = Field(default=None, description="天地图 key (tk), needed for basemap=tianditu.")
    basemap_url: str | None = Field(
        default=None, description="Intranet tile URL template with {z}/{x}/{y} (and {s}), for basemap=intranet."
    )
    basemap_gcj02: bool = Field(default=False, description="The intranet tiles are in GCJ-02 (shift overlays).")
    basemap_attribution: str = Field(default="内网底图", description="Attribution shown for the intranet tiles.")
    mvt_min_grids: int = Field(default=10_000, description="Served maps with this many grids use MVT vector tiles.")
    node_modules: Path = Path("node_modules")


class BoardSettings(ClockSettings):
    """公示 boards."""

    board_hotline: str = Field(default="12345", description="监督电话 printed on 公示 boards.")
    board_issuer: str | None = Field(default=None, description="Issuer line on boards (default: the street's name).")
    board_duties_path: Path | None = Field(
        default=None, description="Text file with the duties on boards (one per line; {grid}/{community}/{street})."
    )
    board_qr_url: str | None = Field(
        default=None, description="URL template for the board's QR code, e.g. http://10.1.2.3:8000/maps/grid?parent={code}"
    )
    board_show_counts: bool = Field(default=False, description="Print the grid's 户数/人数/党员数 on boards.")


class OpsSettings(_Group):
    """Running an installation: server processes, log files and scheduled backups."""

    workers: int = Field(default=1, ge=1, le=64, description="Web server processes behind the one port.")
    log_dir: Path | None = Field(default=None, description="Log files; default: GRIDGOV_HOME/logs.")
    log_level: str = Field(default="INFO", description="Lowest level written to the log files.")
    log_max_mb: float = Field(default=20, gt=0, description="A log file is rotated when it reaches this size.")
    log_backups: int = Field(default=10, ge=1, description="Rotated log files kept.")
    backup_dir: Path | None = Field(default=None, description="Scheduled backups; default: GRIDGOV_HOME/backups.")
    backup_keep: int = Field(default=14, ge=1, description="Scheduled backups kept (older ones are deleted).")
    backup_time: str = Field(default="*-*-* 02:30:00", description="When the backup timer runs (systemd OnCalendar).")


class Settings(
    DatabaseSettings, ServerSettings, AuthSettings, GridSettings, PatrolSettings, IncidentSettings, PartySettings,
    MapSettings, BoardSettings, OpsSettings,
):
    """Every tunable of gridgov (the clock comes with the boards' group), read once per process by the faces
    (API, CLI). Services take the group they need (a ``Settings`` is each of them) or plain values, and never
    read the environment themselves."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", env_file=".env", extra="ignore")


def defaults(group: type[_T]) -> _T:
    """A settings group with its documented defaults, not read from the environment (for services called
    without settings, e.g. in tests and benchmarks)."""
    return group.model_construct()  # type: ignore[return-value]


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings, for the faces only (cached; tests clear the cache after changing the environment)."""
    return Settings()
