"""A member's habits: the things they want to keep enjoying, each with its flip policy; archive and restore."""

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import flips, forms, habits
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, Form, IdQuery, Now, OwnedHabit
from app.models import Habit, Member, Mode
from app.schemas import HabitForm, HabitIn
from app.templating import redirect, render

router = APIRouter()


def form_page(
    request: Request,
    db: Session,
    member: Member,
    habit: Habit | None,
    values: dict[str, object],
    errors: dict[str, str],
    now: datetime,
) -> Response:
    latest = flips.latest_flip(db, habit) if habit is not None else None
    return render(
        request,
        "habits/form.html",
        status_code=422 if errors else 200,
        habit=habit,
        has_history=latest is not None,
        open_flip=latest if flips.waiting_in_session(latest, now) else None,
        enhancers=habits.enhancers_of_member(db, member),
        modes=list(Mode),
        values=values,
        errors=errors,
    )


def list_page(
    request: Request,
    db: Session,
    member: Member,
    busy: habits.HabitBusy | None = None,
    done: str | None = None,
) -> Response:
    archived = habits.archived_habits(db, member)
    return render(
        request,
        "habits/index.html",
        status_code=409 if busy else 200,
        habits=habits.habits_of_member(db, member),
        archived=[(h, habits.deletable_from(db, h)) for h in archived],
        busy=busy,
        done=done,
    )


def habit_values(db: Session, habit: Habit) -> dict[str, object]:
    values: dict[str, object] = habit.model_dump(include=set(HabitIn.model_fields) - {"chance"})
    values["chance"] = round(habit.chance * 100)
    values["enhancer_ids"] = [str(i) for i in habits.enhancer_ids_of(db, habit)]
    return values


def save_from_form(
    request: Request, db: Session, member: Member, habit: Habit | None, form: Form, now: datetime
) -> Response:
    """Chance is asked as a percentage in the form, stored as a probability."""
    values = forms.values_of(form)
    data, errors = forms.parse(HabitForm, form)
    if data is None:
        return form_page(request, db, member, habit, dict(values), errors, now)
    try:
        habits.save_habit(db, member, habit or Habit(member_id=member.id or 0, name=data.name), data.to_input())
    except (habits.UnknownEnhancer, habits.DuplicateName) as exc:
        db.rollback()
        field = "name" if isinstance(exc, habits.DuplicateName) else "enhancer_ids"
        return form_page(request, db, member, habit, dict(values), {field: str(exc)}, now)
    return redirect(request, "show_today")


@router.get("/habits")
@reads_on_loop
def list_habits(
    request: Request, db: DbSession, member: CurrentMember, archived: IdQuery = None, restored: IdQuery = None
) -> Response:
    """After archiving or restoring, the list says what happened to which habit."""
    names = {h.id: h.name for h in habits.every_habit(db, member)} if archived or restored else {}
    done = None
    if archived in names:
        done = f"{names[archived]} is archived: off Today, its history kept."
    elif restored in names:
        done = f"{names[restored]} is back on Today."
    return list_page(request, db, member, done=done)


@router.get("/habits/new")
@reads_on_loop
def new_habit(request: Request, db: DbSession, member: CurrentMember, now: Now) -> Response:
    values: dict[str, object] = {"chance": 50, "mode": Mode.all_or_nothing, "emoji": "🏃"}
    values["enhancer_ids"] = [str(e.id) for e in habits.enhancers_of_member(db, member)]
    return form_page(request, db, member, None, values, {}, now)


@router.post("/habits")
def create_habit(request: Request, db: DbSession, member: CurrentMember, form: Form, now: Now) -> Response:
    return save_from_form(request, db, member, None, form, now)


@router.get("/habits/{habit_id}/edit")
@reads_on_loop
def edit_habit(request: Request, db: DbSession, member: CurrentMember, habit: OwnedHabit, now: Now) -> Response:
    return form_page(request, db, member, habit, habit_values(db, habit), {}, now)


@router.post("/habits/{habit_id}/edit")
def update_habit(
    request: Request, db: DbSession, member: CurrentMember, habit: OwnedHabit, form: Form, now: Now
) -> Response:
    return save_from_form(request, db, member, habit, form, now)


@router.post("/habits/{habit_id}/archive")
def archive_habit(request: Request, db: DbSession, member: CurrentMember, habit: OwnedHabit, now: Now) -> Response:
    """Off Today; its history, insights and audit stay. Not while a flip waits for its reflection."""
    try:
        habits.archive_habit(db, habit, now)
    except habits.HabitBusy as exc:
        return list_page(request, db, member, exc)
    return redirect(request, "list_habits", query={"archived": habit.id or 0})


@router.post("/habits/{habit_id}/restore")
def restore_habit(request: Request, db: DbSession, habit: OwnedHabit) -> Response:
    habits.restore_habit(db, habit)
    return redirect(request, "list_habits", query={"restored": habit.id or 0})


@router.post("/habits/{habit_id}/delete")
def delete_habit(request: Request, db: DbSession, member: CurrentMember, habit: OwnedHabit, now: Now) -> Response:
    """For good, with its history: a habit without flips at once, one with history only from the archive."""
    try:
        habits.delete_habit(db, habit, now)
    except habits.HabitBusy as exc:
        return list_page(request, db, member, exc)
    return redirect(request, "list_habits")
