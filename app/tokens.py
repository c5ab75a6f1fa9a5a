"""API tokens: a member's named keys for their own scripts, listed with when each was last used, revocable.

Only a token's hash is stored; the token itself is shown once, when it is made. Changing or resetting the
household password revokes every token of the household, and a forgotten PIN cleared those of its member.
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app.db import Sql, columns, loaded, with_columns
from app.models import ApiToken, Member
from app.security import digest

PREFIX = "cf_"
DEFAULT_NAME = "API token"
# Like a device's last_seen_at: noted to the minutes, so not every API call is a write.
LAST_USED_GRANULARITY = timedelta(minutes=5)

# Asked on every API call, so in plain SQL (app.db.Sql).
BY_HASH = with_columns(
    """SELECT {t.*}, {m.*}, h.timezone FROM apitoken t
    JOIN member m ON m.id = t.member_id
    JOIN household h ON h.id = m.household_id
    WHERE t.token_hash = :token_hash""",
    t=ApiToken,
    m=Member,
)
TOKEN_COLUMNS = len(columns(ApiToken).names)


def create(db: Session, member: Member, name: str = DEFAULT_NAME) -> str:
    """A new token for this member; the caller commits, and shows the token once."""
    token = PREFIX + secrets.token_urlsafe(32)
    assert member.id is not None
    db.add(ApiToken(member_id=member.id, name=name.strip() or DEFAULT_NAME, token_hash=digest(token)))
    return token


def find(sql: Sql, token: str) -> tuple[ApiToken, Member, str] | None:
    """The token row, the member it acts for, and their household's time zone."""
    found = sql.one(BY_HASH, token_hash=digest(token))
    if found is None:
        return None
    return loaded(ApiToken, found[:TOKEN_COLUMNS]), loaded(Member, found[TOKEN_COLUMNS:-1]), found[-1]


def needs_touch(token: ApiToken, now: datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY


def touch(db: Session, token: ApiToken, now: datetime) -> None:
    db.exec(update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now))


def of_members(db: Session, member_ids: list[int | None]) -> list[ApiToken]:
    query = select(ApiToken).where(col(ApiToken.member_id).in_(member_ids)).order_by(col(ApiToken.id))
    return list(db.exec(query))


def of_household(db: Session, household_id: int | None) -> list[tuple[ApiToken, Member]]:
    query = (
        select(ApiToken, Member)
        .join(Member, col(Member.id) == ApiToken.member_id)
        .where(Member.household_id == household_id)
        .order_by(col(Member.name), col(ApiToken.id))
    )
    return [(token, member) for token, member in db.exec(query)]


def revoke(db: Session, token_id: int, member_ids: list[int | None]) -> bool:
    """Revoke one token if it belongs to one of these members; whether it did."""
    found = db.get(ApiToken, token_id)
    if found is None or found.member_id not in member_ids:
        return False
    db.delete(found)
    return True


def revoke_all(db: Session, *, member_ids: list[int | None]) -> None:
    db.exec(delete(ApiToken).where(col(ApiToken.member_id).in_(member_ids)))


def revoke_household(db: Session, household_id: int | None) -> None:
    members = select(Member.id).where(Member.household_id == household_id)
    db.exec(delete(ApiToken).where(col(ApiToken.member_id).in_(members.scalar_subquery())))
