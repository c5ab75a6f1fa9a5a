"""Reminders: a member's cue per habit (weekdays and a local time), when one is due, the claim that lets exactly one
worker or replica send it, and the dispatcher that sends what is due to the member's devices and Apprise URLs.

Cues, never nags: a reminder is sent only at the moment its member chose, within a short grace window (a server
that was down sends nothing stale when it is back), and not at all once the habit is flipped in its session or
archived. Nothing is ever sent at any other time: the times a member picks are the only ones, so the rest of the
day is quiet."""

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool

from app import copy
from app.db import Database, Sql, as_loaded, as_utc, loaded, with_columns
from app.i18n import SOURCE, gettext, speaking
from app.models import AppriseTarget, Habit, Member, PushSubscription, Reminder, Weekday, utcnow
from app.notify import Gone, Message, Notifier
from app.schemas import ReminderIn

log = logging.getLogger("coinflip.reminders")

TICK = 30.0  # seconds between the dispatcher's looks at what is due
# A reminder is sent only this soon after its moment: after downtime, what was due long ago stays unsent.
GRACE = timedelta(minutes=10)
# A claim not marked sent after this long (its sender died mid-send) may be taken over, within the grace window.
LEASE = timedelta(minutes=2)
KEEP_SENT = timedelta(days=2)  # how long a sent moment's row is kept: past the grace window it can't recur


def mask_of(days: Iterable[Weekday]) -> int:
    return sum(1 << list(Weekday).index(day) for day in set(days))


def days_of(mask: int) -> list[Weekday]:
    return [day for i, day in enumerate(Weekday) if mask & (1 << i)]


def local_moment(day: datetime, at: str, zone: ZoneInfo) -> datetime:
    """The UTC moment of `at` on the local date of `day`. A time the clocks skip (02:30 on the night summer time
    starts) comes at the same distance after midnight (03:30); a time that happens twice, the first time."""
    hours, minutes = (int(part) for part in at.split(":"))
    return datetime.combine(day.date(), time(hours, minutes), tzinfo=zone).astimezone(UTC)


def last_due(mask: int, at: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The latest moment at or before `now` that the reminder was due (today's or yesterday's, local)."""
    today = now.astimezone(zone)
    for back in (0, 1):
        day = today - timedelta(days=back)
        moment = local_moment(day, at, zone)
        if mask & (1 << day.weekday()) and moment <= now:
            return moment
    return None


def next_due(mask: int, at: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The next moment after `now` the reminder is due, for the page to say when."""
    today = now.astimezone(zone)
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        moment = local_moment(day, at, zone)
        if mask & (1 << day.weekday()) and moment > now:
            return moment
    return None


# The reminders' rules, asked by pages and the API.

REMINDERS_OF_MEMBER = with_columns("SELECT {r.*} FROM reminder r WHERE r.member_id = :member_id", r=Reminder)
REMINDER_OF_HABIT = with_columns("SELECT {r.*} FROM reminder r WHERE r.habit_id = :habit_id", r=Reminder)
UPSERT = """INSERT INTO reminder (habit_id, member_id, days, at, updated_at)
    VALUES (:habit_id, :member_id, :days, :at, :now)
    ON CONFLICT (habit_id) DO UPDATE SET days = excluded.days, at = excluded.at, updated_at = excluded.updated_at"""
DELETE = "DELETE FROM reminder WHERE habit_id = :habit_id"


def reminders_of(sql: Sql, member: Member) -> dict[int, Reminder]:
    """The member's reminders by habit id."""
    found = (loaded(Reminder, row) for row in sql.all(REMINDERS_OF_MEMBER, member_id=member.id))
    return {reminder.habit_id: reminder for reminder in found}


def reminder_of(sql: Sql, habit: Habit) -> Reminder | None:
    found = sql.one(REMINDER_OF_HABIT, habit_id=habit.id)
    return loaded(Reminder, found) if found else None


def set_reminder(sql: Sql, habit: Habit, data: ReminderIn, now: datetime) -> Reminder:
    """On, or changed: due from now on (one set at 18:05 for 18:00 first comes tomorrow)."""
    sql.run(UPSERT, habit_id=habit.id, member_id=habit.member_id, days=mask_of(data.days), at=data.time, now=now)
    saved = reminder_of(sql, habit)
    assert saved is not None
    return saved


def turn_off(sql: Sql, habit: Habit) -> bool:
    return sql.run(DELETE, habit_id=habit.id) > 0


# Where a member's reminders go.

SUBSCRIPTIONS = with_columns(
    "SELECT {s.*} FROM pushsubscription s WHERE s.member_id = :member_id ORDER BY s.id", s=PushSubscription
)
SUBSCRIPTION = with_columns(
    "SELECT {s.*} FROM pushsubscription s WHERE s.member_id = :member_id AND s.endpoint = :endpoint",
    s=PushSubscription,
)
SUBSCRIBE = """INSERT INTO pushsubscription (member_id, endpoint, p256dh, auth, language, created_at)
    VALUES (:member_id, :endpoint, :p256dh, :auth, :language, :now)
    ON CONFLICT (member_id, endpoint) DO UPDATE
    SET p256dh = excluded.p256dh, auth = excluded.auth, language = excluded.language"""
UNSUBSCRIBE = "DELETE FROM pushsubscription WHERE id = :id AND member_id = :member_id"
FORGET_SUBSCRIPTION = "DELETE FROM pushsubscription WHERE id = :id"
TARGETS = with_columns(
    "SELECT {t.*} FROM apprisetarget t WHERE t.member_id = :member_id ORDER BY t.id", t=AppriseTarget
)
ADD_TARGET = """INSERT INTO apprisetarget (member_id, url, language, created_at)
    VALUES (:member_id, :url, :language, :now) RETURNING id"""
REMOVE_TARGET = "DELETE FROM apprisetarget WHERE id = :id AND member_id = :member_id"


def subscriptions_of(sql: Sql, member_id: int | None) -> list[PushSubscription]:
    return [loaded(PushSubscription, row) for row in sql.all(SUBSCRIPTIONS, member_id=member_id)]


def subscribe(
    sql: Sql, member: Member, endpoint: str, p256dh: str, auth: str, language: str, now: datetime
) -> PushSubscription:
    """This browser takes the member's reminders, in `language` (the browser's) unless the member picked theirs;
    subscribing again renews its keys and language."""
    sql.run(SUBSCRIBE, member_id=member.id, endpoint=endpoint, p256dh=p256dh, auth=auth, language=language, now=now)
    return loaded(PushSubscription, sql.one(SUBSCRIPTION, member_id=member.id, endpoint=endpoint))


def unsubscribe(sql: Sql, member: Member, subscription_id: int) -> bool:
    return sql.run(UNSUBSCRIBE, id=subscription_id, member_id=member.id) > 0


def targets_of(sql: Sql, member_id: int | None) -> list[AppriseTarget]:
    return [loaded(AppriseTarget, row) for row in sql.all(TARGETS, member_id=member_id)]


def add_target(sql: Sql, member: Member, url: str, language: str, now: datetime) -> AppriseTarget:
    target_id = sql.one(ADD_TARGET, member_id=member.id, url=url, language=language, now=now)[0]
    return as_loaded(AppriseTarget, id=target_id, member_id=member.id, url=url, language=language, created_at=now)


def remove_target(sql: Sql, member: Member, target_id: int) -> bool:
    return sql.run(REMOVE_TARGET, id=target_id, member_id=member.id) > 0


def target_of(sql: Sql, member: Member, target_id: int) -> AppriseTarget | None:
    return next((t for t in targets_of(sql, member.id) if t.id == target_id), None)


# What is due, claimed once, sent.


@dataclass(frozen=True)
class Due:
    """A reminder due now, with what its message needs."""

    reminder_id: int
    due_at: datetime
    member_id: int
    language: str | None  # the member's own, if they picked one
    habit_id: int
    habit: str
    emoji: str
    at: str


# Every reminder of a habit in use, with its household's zone and the end of the habit's latest session.
CANDIDATES = """SELECT r.id, r.days, r.at, r.updated_at, h.id, h.name, h.emoji, h.member_id, m.language, hh.timezone,
    (SELECT f.next_flip_at FROM flip f WHERE f.habit_id = h.id ORDER BY f.id DESC LIMIT 1)
    FROM reminder r JOIN habit h ON h.id = r.habit_id JOIN member m ON m.id = h.member_id
    JOIN household hh ON hh.id = m.household_id
    WHERE h.archived_at IS NULL"""
CLAIM = """INSERT INTO remindersent (reminder_id, due_at, claimed_at, sent_at)
    VALUES (:reminder_id, :due_at, :now, NULL) ON CONFLICT DO NOTHING"""
TAKE_OVER = """UPDATE remindersent SET claimed_at = :now
    WHERE reminder_id = :reminder_id AND due_at = :due_at AND sent_at IS NULL AND claimed_at < :stale"""
MARK_SENT = "UPDATE remindersent SET sent_at = :now WHERE reminder_id = :reminder_id AND due_at = :due_at"
FORGET_SENT = "DELETE FROM remindersent WHERE due_at < :before"


def due_now(sql: Sql, now: datetime) -> list[Due]:
    """The reminders due within the grace window before `now`, whose habit isn't flipped in the current session."""
    due = []
    for row in sql.all(CANDIDATES):
        reminder_id, mask, at, updated_at, habit_id, name, emoji, member_id, language, zone, session_end = row
        moment = last_due(mask, at, ZoneInfo(zone), now)
        since = as_utc(updated_at)
        if moment is None or now - moment > GRACE or (since is not None and moment < since):
            continue
        ends = as_utc(session_end)
        if ends is not None and ends > now:  # flipped already: a cue for a session under way is noise
            continue
        due.append(Due(reminder_id, moment, member_id, language, habit_id, name, emoji, at))
    return due


def claim(sql: Sql, due: Due, now: datetime) -> bool:
    """Whether this dispatcher sends this due moment: the first to insert its row does, or, if that one's lease
    ran out without it being sent (its sender died), the first to take it over."""
    if sql.run(CLAIM, reminder_id=due.reminder_id, due_at=due.due_at, now=now) == 1:
        return True
    return sql.run(TAKE_OVER, reminder_id=due.reminder_id, due_at=due.due_at, now=now, stale=now - LEASE) == 1


def mark_sent(sql: Sql, due: Due, now: datetime) -> None:
    sql.run(MARK_SENT, reminder_id=due.reminder_id, due_at=due.due_at, now=now)
    sql.run(FORGET_SENT, before=now - KEEP_SENT)


def forget_subscriptions(sql: Sql, ids: list[int]) -> None:
    for subscription_id in ids:
        sql.run(FORGET_SUBSCRIPTION, id=subscription_id)


def open_path(root: str, habit_id: int) -> str:
    """Where a reminder's notification leads: the habit's card on Today, for the member it is meant for."""
    return f"{root}/reminders/open/{habit_id}"


MEMBER_OF_HABIT = """SELECT h.member_id FROM habit h JOIN member m ON m.id = h.member_id
    WHERE h.id = :habit_id AND m.household_id = :household_id"""


def member_of_habit(sql: Sql, habit_id: int, household_id: int) -> int | None:
    """Whose habit this is, if it is one of the household's."""
    found = sql.one(MEMBER_OF_HABIT, habit_id=habit_id, household_id=household_id)
    return int(found[0]) if found else None


def message_of(due: Due, root: str) -> Message:
    """The reminder's notification, in the language under way."""
    url = open_path(root, due.habit_id)
    return Message(copy.reminder_title(due.emoji, due.habit), copy.reminder_body(due.habit, due.at), url)


def test_message(root: str) -> Message:
    """What "Send a test" sends, in the language under way."""
    return Message(copy.TEST_TITLE, gettext(copy.TEST_BODY), f"{root}/")


def worded(
    compose: Callable[[], Message], member_language: str | None, languages: Iterable[str | None]
) -> list[Message]:
    """The message for each device or URL: in the member's own language if they picked one, else in the language
    its browser asked for when it was added (English if it said none). Each language is composed once."""
    said: dict[str, Message] = {}
    messages = []
    for device_language in languages:
        language = member_language or device_language or SOURCE
        if language not in said:
            with speaking(language):
                said[language] = compose()
        messages.append(said[language])
    return messages


@dataclass
class Outcome:
    """What became of one send: how many targets took it, and what the others said."""

    sent: int = 0
    problems: list[str] = field(default_factory=list)


def deliver(
    notifier: Notifier,
    subscriptions: list[tuple[PushSubscription, Message]],
    targets: list[tuple[AppriseTarget, Message]],
) -> tuple[Outcome, list[int]]:
    """Send each device and URL its message (blocking: run in a thread). Returns the outcome, and the ids of the
    subscriptions whose browser has gone. What went wrong is said in the language under way: the page's for a
    test, English for the server's log."""
    outcome, gone = Outcome(), []
    for subscription, message in subscriptions:
        try:
            problem = notifier.push(subscription.endpoint, subscription.p256dh, subscription.auth, message)
        except Gone:
            assert subscription.id is not None
            gone.append(subscription.id)
            continue
        if problem:
            outcome.problems.append(problem)
        else:
            outcome.sent += 1
    for target, message in targets:
        problem = notifier.apprise(target.url, message)
        if problem:
            outcome.problems.append(problem)
        else:
            outcome.sent += 1
    return outcome, gone


async def send_to(
    db: Database,
    notifier: Notifier,
    member_id: int,
    member_language: str | None,
    compose: Callable[[], Message],
    *,
    push: bool = True,
    apprise: bool = True,
) -> Outcome:
    """Send a message to the member's devices and/or Apprise URLs, each in its language (see `worded`);
    subscriptions that are gone are forgotten."""
    subscriptions = await db.read_plain(subscriptions_of, member_id) if push else []
    targets = await db.read_plain(targets_of, member_id) if apprise else []
    pushes = zip(subscriptions, worded(compose, member_language, [s.language for s in subscriptions]), strict=True)
    sends = zip(targets, worded(compose, member_language, [t.language for t in targets]), strict=True)
    outcome, gone = await run_in_threadpool(deliver, notifier, list(pushes), list(sends))
    if gone:
        await db.write_plain(forget_subscriptions, gone)
    return outcome


async def tick(db: Database, notifier: Notifier, now: datetime) -> list[Due]:
    """One look at what is due: each reminder claimed, sent and marked sent. Returns what this dispatcher sent."""
    sent = []
    for due in await db.read_plain(due_now, now):
        if not await db.write_plain(claim, due, now):
            continue  # another worker or replica sends it
        compose = functools.partial(message_of, due, notifier.settings.root_path)
        outcome = await send_to(db, notifier, due.member_id, due.language, compose)
        for problem in outcome.problems:
            log.warning("Reminder %s for %s: %s", due.reminder_id, due.due_at.isoformat(), problem)
        await db.write_plain(mark_sent, due, now)
        sent.append(due)
    return sent


async def dispatch(db: Database, notifier: Notifier, clock: Callable[[], datetime] = utcnow) -> None:
    """The server's dispatcher: a look every TICK seconds, for as long as the server runs. Every worker and replica
    runs one; the claim makes each reminder go out once."""
    while True:
        try:
            await tick(db, notifier, clock())
        except Exception:
            log.exception("Reminders: this look at what is due failed; the next one tries again")
        await asyncio.sleep(TICK)
