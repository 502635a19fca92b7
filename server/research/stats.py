"""The statistics of the score report, in numpy alone (no scipy): every interval is 95% and every random
draw comes from a generator seeded by the caller and the comparison's name, so a report is reproducible
whatever order its comparisons are made in.

- `mean_ci(values)`: the mean with Student's t interval.
- `bootstrap_diff(a, b, seed, key)`: mean(a) - mean(b) with a percentile bootstrap interval (each group
  resampled with replacement on its own) and a two-sided permutation p-value.
- `within_slope(groups, seed, key)`: the slope of y on x within units (each unit's own means removed: a
  fixed-effects regression), with a cluster-bootstrap interval over units.
- `ols_slope(x, y)`: one unit's least-squares slope with its t interval.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

LEVEL = 0.95


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The `p` quantile of Student's t (bisection on the cdf; 12.706 for p = 0.975, df = 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class Estimate:
    """A number with its 95% interval (None where it cannot be estimated: too few values)."""

    value: float | None
    low: float | None
    high: float | None
    n: int


def clean(values: Sequence[float | None]) -> np.ndarray:
    """The values that are numbers (None and NaN dropped), as floats."""
    out = np.array([float(v) for v in values if v is not None], dtype=np.float64)
    return out[~np.isnan(out)]


def mean_ci(values: Sequence[float | None]) -> Estimate:
    """The mean with its 95% Student t interval (no interval from fewer than two values; a zero-width one
    when all values are equal)."""
    x = clean(values)
    n = len(x)
    if n == 0:
        return Estimate(None, None, None, 0)
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, None, None, n)
    half = t_quantile(0.5 + LEVEL / 2, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def rng_for(seed: int, key: str) -> np.random.Generator:
    """The generator of one comparison: seeded by the report's seed and the comparison's name."""
    return np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])


@dataclass(frozen=True)
class Difference:
    diff: float | None
    low: float | None
    high: float | None
    p_permutation: float | None
    n_a: int
    n_b: int


def bootstrap_diff(a: Sequence[float | None], b: Sequence[float | None], *, seed: int, key: str,
                   resamples: int = 10000) -> Difference:
    """mean(a) - mean(b): a percentile bootstrap interval (each group resampled on its own, `resamples`
    times) and a two-sided permutation p-value (the groups' labels shuffled `resamples` times;
    p = (1 + #{|perm diff| >= |observed|}) / (1 + resamples)). Needs two values in each group."""
    x, y = clean(a), clean(b)
    if len(x) < 2 or len(y) < 2:
        observed = float(x.mean() - y.mean()) if len(x) and len(y) else None
        return Difference(observed, None, None, None, len(x), len(y))
    rng = rng_for(seed, key)
    observed = float(x.mean() - y.mean())
    boot = (x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
            - y[rng.integers(0, len(y), size=(resamples, len(y)))].mean(axis=1))
    low, high = np.quantile(boot, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    pooled = np.concatenate([x, y])
    perms = rng.permuted(np.tile(pooled, (resamples, 1)), axis=1)
    perm_diff = perms[:, :len(x)].mean(axis=1) - perms[:, len(x):].mean(axis=1)
    extreme = int(np.sum(np.abs(perm_diff) >= abs(observed) - 1e-12))
    return Difference(observed, float(low), float(high), (1 + extreme) / (1 + resamples), len(x), len(y))


def _pooled_within_slope(units: list[tuple[np.ndarray, np.ndarray]]) -> float | None:
    sxy = sxx = 0.0
    for x, y in units:
        dx = x - x.mean()
        sxy += float(dx @ (y - y.mean()))
        sxx += float(dx @ dx)
    return None if sxx == 0 else sxy / sxx


@dataclass(frozen=True)
class Slope:
    slope: float | None
    low: float | None
    high: float | None
    units: int          # units with at least two points (the ones that inform the slope)
    points: int


def within_slope(groups: dict[str, tuple[Sequence[float], Sequence[float]]], *, seed: int, key: str,
                 resamples: int = 2000) -> Slope:
    """The slope of y on x within units ({unit: (x, y)}): each unit's means removed, then least squares
    (a fixed-effects regression). Its 95% interval: a percentile cluster bootstrap over units (units drawn
    with replacement, `resamples` times). Units with fewer than two points carry no slope and are left out."""
    units = []
    for x, y in groups.values():
        pairs = [(float(a), float(b)) for a, b in zip(x, y) if a is not None and b is not None]
        if len(pairs) >= 2:
            units.append((np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])))
    points = sum(len(u[0]) for u in units)
    slope = _pooled_within_slope(units)
    if slope is None or len(units) < 2:
        return Slope(slope, None, None, len(units), points)
    rng = rng_for(seed, key)
    draws = []
    for _ in range(resamples):
        s = _pooled_within_slope([units[i] for i in rng.integers(0, len(units), size=len(units))])
        if s is not None:
            draws.append(s)
    low, high = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return Slope(slope, float(low), float(high), len(units), points)


def ols_slope(x: Sequence[float], y: Sequence[float]) -> Slope:
    """One unit's least-squares slope of y on x, with its t interval (n - 2 degrees of freedom; none from
    fewer than three points)."""
    pairs = [(float(a), float(b)) for a, b in zip(x, y) if a is not None and b is not None]
    n = len(pairs)
    if n < 2:
        return Slope(None, None, None, 1 if n else 0, n)
    xs, ys = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    dx = xs - xs.mean()
    sxx = float(dx @ dx)
    if sxx == 0:
        return Slope(None, None, None, 1, n)
    slope = float(dx @ (ys - ys.mean())) / sxx
    if n < 3:
        return Slope(slope, None, None, 1, n)
    residuals = ys - ys.mean() - slope * dx
    se = math.sqrt(float(residuals @ residuals) / (n - 2) / sxx)
    half = t_quantile(0.5 + LEVEL / 2, n - 2) * se
    return Slope(slope, slope - half, slope + half, 1, n)
