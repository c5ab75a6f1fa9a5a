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
def test_a_habit_without_enhancers_still_flips(mode: Mode) -> None:
    assert draw(Policy(mode, 0.5), [], Scripted(0.2)).coin is Coin.heads
    assert draw(Policy(mode, 0.5), [], Scripted(0.7)).coin is Coin.tails
    assert draw(Policy(mode, 0.5), [], Scripted(0.7)).allowed == ()


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


# With the real CSPRNG. Critical values are fixed at p = 0.001, so each test fails by chance at most 1 in 1000.
CHI2_1DF_P001 = 10.828
NORMAL_TWO_SIDED_P001 = 3.2905
DRAWS = 10_000


def real_coins(chance: float) -> list[bool]:
    rng = secrets.SystemRandom()
    return [draw(Policy(Mode.all_or_nothing, chance), [MUSIC], rng).coin is Coin.heads for _ in range(DRAWS)]


@pytest.mark.parametrize("chance", [0.5, 0.3])
def test_real_coin_passes_a_chi_square_test(chance: float) -> None:
    heads = sum(real_coins(chance))
    expected_heads, expected_tails = DRAWS * chance, DRAWS * (1 - chance)
    chi2 = (heads - expected_heads) ** 2 / expected_heads + (DRAWS - heads - expected_tails) ** 2 / expected_tails
    assert chi2 < CHI2_1DF_P001, f"{heads} heads in {DRAWS} at chance {chance}"


def test_real_coin_passes_a_wald_wolfowitz_runs_test() -> None:
    coins = real_coins(0.5)
    heads = sum(coins)
    tails = DRAWS - heads
    runs = 1 + sum(a != b for a, b in zip(coins, coins[1:], strict=False))
    mean = 2 * heads * tails / DRAWS + 1
    variance = (mean - 1) * (mean - 2) / (DRAWS - 1)
    z = (runs - mean) / math.sqrt(variance)
    assert abs(z) < NORMAL_TWO_SIDED_P001, f"{runs} runs, expected {mean:.0f}"


def test_the_runs_test_would_catch_a_predictable_schedule() -> None:
    """The statistic above does fail for "no music every other time": the test can fail."""
    coins = [i % 2 == 0 for i in range(DRAWS)]
    runs = 1 + sum(a != b for a, b in zip(coins, coins[1:], strict=False))
    mean = 2 * 5000 * 5000 / DRAWS + 1
    z = (runs - mean) / math.sqrt((mean - 1) * (mean - 2) / (DRAWS - 1))
    assert abs(z) > NORMAL_TWO_SIDED_P001
