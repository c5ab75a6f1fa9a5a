"""A member's habits: the things they want to keep enjoying, each with its flip policy; archive and restore."""

from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import forms, habits
from app.db import Database
from app.deps import CurrentMember, Db, Form, IdQuery, Now, OwnedHabit
from app.i18n import gettext
from app.models import Habit, Member, Mode
from app.schemas import HabitForm, HabitIn
from app.templating import redirect, render

router = APIRouter()


async def form_page(
    request: Request,
    db: Database,
    member: Member,
    habit: Habit | None,
    values: Mapping[str, object] | None,
    errors: dict[str, str],
    now: datetime,
) -> Response:
    """The form filled from `values`, or (None) from the habit as stored."""
    view = await db.read(habits.habit_form, member, habit, now)
    return render(
        request,
        "habits/form.html",
        status_code=422 if errors else 200,
        habit=habit,
        has_history=view.has_history,
        open_flip=view.open_flip,
        enhancers=view.enhancers,
        modes=list(Mode),
        values=values if values is not None else form_values(habit, view),
        errors=errors,
    )


def form_values(habit: Habit | None, view: habits.HabitFormView) -> dict[str, object]:
    """Chance is asked as a percentage in the form, stored as a probability; a new habit links every enhancer."""
    if habit is None:
        return {"chance": 50, "mode": Mode.all_or_nothing, "emoji": "🏃",
                "enhancer_ids": [str(e.id) for e in view.enhancers]}  # fmt: skip
    values: dict[str, object] = habit.model_dump(include=set(HabitIn.model_fields) - {"chance"})
    values["chance"] = round(habit.chance * 100)
    values["enhancer_ids"] = [str(i) for i in view.linked]
    return values


async def list_page(
    request: Request,
    db: Database,
    member: Member,
    *,
    busy: habits.HabitBusy | None = None,
    archived: int | None = None,
    restored: int | None = None,
    saved: int | None = None,
) -> Response:
    """After a save, archiving or restoring, the list says what happened to which habit; after a refusal, why."""
    lists = await db.read(habits.habit_lists, member)
    done = None
    if (name := lists.name_of(saved)) is not None:
        done = gettext("%(name)s saved. A changed coin applies from the next session.", name=name)
    elif (name := lists.name_of(archived)) is not None:
        done = gettext("%(name)s is archived: off Today, its history kept.", name=name)
    elif (name := lists.name_of(restored)) is not None:
        done = gettext("%(name)s is back on Today.", name=name)
    return render(request, "habits/index.html", status_code=409 if busy else 200, habits=lists.active,
                  archived=lists.archived, busy=busy, done=done)  # fmt: skip


async def save_from_form(
    request: Request, db: Database, member: Member, habit: Habit | None, form: Form, now: datetime
) -> Response:
    values = forms.values_of(form)
    data, errors = forms.parse(HabitForm, form)
    if data is None:
        return await form_page(request, db, member, habit, values, errors, now)
    try:
        saved = await db.write(habits.save_habit, member, habit, data.to_input())
    except (habits.UnknownEnhancer, habits.DuplicateName) as exc:
        field = "name" if isinstance(exc, habits.DuplicateName) else "enhancer_ids"
        return await form_page(request, db, member, habit, values, {field: str(exc)}, now)
    # A new habit goes to Today, where its Flip button is; an edited one back to the list it was edited from.
    if habit is None:
        return redirect(request, "show_today")
    return redirect(request, "list_habits", query={"saved": saved.id or 0})


@router.get("/habits")
async def list_habits(
    request: Request,
    db: Db,
    member: CurrentMember,
    archived: IdQuery = None,
    restored: IdQuery = None,
    saved: IdQuery = None,
) -> Response:
    return await list_page(request, db, member, archived=archived, restored=restored, saved=saved)


@router.get("/habits/new")
async def new_habit(request: Request, db: Db, member: CurrentMember, now: Now) -> Response:
    return await form_page(request, db, member, None, None, {}, now)


@router.post("/habits")
async def create_habit(request: Request, db: Db, member: CurrentMember, form: Form, now: Now) -> Response:
    return await save_from_form(request, db, member, None, form, now)


@router.get("/habits/{habit_id}/edit")
async def edit_habit(request: Request, db: Db, member: CurrentMember, habit: OwnedHabit, now: Now) -> Response:
    return await form_page(request, db, member, habit, None, {}, now)


@router.post("/habits/{habit_id}/edit")
async def update_habit(
    request: Request, db: Db, member: CurrentMember, habit: OwnedHabit, form: Form, now: Now
) -> Response:
    return await save_from_form(request, db, member, habit, form, now)


@router.post("/habits/{habit_id}/archive")
async def archive_habit(request: Request, db: Db, member: CurrentMember, habit: OwnedHabit, now: Now) -> Response:
    """Off Today; its history, insights and audit stay. Not while a flip waits for its reflection."""
    try:
        await db.write(habits.archive_habit, habit, now)
    except habits.HabitBusy as exc:
        return await list_page(request, db, member, busy=exc)
    return redirect(request, "list_habits", query={"archived": habit.id or 0})


@router.post("/habits/{habit_id}/restore")
async def restore_habit(request: Request, db: Db, habit: OwnedHabit) -> Response:
    await db.write(habits.restore_habit, habit)
    return redirect(request, "list_habits", query={"restored": habit.id or 0})


@router.post("/habits/{habit_id}/delete")
async def delete_habit(request: Request, db: Db, member: CurrentMember, habit: OwnedHabit, now: Now) -> Response:
    """For good, with its history: a habit without flips at once, one with history only from the archive."""
    try:
        await db.write(habits.delete_habit, habit, now)
    except habits.HabitBusy as exc:
        return await list_page(request, db, member, busy=exc)
    return redirect(request, "list_habits")
