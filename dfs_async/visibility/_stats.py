"""Intervals and tests: Wilson, a bootstrap over prompts, Benjamini–Hochberg.

Samples of one prompt are not independent (an engine asked the same thing twice tends to name
the same brands), so aggregates over prompts get a cluster bootstrap: prompts are drawn with
replacement, each with all its answers. Seeds are fixed, so a report is reproducible. Past
`BOOTSTRAP_MAX_PROMPTS` prompts, cluster-robust normal intervals replace it (same clusters).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from operator import mul
from typing import Final

Z95: Final = 1.959963984540054
"""The normal quantile of a two-sided 95 % interval."""
BOOTSTRAP_ROUNDS: Final = 1000
BOOTSTRAP_MAX_PROMPTS: Final = 500
"""Above this many prompts the bootstrap's intervals are the normal ones it converges to, and
cost O(rounds × prompts × brands): cluster-robust standard errors take their place."""
SEED: Final = 19


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials ((0, 1) when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _multiplicities(rng: random.Random, size: int) -> list[int]:
    """How many times each of ``size`` prompts is drawn in one bootstrap round."""
    counts = [0] * size
    for i in rng.choices(range(size), k=size):
        counts[i] += 1
    return counts


def bootstrap_rates(
    answers: Sequence[int],
    hits: Sequence[Sequence[int]],
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = SEED,
) -> list[tuple[float, float, float, float]]:
    """Per series of ``hits``: 95 % percentile intervals of its pooled rate and of its
    prompt-balanced rate, (pooled_lo, pooled_hi, balanced_lo, balanced_hi).

    ``answers[p]`` is prompt p's number of answers and ``hits[s][p]`` how many of them series
    s counts. Every series is drawn with the same resampled prompts.
    """
    size = len(answers)
    if size == 0:
        return [(0.0, 1.0, 0.0, 1.0) for _ in hits]
    if size > BOOTSTRAP_MAX_PROMPTS:
        return [_clustered_normal(answers, series) for series in hits]
    rng = random.Random(seed)
    shares = [
        [h / n if n else 0.0 for h, n in zip(series, answers, strict=True)] for series in hits
    ]
    pooled: list[list[float]] = [[] for _ in hits]
    balanced: list[list[float]] = [[] for _ in hits]
    for _ in range(rounds):
        m = _multiplicities(rng, size)
        n = sum(map(mul, m, answers))
        drawn = sum(c for c, a in zip(m, answers, strict=True) if a) or 1
        for s, series in enumerate(hits):
            pooled[s].append(sum(map(mul, m, series)) / n if n else 0.0)
            balanced[s].append(sum(map(mul, m, shares[s])) / drawn)
    return [(*_percentiles(pooled[s]), *_percentiles(balanced[s])) for s in range(len(hits))]


def _clustered_normal(
    answers: Sequence[int], hits: Sequence[int]
) -> tuple[float, float, float, float]:
    """Normal 95 % intervals from cluster-robust standard errors (prompts are the clusters):
    the pooled rate's by the delta method for a ratio, the balanced rate's as a mean's."""
    size = len(answers)
    n = sum(answers)
    rate = sum(hits) / n if n else 0.0
    residual = sum((k - rate * a) ** 2 for k, a in zip(hits, answers, strict=True))
    pooled_se = math.sqrt(size / (size - 1) * residual) / n if n else 0.0
    shares = [k / a for k, a in zip(hits, answers, strict=True) if a]
    mean = sum(shares) / len(shares) if shares else 0.0
    spread = sum((s - mean) ** 2 for s in shares) / (len(shares) - 1) if len(shares) > 1 else 0.0
    balanced_se = math.sqrt(spread / len(shares)) if shares else 0.0

    def clip(centre: float, se: float) -> tuple[float, float]:
        return max(0.0, centre - Z95 * se), min(1.0, centre + Z95 * se)

    return (*clip(rate, pooled_se), *clip(mean, balanced_se))


def bootstrap_se(
    answers: Sequence[tuple[int, int]],
    hits: Sequence[tuple[int, int]],
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = SEED,
) -> float:
    """Standard error of rate_B - rate_A over matched prompts: ``answers[p] = (n_A, n_B)`` and
    ``hits[p] = (k_A, k_B)``; a prompt is drawn with both its snapshots (a paired bootstrap)."""
    size = len(answers)
    if size < 2:
        return 0.0
    rng = random.Random(seed)
    na = [a for a, _ in answers]
    nb = [b for _, b in answers]
    ka = [a for a, _ in hits]
    kb = [b for _, b in hits]
    diffs = []
    for _ in range(rounds):
        m = _multiplicities(rng, size)
        sa, sb = sum(map(mul, m, na)), sum(map(mul, m, nb))
        if sa and sb:
            diffs.append(sum(map(mul, m, kb)) / sb - sum(map(mul, m, ka)) / sa)
    if len(diffs) < 2:
        return 0.0
    mean = sum(diffs) / len(diffs)
    return math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))


def _percentiles(values: list[float]) -> tuple[float, float]:
    values.sort()
    last = len(values) - 1
    return values[round(0.025 * last)], values[round(0.975 * last)]


def two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return adjusted
