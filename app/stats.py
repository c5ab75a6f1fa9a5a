"""Pure statistics, no database: means with their intervals, a fair coin's usual ranges, runs and medians."""

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SAMPLE = 3  # below this many sessions a mean is not shown, only "not enough flips yet"
# Two-sided 95 % t quantiles for small samples (degrees of freedom 1..30); beyond, the normal 1.96.
T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
Z95 = 1.96
# A "usual" range holds 99 of 100 outcomes of a fair coin: an audit checks several numbers at once (a count and
# a run per coin), and at 95 % a fair coin with three enhancers would look odd one time in four.
FAIR = 0.99


@dataclass(frozen=True)
class Mean:
    """A sample mean with its count and 95 % interval; `value` is None below the minimum sample."""

    n: int
    value: float | None
    low: float | None
    high: float | None


def mean_of(n: int, total: float, total_squares: float) -> Mean:
    """Mean and t-interval from the count, sum and sum of squares an SQL aggregate gives."""
    if n < MIN_SAMPLE:
        return Mean(n, None, None, None)
    mean = total / n
    variance = max(0.0, (total_squares - n * mean * mean) / (n - 1))
    half = (T95[n - 2] if n - 1 <= len(T95) else 1.96) * math.sqrt(variance / n)
    return Mean(n, round(mean, 2), round(max(1.0, mean - half), 2), round(min(10.0, mean + half), 2))


def binomial_range(n: int, p: float, level: float = FAIR) -> tuple[int, int]:
    """The central range of the number of yeses in n flips at chance p that holds `level` of outcomes."""
    tail = (1 - level) / 2
    log_p, log_q, total = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    cumulative, low = 0.0, None
    for k in range(n + 1):
        cumulative += math.exp(total - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        if low is None and cumulative > tail:
            low = k
        if cumulative >= 1 - tail:
            return low or 0, k
    return low or 0, n


def longest_run_at_most(n: int, p: float, k: int) -> float:
    """The probability that n flips at chance p have no run (of yes or of no) longer than k.

    The flips are alternating runs of yes and of no, each 1 to k long. yes_end[i]: the first i flips end
    with a run of yes; its sum over the run's length j is kept as a running sum, so each step costs O(1)
    and the whole O(n) (a run of yes after flip i - j starts where a run of no ended, or at the start)."""
    q = 1 - p
    p_long, q_long = p ** (k + 1), q ** (k + 1)
    no_end, yes_end = [1.0] + [0.0] * n, [1.0] + [0.0] * n  # index 0: the start, where either run may begin
    for i in range(1, n + 1):
        yes_end[i] = p * (no_end[i - 1] + (yes_end[i - 1] if i > 1 else 0.0))
        no_end[i] = q * (yes_end[i - 1] + (no_end[i - 1] if i > 1 else 0.0))
        if i - 1 - k >= 0:
            yes_end[i] -= p_long * no_end[i - 1 - k]
            no_end[i] -= q_long * yes_end[i - 1 - k]
    return yes_end[n] + no_end[n] if n else 1.0


@functools.lru_cache(maxsize=512)
def run_range(n: int, p: float, level: float = FAIR) -> tuple[int, int]:
    """The central range of the longest run in n flips at chance p that holds `level` of outcomes. The
    probability grows with k, so each end is found by bisection: O(n log n)."""
    tail = (1 - level) / 2

    def first_k(above: float, strictly: bool) -> int:
        low, high = 1, max(1, n)
        while low < high:
            middle = (low + high) // 2
            at_most = longest_run_at_most(n, p, middle)
            if at_most > above or (not strictly and at_most >= above):
                high = middle
            else:
                low = middle + 1
        return low

    return first_k(tail, strictly=True), first_k(1 - tail, strictly=False)


def longest_run(outcomes: Sequence[bool]) -> tuple[int, bool | None]:
    best, of, length = 0, None, 0
    for i, outcome in enumerate(outcomes):
        length = length + 1 if i and outcomes[i - 1] == outcome else 1
        if length > best:
            best, of = length, outcome
    return best, of


def median(values: Sequence[float]) -> float:
    middle = len(values) // 2
    return float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
