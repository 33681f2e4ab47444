"""Persons: families per household, Party membership and type, volunteers, tags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from gridgov.sample.formats import CSV_COLUMNS
from gridgov.sample.generate.arrays import (
    STR_DTYPE,
    BoolArr,
    IntArr,
    StrArr,
    as_str,
    bool01,
    concat,
    random_stream,
    ranks_within,
)
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.constants import MEMBER_TYPES, TAGS
from gridgov.sample.generate.households import Households
from gridgov.sample.generate.identities import SURNAMES, id_numbers, person_names, phone_numbers
from gridgov.sample.generate.writers import CsvWriter


@dataclass
class Persons:
    """Person attributes that staff and the Party organisation (generate.party) reuse."""

    codes: StrArr
    household: IntArr
    names: StrArr
    phones: StrArr
    age: IntArr
    party: BoolArr
    volunteer: BoolArr
    member_type: StrArr


def write_persons(seed: int, out: Path, hh: Households, bld: Buildings, end: date) -> Persons:
    """Generate persons.csv (families per household, IDs, phones, party membership, tags)."""
    rng = random_stream(seed, "persons")
    nh = len(hh.kind)
    size = np.zeros(nh, dtype=np.int64)
    k_res, k_rent, k_shop = hh.kind == 0, hh.kind == 1, hh.kind == 3
    size[k_res] = rng.choice(np.arange(1, 7), size=int(k_res.sum()), p=[0.10, 0.25, 0.32, 0.18, 0.10, 0.05])
    size[k_rent] = rng.choice(np.arange(1, 5), size=int(k_rent.sum()), p=[0.30, 0.35, 0.22, 0.13])
    size[k_shop] = rng.choice(np.array([1, 2]), size=int(k_shop.sum()), p=[0.6, 0.4])
    n = int(size.sum())
    h = np.repeat(np.arange(nh), size)
    member = ranks_within(h)
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
    sn_w = np.asarray([f for _, f in SURNAMES])
    hs = rng.choice(len(SURNAMES), size=nh, p=sn_w / sn_w.sum())
    ss = rng.choice(len(SURNAMES), size=nh, p=sn_w / sn_w.sum())
    own = rng.choice(len(SURNAMES), size=n, p=sn_w / sn_w.sum())
    father_sn = np.where(hmale | (size < 2), hs, ss)
    sidx = own.copy()
    sidx[is_head] = hs[h[is_head]]
    sidx[spouse] = ss[h[spouse]]
    sidx[child] = father_sn[h[child]]
    sidx[parent & male] = hs[h[parent & male]]  # the head's father shares the head's surname
    names, _ = person_names(rng, n, male, sidx)
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
    ids = id_numbers(rng, birth, male)
    phones = phone_numbers(rng, np.arange(n, dtype=np.int64))
    phones = np.where(age >= 12, phones, "").astype(STR_DTYPE)
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
    member_type = np.where(mt >= 0, np.asarray(MEMBER_TYPES, dtype=STR_DTYPE)[np.maximum(mt, 0)], "").astype(STR_DTYPE)
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
    tags: Any = np.full(n, "", dtype=STR_DTYPE)
    for name, flag in zip(TAGS, tag_flags, strict=True):
        tags = np.strings.add(tags, np.where(flag, name + ";", "").astype(STR_DTYPE))
    tags = np.strings.rstrip(np.asarray(tags, dtype=STR_DTYPE), ";")
    pcode = concat(hh.codes[h], "P", as_str(member + 1))
    w = CsvWriter(out / "persons.csv", CSV_COLUMNS["persons.csv"])
    w.write(
        [
            pcode,
            hh.codes[h],
            names,
            np.where(male, "男", "女").astype(STR_DTYPE),
            as_str(birth_year),
            phones,
            ids,
            bool01(rep),
            bool01(volunteer),
            bool01(party),
            member_type,
            tags,
        ]
    )
    w.close()
    return Persons(pcode, h, names, phones, age, party, volunteer, member_type)

