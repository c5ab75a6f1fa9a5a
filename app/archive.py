"""A household's data as versioned JSON (export, import) and as CSV for spreadsheets."""

import csv
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app import coin
from app.flips import session_end
from app.models import (
    Coin,
    Enhancer,
    Flip,
    FlipEnhancer,
    Followed,
    Habit,
    HabitEnhancer,
    Household,
    Kind,
    Member,
    Mode,
    Reflection,
)
from app.schemas import EveryHours, TimeZoneName

FORMAT = "coinflip-export"
# 2 added time zones, sessions, archived habits and reflection versions; a version 1 file still imports.
VERSION = 2
READABLE_VERSIONS = (1, 2)


class MemberData(BaseModel):
    id: int
    name: str
    emoji: str
    pin_hash: str | None = None
    created_at: datetime


class EnhancerData(BaseModel):
    id: int
    member_id: int
    name: str
    kind: Kind
    spike: int = Field(ge=1, le=3)


class HabitData(BaseModel):
    id: int
    member_id: int
    name: str
    emoji: str
    why: str
    minimum: str
    mode: Mode
    chance: float = Field(ge=0.1, le=0.9)
    max_stack: int | None
    every_hours: EveryHours | None = None
    archived_at: datetime | None = None
    created_at: datetime
    enhancer_ids: list[int]


class VerdictData(BaseModel):
    enhancer_id: int | None
    name: str
    spike: int
    allowed: bool
    capped: bool = False


class ReflectionData(BaseModel):
    effort: int = Field(ge=1, le=10)
    enjoyment: int = Field(ge=1, le=10)
    followed: Followed
    note: str
    version: int = Field(default=1, ge=1)
    created_at: datetime


class FlipData(BaseModel):
    id: int
    habit_id: int
    member_id: int
    flipped_at: datetime
    next_flip_at: datetime | None = None  # None in version 1 files: the next local midnight, as then
    coin: Coin
    mode: Mode | None = None  # None in version 1 files: the habit's
    chance: float | None = Field(default=None, ge=0.1, le=0.9)
    prompt: str
    idempotency_key: str | None
    closed_at: datetime | None
    skipped: bool
    nonce: str | None = None
    commitment: str | None = None
    verdict: list[VerdictData]
    reflection: ReflectionData | None


class HouseholdData(BaseModel):
    name: str
    password_hash: str | None = None
    timezone: TimeZoneName | None = None  # None in version 1 files: COINFLIP_TIMEZONE
    created_at: datetime


class Export(BaseModel):
    format: str = FORMAT
    version: int = VERSION
    exported_at: datetime
    household: HouseholdData
    members: list[MemberData]
    enhancers: list[EnhancerData]
    habits: list[HabitData]
    flips: list[FlipData]


class ArchiveError(ValueError):
    """An export file that cannot be imported, with the reason."""


def export_household(db: Session, household: Household, *, secrets: bool) -> Export:
    """Everything of one household. `secrets` includes the password and PIN hashes (the CLI's full backup)."""
    members = list(db.exec(select(Member).where(Member.household_id == household.id).order_by(col(Member.id))))
    member_ids = [m.id for m in members]
    enhancers = list(
        db.exec(select(Enhancer).where(col(Enhancer.member_id).in_(member_ids)).order_by(col(Enhancer.id)))
    )
    habits = list(db.exec(select(Habit).where(col(Habit.member_id).in_(member_ids)).order_by(col(Habit.id))))
    links: dict[int, list[int]] = {h.id or 0: [] for h in habits}
    for link in db.exec(select(HabitEnhancer).where(col(HabitEnhancer.habit_id).in_(list(links)))):
        links[link.habit_id].append(link.enhancer_id)
    flips = list(db.exec(select(Flip).where(col(Flip.member_id).in_(member_ids)).order_by(col(Flip.id))))
    flip_ids = [f.id for f in flips]
    verdicts: dict[int, list[VerdictData]] = {f.id or 0: [] for f in flips}
    for row in db.exec(
        select(FlipEnhancer).where(col(FlipEnhancer.flip_id).in_(flip_ids)).order_by(col(FlipEnhancer.id))
    ):
        verdicts[row.flip_id].append(VerdictData.model_validate(row, from_attributes=True))
    reflections = {r.flip_id: r for r in db.exec(select(Reflection).where(col(Reflection.flip_id).in_(flip_ids)))}
    data = Export(
        exported_at=datetime.now(UTC),
        household=HouseholdData(
            name=household.name,
            password_hash=household.password_hash if secrets else None,
            timezone=household.timezone,
            created_at=household.created_at,
        ),
        members=[
            MemberData.model_validate(m.model_dump() | {"pin_hash": m.pin_hash if secrets else None}) for m in members
        ],
        enhancers=[EnhancerData.model_validate(e, from_attributes=True) for e in enhancers],
        habits=[HabitData.model_validate(h.model_dump() | {"enhancer_ids": sorted(links[h.id or 0])}) for h in habits],
        flips=[
            FlipData.model_validate(
                f.model_dump()
                | {
                    "verdict": verdicts[f.id or 0],
                    "reflection": ReflectionData.model_validate(reflections[f.id], from_attributes=True)
                    if f.id in reflections
                    else None,
                }
            )
            for f in flips
        ],
    )
    in_zone(data, ZoneInfo(household.timezone))
    return data


def in_zone(model: BaseModel, zone: ZoneInfo) -> None:
    """Every time in the export as the household reads it: its local time, with the offset that makes it exact."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, datetime):
            setattr(model, name, value.astimezone(zone))
        elif isinstance(value, BaseModel):
            in_zone(value, zone)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    in_zone(item, zone)


def seal_problems(data: Export, *, allow_unsealed: bool = False) -> list[str]:
    """Every flip whose verdict no longer matches the commitment it was sealed with, or that has no seal
    (flips from before seals existed have none: `allow_unsealed` takes them as they are)."""
    habits = {h.id: h.name for h in data.habits}
    problems = []
    for f in data.flips:
        where = f"Flip {f.id} ({habits.get(f.habit_id, 'unknown habit')}, {f.flipped_at:%Y-%m-%d %H:%M})"
        if f.nonce is None and f.commitment is None and allow_unsealed:
            continue
        if f.nonce is None or f.commitment is None:
            problems.append(
                f"{where} has no seal (nonce and commitment), so its verdict can't be checked. If the file is "
                "your own export and the flip is from before seals existed, import it with --allow-unsealed."
            )
            continue
        text = coin.commitment_text(f.coin, ((v.name, v.allowed) for v in f.verdict), f.nonce)
        if coin.commitment(text) != f.commitment:
            problems.append(f"{where}: its verdict does not match its seal; the file was changed after the flip.")
    return problems


def import_household(
    db: Session,
    data: Export,
    *,
    name: str,
    login: str,
    password_hash: str,
    timezone: str,
    allow_unsealed: bool = False,
) -> Household:
    """Create a new household from an export; every id is given anew and references are mapped.

    Every flip's seal is checked first: a file whose verdicts were changed is refused with every such flip
    named, and nothing is written. `timezone` is for a version 1 file, which has none.
    """
    if data.format != FORMAT or data.version not in READABLE_VERSIONS:
        raise ArchiveError(f"This is not a Coinflip export of version {' or '.join(map(str, READABLE_VERSIONS))}.")
    problems = seal_problems(data, allow_unsealed=allow_unsealed)
    if problems:
        raise ArchiveError("Nothing was imported:\n" + "\n".join(problems))
    zone_name = data.household.timezone or timezone
    zone = ZoneInfo(zone_name)
    household = Household(
        name=name, login=login, password_hash=password_hash, timezone=zone_name, created_at=data.household.created_at
    )
    db.add(household)
    db.flush()
    members: dict[int, int] = {}
    for m in data.members:
        member = Member(household_id=household.id or 0, **m.model_dump(exclude={"id"}))
        db.add(member)
        db.flush()
        members[m.id] = member.id or 0
    enhancers: dict[int, int] = {}
    for e in data.enhancers:
        enhancer = Enhancer(**e.model_dump(exclude={"id"}) | {"member_id": mapped(members, e.member_id, "member")})
        db.add(enhancer)
        db.flush()
        enhancers[e.id] = enhancer.id or 0
    habits: dict[int, int] = {}
    for h in data.habits:
        fields = h.model_dump(exclude={"id", "enhancer_ids"}) | {"member_id": mapped(members, h.member_id, "member")}
        habit = Habit(**fields)
        db.add(habit)
        db.flush()
        habits[h.id] = habit.id or 0
        for enhancer_id in h.enhancer_ids:
            db.add(HabitEnhancer(habit_id=habit.id or 0, enhancer_id=mapped(enhancers, enhancer_id, "enhancer")))
    policies = {h.id: (h.mode, h.chance) for h in data.habits}
    for f in data.flips:
        mode, chance = policies.get(f.habit_id, (Mode.all_or_nothing, 0.5))
        fields = f.model_dump(exclude={"id", "verdict", "reflection"}) | {
            "habit_id": mapped(habits, f.habit_id, "habit"),
            "member_id": mapped(members, f.member_id, "member"),
            "next_flip_at": f.next_flip_at or session_end(f.flipped_at, None, zone),
            "mode": f.mode or mode,
            "chance": f.chance or chance,
        }
        flip = Flip(**fields)
        db.add(flip)
        db.flush()
        for v in f.verdict:
            # An enhancer deleted since is kept by name only, as in the original.
            kept = enhancers.get(v.enhancer_id) if v.enhancer_id is not None else None
            db.add(FlipEnhancer(**v.model_dump() | {"flip_id": flip.id, "enhancer_id": kept}))
        if f.reflection is not None:
            db.add(Reflection(flip_id=flip.id or 0, **f.reflection.model_dump()))
    db.commit()
    return household


def mapped(ids: dict[int, int], old: int, what: str) -> int:
    if old not in ids:
        raise ArchiveError(f"The file refers to a {what} ({old}) it does not contain.")
    return ids[old]


CSV_COLUMNS = (
    "flip_id", "member", "habit", "flipped_at", "coin", "enhancer", "spike", "allowed",
    "closed_at", "skipped", "effort", "enjoyment", "followed", "prompt", "note",
)  # fmt: skip


def cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is kept as text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def flips_csv(data: Export) -> str:
    """One row per flip and enhancer (one row for a flip without enhancers), its reflection repeated. Times
    are the household's local times, to the second, with their offset."""
    members = {m.id: m.name for m in data.members}
    habits = {h.id: h.name for h in data.habits}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for f in data.flips:
        r = f.reflection
        common: list[Any] = [
            f.id,
            members[f.member_id],
            habits[f.habit_id],
            f.flipped_at.isoformat("T", "seconds"),
            f.coin.value,
        ]
        verdict: list[VerdictData | None] = list(f.verdict) or [None]
        after = [
            f.closed_at.isoformat("T", "seconds") if f.closed_at else "",
            f.skipped,
            r.effort if r else "",
            r.enjoyment if r else "",
            r.followed.value if r else "",
            f.prompt,
            r.note if r else "",
        ]
        for v in verdict:
            writer.writerow([cell(x) for x in common + ([v.name, v.spike, v.allowed] if v else ["", "", ""]) + after])
    return out.getvalue()
