"""A new installation's street (``gridgov init``): its record, its official communities, and what a page shows
of them before any grid is drawn.

The database holds one street (the sample street aside, which ``gridgov sample remove`` takes out): ``init``
records it once, with the name and communities the bundled division list (:mod:`gridgov.ops.divisions`) gives
for its code, and refuses another street afterwards. It never loads the sample.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.errors import Conflict, InvalidInput
from gridgov.grids.codes import CodeScheme, check_code
from gridgov.ops import divisions

# The street the sample generator draws (gridgov.sample.generate.constants.STREET_CODE), named in messages.
SAMPLE_STREET = "610103006"


@dataclass
class InitResult:
    """What ``init`` recorded: the street, its official name and communities, and what was there already."""

    street_code: str
    street_name: str
    official_name: str | None
    district: str | None
    division_source: str | None
    communities: list[tuple[str, str]] = field(default_factory=list)
    first_time: bool = True  # False: init had been run for this street before (nothing refused, list refreshed)
    grids: int = 0  # live grids of the street already in the database

    @property
    def name_differs(self) -> bool:
        """The name given differs from the official one (the given one is kept)."""
        return self.official_name is not None and self.official_name != self.street_name

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "street": {"code": self.street_code, "name": self.street_name, "official_name": self.official_name,
                       "district": self.district, "name_differs": self.name_differs},
            "communities": [{"code": c, "name": n} for c, n in self.communities],
            "division_source": self.division_source,
            "first_time": self.first_time,
            "grids": self.grids,
        }  # fmt: skip


@dataclass(frozen=True)
class Community:
    """An official community of the installation's street, and its live grid where one is drawn."""

    code: str
    name: str
    grid_name: str | None


@dataclass(frozen=True)
class InstallationInfo:
    """The installation's street as recorded by ``init``, with its official communities."""

    street_code: str
    street_name: str
    official_name: str | None
    district: str | None
    division_source: str | None
    created_at: dt.datetime
    communities: list[Community]

    @property
    def drawn(self) -> int:
        """Official communities that have a grid."""
        return sum(c.grid_name is not None for c in self.communities)


_LIVE_STREETS = text("""SELECT code, name FROM grid WHERE level = 'street' AND valid_to IS NULL AND lineage_id IS NULL
                        ORDER BY code""")  # fmt: skip


def init_installation(
    session: Session,
    actor: Actor,
    code: str,
    name: str | None = None,
    *,
    node_modules: Path | None = None,
    scheme: CodeScheme | None = None,
) -> InitResult:
    """Record the installation's street ``code`` (idempotent): its name (``name``, else the official one) and the
    official communities from the division list. Administrators only. ``InvalidInput`` for a code that breaks the
    street rule, or one the list does not know without a name; ``Conflict`` when the database already belongs to
    another street (an earlier ``init``, or another street's grids)."""
    authorize(session, actor, "admin", anywhere=True)
    code = code.strip()
    reason = check_code(code, "street", None, scheme)
    if reason:
        raise InvalidInput(f"街道编码无效：{reason}（应为国家统计局统计用区划代码的 9 位乡级代码，如 610103006）")
    given = (name or "").strip() or None
    found = divisions.lookup_street(code, node_modules)
    if found is None and given is None:
        raise InvalidInput(f"行政区划代码表中没有街道编码 {code}：请用 --name 填写街道名称（或检查编码）")
    before = session.execute(text("SELECT street_code, street_name FROM installation WHERE id = 1")).one_or_none()
    if before is not None and before.street_code != code:
        raise Conflict(f"本系统已初始化为街道 {before.street_code}（{before.street_name}），不能再初始化为 {code}",
                       details={"street": before.street_code})  # fmt: skip
    others = [(c, n) for c, n in session.execute(_LIVE_STREETS) if c != code]
    if others:
        listed = "、".join(f"{c}（{n}）" for c, n in others)
        hint = "：先运行 gridgov sample remove 删除样例街道" if any(c == SAMPLE_STREET for c, _ in others) else ""
        raise Conflict(f"数据库中已有其他街道的网格 {listed}，不能初始化为 {code}{hint}",
                       details={"streets": [c for c, _ in others]})  # fmt: skip
    street_name = given or (before.street_name if before is not None else None) or (found.name if found else code)
    source = divisions.source(node_modules) if found is not None else None
    session.execute(
        text("""INSERT INTO installation (id, street_code, street_name, official_name, district, division_source,
                                          created_by)
                VALUES (1, :code, :name, :official, :district, :source, :actor)
                ON CONFLICT (id) DO UPDATE SET street_name = EXCLUDED.street_name,
                       official_name = EXCLUDED.official_name, district = EXCLUDED.district,
                       division_source = EXCLUDED.division_source
                 WHERE (installation.street_name, installation.official_name, installation.district,
                        installation.division_source) IS DISTINCT FROM
                       (EXCLUDED.street_name, EXCLUDED.official_name, EXCLUDED.district, EXCLUDED.division_source)"""),
        {"code": code, "name": street_name, "official": found.name if found else None,
         "district": found.district if found else None, "source": source, "actor": actor.audit_name},
    )  # fmt: skip
    communities = found.communities if found is not None else []
    session.execute(text("DELETE FROM division"))
    session.execute(
        text("""INSERT INTO division (code, name, level, parent_code)
                SELECT :code, :name, 'street', NULL WHERE :official
                UNION ALL
                SELECT c, n, 'community', :code
                  FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[])) AS u(c, n)"""),
        {"code": code, "name": found.name if found else street_name, "official": found is not None,
         "codes": [c for c, _ in communities], "names": [n for _, n in communities]},
    )  # fmt: skip
    grids = session.scalar(
        text("""WITH RECURSIVE sub AS (SELECT id FROM grid WHERE code = :code AND valid_to IS NULL
                                                       AND lineage_id IS NULL
                                   UNION ALL
                                   SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id
                                    WHERE g.valid_to IS NULL AND g.lineage_id IS NULL)
                SELECT count(*) FROM sub"""),
        {"code": code},
    )  # fmt: skip
    return InitResult(code, street_name, found.name if found else None, found.district if found else None, source,
                      communities, first_time=before is None, grids=int(grids or 0))  # fmt: skip


def installation(session: Session) -> InstallationInfo | None:
    """The street recorded by ``init`` with its official communities and their live grids, or None before ``init``
    (a database made otherwise, such as the sample's). Community names and codes are public."""
    row = session.execute(text("SELECT * FROM installation WHERE id = 1")).one_or_none()
    if row is None:
        return None
    communities = [
        Community(r.code, r.name, r.grid_name)
        for r in session.execute(
            text("""SELECT d.code, d.name, g.name AS grid_name FROM division d
                      LEFT JOIN grid g ON g.code = d.code AND g.valid_to IS NULL AND g.lineage_id IS NULL
                     WHERE d.level = 'community' ORDER BY d.code""")
        )
    ]  # fmt: skip
    return InstallationInfo(row.street_code, row.street_name, row.official_name, row.district, row.division_source,
                            row.created_at, communities)  # fmt: skip
