"""A household's data as versioned JSON (export, import) and as CSV for spreadsheets."""

import base64
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import argon2
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, from_json
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import coin, households
from app.flips import session_end
from app.models import (
    Chance,
    Enhancer,
    EnhancerBase,
    EnhancerIds,
    Flip,
    FlipBase,
    FlipEnhancer,
    FlipEnhancerBase,
    Habit,
    HabitBase,
    HabitEnhancer,
    Household,
    HouseholdBase,
    HouseholdName,
    Member,
    MemberBase,
    Mode,
    PleasureCheck,
    PleasureCheckBase,
    Reflection,
    ReflectionBase,
    TimeZoneName,
    Version,
    login_name,
)
from app.schemas import Checked, refusing

FORMAT = "coinflip-export"
# 2 added time zones, sessions, archived habits and reflection versions; 3 added pleasure checks. Files of every
# version still import.
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
NOT_AN_EXPORT = f"This is not a Coinflip export of version {' or '.join(map(str, READABLE_VERSIONS))}."

# A hash in a file may be no costlier to check than this: more would make every login of the household slow,
# and every wrong guess at it a way to keep the server busy. Four times the app's own (security.hasher).
ARGON2_MAX_MEMORY = 4 * argon2.DEFAULT_MEMORY_COST
ARGON2_MAX_WORK = 4 * argon2.DEFAULT_MEMORY_COST * argon2.DEFAULT_TIME_COST
ARGON2_MAX_PARALLELISM = 4 * argon2.DEFAULT_PARALLELISM


def hash_problem(value: str) -> str | None:
    """Why the app's hasher could not check a password against this hash, or None. Reads the hash's format
    and parameters only: no hash is computed."""
    shape = "an Argon2 hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash)"
    parts = value.split("$")
    if not Argon2Hasher.identify(value) or len(parts) != 6:
        return f"This is not {shape}."
    try:
        params = argon2.extract_parameters(value)
        salt, digest = (base64.b64decode(part + "=" * (-len(part) % 4), validate=True) for part in parts[4:])
    except (argon2.exceptions.InvalidHashError, ValueError):
        return f"This is not {shape}."
    if [base64.b64encode(b).decode().rstrip("=") for b in (salt, digest)] != parts[4:]:
        return f"This is not {shape}: its salt or hash is not in Argon2's Base64."
    if params.version not in (0x10, 0x13) or len(salt) < 8 or len(digest) < 4:
        return f"This is not {shape}: its version, salt or hash won't do."
    p, m, t = params.parallelism, params.memory_cost, params.time_cost
    if not (1 <= p <= ARGON2_MAX_PARALLELISM and 8 * p <= m <= ARGON2_MAX_MEMORY and 1 <= t <= ARGON2_MAX_WORK // m):
        return f"Its cost (m={m}, t={t}, p={p}) is out of range: at most m={ARGON2_MAX_MEMORY}, m×t={ARGON2_MAX_WORK}."
    return None


# A password or PIN hash from a file: one the app can check, or every login (every PIN) would fail with an error.
SecretHash = Annotated[str, refusing(hash_problem)]


# Each record of the file is its entity's fields (app/models.py), checked as input is, with its keys.
class HouseholdData(HouseholdBase, Checked):
    password_hash: SecretHash | None = None
    created_at: datetime
    # Version 1 files have none: the import takes COINFLIP_TIMEZONE. (Only here may it be None: hence the ignore.)
    timezone: TimeZoneName | None = None  # type: ignore[assignment]


class MemberData(MemberBase, Checked):
    id: int
    pin_hash: SecretHash | None = None
    created_at: datetime


class EnhancerData(EnhancerBase, Checked):
    id: int
    member_id: int


class HabitData(HabitBase, Checked):
    id: int
    member_id: int
    archived_at: datetime | None = None
    created_at: datetime
    enhancer_ids: EnhancerIds


class VerdictData(FlipEnhancerBase, Checked):
    enhancer_id: int | None


class ReflectionData(ReflectionBase, Checked):
    version: Version = 1  # 1 in version 1 files
    created_at: datetime


class FlipData(FlipBase, Checked):
    id: int
    habit_id: int
    member_id: int
    verdict: list[VerdictData]
    reflection: ReflectionData | None
    # Version 1 files have none of these: the import fills them in as version 1 meant them (the session ends at
    # the next local midnight; the policy is the habit's). Only here may they be None: hence the ignores.
    next_flip_at: datetime | None = None  # type: ignore[assignment]
    mode: Mode | None = None  # type: ignore[assignment]
    chance: Chance | None = None  # type: ignore[assignment]


class PleasureData(PleasureCheckBase, Checked):
    member_id: int
    logged_at: datetime


class Export(BaseModel):
    format: str = FORMAT
    version: int = VERSION
    exported_at: datetime
    household: HouseholdData
    members: list[MemberData]
    enhancers: list[EnhancerData]
    habits: list[HabitData]
    flips: list[FlipData]
    pleasure_checks: list[PleasureData] = Field(default_factory=list)  # none in files before version 3


class ArchiveError(ValueError):
    """An export file that cannot be imported, with the reason (every reason, one a line)."""


def export_for(db: Session, viewer: Member) -> Export:
    """What a member downloads (Settings, the API): their household, without password hashes (see below)."""
    household = db.get(Household, viewer.household_id)
    assert household is not None
    return export_household(db, household, secrets=False, viewer=viewer)


def export_household(db: Session, household: Household, *, secrets: bool, viewer: Member | None = None) -> Export:
    """Everything of one household. `secrets` includes the password and PIN hashes (the CLI's full backup).

    Exported for a `viewer` (a member on a device or with a token), the journal of every other member who has a
    PIN (their reflections, notes and pleasure checks) is left out; without one (the server's owner, the CLI)
    nothing is.
    """
    members = list(db.exec(select(Member).where(Member.household_id == household.id).order_by(col(Member.id))))
    member_ids = [m.id for m in members]
    private = {m.id for m in members if viewer is not None and m.pin_hash is not None and m.id != viewer.id}
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
    shown = [f.id for f in flips if f.member_id not in private]
    reflections = {r.flip_id: r for r in db.exec(select(Reflection).where(col(Reflection.flip_id).in_(shown)))}
    open_to_viewer = [i for i in member_ids if i not in private]
    pleasure_checks = db.exec(
        select(PleasureCheck).where(col(PleasureCheck.member_id).in_(open_to_viewer)).order_by(col(PleasureCheck.id))
    )
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
        pleasure_checks=[PleasureData.model_validate(p, from_attributes=True) for p in pleasure_checks],
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


def place(loc: Iterable[int | str]) -> str:
    """Where in the file: ("members", 2, "name") is members[2].name."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "the file"


def said(error: ErrorDetails) -> str:
    return error["msg"].removeprefix("Value error, ")


def refusal(problems: Iterable[str]) -> str:
    listed = list(problems)
    return f"Nothing was imported: {len(listed)} problem{'s' * (len(listed) != 1)}.\n" + "\n".join(
        f"  {p}" for p in listed
    )


R = TypeVar("R", bound=BaseModel)


@dataclass
class Records:
    """The records of a file that are sound on their own, each with its place in the file; and the ids of those
    that are not, so that a reference to one of them is not named as a second problem."""

    members: list[tuple[int, MemberData]]
    enhancers: list[tuple[int, EnhancerData]]
    habits: list[tuple[int, HabitData]]
    flips: list[tuple[int, FlipData]]
    pleasure_checks: list[tuple[int, PleasureData]]
    unsound: set[tuple[str, object]] = field(default_factory=set)

    @classmethod
    def of(cls, data: Export) -> "Records":
        listed = list(enumerate(data.members)), list(enumerate(data.enhancers)), list(enumerate(data.habits))
        return cls(*listed, list(enumerate(data.flips)), list(enumerate(data.pleasure_checks)))

    @classmethod
    def sound_part(cls, document: dict[str, object]) -> "Records":
        unsound: set[tuple[str, object]] = set()

        def sound(section: str, model: type[R]) -> list[tuple[int, R]]:
            items = document.get(section)
            found = []
            for i, item in enumerate(items if isinstance(items, list) else []):
                try:
                    found.append((i, model.model_validate(item)))
                except ValidationError:
                    unsound.add((section, item.get("id") if isinstance(item, dict) else None))
            return found

        return cls(
            sound("members", MemberData),
            sound("enhancers", EnhancerData),
            sound("habits", HabitData),
            sound("flips", FlipData),
            sound("pleasure_checks", PleasureData),
            unsound,
        )


def places(section: str, ids: Iterable[tuple[int, int]], problems: list[str]) -> dict[int, int]:
    """Each id's place in its section of the file, naming every id given twice."""
    found: dict[int, int] = {}
    for i, record_id in ids:
        if record_id in found:
            problems.append(f"{section}[{i}].id: {record_id} is the id of {section}[{found[record_id]}] too.")
        else:
            found[record_id] = i
    return found


def relation_problems(records: Records) -> list[str]:
    """What the database or the app's rules would refuse across records: ids given twice, references to
    nothing or to another member's things, names the app keeps apart, two open flips of a habit."""
    problems: list[str] = []

    def known(where: str, section: str, ids: dict[int, int], record_id: int) -> bool:
        if record_id not in ids and (section, record_id) not in records.unsound:
            problems.append(f"{where}: there is no {section[:-1]} {record_id} in the file.")
        return record_id in ids

    members = places("members", ((i, m.id) for i, m in records.members), problems)
    names: dict[str, int] = {}
    for i, m in records.members:
        if names.setdefault(m.name, i) != i:
            problems.append(f"members[{i}].name: {m.name!r} is the name of members[{names[m.name]}] too.")

    enhancers = places("enhancers", ((i, e.id) for i, e in records.enhancers), problems)
    owner = {e.id: e.member_id for _, e in records.enhancers}
    for i, e in records.enhancers:
        known(f"enhancers[{i}].member_id", "members", members, e.member_id)

    habits = places("habits", ((i, h.id) for i, h in records.habits), problems)
    habit_owner = {h.id: h.member_id for _, h in records.habits}
    habit_names: dict[tuple[int, str], int] = {}
    for i, h in records.habits:
        known(f"habits[{i}].member_id", "members", members, h.member_id)
        same = habit_names.setdefault((h.member_id, h.name.casefold()), i)
        if same != i:  # as the app: no two habits of a member by one name, archived or not, in any case
            problems.append(f"habits[{i}].name: the member has a habit called {h.name!r} already (habits[{same}]).")
        for j, enhancer_id in enumerate(h.enhancer_ids):
            where = f"habits[{i}].enhancer_ids[{j}]"
            if not known(where, "enhancers", enhancers, enhancer_id):
                continue
            if owner[enhancer_id] != h.member_id:
                problems.append(f"{where}: enhancer {enhancer_id} is another member's.")

    places("flips", ((i, f.id) for i, f in records.flips), problems)
    open_flips: dict[int, int] = {}
    keys: dict[tuple[int, str], int] = {}
    for i, f in records.flips:
        member_known = known(f"flips[{i}].member_id", "members", members, f.member_id)
        habit_known = known(f"flips[{i}].habit_id", "habits", habits, f.habit_id)
        if habit_known and member_known and habit_owner[f.habit_id] != f.member_id:
            problems.append(f"flips[{i}].member_id: habit {f.habit_id} is another member's.")
        if f.closed_at is None and open_flips.setdefault(f.habit_id, i) != i:
            problems.append(
                f"flips[{i}].closed_at: flips[{open_flips[f.habit_id]}] of the same habit is open too; "
                "a habit has at most one open flip."
            )
        key = (f.member_id, f.idempotency_key or "")
        if f.idempotency_key is not None and keys.setdefault(key, i) != i:
            problems.append(f"flips[{i}].idempotency_key: flips[{keys[key]}] of the same member has this key too.")
        for j, v in enumerate(f.verdict):
            # An enhancer deleted since is kept by name only, as in the original; another member's is a mistake.
            if v.enhancer_id in owner and owner[v.enhancer_id] != f.member_id:
                problems.append(f"flips[{i}].verdict[{j}].enhancer_id: enhancer {v.enhancer_id} is another member's.")
    for i, p in records.pleasure_checks:
        known(f"pleasure_checks[{i}].member_id", "members", members, p.member_id)
    return problems


def seal_problems(records: Records, *, allow_unsealed: bool = False) -> list[str]:
    """Every flip whose verdict no longer matches the commitment it was sealed with, or that has no seal
    (flips from before seals existed have none: `allow_unsealed` takes them as they are)."""
    habits = {h.id: h.name for _, h in records.habits}
    problems = []
    for i, f in records.flips:
        where = f"flips[{i}]: Flip {f.id} ({habits.get(f.habit_id, 'unknown habit')}, {f.flipped_at:%Y-%m-%d %H:%M})"
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


def name_problems(db: Session, name: str, *, given: bool = True) -> list[str]:
    """Why a household can't be imported under this name (`given`: on the command line, not the file's own)."""
    try:
        TypeAdapter(HouseholdName).validate_python(name)
    except ValidationError as exc:  # the file's own name has been named at household.name
        return [f"The name {name!r}: {said(e)}" for e in exc.errors()] if given else []
    if households.named(db, name) is not None:
        return [f"A household named {name!r} exists already; import it under another name with --name."]
    return []


def import_household(
    db: Session,
    raw: bytes,
    *,
    name: str | None,
    spare_password_hash: str,
    timezone: str,
    allow_unsealed: bool = False,
) -> tuple[Household, Export]:
    """A new household made from an export file, under the file's name or `name`: all of it, or nothing.

    The whole file is checked first, as the app checks input: every field with the API's limits, the
    household's name, every reference and duplicate, every flip's seal. A file with problems is refused with
    all of them named, each with its place in the file, and nothing is written. `spare_password_hash` is for
    a file without a password (an export from the API), `timezone` for a version 1 file, which has none.
    """
    try:
        document = from_json(raw)
    except ValueError as exc:
        raise ArchiveError(f"{NOT_AN_EXPORT} It is not JSON: {exc}") from exc
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or document.get("version") not in READABLE_VERSIONS
    ):
        raise ArchiveError(NOT_AN_EXPORT)
    problems: list[str] = []
    data: Export | None = None
    try:
        data = Export.model_validate(document)
        records = Records.of(data)
    except ValidationError as exc:
        problems += [f"{place(e['loc'])}: {said(e)}" for e in exc.errors()]
        records = Records.sound_part(document)
    household = document.get("household")
    in_file = household.get("name") if isinstance(household, dict) else None
    if name or isinstance(in_file, str):
        problems += name_problems(db, (name or str(in_file)).strip(), given=bool(name))
    problems += relation_problems(records) + seal_problems(records, allow_unsealed=allow_unsealed)
    if data is None or problems:
        raise ArchiveError(refusal(problems))
    name = (name or data.household.name).strip()
    new = Household(
        name=name,
        login=login_name(name),
        password_hash=data.household.password_hash or spare_password_hash,
        timezone=data.household.timezone or timezone,
        created_at=data.household.created_at,
    )
    try:
        add_records(db, new, data)
        db.commit()
    except IntegrityError as exc:  # another import or sign-up took the name since it was checked
        db.rollback()
        raise ArchiveError(refusal(name_problems(db, name) or [f"The database refused it: {exc.orig}"])) from exc
    return new, data


def add_records(db: Session, household: Household, data: Export) -> None:
    """The household and everything in the file, every id given anew and every reference mapped."""
    zone = ZoneInfo(household.timezone)
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
        enhancer = Enhancer(**e.model_dump(exclude={"id"}) | {"member_id": members[e.member_id]})
        db.add(enhancer)
        db.flush()
        enhancers[e.id] = enhancer.id or 0
    habits: dict[int, int] = {}
    for h in data.habits:
        habit = Habit(**h.model_dump(exclude={"id", "enhancer_ids"}) | {"member_id": members[h.member_id]})
        db.add(habit)
        db.flush()
        habits[h.id] = habit.id or 0
        for enhancer_id in sorted(set(h.enhancer_ids)):  # one link each, as the API takes them
            db.add(HabitEnhancer(habit_id=habit.id or 0, enhancer_id=enhancers[enhancer_id]))
    policies = {h.id: (h.mode, h.chance) for h in data.habits}
    for f in data.flips:
        mode, chance = policies[f.habit_id]
        fields = f.model_dump(exclude={"id", "verdict", "reflection"}) | {
            "habit_id": habits[f.habit_id],
            "member_id": members[f.member_id],
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
    for p in data.pleasure_checks:
        db.add(PleasureCheck(**p.model_dump() | {"member_id": members[p.member_id]}))


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


PLEASURE_CHECK_COLUMNS = ("member", "pleasure", "logged_at", "enjoyment", "craving")


def pleasure_checks_csv(data: Export) -> str:
    """One row per pleasure check, at the household's local time, to the second, with its offset."""
    members = {m.id: m.name for m in data.members}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PLEASURE_CHECK_COLUMNS)
    for p in data.pleasure_checks:
        row = [members[p.member_id], p.name, p.logged_at.isoformat("T", "seconds"), p.enjoyment, p.craving]
        writer.writerow([cell(x) for x in row])
    return out.getvalue()
