"""Incidents (数字城管 categories): places, times, descriptions and workflow status."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import shapely

from gridgov.sample.formats import CSV_COLUMNS
from gridgov.sample.generate.arrays import (
    STR_DTYPE,
    FloatArr,
    as_str,
    concat,
    format_units,
    random_stream,
    ranks_within,
    yyyymmdd,
    zfill,
)
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.frame import Frame
from gridgov.sample.generate.geometry import segment_index
from gridgov.sample.generate.grids import Grids
from gridgov.sample.generate.writers import CsvWriter

# (category, subcategory, weight, description templates; {p} = place, {n} = a small number)
INCIDENT_TYPES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("市容环境", "暴露垃圾", 12, ("{p}发现暴露垃圾约{n}袋，需及时清运", "{p}垃圾桶满溢，周边散落生活垃圾")),
    ("市容环境", "乱堆物料", 7, ("{p}乱堆杂物和废旧家具，占用消防通道", "{p}堆放建筑材料未覆盖，扬尘较大")),
    ("市容环境", "占道经营", 9, ("{p}有流动摊贩占道经营水果", "{p}早市摊点占用人行道经营")),
    ("市容环境", "店外经营", 4, ("{p}餐饮店在门外摆放桌椅经营", "{p}商户出店经营占用人行道约{n}米")),
    ("宣传广告", "非法小广告", 9, ("{p}墙面张贴非法小广告{n}处", "{p}电线杆上喷涂办证小广告")),
    ("宣传广告", "违规户外广告", 2, ("{p}商户私设落地广告牌", "{p}户外广告牌破损存在坠落隐患")),
    ("施工管理", "施工扰民", 4, ("{p}工地夜间施工噪音扰民，居民多次反映", "{p}装修施工时间超出规定时段")),
    ("施工管理", "道路破损", 5, ("{p}人行道地砖破损约{n}平方米", "{p}路面出现坑槽，影响车辆通行")),
    ("施工管理", "施工废弃料", 2, ("{p}施工废弃料未及时清运", "{p}装修垃圾随意倾倒")),
    ("突发事件", "井盖缺失", 2, ("{p}雨水井盖缺失，已设置临时警示", "{p}污水井盖破损下沉，存在安全隐患")),
    ("突发事件", "路灯不亮", 5, ("{p}路灯不亮{n}盏，夜间照明不足", "{p}楼院照明灯损坏，居民出行不便")),
    ("突发事件", "道路积水", 2, ("{p}降雨后道路积水约{n}厘米", "{p}排水不畅形成积水")),
    ("街面秩序", "乱停车辆", 11, ("{p}机动车违规停放，堵塞出入口", "{p}车辆占用消防通道停放")),
    ("街面秩序", "非机动车乱停放", 7, ("{p}共享单车乱停放{n}辆，占用盲道", "{p}电动车乱停放影响通行")),
    ("民生服务", "邻里纠纷", 5, ("{p}楼上楼下因漏水问题产生纠纷，需上门调解", "{p}邻里因楼道堆物发生争执")),
    ("民生服务", "矛盾调解", 4, ("{p}物业与业主因收费问题产生矛盾，请求社区协调", "{p}租户与房东因押金产生纠纷")),
    ("民生服务", "噪音扰民", 3, ("{p}广场舞音响声音过大扰民", "{p}商户夜间噪音扰民")),
    ("园林绿化", "绿地脏乱", 2, ("{p}绿地内垃圾较多，需清理", "{p}绿化带内堆放杂物")),
)  # fmt: skip


def write_incidents(
    seed: int, out: Path, grids: Grids, bld: Buildings, frame: Frame, households: int, days: int, end: date
) -> int:
    """Generate incidents.csv (数字城管 categories, hotspots near arterials, workflow status)."""
    rng = random_stream(seed, "incidents")
    n = max(1, round(households * days * 0.00125))
    arterials = [r for r in grids.roads if r.kind == "arterial"]
    art_lines = np.asarray([r.line for r in arterials], dtype=object)
    lens = shapely.length(art_lines)
    src = rng.choice(4, size=n, p=[0.45, 0.15, 0.38, 0.02])
    xy = np.zeros((n, 2))
    # along arterials
    m = np.flatnonzero(src == 0)
    ri = rng.choice(len(art_lines), size=len(m), p=lens / lens.sum())
    s = rng.random(len(m)) * lens[ri]
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(art_lines[ri], s))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(art_lines[ri], s + 1.0))
    d = p1 - p0
    nrm = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    xy[m] = p0 + nrm * rng.normal(0.0, 12.0, len(m))[:, None]
    # hotspots: arterial crossings and a few busy gates
    m = np.flatnonzero(src == 1)
    crossings: list[FloatArr] = []
    for i in range(len(art_lines)):
        for j in range(i + 1, len(art_lines)):
            hit = shapely.intersection(art_lines[i], art_lines[j])
            if not hit.is_empty:
                crossings.append(shapely.get_coordinates(hit))
    spots = np.vstack(crossings + [np.column_stack([bld.cx, bld.cy])[rng.integers(0, len(bld), 3)]])
    hi = rng.integers(0, len(spots), len(m))
    xy[m] = spots[hi] + rng.normal(0.0, 40.0, (len(m), 2))
    # inside compounds, near buildings
    m = np.flatnonzero(src == 2)
    bi = rng.integers(0, len(bld), len(m))
    xy[m] = np.column_stack([bld.cx[bi], bld.cy[bi]]) + rng.normal(0.0, 15.0, (len(m), 2))
    # just outside the street
    m = np.flatnonzero(src == 3)
    ring = grids.outline_m.exterior
    pts = shapely.get_coordinates(shapely.line_interpolate_point(ring, rng.random(len(m)), normalized=True))
    cen = np.array(grids.outline_m.centroid.coords[0])
    dirv = pts - cen
    xy[m] = pts + dirv / np.hypot(dirv[:, 0], dirv[:, 1])[:, None] * rng.uniform(20.0, 150.0, len(m))[:, None]
    units = frame.to_units(xy)
    # time
    day_off = rng.integers(0, days, n)
    hour_mix = rng.random(n)
    sec = np.where(
        hour_mix < 0.4,
        rng.normal(10.5 * 3600, 7200, n),
        np.where(hour_mix < 0.8, rng.normal(15.5 * 3600, 9000, n), rng.uniform(0, 86400, n)),
    )
    sec = np.clip(sec, 0, 86399).astype(np.int64)
    first_day = np.datetime64(end) - np.timedelta64(days - 1, "D")
    t = first_day.astype("datetime64[s]") + (day_off * 86400 + sec).astype("timedelta64[s]")
    order = np.lexsort((np.arange(n), t))
    t, units, day_off = t[order], units[order], day_off[order]
    xy = xy[order]
    end_t = (np.datetime64(end) + np.timedelta64(1, "D")).astype("datetime64[s]")
    age_days = (end_t - t).astype(np.int64) / 86400.0
    # categories
    wts = np.asarray([w for _, _, w, _ in INCIDENT_TYPES])
    ti = rng.choice(len(INCIDENT_TYPES), size=n, p=wts / wts.sum())
    cats = np.asarray([c for c, _, _, _ in INCIDENT_TYPES], dtype=STR_DTYPE)[ti]
    subs = np.asarray([s for _, s, _, _ in INCIDENT_TYPES], dtype=STR_DTYPE)[ti]
    # place names: nearest compound name or arterial
    tree = shapely.STRtree(grids.comp_m)
    pts_m = np.asarray(shapely.points(xy), dtype=object)
    ncomp = np.full(n, -1, dtype=np.int64)
    inside = tree.query(pts_m, predicate="within")
    ncomp[inside[0][::-1]] = inside[1][::-1]
    out_idx = np.flatnonzero(ncomp < 0)
    if len(out_idx):
        near = tree.query_nearest(pts_m[out_idx], all_matches=False)
        ncomp[out_idx[near[0]]] = near[1]
    nart, _, _ = segment_index(list(art_lines)).nearest(xy)
    rn = rng.random(n)
    tpl_pick = rng.integers(0, 2, n)
    nums = rng.integers(2, 9, n)
    desc: list[str] = []
    for i in range(n):
        comp = grids.comp_names[int(ncomp[i])]
        road = arterials[int(nart[i])].name_at(float(xy[i, 1]))
        cat = INCIDENT_TYPES[int(ti[i])][0]
        if cat == "民生服务":
            place = f"{comp}{1 + int(nums[i])}号楼"
        elif cat in ("街面秩序", "宣传广告") or rn[i] < 0.35:
            place = f"{road}近{comp}处"
        else:
            place = f"{comp}门口" if rn[i] < 0.8 else f"{comp}附近"
        desc.append(INCIDENT_TYPES[int(ti[i])][3][int(tpl_pick[i])].format(p=place, n=int(nums[i])))
    # workflow status by age
    statuses = np.asarray(["上报", "立案", "派遣", "处置", "核查", "结案"], dtype=STR_DTYPE)
    r = rng.random(n)
    st = np.where(
        age_days > 10,
        np.where(r < 0.95, 5, np.where(r < 0.98, 4, 3)),
        np.where(
            age_days > 3,
            np.searchsorted([0.03, 0.08, 0.18, 0.30, 1.0], r),
            np.searchsorted([0.2, 0.4, 0.6, 0.8, 0.9, 1.0], r),
        ),
    )
    st = np.where((age_days > 3) & (age_days <= 10), st + 1, st)
    st = np.clip(st, 0, 5)
    levels = np.asarray(["网格", "社区", "街道"], dtype=STR_DTYPE)[rng.choice(3, size=n, p=[0.75, 0.19, 0.06])]
    sources = np.asarray(["网格员上报", "巡查发现", "12345热线", "居民上报"], dtype=STR_DTYPE)
    source = sources[rng.choice(4, size=n, p=[0.48, 0.20, 0.18, 0.14])]
    ymd = yyyymmdd(t)
    day_serial = ranks_within(t.astype("datetime64[D]").astype(np.int64)) + 1
    codes = concat("E", as_str(ymd), zfill(day_serial, 4))
    reported = concat(as_str(np.datetime_as_string(t, unit="s")), "+08:00")
    w = CsvWriter(out / "incidents.csv", CSV_COLUMNS["incidents.csv"])
    w.write(
        [
            codes,
            cats,
            subs,
            np.asarray(desc, dtype=STR_DTYPE),
            format_units(units[:, 0]),
            format_units(units[:, 1]),
            reported,
            statuses[st],
            levels,
            source,
        ]
    )
    w.close()
    return n
