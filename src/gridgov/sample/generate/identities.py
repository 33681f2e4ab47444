"""Personal identifiers of generated people: Chinese names, mobile numbers and resident ID numbers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gridgov.ids import ID_CHECK_CHARS, ID_WEIGHTS
from gridgov.sample.generate.arrays import (
    STR_DTYPE,
    BoolArr,
    IntArr,
    StrArr,
    as_str,
    concat,
    ranks_within,
    yyyymmdd,
    zfill,
)

SURNAMES = (
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


def person_names(
    rng: np.random.Generator, n: int, male: BoolArr, surname_idx: IntArr | None = None
) -> tuple[StrArr, IntArr]:
    """Chinese names (surname by frequency + 1–2 given-name characters chosen by sex)."""
    sn = np.asarray([s for s, _ in SURNAMES], dtype=STR_DTYPE)
    w = np.asarray([f for _, f in SURNAMES])
    sidx = rng.choice(len(sn), size=n, p=w / w.sum()) if surname_idx is None else surname_idx
    m_chars = np.asarray(_MALE_CHARS, dtype=STR_DTYPE)
    f_chars = np.asarray(_FEMALE_CHARS, dtype=STR_DTYPE)
    n_chars = np.asarray(_NEUTRAL_CHARS, dtype=STR_DTYPE)
    last = np.where(male, m_chars[rng.integers(0, len(m_chars), n)], f_chars[rng.integers(0, len(f_chars), n)])
    first_pool = rng.random(n)
    first = np.where(
        first_pool < 0.4,
        n_chars[rng.integers(0, len(n_chars), n)],
        np.where(male, m_chars[rng.integers(0, len(m_chars), n)], f_chars[rng.integers(0, len(f_chars), n)]),
    )
    two = rng.random(n) < 0.72
    given = np.where(two, concat(first.astype(STR_DTYPE), last.astype(STR_DTYPE)), last.astype(STR_DTYPE))
    return concat(sn[sidx], given.astype(STR_DTYPE)), np.asarray(sidx, dtype=np.int64)


def phone_numbers(rng: np.random.Generator, index: IntArr) -> StrArr:
    """Well-formed fake 11-digit mobile numbers, unique per ``index`` (bijective in the last 8 digits)."""
    prefixes = np.asarray(_PHONE_PREFIXES, dtype=STR_DTYPE)
    pre = prefixes[rng.integers(0, len(prefixes), len(index))]
    # a 4-round Feistel network on (hi, lo) 4-digit halves is a bijection of 0..10^8-1
    x = (index * 73_939_133 + 13_579_113) % 10**8
    hi, lo = x // 10**4, x % 10**4
    for key in (7919, 104_729, 15_485_863, 32_452_843):
        hi, lo = lo, (hi + (lo * lo + key) * 2_654_435_761 // 7 % 10**4) % 10**4
    return concat(pre, zfill(hi * 10**4 + lo, 8))


# the GB 11643 rule of gridgov.ids, vectorised
_ID_WEIGHTS = np.array(ID_WEIGHTS, dtype=np.int64)
_ID_CHECK = np.asarray(list(ID_CHECK_CHARS), dtype=STR_DTYPE)


def id_numbers(rng: np.random.Generator, birth: npt.NDArray[np.datetime64], male: BoolArr) -> StrArr:
    """18-character resident ID numbers: 610103 + YYYYMMDD + sequence (odd = male) + check digit."""
    n = len(birth)
    ymd = yyyymmdd(birth)
    order = np.lexsort((np.arange(n), male, ymd))
    grp = ymd[order] * 2 + male[order]
    k = np.zeros(n, dtype=np.int64)
    k[order] = ranks_within(grp)
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
    return concat(as_str(ymd * 0 + 610103), as_str(ymd), zfill(seq, 3), check)
