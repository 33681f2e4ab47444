"""Households: codes, addresses, kinds and positions, streamed to households.csv in chunks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridgov.sample.formats import CSV_COLUMNS
from gridgov.sample.generate.arrays import (
    STR_DTYPE,
    IntArr,
    StrArr,
    as_str,
    concat,
    format_units,
    random_stream,
    require_plain,
    zfill,
)
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.constants import HOUSEHOLD_KINDS
from gridgov.sample.generate.edge_cases import SpecialHouseholds
from gridgov.sample.generate.frame import Frame
from gridgov.sample.generate.geometry import rotate
from gridgov.sample.generate.grids import Grids
from gridgov.sample.generate.writers import CsvWriter

_CHUNK_HOUSEHOLDS = 500_000


@dataclass
class Households:
    """Household attributes kept in memory for persons (only below the large-scale threshold)."""

    codes: StrArr
    building: IntArr
    kind: IntArr
    floor: IntArr


def write_households(
    seed: int, out: Path, grids: Grids, bld: Buildings, special: SpecialHouseholds, frame: Frame, keep: bool
) -> tuple[int, Households | None]:
    """Write households.csv in chunks; optionally return the household table."""
    rng = random_stream(seed, "households")
    writer = CsvWriter(out / "households.csv", CSV_COLUMNS["households.csv"])
    comp_addr = np.asarray(grids.comp_addr, dtype=STR_DTYPE)
    hh_addr_prefix = concat(comp_addr[bld.comp], as_str(bld.serial), "号楼")
    require_plain("compound addresses", comp_addr)
    require_plain("building codes", bld.codes)
    per_floor = np.maximum(1, -(-bld.households // np.maximum(bld.floors, 1)))
    rooms = np.where(bld.floors >= 8, 4, 2)
    floor1 = np.minimum(per_floor, bld.households)
    ground_total = int(floor1[~bld.is_point].sum())
    p_shop = min(0.9, 0.04 * int(bld.households.sum()) / max(ground_total, 1))
    kinds = np.asarray(HOUSEHOLD_KINDS, dtype=STR_DTYPE)
    kinds_c = concat(kinds, ",")
    code_head = concat(bld.codes, "H")
    addr_head = concat(",", hh_addr_prefix)
    bcode_c = concat(",", bld.codes, ",")
    serials = zfill(np.arange(int(bld.households.max(initial=0)) + 1), 4)
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
        code = concat(code_head[bidx], serials[k + 1])
        ur_key = unit * 100_000 + room
        ur_unique, ur_inv = np.unique(ur_key, return_inverse=True)
        unit_room = concat(as_str(ur_unique // 100_000), "单元", as_str(ur_unique % 100_000), "室")[ur_inv]
        r = rng.random(n)
        shop = (floor == 1) & ~bld.is_point[bidx] & (bld.floors[bidx] >= 2) & (rng.random(n) < p_shop)
        kind = np.where(r < 0.7292, 0, np.where(r < 0.9167, 1, 2)).astype(np.int64)
        kind[shop] = 3
        # position inside the footprint (or at the point)
        du = rng.uniform(-0.4, 0.4, n) * bld.length[bidx]
        dv = rng.uniform(-0.4, 0.4, n) * bld.depth[bidx]
        du[bld.is_point[bidx]] = 0.0
        dv[bld.is_point[bidx]] = 0.0
        x, y = rotate(du, dv, bld.theta[bidx])
        units = frame.to_units(np.column_stack([x + bld.cx[bidx], y + bld.cy[bidx]]))
        g0 = int(offsets[b0])
        for gi, (ux, uy) in special.overrides.items():
            if g0 <= gi < g0 + n:
                units[gi - g0] = (ux, uy)
        # code,address,building_code,kind,lon,lat
        writer.write_lines(
            concat(
                code,
                addr_head[bidx],
                unit_room,
                bcode_c[bidx],
                kinds_c[kind],
                format_units(units[:, 0]),
                ",",
                format_units(units[:, 1]),
            )
        )
        if keep:
            kept.append((code, bidx.astype(np.int64), kind, floor.astype(np.int64)))
        b0 = b1
    writer.close()
    if not keep:
        return writer.rows, None
    return writer.rows, Households(
        np.concatenate([c[0] for c in kept]) if kept else np.zeros(0, dtype=STR_DTYPE),
        np.concatenate([c[1] for c in kept]),
        np.concatenate([c[2] for c in kept]),
        np.concatenate([c[3] for c in kept]),
    )
