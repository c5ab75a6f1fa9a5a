"""Households and members: signing up, logging a device in, who acts on a device, PINs and who may change
what, the household's time zone and password, its devices and tokens.

The functions that take a Session are run by `db.read` or `db.write` (app.db) in a request, and called directly
by the CLI and the tests. A write is given what the request saw (detached rows) and checks again whatever it
depends on: another request may have changed it since.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import security, tokens
from app.config import Settings
from app.db import Sql, locked
from app.flips import keep_sessions_in_new_zone
from app.models import (
    ApiToken,
    Enhancer,
    Flip,
    Habit,
    Household,
    LoginSession,
    Member,
    PleasureCheck,
    Reflection,
    login_name,
)
from app.schemas import HouseholdIn, MemberIn


class SignupClosed(Exception):
    """Sign-up is closed, and a household exists (perhaps made since the form was shown)."""


class NameTaken(ValueError):
    """Another household, or another member of the household, has this name."""


class LastMember(Exception):
    """The member is the household's only one: a household always has someone to pick."""


class PinChanged(Exception):
    """The member's PIN changed since the request checked it (or saw there was none): what it decided no longer
    holds, so nothing was done."""


def named(db: Session, name: str) -> Household | None:
    """The household that logs in with this name (spaces collapsed, case folded), if there is one."""
    return db.exec(select(Household).where(Household.login == login_name(name))).first()


def has_households(db: Session) -> bool:
    return db.exec(select(func.count()).select_from(Household)).one() > 0


def signup_allowed(db: Session, settings: Settings) -> bool:
    """Open sign-up lets anyone make a household; closed, only the first one is made in the browser."""
    return settings.signup == "open" or not has_households(db)


def sign_up(
    db: Session,
    settings: Settings,
    data: HouseholdIn,
    password_hash: str,
    timezone: str,
    user_agent: str,
    previous: str | None,
) -> str:
    """Create a household with its first member, and log this browser in as that member: its login token."""
    if not signup_allowed(db, settings):
        raise SignupClosed
    if named(db, data.name) is not None:
        raise NameTaken(data.name)
    household = Household(name=data.name, login=login_name(data.name), password_hash=password_hash, timezone=timezone)
    db.add(household)
    try:
        db.flush()
    except IntegrityError as exc:  # the same name, signed up on another replica in this very moment
        raise NameTaken(data.name) from exc
    assert household.id is not None
    member = Member(household_id=household.id, name=data.member)
    db.add(member)
    db.flush()
    return log_in(db, household, member, user_agent, previous)


def log_in(db: Session, household: Household, member: Member | None, user_agent: str, previous: str | None) -> str:
    """Start a fresh login for a browser (a new token every time) and return the token for its cookie.

    The login it had before (`previous`, its login cookie) ends: it would be a device nobody can see is gone.
    """
    assert household.id is not None
    found = security.find_login(Sql.of(db), previous)
    if found is not None:
        security.end_login(db, found[0])
    token = security.start_login(db, household.id, user_agent, member.id if member else None)
    db.commit()
    return token


def log_out(db: Session, login: LoginSession) -> None:
    """End this login, unless it has ended already (say, revoked from another device)."""
    found = db.get(LoginSession, login.id)
    if found is not None:
        security.end_login(db, found)
    db.commit()


def members_of(db: Session, household: Household) -> list[Member]:
    return list(db.exec(select(Member).where(Member.household_id == household.id).order_by(col(Member.id))))


def member_count(db: Session, household_id: int) -> int:
    return db.exec(select(func.count()).select_from(Member).where(Member.household_id == household_id)).one()


def member_named(db: Session, household_id: int | None, name: str) -> Member | None:
    return db.exec(select(Member).where(Member.household_id == household_id, Member.name == name)).first()


def name_taken(db: Session, household_id: int | None, name: str, member: Member | None = None) -> bool:
    """Whether another member of the household has this name (`member`: the one being renamed, if any)."""
    same = member_named(db, household_id, name)
    return same is not None and (member is None or same.id != member.id)


def behind_pin(login: LoginSession, member: Member) -> bool:
    """Whether this member is behind a PIN on this device: they have one, and aren't the member picked on it.
    Such a member is picked only with the PIN, and edited only by themself."""
    return member.pin_hash is not None and login.member_id != member.id


def own_turn(login: LoginSession, member: Member) -> bool:
    """Only the member themself, picked on this device, sets, changes or removes their PIN."""
    return login.member_id == member.id


def add_member(db: Session, household: Household, data: MemberIn) -> Member:
    assert household.id is not None
    if name_taken(db, household.id, data.name):
        raise NameTaken(data.name)
    member = Member(household_id=household.id, name=data.name, emoji=data.emoji, colour=data.colour)
    db.add(member)
    try:
        db.flush()
    except IntegrityError as exc:  # added on another replica in this very moment
        raise NameTaken(data.name) from exc
    db.commit()
    return member


def pick(db: Session, login: LoginSession, member: Member) -> None:
    """This member is the one acting on this device from now on. `member` is as the request saw it when it
    asked for the PIN, or saw none was needed."""
    if locked(db, member).pin_hash != member.pin_hash:
        raise PinChanged
    act_as(db, login, member)
    db.commit()


def act_as(db: Session, login: LoginSession, member: Member) -> None:
    login = locked(db, login)
    login.member_id = member.id
    db.add(login)


def forget_pin(db: Session, login: LoginSession, member: Member) -> bool:
    """Clear a forgotten PIN (the household password was given), and end that member's other logins and their
    tokens: whoever knew the PIN is out. This device goes on as the member, to set a new one. False, and nothing
    done, if the member has no PIN (any more)."""
    member = locked(db, member)
    if member.pin_hash is None:
        return False
    member.pin_hash = None
    db.add(member)
    security.end_member_logins(db, member, keep=login)
    tokens.revoke_all(db, member_ids=[member.id])
    act_as(db, login, member)
    db.commit()
    return True


def save_member(db: Session, login: LoginSession, member: Member, data: MemberIn, pin_hash: str | None) -> bool:
    """Rename the member, and give them `pin_hash` (None: no PIN); whether the PIN changed. `member` is as the
    request saw it when it decided who may do this (and checked the current PIN): if the PIN has changed since,
    nothing is saved."""
    stored = locked(db, member)
    if stored.pin_hash != member.pin_hash:
        raise PinChanged
    if name_taken(db, stored.household_id, data.name, stored):
        raise NameTaken(data.name)
    pin_changed = pin_hash != stored.pin_hash
    stored.name, stored.emoji, stored.colour, stored.pin_hash = data.name, data.emoji, data.colour, pin_hash
    db.add(stored)
    try:
        db.flush()
    except IntegrityError as exc:  # the name, taken on another replica in this very moment
        raise NameTaken(data.name) from exc
    if pin_changed:
        # Devices and tokens that had this member before the PIN (made by anyone) would read on behind it.
        security.end_member_logins(db, stored, keep=login)
        tokens.revoke_all(db, member_ids=[stored.id])
    db.commit()
    return pin_changed


def belongings(db: Session, member: Member) -> dict[str, int]:
    """How many of each thing goes with the member when they are deleted, for the confirmation to name."""

    def count(table: type[Habit | Enhancer | Flip | PleasureCheck | ApiToken]) -> int:
        return db.exec(select(func.count()).select_from(table).where(table.member_id == member.id)).one()

    reflections = select(func.count()).select_from(Reflection).join(Flip, col(Reflection.flip_id) == Flip.id)
    return {
        "habit": count(Habit),
        "enhancer": count(Enhancer),
        "flip": count(Flip),
        "reflection": db.exec(reflections.where(Flip.member_id == member.id)).one(),
        "pleasure check": count(PleasureCheck),
        "API token": count(ApiToken),
    }


def delete_member(db: Session, household: Household, member: Member) -> None:
    """Delete the member with everything of theirs (the database cascades); devices that had them picked ask
    "who's this?" next. `member` is as the request saw it when it decided who may do this: if their PIN has
    changed since, nothing is done."""
    locked(db, household)  # two members deleted at once: the second sees the first gone, and is the last
    stored = locked(db, member)
    if stored.pin_hash != member.pin_hash:
        raise PinChanged
    if member_count(db, stored.household_id) <= 1:
        raise LastMember
    db.delete(stored)
    db.commit()


def set_time_zone(db: Session, household: Household, name: str, now: datetime) -> None:
    """Every time shown, and the day a session lasts, follow the new zone; sessions under way never end sooner."""
    household = locked(db, household)  # a draw reads the zone under a shared lock: one waits for the other
    household.timezone = name
    db.add(household)
    keep_sessions_in_new_zone(db, household, ZoneInfo(name), now)
    db.commit()


def set_password(db: Session, household: Household, password_hash: str, keep: LoginSession | None = None) -> None:
    """A new password logs out every device but `keep` and revokes every API token of the household."""
    household = locked(db, household)
    household.password_hash = password_hash
    db.add(household)
    security.end_other_logins(db, household.id, keep=keep)
    tokens.revoke_household(db, household.id)
    db.commit()


def devices_of(db: Session, household: Household) -> list[tuple[LoginSession, Member | None]]:
    """The household's logins with the member picked on each (if any), the device seen most recently first."""
    query = select(LoginSession, Member).outerjoin(Member, col(LoginSession.member_id) == Member.id)
    query = query.where(LoginSession.household_id == household.id)
    return list(db.exec(query.order_by(col(LoginSession.last_seen_at).desc(), col(LoginSession.id).desc())).all())


def device_of(db: Session, household: Household, login_id: int) -> LoginSession | None:
    found = db.get(LoginSession, login_id)
    return found if found is not None and found.household_id == household.id else None


def rename_device(db: Session, household: Household, login_id: int, name: str) -> bool:
    """Give one of the household's logins a name people know it by ("Ben's phone"); whether it is still there."""
    found = device_of(db, household, login_id)
    if found is None:
        return False
    found.device_name = name
    db.add(found)
    db.commit()
    return True


def log_out_device(db: Session, household: Household, login_id: int) -> bool:
    """End one of the household's logins (any member may: a lost phone is everyone's concern); whether it did."""
    found = device_of(db, household, login_id)
    if found is None:
        return False
    security.end_login(db, found)
    db.commit()
    return True


def revoke_token(db: Session, household: Household, token_id: int) -> bool:
    """Revoke one API token of the household's members (any member may, as with devices); whether it did."""
    members = list(db.exec(select(Member.id).where(Member.household_id == household.id)))
    revoked = tokens.revoke(db, token_id, members)
    db.commit()
    return revoked


def set_language(db: Session, member: Member, language: str | None) -> None:
    """The language the member's pages are in; None: each browser's own (Accept-Language)."""
    db.exec(update(Member).where(col(Member.id) == member.id).values(language=language))
