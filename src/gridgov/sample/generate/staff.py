"""Grid staff: the role assignments of every grid, with residents as compound and building posts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridgov.sample.formats import CSV_COLUMNS
from gridgov.sample.generate.arrays import STR_DTYPE, random_stream
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.constants import STREET_CODE
from gridgov.sample.generate.grids import Grids
from gridgov.sample.generate.households import Households
from gridgov.sample.generate.identities import person_names, phone_numbers
from gridgov.sample.generate.persons import Persons
from gridgov.sample.generate.writers import CsvWriter


@dataclass(frozen=True)
class StaffRoster:
    """What staff.csv holds: how many staff members, and every post as (staff code, grid code, role)."""

    count: int
    posts: list[tuple[str, str, str]]


def write_staff(seed: int, out: Path, grids: Grids, bld: Buildings, hh: Households, persons: Persons) -> StaffRoster:
    """Staff on every grid (street, community, compound) incl. 楼栋长 from residents (staff.csv)."""
    rng = random_stream(seed, "staff")
    rows: list[tuple[int, str, str]] = []  # (staff idx, grid_code, role)
    staff_names: list[str] = []
    staff_phones: list[str] = []
    n_new = 2000 + 10 * len(grids.comp_codes)
    new_male = rng.random(n_new) < 0.5
    new_names, _ = person_names(rng, n_new, new_male)
    new_phones = phone_numbers(rng, np.arange(len(persons.codes), len(persons.codes) + n_new, dtype=np.int64))
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
    w = CsvWriter(out / "staff.csv", CSV_COLUMNS["staff.csv"])
    w.write(
        [
            np.asarray([code_of[s] for s, _, _ in rows], dtype=STR_DTYPE),
            np.asarray([staff_names[s] for s, _, _ in rows], dtype=STR_DTYPE),
            np.asarray([staff_phones[s] for s, _, _ in rows], dtype=STR_DTYPE),
            np.asarray([g for _, g, _ in rows], dtype=STR_DTYPE),
            np.asarray([r for _, _, r in rows], dtype=STR_DTYPE),
        ]
    )
    w.close()
    return StaffRoster(len(code_of), [(code_of[s], g, r) for s, g, r in rows])
