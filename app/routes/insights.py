"""Insights: what the coin's honest experiment shows, per habit and per member, pictures first."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import habits, insights
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, HouseholdZone, OwnedHabit
from app.templating import render

router = APIRouter()


@router.get("/insights")
@reads_on_loop
def show_insights(request: Request, db: DbSession, member: CurrentMember, zone: HouseholdZone) -> Response:
    load = insights.stacking_load(db, member, zone)
    return render(
        request,
        "insights/index.html",
        habits=habits.every_habit(db, member),
        load=load[-12:],
        high_week=next((w for w in reversed(load[-2:]) if w.high), None),
        pleasures=insights.pleasures(db, member),
        since=insights.since,
    )


@router.get("/insights/habits/{habit_id}")
@reads_on_loop
def show_habit_insights(request: Request, db: DbSession, habit: OwnedHabit, zone: HouseholdZone) -> Response:
    return render(request, "insights/habit.html", habit=habit, data=insights.habit_insights(db, habit, zone))
