"""The flip rule as a pure function: seeded cases for every mode and cap, and the real CSPRNG's fairness."""

import math
import random
import secrets

import pytest

from app.coin import Candidate, Policy, draw
from app.models import Coin, Mode

MUSIC, COFFEE, PODCAST = Candidate(1, "Music", 2), Candidate(2, "Coffee", 2), Candidate(3, "Podcast", 1)
ALL = [MUSIC, COFFEE, PODCAST]


class Scripted(random.Random):
    """A Random whose random() returns the given numbers in order, then seeded ones."""

    def __init__(self, *values: float) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0) if self.values else super().random()


@pytest.mark.parametrize(
    ("chance", "roll", "expected"),
    [
        (0.5, 0.49, Coin.heads),
        (0.5, 0.5, Coin.tails),
        (0.1, 0.09, Coin.heads),
        (0.1, 0.1, Coin.tails),
        (0.9, 0.89, Coin.heads),
    ],
)
def test_all_or_nothing_uses_one_coin_for_every_enhancer(chance: float, roll: float, expected: Coin) -> None:
    verdict = draw(Policy(Mode.all_or_nothing, chance), ALL, Scripted(roll))
    assert verdict.coin is expected
    assert [ok for _, ok in verdict.allowed] == [expected is Coin.heads] * 3


@pytest.mark.parametrize(
    ("rolls", "allowed", "coin"),
    [
        ((0.1, 0.2, 0.3), [True, True, True], Coin.heads),
        ((0.7, 0.8, 0.9), [False, False, False], Coin.tails),
        ((0.1, 0.8, 0.3), [True, False, True], Coin.mixed),
    ],
)
def test_each_mode_flips_one_coin_per_enhancer(rolls: tuple[float, ...], allowed: list[bool], coin: Coin) -> None:
    verdict = draw(Policy(Mode.each, 0.5), ALL, Scripted(*rolls))
    assert [ok for _, ok in verdict.allowed] == allowed
    assert verdict.coin is coin


def test_max_stack_keeps_a_random_subset_of_the_allowed() -> None:
    kept_sets = set()
    for seed in range(200):
        verdict = draw(Policy(Mode.all_or_nothing, 0.9, max_stack=2), ALL, random.Random(seed))
        if verdict.coin is Coin.heads:
            assert len(verdict.brought) == 2
            kept_sets.add(tuple(c.name for c in verdict.brought))
        else:
            assert verdict.brought == []
    # Every pair appears: the cap keeps a random subset, not always the first ones.
    assert kept_sets == {("Music", "Coffee"), ("Music", "Podcast"), ("Coffee", "Podcast")}


def test_max_stack_in_each_mode_turns_heads_into_mixed() -> None:
    verdict = draw(Policy(Mode.each, 0.5, max_stack=1), ALL, Scripted(0.1, 0.1, 0.1))
    assert len(verdict.brought) == 1 and len(verdict.left_out) == 2
    assert verdict.coin is Coin.mixed


def test_max_stack_above_the_number_allowed_changes_nothing() -> None:
    verdict = draw(Policy(Mode.each, 0.5, max_stack=3), ALL, Scripted(0.1, 0.9, 0.1))
    assert [ok for _, ok in verdict.allowed] == [True, False, True]


@pytest.mark.parametrize("mode", list(Mode))
def test_there_is_no_verdict_without_an_enhancer(mode: Mode) -> None:
    with pytest.raises(ValueError, match="at least one enhancer"):
        draw(Policy(mode, 0.5), [], Scripted(0.2))


def test_the_verdict_names_what_the_cap_left_home() -> None:
    """The coin said yes to all three; a cap of one kept Coffee: the other two are capped, not refused."""
    verdict = draw(Policy(Mode.each, 0.5, max_stack=1), ALL, Scripted(0.1, 0.1, 0.1))
    assert verdict.capped == frozenset(verdict.left_out) and len(verdict.capped) == 2
    assert draw(Policy(Mode.each, 0.5), ALL, Scripted(0.1, 0.9, 0.1)).capped == frozenset()


@pytest.mark.parametrize("chance", [0.0, 0.05, 0.95, 1.0])
def test_predictable_chances_are_refused(chance: float) -> None:
    with pytest.raises(ValueError, match="chance"):
        Policy(Mode.all_or_nothing, chance)


def test_max_stack_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_stack"):
        Policy(Mode.each, 0.5, max_stack=0)


def test_the_same_seed_gives_the_same_verdict() -> None:
    policy = Policy(Mode.each, 0.5)
    assert draw(policy, ALL, random.Random(7)) == draw(policy, ALL, random.Random(7))


# With the real CSPRNG. Critical values are fixed at p = 0.001, so a fair coin fails one sample 1 time in 1,000:
# with six such checks per CI run that failed CI now and then for nothing. A check now fails only if two
# independent samples both fail (1 in 1,000,000 for a fair coin), while a biased coin fails every sample.
CHI2_1DF_P001 = 10.828
NORMAL_TWO_SIDED_P001 = 3.2905
DRAWS = 10_000
SAMPLES = 2


def real_coins(chance: float) -> list[bool]:
    rng = secrets.SystemRandom()
    return [draw(Policy(Mode.all_or_nothing, chance), [MUSIC], rng).coin is Coin.heads for _ in range(DRAWS)]


def chi_square(coins: list[bool], chance: float) -> float:
    heads = sum(coins)
    expected_heads, expected_tails = DRAWS * chance, DRAWS * (1 - chance)
    return (heads - expected_heads) ** 2 / expected_heads + (DRAWS - heads - expected_tails) ** 2 / expected_tails


def runs_z(coins: list[bool]) -> float:
    """Wald-Wolfowitz: how far the number of runs (streaks) is from a random sequence's, in standard deviations."""
    heads = sum(coins)
    tails = len(coins) - heads
    runs = 1 + sum(a != b for a, b in zip(coins, coins[1:], strict=False))
    mean = 2 * heads * tails / len(coins) + 1
    variance = (mean - 1) * (mean - 2) / (len(coins) - 1)
    return (runs - mean) / math.sqrt(variance)


@pytest.mark.parametrize("chance", [0.5, 0.3])
def test_real_coin_passes_a_chi_square_test(chance: float) -> None:
    values = [chi_square(real_coins(chance), chance) for _ in range(SAMPLES)]
    assert min(values) < CHI2_1DF_P001, f"chi-square {values} at chance {chance}"


def test_real_coin_passes_a_wald_wolfowitz_runs_test() -> None:
    values = [runs_z(real_coins(0.5)) for _ in range(SAMPLES)]
    assert min(abs(z) for z in values) < NORMAL_TWO_SIDED_P001, f"runs z-scores {values}"


def test_the_runs_test_would_catch_a_predictable_schedule() -> None:
    """The statistic above does fail for "no music every other time": the test can fail."""
    assert abs(runs_z([i % 2 == 0 for i in range(DRAWS)])) > NORMAL_TWO_SIDED_P001


def test_the_chi_square_test_would_catch_a_coin_biased_by_three_points() -> None:
    rng = random.Random(3)
    values = [chi_square([rng.random() < 0.53 for _ in range(DRAWS)], 0.5) for _ in range(SAMPLES)]
    assert min(values) > CHI2_1DF_P001
