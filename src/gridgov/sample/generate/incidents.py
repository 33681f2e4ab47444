"""Incidents (数字城管 categories): places, times, descriptions, urgency, source and reporter, and each case's
timeline through the workflow (:mod:`gridgov.sample.generate.timelines`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from gridgov.incidents import workflow as wf
from gridgov.periods import DEFAULT_TIMEZONE as TIMEZONE
from gridgov.sample.formats import CSV_COLUMNS
from gridgov.sample.generate.arrays import (
    STR_DTYPE,
    FloatArr,
    IntArr,
    StrArr,
    as_str,
    concat,
    format_units,
    random_stream,
    ranks_within,
    yyyymmdd,
    zfill,
)
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.constants import STREET_CODE
from gridgov.sample.generate.frame import Frame
from gridgov.sample.generate.geometry import segment_index
from gridgov.sample.generate.grids import Grids
from gridgov.sample.generate.identities import person_names, phone_numbers
from gridgov.sample.generate.staff import StaffRoster
from gridgov.sample.generate.timelines import RECENT_DAYS, Case, Player, local
from gridgov.sample.generate.writers import CsvWriter
from gridgov.sample.steps import CaseState

# (category, subcategory, weight, description templates; {p} = place, {n} = a small number). The categories and
# subcategories are the vocabulary's (gridgov.vocab.INCIDENT_SUBCATEGORIES: "大类/小类").
INCIDENT_TYPES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("市容环境", "暴露垃圾", 12, ("{p}发现暴露垃圾约{n}袋，需及时清运", "{p}垃圾桶满溢，周边散落生活垃圾")),
    ("市容环境", "乱堆物料", 7, ("{p}乱堆杂物和废旧家具，占用通道", "{p}堆放建筑材料未覆盖，扬尘较大")),
    ("市容环境", "积存垃圾渣土", 2, ("{p}施工废弃料未及时清运", "{p}装修垃圾随意倾倒")),
    ("市容环境", "道路不洁", 2, ("{p}路面油污较多，行人易滑倒", "{p}落叶和垃圾堆积，道路不洁")),
    ("宣传广告", "非法小广告", 9, ("{p}墙面张贴非法小广告{n}处", "{p}电线杆上喷涂办证小广告")),
    ("宣传广告", "违规户外广告", 2, ("{p}商户私设落地广告牌", "{p}户外广告牌破损存在坠落隐患")),
    ("施工管理", "施工扰民", 4, ("{p}工地夜间施工噪音扰民，居民多次反映", "{p}装修施工时间超出规定时段")),
    ("施工管理", "道路破损", 5, ("{p}人行道地砖破损约{n}平方米", "{p}路面出现坑槽，影响车辆通行")),
    ("街面秩序", "占道经营", 8, ("{p}有流动摊贩占道经营水果", "{p}早市摊点占用人行道经营")),
    ("街面秩序", "店外经营", 4, ("{p}餐饮店在门外摆放桌椅经营", "{p}商户出店经营占用人行道约{n}米")),
    ("街面秩序", "乱停车辆", 11, ("{p}机动车违规停放，堵塞出入口", "{p}车辆占用消防通道停放")),
    ("街面秩序", "共享单车乱放", 7, ("{p}共享单车乱停放{n}辆，占用盲道", "{p}电动车乱停放影响通行")),
    ("突发事件", "积水", 2, ("{p}降雨后道路积水约{n}0厘米", "{p}排水不畅形成积水")),
    ("突发事件", "路面塌陷", 1, ("{p}路面局部塌陷约{n}平方米，已设置临时警示", "{p}人行道塌陷，存在安全隐患")),
    ("突发事件", "燃气泄漏", 1, ("{p}居民闻到燃气异味，疑似燃气泄漏", "{p}燃气管道接口处有异味")),
    ("园林绿化", "绿地脏乱", 2, ("{p}绿地内垃圾较多，需清理", "{p}绿化带内堆放杂物")),
    ("园林绿化", "树木倒伏", 1, ("{p}大风后行道树倒伏，影响通行", "{p}树木枝干断裂悬挂，存在坠落隐患")),
    ("治安隐患", "群租房", 2, ("{p}疑似群租房，人员进出频繁", "{p}出租屋内隔断住人约{n}人")),
    ("治安隐患", "防盗设施损坏", 2, ("{p}单元门禁损坏无法关闭", "{p}楼道监控损坏")),
    ("治安隐患", "可疑人员", 1, ("{p}有可疑人员多次在楼道内徘徊", "{p}夜间有陌生人翻动车辆")),
    ("矛盾纠纷", "邻里纠纷", 5, ("{p}楼上楼下因漏水问题产生纠纷，需上门调解", "{p}邻里因楼道堆物发生争执")),
    ("矛盾纠纷", "物业纠纷", 4, ("{p}物业与业主因收费问题产生矛盾，请求社区协调", "{p}业主反映物业维修不及时")),
    ("民生服务", "井盖缺失", 2, ("{p}雨水井盖缺失，已设置临时警示", "{p}污水井盖破损下沉，存在安全隐患")),
    ("民生服务", "路灯不亮", 5, ("{p}路灯不亮{n}盏，夜间照明不足", "{p}楼院照明灯损坏，居民出行不便")),
    ("民生服务", "供水供暖", 2, ("{p}停水超过{n}小时，居民生活不便", "{p}供水管道漏水")),
    ("民生服务", "求助", 2, ("{p}独居老人家中水管破裂，请求帮助", "{p}行动不便老人请求协助办理事务")),
    ("消防安全", "楼道堆物", 3, ("{p}楼道内堆放杂物{n}处，影响疏散", "{p}楼道堆放纸箱等易燃物")),
    ("消防安全", "电动车违规充电", 3, ("{p}有居民飞线为电动车充电", "{p}电动车停放在楼道内充电")),
    ("消防安全", "消防通道堵塞", 2, ("{p}消防通道被车辆长期占用", "{p}消防通道堆放杂物")),
)  # fmt: skip
# Where a case is described by a building of its compound (else by a road or the compound's gate).
AT_BUILDING = ("矛盾纠纷", "治安隐患", "消防安全")
URGENT_SHARE = {"突发事件": 0.85}  # the share of 紧急 cases per category (others: 5 %)
# Sources (gridgov.vocab.INCIDENT_SOURCES) and their shares; the reporter's name and phone are known for these.
SOURCES = (("网格员上报", 0.48), ("巡逻发现", 0.20), ("12345热线", 0.18), ("居民反映", 0.14))
WITH_REPORTER = ("12345热线", "居民反映")
REPORTER_PHONE_BASE = 50_000_000  # phone number indices apart from residents' and staff's
STALLS = (wf.ACCEPTED, wf.DISPATCHED, wf.HANDLED, wf.VERIFIED)  # where a recent case may get stuck


@dataclass(frozen=True)
class IncidentCounts:
    """How many cases and timeline steps the generator wrote."""

    cases: int
    events: int


def write_incidents(
    seed: int,
    out: Path,
    grids: Grids,
    bld: Buildings,
    frame: Frame,
    households: int,
    days: int,
    end: date,
    staff: StaffRoster,
) -> IncidentCounts:
    """Generate incidents.csv (数字城管 categories, hotspots near arterials, final status and level) and
    incident_events.csv (each case's timeline, see :mod:`gridgov.sample.generate.timelines`)."""
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
    t, units, xy = t[order], units[order], xy[order]
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
    places: list[str] = []
    for i in range(n):
        comp = grids.comp_names[int(ncomp[i])]
        road = arterials[int(nart[i])].name_at(float(xy[i, 1]))
        cat = INCIDENT_TYPES[int(ti[i])][0]
        if cat in AT_BUILDING:
            place = f"{comp}{1 + int(nums[i])}号楼"
        elif cat in ("街面秩序", "宣传广告") or rn[i] < 0.35:
            place = f"{road}近{comp}处"
        else:
            place = f"{comp}门口" if rn[i] < 0.8 else f"{comp}附近"
        places.append(place)
        desc.append(INCIDENT_TYPES[int(ti[i])][3][int(tpl_pick[i])].format(p=place, n=int(nums[i])))
    urgent = rng.random(n) < np.asarray([URGENT_SHARE.get(str(c), 0.05) for c in cats])
    urgency = np.where(urgent, "紧急", "一般").astype(STR_DTYPE)
    si = rng.choice(len(SOURCES), size=n, p=[p for _, p in SOURCES])
    source = np.asarray([s for s, _ in SOURCES], dtype=STR_DTYPE)[si]
    known = np.isin(si, [k for k, (s, _) in enumerate(SOURCES) if s in WITH_REPORTER])
    names, _ = person_names(rng, n, rng.random(n) < 0.5)
    phones = phone_numbers(rng, REPORTER_PHONE_BASE + np.arange(n, dtype=np.int64))
    blank = np.full(n, "", dtype=STR_DTYPE)
    ymd = yyyymmdd(t)
    day_serial = ranks_within(t.astype("datetime64[D]").astype(np.int64)) + 1
    codes = concat("E", as_str(ymd), zfill(day_serial, 4))
    reported = concat(as_str(np.datetime_as_string(t, unit="s")), "+08:00")
    cases = _timelines(seed, grids, units, t, cats, urgency, staff, end)
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
            np.asarray([c.status for c in cases], dtype=STR_DTYPE),
            np.asarray([c.level for c in cases], dtype=STR_DTYPE),
            source,
            urgency,
            np.asarray(places, dtype=STR_DTYPE),
            np.where(known, names, blank),
            np.where(known, phones, blank),
        ]
    )
    w.close()
    return IncidentCounts(n, _write_timelines(out / "incident_events.csv", codes, cases))


def leaf_compounds(grids: Grids, units: IntArr) -> IntArr:
    """The compound each point (1e-7 degree units, as written) falls in by the loader's rule (the grid whose
    boundary covers it, the smallest code on a shared edge; gridgov_leaf_for_point), or -1 outside every one."""
    pts = shapely.points(units / 1e7)
    hit_pt, hit_comp = shapely.STRtree(np.asarray(grids.comp_ll, dtype=object)).query(pts, predicate="intersects")
    rank = np.argsort(np.argsort(np.asarray(grids.comp_codes)))
    order = np.lexsort((rank[hit_comp], hit_pt))
    first = order[np.r_[True, hit_pt[order][1:] != hit_pt[order][:-1]]] if len(order) else order
    leaf = np.full(len(units), -1, dtype=np.int64)
    leaf[hit_pt[first]] = hit_comp[first]
    return leaf


def _timelines(seed: int, grids: Grids, units: IntArr, t: np.ndarray, cats: StrArr, urgency: StrArr,
               staff: StaffRoster, end: date) -> list[Case]:  # fmt: skip
    """Play every case forward to the end of the sample's last day; some recent cases get stuck in a status
    (late and still open; stuck waiting to be dispatched or handled, they go up to 街道 on the way)."""
    rng = random_stream(seed, "incident_timelines")
    leaf = leaf_compounds(grids, units)
    comm_of = [grids.comm_codes[int(c)] for c in grids.comp_comm]
    zone = ZoneInfo(TIMEZONE)
    end_at = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    player = Player(rng, end_at, staff.posts)
    recent = t >= np.datetime64(end) + np.timedelta64(1, "D") - np.timedelta64(RECENT_DAYS, "D")
    stall = np.where(recent & (rng.random(len(t)) < 0.08), rng.integers(0, len(STALLS), len(t)), -1)
    cases = []
    for i in range(len(t)):
        c = int(leaf[i])
        where = (grids.comp_codes[c], comm_of[c], STREET_CODE) if c >= 0 else ()
        stuck = STALLS[int(stall[i])] if stall[i] >= 0 else None
        case = Case(CaseState(str(cats[i]), str(urgency[i])), where, stuck)
        cases.append(player.play(case, local(t[i], zone)))
    return cases


def _write_timelines(path: Path, codes: StrArr, cases: list[Case]) -> int:
    """incident_events.csv: every step of every case, numbered from 1 within its case."""
    rows = [(str(code), str(k), s.action, s.at.isoformat(), s.level, s.staff_code, s.note,
             s.review_on.isoformat() if s.review_on else "")
            for code, case in zip(codes, cases, strict=True) for k, s in enumerate(case.steps, start=1)]  # fmt: skip
    w = CsvWriter(path, CSV_COLUMNS["incident_events.csv"])
    w.write([np.asarray(col, dtype=STR_DTYPE) for col in zip(*rows, strict=True)])
    w.close()
    return len(rows)
