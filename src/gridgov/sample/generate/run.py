"""The entry point: run every step in order and write sample_meta.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from gridgov.sample.changes import MOVED_OUT
from gridgov.sample.generate.buildings import build_buildings
from gridgov.sample.generate.constants import (
    BUILDING_ROW_BAND_DEG,
    COMPOUND_ROW_BAND_DEG,
    DEFAULT_HOUSEHOLDS,
    DISTRICT_NAME,
    GENERATOR_VERSION,
    OUTPUT_CRS,
    STREET_CODE,
    STREET_NAME,
    WORK_CRS,
)
from gridgov.sample.generate.edge_cases import special_households
from gridgov.sample.generate.frame import derive_scale
from gridgov.sample.generate.grids import build_grids
from gridgov.sample.generate.households import write_households
from gridgov.sample.generate.incidents import write_incidents
from gridgov.sample.generate.party import PartySummary, generate_party
from gridgov.sample.generate.patrols import TEAMS, write_patrols
from gridgov.sample.generate.persons import write_persons
from gridgov.sample.generate.staff import write_staff
from gridgov.sample.generate.writers import write_buildings, write_grids


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
    incident_events: int
    tracks: int
    nights: int
    staff: int
    out_dir: Path


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
    sc, frame = derive_scale(households, compounds)
    grids = build_grids(seed, sc, frame)
    bld = build_buildings(seed, sc, grids, frame)
    special = special_households(seed, grids, bld, frame)
    n_hh, hh = write_households(seed, out, grids, bld, special, frame, keep=not sc.large)
    write_grids(out, grids)
    write_buildings(out, grids, bld)
    persons = party = incidents = events = tracks = staff = 0
    nights_out = 0
    party_out: PartySummary | None = None
    written = ["grids.gpkg", "buildings.gpkg", "households.csv"]
    if hh is not None:
        pers = write_persons(seed, out, hh, bld, end_date)
        persons, party = len(pers.codes), int(pers.party.sum())
        roster = write_staff(seed, out, grids, bld, hh, pers)
        staff = roster.count
        party_out = generate_party(seed, out, grids, bld, hh, pers, special, frame, end_date,
                                   moved_out=[n for _, n in MOVED_OUT])  # fmt: skip
        written_incidents = write_incidents(seed, out, grids, bld, frame, households, days, end_date, roster)
        incidents, events = written_incidents.cases, written_incidents.events
        _, tracks = write_patrols(seed, out, grids, frame, nights, end_date)
        nights_out = nights
        written += [
            "persons.csv",
            "staff.csv",
            *party_out.files,
            "incidents.csv",
            "incident_events.csv",
            "patrol_teams.gpkg",
            "patrol_roster.csv",
            *[f"patrol/{t[0]}.gpx" for t in TEAMS],
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
        incident_events=events,
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
        "party": party_out.counts if party_out else {},
        # the Party rules (gridgov.party.check) each placed gap breaks: rule → the organisations, compounds, members
        # or teams to fix; the check as of params.end_date finds these and nothing else
        "party_gaps": party_out.gaps if party_out else {},
    }
    (out / "sample_meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary


def is_current(out: Path) -> bool:
    """Whether ``out`` holds a sample made by this generator version (else it should be generated again)."""
    meta = out / "sample_meta.json"
    if not meta.exists():
        return False
    try:
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("generator_version") == GENERATOR_VERSION)
    except (ValueError, OSError):
        return False
