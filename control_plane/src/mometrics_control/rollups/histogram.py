"""Mergeable latency histograms with fixed log-scale buckets.

Bucket i counts latencies in [2^(i/8), 2^((i+1)/8)) milliseconds, so each
bucket is about 9 % wide and a percentile read from the bucket's geometric
middle is within about 4.5 % of the true value. Buckets are clamped to
MIN_BUCKET (below 0.14 ms) and MAX_BUCKET (above 9 hours). Histograms of any
windows add up bucket by bucket, so percentiles over a window come from
rollups without reading raw results.

In PostgreSQL a histogram is an int array whose subscripts are the bucket
numbers (see migration 0002); here it is a dict {bucket: count}.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

BUCKETS_PER_DOUBLING = 8
MIN_BUCKET = -24
MAX_BUCKET = 200

Histogram = dict[int, int]


def bucket_of(latency_ms: float) -> int:
    """Return the bucket of a latency, exactly as mometrics_latency_bucket() in SQL."""
    raw = math.floor(math.log(max(latency_ms, 1e-6)) * BUCKETS_PER_DOUBLING / math.log(2))
    return max(MIN_BUCKET, min(MAX_BUCKET, raw))


def bucket_middle_ms(bucket: int) -> float:
    """Return the geometric middle of a bucket in milliseconds."""
    return float(2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING))


def from_latencies(latencies_ms: Iterable[float]) -> Histogram:
    histogram: Histogram = {}
    for latency in latencies_ms:
        bucket = bucket_of(latency)
        histogram[bucket] = histogram.get(bucket, 0) + 1
    return histogram


def from_array(counts: list[int] | None, lower_bound: int | None) -> Histogram:
    """Convert a PostgreSQL histogram array and its array_lower() to a dict."""
    if not counts or lower_bound is None:
        return {}
    return {lower_bound + i: n for i, n in enumerate(counts) if n}


def merge_into(total: Histogram, other: Mapping[int, int]) -> None:
    for bucket, count in other.items():
        total[bucket] = total.get(bucket, 0) + count


def percentile(
    histogram: Mapping[int, int],
    fraction: float,
    low_ms: float | None = None,
    high_ms: float | None = None,
) -> float | None:
    """Estimate a percentile (fraction 0..1) the way percentile_cont ranks values.

    The estimate is the middle of the bucket that contains the ranked value,
    clamped to the known minimum and maximum, so a one-value histogram
    returns that value exactly when `low_ms` and `high_ms` are given.
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = fraction * (total - 1)
    seen = 0
    estimate = bucket_middle_ms(max(histogram))
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen > rank:
            estimate = bucket_middle_ms(bucket)
            break
    if low_ms is not None:
        estimate = max(estimate, low_ms)
    if high_ms is not None:
        estimate = min(estimate, high_ms)
    return estimate
