"""Reminders: a cue per habit (days and a time), where they go (this device by Web Push, Apprise URLs), tests of
both, and the page a notification opens."""

import functools
from collections.abc import Callable, Mapping
from datetime import datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app import copy, forms, habits, i18n, reminders
from app.db import Database
from app.deps import (
    CurrentLogin,
    CurrentMember,
    Db,
    Form,
    HouseholdZone,
    IdPath,
    IdQuery,
    Now,
    OwnedHabit,
    login_and_member,
)
from app.i18n import gettext
from app.models import WEEKDAYS, Member, Weekday
from app.notify import Message, Notifier, shown
from app.schemas import AppriseIn, ReminderForm
from app.templating import app_root, redirect, render, url_path

router = APIRouter()


def notifier_of(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


def test_of(request: Request) -> Callable[[], Message]:
    """The test's message, in whichever language it is composed in: the one its reminders will come in."""
    return functools.partial(reminders.test_message, app_root(request))


def day_names(context: str) -> list[str]:
    """The weekdays' short names as the page's language writes them, Monday first: "Mon" ("Mo."), or, standing
    alone on a chip, "Mo"."""
    names = i18n.locale(i18n.current()).days[context]["abbreviated"]
    return [str(names[i]) for i in range(len(WEEKDAYS))]


def said_days(days: list[Weekday]) -> str:
    """Days as a sentence says them: "every day", "weekdays", or "Mon, Wed and Fri"."""
    if len(days) == len(WEEKDAYS):
        # Translators: when a reminder comes, in "On: every day at 18:00."
        return gettext("every day")
    if days == list(Weekday)[:5]:
        # Translators: when a reminder comes, Monday to Friday, in "On: weekdays at 18:00."
        return gettext("weekdays")
    names = day_names("format")
    return copy.joined([names[list(Weekday).index(day)] for day in days])


def said_time(at: str) -> str:
    """A reminder's time ("18:00") as the page's language writes a time."""
    return i18n.clock(time.fromisoformat(at))


async def reminders_page(
    request: Request,
    db: Database,
    member: Member,
    zone: ZoneInfo,
    now: datetime,
    *,
    saved: int | None = None,
    habit_errors: tuple[int, Mapping[str, object], dict[str, str]] | None = None,
    apprise_values: Mapping[str, object] | None = None,
    apprise_errors: dict[str, str] | None = None,
    tested: tuple[str, str | None] | None = None,
    push_on: bool = False,
    added: bool = False,
) -> Response:
    """The page; `habit_errors` (habit id, values, errors) re-shows one habit's form as it was sent, `tested`
    (what was tested, the problem or None) says how a test went, beside its button."""
    active = await db.read_plain(habits.habits_of_member, member)
    by_habit = await db.read_plain(reminders.reminders_of, member)
    plans = {
        habit_id: {"days": reminders.days_of(r.days), "time": r.at,
                   "next": reminders.next_due(r.days, r.at, zone, now)}
        for habit_id, r in by_habit.items()
    }  # fmt: skip
    failed = bool(habit_errors or apprise_errors or (tested and tested[1]))
    return render(
        request,
        "reminders/index.html",
        status_code=422 if failed else 200,
        habits=active,
        plans=plans,
        said_days=said_days,
        said_time=said_time,
        weekdays=list(zip(WEEKDAYS, day_names("stand-alone"), strict=True)),
        zone=zone.key.replace("_", " "),
        saved=saved,
        habit_errors=habit_errors,
        subscriptions=await db.read_plain(reminders.subscriptions_of, member.id),
        targets=[(t, shown(t.url)) for t in await db.read_plain(reminders.targets_of, member.id)],
        apprise_values=apprise_values or {},
        apprise_errors=apprise_errors or {},
        tested=tested,
        push_on=push_on,
        added=added,
        public_key=notifier_of(request).public_key,
    )


@router.get("/reminders")
async def show_reminders(
    request: Request,
    db: Db,
    member: CurrentMember,
    zone: HouseholdZone,
    now: Now,
    saved: IdQuery = None,
    push_on: bool = False,
    added: bool = False,
) -> Response:
    """After a change, the page says what was done: a reminder saved (?saved=habit id), this device subscribed
    (?push_on=true, by static/app.js), an Apprise URL added."""
    return await reminders_page(request, db, member, zone, now, saved=saved, push_on=push_on, added=added)


@router.post("/reminders/habits/{habit_id}")
async def save_reminder(
    request: Request, db: Db, member: CurrentMember, habit: OwnedHabit, form: Form, zone: HouseholdZone, now: Now
) -> Response:
    """On or changed; a mistake is shown beside its field with everything as it was sent."""
    data, errors = forms.parse(ReminderForm, form)
    if data is None:
        values = forms.values_of(form)
        days = values.get("days", [])
        values["days"] = [days] if isinstance(days, str) else days
        assert habit.id is not None
        return await reminders_page(request, db, member, zone, now, habit_errors=(habit.id, values, errors))
    await db.write_plain(reminders.set_reminder, habit, data, now)
    return saved_reminder(request, habit.id)


def saved_reminder(request: Request, habit_id: int | None) -> RedirectResponse:
    response = redirect(request, "show_reminders", query={"saved": habit_id or 0})
    response.headers["location"] += f"#reminder-{habit_id}"
    return response


@router.post("/reminders/habits/{habit_id}/off")
async def turn_off_reminder(request: Request, db: Db, habit: OwnedHabit) -> Response:
    await db.write_plain(reminders.turn_off, habit)
    return saved_reminder(request, habit.id)


@router.post("/reminders/apprise")
async def add_apprise_url(
    request: Request, db: Db, member: CurrentMember, form: Form, zone: HouseholdZone, now: Now
) -> Response:
    data, errors = forms.parse(AppriseIn, form)
    if data is None:
        values = forms.values_of(form)
        return await reminders_page(request, db, member, zone, now, apprise_values=values, apprise_errors=errors)
    await db.write_plain(reminders.add_target, member, data.url, i18n.language_of(request.scope), now)
    response = redirect(request, "show_reminders", query={"added": "true"})
    response.headers["location"] += "#apprise"
    return response


@router.post("/reminders/apprise/{target_id}/test")
async def test_apprise_url(
    request: Request, db: Db, member: CurrentMember, target_id: IdPath, zone: HouseholdZone, now: Now
) -> Response:
    """Sends a test through this URL and says how it went, in Apprise's words when it failed."""
    target = await db.read_plain(reminders.target_of, member, target_id)
    if target is None:
        raise HTTPException(404)
    message = reminders.worded(test_of(request), member.language, [target.language])[0]
    problem = await run_in_threadpool(notifier_of(request).apprise, target.url, message)
    return await reminders_page(request, db, member, zone, now, tested=(f"apprise-{target_id}", problem))


@router.post("/reminders/apprise/{target_id}/delete")
async def remove_apprise_url(request: Request, db: Db, member: CurrentMember, target_id: IdPath) -> Response:
    if not await db.write_plain(reminders.remove_target, member, target_id):
        raise HTTPException(404)
    return redirect(request, "show_reminders")


@router.post("/reminders/push/test")
async def test_push(request: Request, db: Db, member: CurrentMember, zone: HouseholdZone, now: Now) -> Response:
    """Sends a test to every device that takes this member's notifications."""
    notifier, compose = notifier_of(request), test_of(request)
    outcome = await reminders.send_to(db, notifier, member.id or 0, member.language, compose, apprise=False)
    problem = first(outcome) if outcome.sent == 0 else None
    if outcome.sent == 0 and problem is None:
        problem = gettext("No device takes your notifications yet: turn them on with the button above.")
    return await reminders_page(request, db, member, zone, now, tested=("push", problem))


def first(outcome: reminders.Outcome) -> str | None:
    return outcome.problems[0] if outcome.problems else None


@router.get("/reminders/open/{habit_id}")
async def open_reminder(request: Request, db: Db, login: CurrentLogin, habit_id: IdPath) -> Response:
    """Where a notification leads: the habit's card on Today if the member it is for is the one picked on this
    device; otherwise "Who's this?" first (a shared phone), then the card."""
    member_id = await db.read_plain(reminders.member_of_habit, habit_id, login.household_id)
    if member_id is None:
        raise HTTPException(404)
    found = await login_and_member(request, db)
    picked = found[1] if found else None
    card = f"/#habit-{habit_id}"
    if picked is not None and picked.id == member_id:
        return RedirectResponse(app_root(request) + card, status_code=303)
    return RedirectResponse(url_path(request, "pick_member_page", query={"next": card}), status_code=303)
