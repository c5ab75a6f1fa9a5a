"""A member's habits: the things they want to keep enjoying, each with its flip policy."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import forms, store
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, Form, OwnedHabit
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
) -> Response:
    return render(
        request,
        "habits/form.html",
        status_code=422 if errors else 200,
        habit=habit,
        enhancers=store.enhancers_of_member(db, member),
        modes=list(Mode),
        values=values,
        errors=errors,
    )


def habit_values(db: Session, habit: Habit) -> dict[str, object]:
    values: dict[str, object] = habit.model_dump(include=set(HabitIn.model_fields) - {"chance"})
    values["chance"] = round(habit.chance * 100)
    values["enhancer_ids"] = [str(i) for i in store.enhancer_ids_of(db, habit)]
    return values


def save_from_form(request: Request, db: Session, member: Member, habit: Habit | None, form: Form) -> Response:
    """Chance is asked as a percentage in the form, stored as a probability."""
    values = forms.values_of(form)
    data, errors = forms.parse(HabitForm, form)
    if data is None:
        return form_page(request, db, member, habit, dict(values), errors)
    try:
        store.save_habit(db, member, habit or Habit(member_id=member.id or 0, name=data.name), data.to_input())
    except store.UnknownEnhancer as exc:
        db.rollback()
        return form_page(request, db, member, habit, dict(values), {"enhancer_ids": str(exc)})
    return redirect(request, "show_today")


@router.get("/habits")
@reads_on_loop
def list_habits(request: Request, db: DbSession, member: CurrentMember) -> Response:
    return render(request, "habits/index.html", habits=store.habits_of_member(db, member))


@router.get("/habits/new")
@reads_on_loop
def new_habit(request: Request, db: DbSession, member: CurrentMember) -> Response:
    values: dict[str, object] = {"chance": 50, "mode": Mode.all_or_nothing, "emoji": "🏃"}
    values["enhancer_ids"] = [str(e.id) for e in store.enhancers_of_member(db, member)]
    return form_page(request, db, member, None, values, {})


@router.post("/habits")
def create_habit(request: Request, db: DbSession, member: CurrentMember, form: Form) -> Response:
    return save_from_form(request, db, member, None, form)


@router.get("/habits/{habit_id}/edit")
@reads_on_loop
def edit_habit(request: Request, db: DbSession, member: CurrentMember, habit: OwnedHabit) -> Response:
    return form_page(request, db, member, habit, habit_values(db, habit), {})


@router.post("/habits/{habit_id}/edit")
def update_habit(request: Request, db: DbSession, member: CurrentMember, habit: OwnedHabit, form: Form) -> Response:
    return save_from_form(request, db, member, habit, form)


@router.post("/habits/{habit_id}/delete")
def delete_habit(request: Request, db: DbSession, habit: OwnedHabit) -> Response:
    db.delete(habit)
    db.commit()
    return redirect(request, "list_habits")
