"""Maps served live: the grid map, the coverage map and the patrol route map as offline HTML pages,
and grid vector tiles (MVT) for very large areas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from gridgov.api.dependencies import OptionalActorDep, SessionDep, SettingsDep, Throttled
from gridgov.api.params import DateQuery, MomentQuery
from gridgov.api.responses import MVT_MEDIA_TYPE, MVTResponse
from gridgov.api.schemas import Level
from gridgov.auth.views import open_personal
from gridgov.errors import Unauthenticated
from gridgov.maps.assets import render_offline
from gridgov.maps.basemap import basemap as pick_basemap
from gridgov.periods import as_of_moment

router = APIRouter(tags=["地图"])

LAYERS_HELP = "可选图层，逗号分隔：households,buildings,party（党建图层：需登录或令牌，限可查看个人信息的角色及其范围）"
AS_OF_HELP = "按此时点的网格、户数与网格人员绘图：YYYY-MM-DD（当日结束时）或日期时间；默认当前"
SHIFT_HELP = "事件热力图的时段：上半夜（20:00–23:30）/ 下半夜（23:30–次日 06:00）/ 白天（06:00–20:00），或 HH:MM-HH:MM"
KPI_HELP = "先显示的事件考核图层：on_time（按期结案率）或 overdue（超期事件）"
BasemapQuery = Annotated[str | None, Query(description="底图：none / tianditu / intranet / osm / amap（默认按配置）")]


# The token is optional here (only the Party layer needs one): say so in the OpenAPI document.
@router.get("/maps/grid", dependencies=[Throttled], response_class=HTMLResponse, summary="网格图（HTML）",
            openapi_extra={"security": [{}, {"HTTPBearer": []}]})
def grid_page(
    session: SessionDep,
    settings: SettingsDep,
    who: OptionalActorDep,
    parent: Annotated[str | None, Query(description="只画此网格及其下级")] = None,
    level: Level | None = None,
    layers: Annotated[str, Query(description=LAYERS_HELP)] = "",
    basemap: BasemapQuery = None,
    as_of: Annotated[MomentQuery, Query(description=AS_OF_HELP)] = None,
) -> str:
    """The grid map, now or as of a moment; the Party layer only for staff roles (personal data), inside their
    scope, and logged."""
    from gridgov.maps.gridmap import grid_map_from_db
    from gridgov.party.rules import PartyRules

    wanted = {x.strip() for x in layers.split(",") if x.strip()}
    if "party" in wanted:
        if who is None:
            raise Unauthenticated("党建图层需要登录或令牌（Authorization: Bearer <令牌>）")
        parent = open_personal(session, who, "party", parent, "/maps/grid")
    m = grid_map_from_db(
        session, parent_code=parent, level=level, layers=wanted, basemap=pick_basemap(basemap, settings),
        tile_url="/api/tiles/grids/{z}/{x}/{y}.mvt" + (f"?level={level}" if level else ""),
        mvt_min_grids=settings.mvt_min_grids, as_of=as_of_moment(as_of, settings.timezone), timezone=settings.timezone,
        party_rules=PartyRules.of(settings),
    )  # fmt: skip
    return render_offline(m, "http", node_modules=settings.node_modules)


@router.get("/maps/coverage", dependencies=[Throttled], response_class=HTMLResponse, summary="巡逻覆盖率图（HTML）")
def coverage_page(
    session: SessionDep,
    settings: SettingsDep,
    parent: Annotated[str | None, Query(description="只画此网格下的楼院网格")] = None,
    date_from: Annotated[DateQuery, Query(alias="from", description="起始夜（含），YYYY-MM-DD")] = None,
    date_to: Annotated[DateQuery, Query(alias="to", description="截止夜（含），YYYY-MM-DD")] = None,
    threshold: Annotated[float | None, Query(ge=0, le=1, description="覆盖率低于此值的网格突出显示")] = None,
    team: Annotated[str | None, Query(description="巡逻队编码")] = None,
    basemap: BasemapQuery = None,
    kind: Annotated[str, Query(description="轨迹类型：夜间巡逻（默认）或 日巡查", max_length=16)] = "夜间巡逻",
    shift: Annotated[str | None, Query(description=SHIFT_HELP, max_length=32)] = None,
    kpi: Annotated[str | None, Query(description=KPI_HELP, max_length=16)] = None,
) -> str:
    """Patrol coverage per grid for the period (night patrols, or the daytime inspections), the incident heatmap
    with a time slider (of one time window of the day with ``shift``), the incident figures as layers and the
    hotspots (many cases, little night patrol)."""
    from gridgov.maps.coverage import coverage_map

    m = coverage_map(
        session, parent_code=parent, date_from=date_from, date_to=date_to, team_code=team,
        threshold=settings.coverage_threshold if threshold is None else threshold,
        basemap=pick_basemap(basemap, settings), timezone=settings.timezone, patrol_buffer_m=settings.patrol_buffer_m,
        kind=kind, shift=shift, kpi_layer=kpi,
    )  # fmt: skip
    return render_offline(m, "http", node_modules=settings.node_modules)


@router.get("/maps/patrol", dependencies=[Throttled], response_class=HTMLResponse, summary="巡逻路线图（HTML）")
def patrol_page(
    session: SessionDep,
    settings: SettingsDep,
    date: Annotated[DateQuery, Query(description="巡逻夜（默认最近一夜），YYYY-MM-DD")] = None,
    team: Annotated[str | None, Query(description="巡逻队编码")] = None,
    basemap: BasemapQuery = None,
) -> str:
    """Tracks of one night by shift and team, time per grid, planned routes and unvisited grids."""
    from gridgov.maps.patrol import patrol_map

    m = patrol_map(session, night=date, team_code=team, basemap=pick_basemap(basemap, settings), rules=settings,
                   timezone=settings.timezone)
    return render_offline(m, "http", node_modules=settings.node_modules)


@router.get(
    "/api/tiles/grids/{z}/{x}/{y}.mvt",
    summary="网格矢量瓦片（MVT）",
    response_class=MVTResponse,
    responses={200: {"description": "Mapbox 矢量瓦片（图层 grids：code、name、level）",
                     "content": {MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}},
)  # fmt: skip
def grid_tile(session: SessionDep, z: int, x: int, y: int, level: Level | None = None) -> Response:
    """Live grids in one web-mercator tile as a Mapbox vector tile (layer ``grids``: code, name, level)."""
    from gridgov.maps.tiles import grid_tile as make_tile

    return Response(
        make_tile(session, z, x, y, level=level), media_type="application/vnd.mapbox-vector-tile",
        headers={"Cache-Control": "no-cache"},
    )  # fmt: skip
