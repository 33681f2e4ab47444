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
      id_number (610103 + birth date + sequence, odd = male, GB 11643 check character, see
      :mod:`gridgov.ids`),
      is_resident_rep, is_volunteer, is_party_member, member_type (party members only:
      在职/离退休/流动/下岗失业/普通居民; empty otherwise), tags (``;``-separated, from ``TAGS``).
    * The Party organisation (see ``party``; columns in :mod:`gridgov.sample.formats`): ``party_orgs.csv``
      (社区党委 per community, 楼院/网格党支部 on the compounds, 楼栋党小组), ``party_org_posts.csv`` (书记 and
      committees), ``party_memberships.csv``, ``party_registers.csv`` (入党日期, 在职报到, 流动党员, 亮身份),
      ``party_contacts.csv`` (person_code, household_code, since: 1–3 households of the member's compound),
      ``resident_units.csv`` (joined to a community's 大党委), ``volunteer_teams.csv``,
      ``volunteer_team_members.csv``, ``volunteer_activities.csv``, ``party_meetings.csv`` (三会一课 on schedule) and
      ``party_duty_areas.gpkg`` layer ``duty_areas`` (code, name, duty, org_code, person_codes, valid_from,
      MultiPolygon: a 党员责任区 per compound). Deliberate gaps for the compliance check are listed in
      ``sample_meta.json`` under ``party_gaps`` (rule → organisation, compound, member or team codes).
    * ``staff.csv``: staff_code, name, phone, grid_code, role (one row per role assignment; roles in
      ``STAFF_ROLES``; every grid has staff; 楼栋长 rows use the compound code).
    * ``incidents.csv``: code, category, subcategory (the vocabulary's 大类/小类), description, lon, lat,
      reported_at (``2026-10-31T14:23:05+08:00``), status (上报/立案/派遣/处置/核查/结案/挂账/作废: where the
      case's timeline ends), level (网格/社区/街道), source (网格员上报/巡逻发现/12345热线/居民反映), urgency
      (一般/紧急), address (the place the description names), reporter_name and reporter_phone (hotline and
      residents' reports only).
    * ``incident_events.csv``: code, seq (1 = the report), action (as the timeline records it: 上报, 立案,
      派遣, 处置, 核查通过, 结案, 退回, 返工, 上报上级, 超期上报, 挂账, 解除挂账, 不予立案, 重新打开, 回访), at,
      level (after the step), staff_code (派遣: a holder of the category's role, else 网格员, at the case's
      compound or above), note, review_on (挂账). Every case played through the workflow with the seeded time
      limits and calendar up to the end of the last day (see ``timelines``): recent cases are open in every state.
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
    ``households.csv`` and ``sample_meta.json`` are written (persons, the Party organisation, staff, incidents
    and patrols are skipped and counted as 0).

Modules (by what they generate)
    ``constants`` street facts and vocabulary · ``arrays`` random streams and vectorised helpers ·
    ``frame`` metric frame and scale · ``geometry`` shared geometry helpers · ``roads`` outline,
    arterials, lanes · ``faces`` noding and merging faces · ``grids`` street/communities/compounds ·
    ``buildings`` · ``edge_cases`` households on shared edges/vertices and outside · ``households`` ·
    ``identities`` names, phones, ID numbers · ``persons`` · ``staff`` · ``party`` the Party organisation ·
    ``incidents`` · ``timelines`` the cases' steps · ``patrols`` · ``writers`` CSV and GeoPackage output ·
    ``run`` the entry point.
"""

from __future__ import annotations

from gridgov.sample.generate.constants import (
    COMMUNITIES,
    GENERATOR_VERSION,
    HOUSEHOLD_KINDS,
    MEMBER_TYPES,
    SHIFTS,
    STAFF_ROLES,
    TAGS,
)
from gridgov.sample.generate.frame import LARGE_SCALE_HOUSEHOLDS
from gridgov.sample.generate.grids import community_display_name
from gridgov.sample.generate.run import SampleSummary, generate, is_current

__all__ = [
    "COMMUNITIES",
    "GENERATOR_VERSION",
    "HOUSEHOLD_KINDS",
    "LARGE_SCALE_HOUSEHOLDS",
    "MEMBER_TYPES",
    "SHIFTS",
    "STAFF_ROLES",
    "SampleSummary",
    "TAGS",
    "community_display_name",
    "generate",
    "is_current",
]
