"""Insights: what the coin's honest experiment shows, per habit and per member, pictures first."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import insights, store
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, OwnedHabit
from app.templating import render

router = APIRouter()


@router.get("/insights")
@reads_on_loop
def show_insights(request: Request, db: DbSession, member: CurrentMember) -> Response:
    load = insights.stacking_load(db, member)
    return render(
        request,
        "insights/index.html",
        habits=store.habits_of_member(db, member),
        load=load[-12:],
        high_week=next((w for w in reversed(load[-2:]) if w.high), None),
        pleasures=insights.pleasures(db, member),
        since=insights.since,
    )


@router.get("/insights/habits/{habit_id}")
@reads_on_loop
def show_habit_insights(request: Request, db: DbSession, habit: OwnedHabit) -> Response:
    return render(request, "insights/habit.html", habit=habit, data=insights.habit_insights(db, habit))
