"""The flip rule: a pure function of (policy, enhancers, rng) -> verdict. No I/O."""

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass

from app.models import CHANCE_MAX, CHANCE_MIN, Coin, Mode


@dataclass(frozen=True)
class Policy:
    mode: Mode = Mode.all_or_nothing
    chance: float = 0.5
    max_stack: int | None = None

    def __post_init__(self) -> None:
        # 0 or 1 would make the schedule predictable, which is exactly what the coin is there to prevent.
        if not CHANCE_MIN <= self.chance <= CHANCE_MAX:
            raise ValueError(f"chance must lie between {CHANCE_MIN} and {CHANCE_MAX}")
        if self.max_stack is not None and self.max_stack < 1:
            raise ValueError("max_stack must be at least 1")


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    spike: int


@dataclass(frozen=True)
class Verdict:
    coin: Coin
    allowed: tuple[tuple[Candidate, bool], ...]
    # Enhancers whose coin said yes but which max_stack left home: the audit counts the coin, not the cap.
    capped: frozenset[Candidate] = frozenset()

    @property
    def brought(self) -> list[Candidate]:
        return [c for c, ok in self.allowed if ok]

    @property
    def left_out(self) -> list[Candidate]:
        return [c for c, ok in self.allowed if not ok]


def draw(policy: Policy, enhancers: list[Candidate], rng: random.Random) -> Verdict:
    """Draw the verdict.

    `all_or_nothing`: one coin; heads brings every enhancer. `each`: one coin per enhancer; the verdict's
    coin is heads when all come, tails when none do, mixed otherwise. `max_stack` then keeps a random subset
    of those allowed (in `all_or_nothing` the coin stays heads: the coin said yes, the cap trimmed the stack).
    There is nothing to draw without an enhancer.
    """
    if not enhancers:
        raise ValueError("a flip needs at least one enhancer")
    if policy.mode is Mode.all_or_nothing:
        heads = rng.random() < policy.chance
        allowed = [heads] * len(enhancers)
    else:
        allowed = [rng.random() < policy.chance for _ in enhancers]

    said_yes = list(allowed)
    chosen = [i for i, ok in enumerate(allowed) if ok]
    if policy.max_stack is not None and len(chosen) > policy.max_stack:
        kept = set(rng.sample(chosen, policy.max_stack))
        allowed = [i in kept for i in range(len(enhancers))]

    if policy.mode is Mode.all_or_nothing:
        coin = Coin.heads if heads else Coin.tails
    elif all(allowed):
        coin = Coin.heads
    elif not any(allowed):
        coin = Coin.tails
    else:
        coin = Coin.mixed
    capped = frozenset(c for c, yes, ok in zip(enhancers, said_yes, allowed, strict=True) if yes and not ok)
    return Verdict(coin=coin, allowed=tuple(zip(enhancers, allowed, strict=True)), capped=capped)


def commitment_text(coin: str, allowed: Iterable[tuple[str, bool]], nonce: str) -> str:
    """The verdict as one line of text: `heads|Music=yes|Coffee=yes|<nonce>`."""
    return "|".join([coin, *(f"{name}={'yes' if ok else 'no'}" for name, ok in allowed), nonce])


def commitment(text: str) -> str:
    """What anyone can recompute: `printf '%s' "$TEXT" | sha256sum`."""
    return hashlib.sha256(text.encode()).hexdigest()


def nonce(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"
