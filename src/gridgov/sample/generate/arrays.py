"""Vectorised helpers shared by the generator: random streams, apportioning, ranks and string columns."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.dtypes import StringDType

FloatArr = npt.NDArray[np.float64]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]
GeomArr = npt.NDArray[np.object_]
StrArr = npt.NDArray[Any]
STR_DTYPE = StringDType()


def random_stream(seed: int, stream: str) -> np.random.Generator:
    """Independent deterministic random stream for one component."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode("utf-8"))])


def apportion(total: int, weights: FloatArr, minimum: int = 0, caps: IntArr | None = None) -> IntArr:
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


def apportion_grouped(totals: IntArr, group: IntArr, weights: FloatArr) -> IntArr:
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


def ranks_within(group: IntArr) -> IntArr:
    """0-based position of each element within its (contiguous, sorted) group."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def as_str(a: npt.ArrayLike) -> StrArr:
    """Convert an array (ints or strings) to numpy StringDType."""
    return np.asarray(a).astype(STR_DTYPE)


def concat(*parts: StrArr | str) -> StrArr:
    """Element-wise string concatenation of arrays / scalars."""
    out: Any = parts[0] if not isinstance(parts[0], str) else np.asarray(parts[0], dtype=STR_DTYPE)
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return np.asarray(out, dtype=STR_DTYPE)


def zfill(a: IntArr, width: int) -> StrArr:
    """Zero-padded decimal strings of non-negative integers."""
    return np.strings.zfill(as_str(a), width)


def format_units(units: IntArr) -> StrArr:
    """Format integer 1e-7 degree units (positive) as fixed 7-decimal strings."""
    if len(units) == 0:
        return np.zeros(0, dtype=STR_DTYPE)
    if int(units.min()) < 0:
        raise ValueError("negative coordinates are not supported")
    ip = units // 10**7
    lo = int(ip.min())
    heads = concat(as_str(np.arange(lo, int(ip.max()) + 1)), ".")
    return concat(heads[ip - lo], zfill(units % 10**7, 7))


def bool01(flag: BoolArr) -> StrArr:
    """Booleans as '1'/'0' strings."""
    return np.where(flag, "1", "0").astype(STR_DTYPE)


def require_plain(what: str, values: StrArr) -> None:
    """Fail if strings contain characters that would need CSV quoting."""
    for bad in (",", '"', "\n", "\r"):
        if len(values) and bool((np.strings.find(values, bad) >= 0).any()):
            raise ValueError(f"{what} contain {bad!r}")


def yyyymmdd(days: npt.NDArray[np.datetime64]) -> IntArr:
    """Dates as integers YYYYMMDD."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    y = month.astype("datetime64[Y]").astype(np.int64) + 1970
    m = month.astype(np.int64) % 12 + 1
    dd = (d - month.astype("datetime64[D]")).astype(np.int64) + 1
    return (y * 10000 + m * 100 + dd).astype(np.int64)
