"""Pydantic models in roles: ``…Create`` (input), ``…Update`` (input with version), ``…Public`` (output)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from gridgov.vocab import GRID_LEVELS, LEVELS, ROLES, Vocabulary


def _known(v: Vocabulary) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in v.terms:
            raise PydanticCustomError("unknown_term", "未知{label}：{value}（可选 {terms}）",
                                      {"label": v.label, "value": value, "terms": "、".join(v.terms)})  # fmt: skip
        return value

    return check


# A grid level: one of the vocabulary's levels (documented as an enum in the OpenAPI schema).
Level = Annotated[str, AfterValidator(_known(GRID_LEVELS)), WithJsonSchema({"type": "string", "enum": list(LEVELS)})]
TokenRole = Annotated[
    str, AfterValidator(_known(ROLES)), WithJsonSchema({"type": "string", "enum": list(ROLES)})
]


class GridCreate(BaseModel):
    """A new grid."""

    code: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        examples=["610103006001001"],
        description="省略时按编码规则在上级编码后顺延分配",
    )
    name: str = Field(min_length=1, max_length=200, examples=["文艺北路一社区第01网格"])
    level: Level
    parent_code: str | None = None
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon/MultiPolygon, EPSG:4326")


class GridUpdate(BaseModel):
    """Changes to a grid; ``version`` is the version the editor started from (optimistic locking)."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    geometry: dict[str, Any] | None = None


class GridPublic(BaseModel):
    """A grid as the API shows it."""

    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: Level
    parent_code: str | None
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    updated_by: str | None
    geometry: dict[str, Any] | None = None


class GridDraft(BaseModel):
    """An unsaved grid from the editor: ``code`` is None for a new one."""

    code: str | None = None
    name: str = "未命名网格"
    level: Level = "compound"
    parent_code: str | None = None
    geometry: dict[str, Any]


class ValidateRequest(BaseModel):
    """Drafts to validate against the live grids (drafts replace live grids with the same code)."""

    parent: str | None = Field(default=None, description="只报告此网格及其下级的问题（无草稿时）")
    grids: list[GridDraft] = Field(default_factory=list)


class FindingPublic(BaseModel):
    """One validation finding."""

    rule: str
    codes: list[str]
    message: str
    location: list[float] | None = None
    area_m2: float | None = None
    length_m: float | None = None
    rows: list[int] | None = None
    geometry: dict[str, Any] | None = None


class FindingsPublic(BaseModel):
    """A list of findings."""

    findings: list[FindingPublic]


class FindingKindPublic(BaseModel):
    """How many findings of one rule a grid import has (the report lists the first 100 in full)."""

    rule: str
    reason: str
    count: int


class ImportReportPublic(BaseModel):
    """The outcome of a grid import (``refused`` means nothing was written)."""

    file: str
    features: int
    crs: str
    dry_run: bool
    written: bool
    refused: bool
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    reassigned: dict[str, int]
    findings: list[FindingPublic]
    finding_count: int = Field(description="问题总数（findings 只列出前 100 个）")
    finding_summary: list[FindingKindPublic] = Field(description="按规则统计的问题数，多者在前")


class RepairRequest(BaseModel):
    """A repair: previewed unless ``apply`` is true."""

    operation: Literal["clip", "snap", "fill_gap", "split", "merge", "renumber"]
    code: str | None = Field(default=None, description="clip / snap / split 的网格编码")
    codes: list[str] = Field(default_factory=list, description="merge 的网格编码")
    parent: str | None = Field(default=None, description="fill_gap / renumber 的上级编码")
    line: dict[str, Any] | None = Field(default=None, description="split 的分割线（GeoJSON LineString）")
    at: list[float] | None = Field(default=None, description="fill_gap：只处理离此点 [经度, 纬度] 最近的空隙")
    tolerance_m: float | None = Field(default=None, ge=0, le=50)
    name: str | None = None
    apply: bool = False


class RepairChange(BaseModel):
    """One grid's change in a repair preview."""

    action: Literal["update", "create", "retire"]
    code: str
    new_code: str | None
    name: str
    area_before_m2: float | None
    area_after_m2: float | None
    geometry: dict[str, Any] | None


class RepairPublic(BaseModel):
    """A repair preview (and, when applied, what moved)."""

    operation: str
    operation_zh: str
    applied: bool
    changes: list[RepairChange]
    findings_after: list[FindingPublic]
    reassigned: dict[str, int]


class BatchCreate(GridCreate):
    """A grid the batch creates; ``key`` is the caller's name for it (the response gives its code)."""

    key: str = Field(min_length=1, max_length=64, examples=["draft:1"])
    parent_code: str = Field(min_length=1, max_length=32)


class BatchUpdate(GridUpdate):
    """A live grid's new name and/or shape, edited from ``version``."""

    code: str = Field(min_length=1, max_length=32)


class BatchRetire(BaseModel):
    """A live grid to retire (delete, history kept), seen at ``version``."""

    code: str = Field(min_length=1, max_length=32)
    version: int = Field(ge=1)
    give_to: str | None = Field(
        default=None, description="把面积并入的相邻网格（同一上级的同级网格）；不填则留作空隙并报告"
    )


class GridBatch(BaseModel):
    """Several grid changes saved together: all of them or none, each version checked."""

    create: list[BatchCreate] = Field(default_factory=list, max_length=500)
    update: list[BatchUpdate] = Field(default_factory=list, max_length=500)
    retire: list[BatchRetire] = Field(default_factory=list, max_length=500)
    dry_run: bool = Field(default=False, description="只预览：校验结果与户、人的网格变动，不写入")
    accept_findings: bool = Field(default=False, description="有（非硬性）校验问题时仍保存")


class BatchChange(RepairChange):
    """One grid's change in a batch: ``key`` for a created grid, ``given_to`` for a retirement."""

    key: str | None = None
    given_to: str | None = None
    version: int | None = Field(default=None, description="保存后的版本号（预览时为空）")


class GridMoves(BaseModel):
    """One grid's households and residents leaving and arriving."""

    code: str
    households_out: int
    households_in: int
    persons_out: int
    persons_in: int


class Transfer(BaseModel):
    """Households (and residents) moving from one grid to another (null: no grid)."""

    from_code: str | None
    to_code: str | None
    households: int
    persons: int


class MovesPublic(BaseModel):
    """Who would change grid: totals, per grid, and per pair of grids."""

    households: int
    persons: int
    grids: list[GridMoves]
    transfers: list[Transfer]


class GridBatchPublic(BaseModel):
    """What a batch did (or, dry, would do): the changes, the findings left, and who changes grid."""

    applied: bool
    changes: list[BatchChange]
    findings: list[FindingPublic]
    moves: MovesPublic | None = Field(default=None, description="预览时：将改变所属网格的户数与人数")
    reassigned: dict[str, int] = Field(default_factory=dict, description="保存后：各表重新分配的行数")


class ShapeSplit(BaseModel):
    """A shape and the line to cut it along."""

    geometry: dict[str, Any] = Field(description="GeoJSON Polygon/MultiPolygon, EPSG:4326")
    line: dict[str, Any] = Field(description="GeoJSON LineString：从网格外画起，穿过网格，在网格外结束")


class ShapeMerge(BaseModel):
    """Neighbouring shapes to merge into one."""

    geometries: list[dict[str, Any]] = Field(min_length=2, max_length=50)


class ShapesPublic(BaseModel):
    """The resulting shapes (a split: largest first)."""

    geometries: list[dict[str, Any]]


class TokenCreate(BaseModel):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    role: TokenRole
    scope_code: str | None = Field(default=None, description="范围：网格编码（street、community、grid、patrol 必填）")
    days: int | None = Field(default=None, ge=1, le=3650)


class TokenPublic(BaseModel):
    """A created token: the secret is shown only in this response."""

    id: int
    name: str
    role: str
    scope_code: str | None
    token: str | None = None


class Health(BaseModel):
    """Service and database status."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    postgis_version: str | None
    schema_revision: str | None
    detail: str | None = None


class ErrorPublic(BaseModel):
    """Every error body: a Chinese message, the error kind, and structured details (or null)."""

    detail: str = Field(description="中文错误说明", examples=["网格不存在：610103006001"])
    error: str = Field(
        description="错误类别：Unauthenticated、Forbidden、NotFound、Conflict、StaleVersion、TooLarge、InvalidInput、"
        "TooManyRequests、DatabaseUnavailable、InternalError 等",
        examples=["NotFound"],
    )
    details: Any = Field(description="结构化细节（如 422 的逐项校验错误 loc/msg/type），没有时为 null")
    request_id: str | None = Field(
        default=None, description="请求编号（错误编号）：与响应头 X-Request-ID 相同，联系管理员时请提供",
        examples=["3f9c2a7b1e04"],
    )


class TermPublic(BaseModel):
    """One term of a vocabulary and its Chinese label."""

    term: str
    label: str


class VocabularyPublic(BaseModel):
    """A vocabulary: its terms in order, and the synonyms accepted for them (spelling → term)."""

    label: str
    terms: list[TermPublic]
    synonyms: dict[str, str]


class MetaPublic(BaseModel):
    """Every vocabulary, the level relations and the shift hours."""

    vocabularies: dict[str, VocabularyPublic]
    parent_level: dict[str, str]
    child_level: dict[str, str]
    public_staff_roles: list[str]
    shift_hours: dict[str, str]


class RowErrorPublic(BaseModel):
    """A bad cell of an import file: row (or feature) number, column and the reason."""

    row: int
    column: str
    reason: str


class ErrorKindPublic(BaseModel):
    """How many errors of one column and reason an import file has (the report lists the first 100 in full)."""

    column: str
    reason: str
    count: int


class ChangePublic(BaseModel):
    """One field an import changes: its column, Chinese label, and the value before and after."""

    field: str
    label: str
    old: str | None
    new: str | None


class DiffRowPublic(BaseModel):
    """A record in an import's diff: its code, the file row naming it (null for one the file leaves out), for staff
    the post, and for an updated one whether it is revived and its changes."""

    code: str
    row: int | None
    detail: str | None
    revived: bool
    changes: list[ChangePublic]


class DiffPartPublic(BaseModel):
    """How many records a part of the diff holds, and the first 20 of them."""

    count: int
    rows: list[DiffRowPublic]


class ImportDiffPublic(BaseModel):
    """What an import creates, updates (old → new), retires (sync: 同步移除) and leaves unchanged; staff count posts,
    and people as updated."""

    mode: Literal["insert", "upsert", "sync"]
    scope: str | None
    effective: str | None = Field(description="生效日期 YYYY-MM-DD；null 为导入当时")
    created: DiffPartPublic
    updated: DiffPartPublic
    retired: DiffPartPublic
    unchanged: DiffPartPublic
    persons_retired: int = Field(description="同步注销的户中随户注销的人员数")


class EntityImportPublic(BaseModel):
    """The outcome of an entity import (``refused`` means nothing was written)."""

    entity: str
    file: str
    crs: str
    rows: int
    dry_run: bool
    mode: Literal["insert", "upsert", "sync"]
    imported: int
    assigned: int
    unassigned: int
    unassigned_rows: list[dict[str, Any]]
    errors: list[RowErrorPublic]
    error_count: int = Field(description="错误总数（errors 只列出前 100 处）")
    error_summary: list[ErrorKindPublic] = Field(description="按列和原因统计的错误数，多者在前")
    diff: ImportDiffPublic | None = Field(description="差异：新增、更新（旧 → 新）、注销、未变；试运行也给出")
    written: bool
    refused: bool


class LedgerRowPublic(BaseModel):
    """One grid's ledger line: counts, derived labels and patrol figures (``headers`` names every column)."""

    model_config = ConfigDict(extra="allow")

    grid_id: int
    code: str
    name: str
    level: str
    level_zh: str
    parent_code: str | None
    households: int
    persons: int
    party_members: int
    party_org: str
    staff: str | None


class LedgerPublic(BaseModel):
    """The ledger: the moment and period it counts, the Chinese header of each column, and the rows."""

    model_config = ConfigDict(populate_by_name=True)

    as_of: dt.datetime | None
    date_from: dt.datetime | None = Field(alias="from")
    date_to: dt.datetime | None = Field(alias="to")
    headers: dict[str, str]
    rows: list[LedgerRowPublic]


class LocatedGridPublic(BaseModel):
    """One level of the grids covering a point."""

    level: Level
    level_zh: str = Field(description="层级的中文名")
    code: str = Field(examples=["610103006001001"])
    name: str


class LocatePublic(BaseModel):
    """The grids covering a point, street first (empty when the point is outside every grid)."""

    lon: float = Field(description="查询点经度（WGS84，EPSG:4326；gcj02 等输入已换算）")
    lat: float = Field(description="查询点纬度（WGS84，EPSG:4326；gcj02 等输入已换算）")
    grids: list[LocatedGridPublic] = Field(description="街道 → 社区 → 楼院（→ 楼栋）各级网格；不在任何网格内时为空")
