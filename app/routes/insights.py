"""Insights: what the coin's honest experiment shows, per habit and per member, pictures first."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import insights, pleasures
from app.deps import CurrentMember, Db, HouseholdZone, OwnedHabit
from app.templating import render

router = APIRouter()


@router.get("/insights")
async def show_insights(request: Request, db: Db, member: CurrentMember, zone: HouseholdZone) -> Response:
    found = await db.read(insights.member_insights, member, zone)
    return render(request, "insights/index.html", habits=found.habits, load=found.load, high_week=found.high_week,
                  pleasures=found.pleasures, since=pleasures.since)  # fmt: skip


@router.get("/insights/habits/{habit_id}")
async def show_habit_insights(request: Request, db: Db, habit: OwnedHabit, zone: HouseholdZone) -> Response:
    data = await db.read(insights.habit_insights, habit, zone)
    return render(request, "insights/habit.html", habit=habit, data=data)
