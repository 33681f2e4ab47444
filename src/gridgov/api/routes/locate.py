"""Point lookup for the incident report page and other systems: the grid at every level covering a point.

Public (grid codes and names only, no personal data) and not throttled: a lookup is answered from the
in-process index (:mod:`gridgov.assign.locate`) without the database and costs tens of microseconds, less than
the per-client slot bookkeeping of ``Throttled``, which caps expensive requests (ledger, boards, maps) at
``client_concurrency`` per client and would turn an external system's parallel lookups into 429s. The database
is read at most once per ``locate_max_age_s`` per process, whatever the request rate.
"""

from __future__ import annotations

import gc
import json
import re
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from gridgov.api.schemas import LocatePublic
from gridgov.assign.locate import LocatedGrid, LocateIndex, is_wgs84, to_lonlat

router = APIRouter(prefix="/api", tags=["网格查询"])

DESCRIPTION = """按坐标查询所在网格：返回街道、社区、楼院（有楼栋网格时含楼栋）各级网格的编码和名称，
供事件上报页面和外部系统使用。

* 规则与户、事件的分配规则相同：点落在某个现行最底层网格内（含边界）即属于该网格；**边界上的点归编码最小的网格**。
* 不在任何网格内的点返回 200 和空列表 `grids: []`（不是错误）；经纬度超出范围返回 422。
* 默认坐标为 WGS84（EPSG:4326）；高德、腾讯地图取得的坐标请加 `crs=gcj02`，也接受 CGCS2000（`crs=4490`）。
* 网格变更后，最迟约 `GRIDGOV_LOCATE_MAX_AGE_S` 秒（默认 1 秒）加一次索引重建的时间即可查到新结果。
* 无需令牌。"""

Lon = Annotated[
    float, Query(ge=-180, le=180, allow_inf_nan=False, description="经度（-180 到 180）", examples=[108.955])
]
Lat = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="纬度（-90 到 90）", examples=[34.245])]
Crs = Annotated[
    str, Query(max_length=32, description="坐标系：4326（WGS84，默认）、4490（CGCS2000）或 gcj02（高德/腾讯坐标）")
]


def _index(app: FastAPI) -> LocateIndex:
    """The app's lookup index, created on first use (called from the event loop: no race)."""
    index: LocateIndex | None = getattr(app.state, "locate_index", None)
    if index is None:
        # gc.freeze: the index is long-lived (~460,000 objects at 10^5 compounds); left to the cyclic collector,
        # every full collection walks them all, a ~100 ms pause of every request in flight. Frozen objects are
        # still freed by reference counting when a rebuild drops the old index (it has no reference cycles).
        index = LocateIndex(app.state.engine, max_age_s=app.state.settings.locate_max_age_s, on_build=gc.freeze)
        app.state.locate_index = index
    return index


def _body(lon: float, lat: float, chain: tuple[LocatedGrid, ...]) -> bytes:
    """The LocatePublic JSON, written directly (the route's hot path skips the response model's validation)."""
    grids = [{"level": g.level, "level_zh": g.level_zh, "code": g.code, "name": g.name} for g in chain]
    return json.dumps({"lon": lon, "lat": lat, "grids": grids}, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/locate", response_model=LocatePublic, summary="按坐标查询所在各级网格", description=DESCRIPTION)
async def locate(request: Request, lon: Lon, lat: Lat, crs: Crs = "4326") -> Response:
    """The grids at every level covering the point (async: the database is only read when the index is due)."""
    index = _index(request.app)
    # Another CRS is parsed (pyproj, once per spelling) and converted in a thread, off the event loop.
    x, y = to_lonlat(lon, lat) if is_wgs84(crs) else await run_in_threadpool(to_lonlat, lon, lat, crs)
    if index.due():
        await run_in_threadpool(index.refresh)
    return Response(_body(x, y, index.chain(x, y)), media_type="application/json")


# The fast path's query strings: plain decimals only (what pydantic parses identically), no escapes.
_DECIMAL = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,20})?")
_PLAIN_CRS = frozenset({"4326"})


def plain_point(query: bytes) -> tuple[float, float] | None:
    """(lon, lat) from a query string of exactly ``lon=…&lat=…`` (any order, optional ``crs=4326``) in plain
    decimals within range; None for anything else, which the framework then handles (errors, other CRSs)."""
    try:
        pairs = query.decode("ascii").split("&")
    except UnicodeDecodeError:
        return None
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key in values:
            return None
        values[key] = value
    if values.pop("crs", "4326") not in _PLAIN_CRS or values.keys() != {"lon", "lat"}:
        return None
    if not (_DECIMAL.fullmatch(values["lon"]) and _DECIMAL.fullmatch(values["lat"])):
        return None
    x, y = float(values["lon"]), float(values["lat"])
    return (x, y) if -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0 else None


class LocateFastPath:
    """ASGI middleware: answers a plain ``GET /api/locate?lon=&lat=`` from a fresh index before the framework.

    The body is the route's (same function, same headers). Everything else — other methods and paths, any
    other query (errors, other CRSs, extra parameters), the first request (no index yet) and a request that
    finds the index due for its revision check — passes on to the route untouched. Routing, dependency
    solving and the other middlewares cost ~0.3 ms per request here, ten times the lookup itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, or pass it on."""
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == "/api/locate" and (point := plain_point(scope["query_string"])) is not None:
                index: LocateIndex | None = getattr(scope["app"].state, "locate_index", None)
                if index is not None and not index.due():
                    body = _body(*point, index.chain(*point))
                    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)
