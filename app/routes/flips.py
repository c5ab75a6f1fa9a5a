"""Today's habits with their Flip buttons, the verdicts, the reflections that close them, and history."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import forms, insights, store
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, Form, IdQuery, OwnedFlip, OwnedHabit, Rng
from app.routes.pleasures import names_of as pleasure_names
from app.schemas import ReflectionIn
from app.templating import redirect, render, wants_partial

router = APIRouter()

HISTORY_PAGE = 20


@router.get("/")
@reads_on_loop
def show_today(request: Request, db: DbSession, member: CurrentMember) -> Response:
    habits = store.habits_of_member(db, member)
    open_flips = store.open_flips_by_habit(db, member)
    views = {v.habit.id: v for v in store.views_of(db, list(open_flips.values()), habits)}
    cards = [{"habit": h, "view": views.get(h.id)} for h in habits]
    return render(
        request,
        "flips/index.html",
        cards=cards,
        has_enhancers=not habits and bool(store.enhancers_of_member(db, member)),
        after_peak=insights.after_peak(db, member),
        names=pleasure_names(db, member),
        values={},
        errors={},
    )


@router.post("/habits/{habit_id}/flips")
def flip_habit(request: Request, db: DbSession, habit: OwnedHabit, member: CurrentMember, rng: Rng) -> Response:
    """Draw the verdict; a flip that is still open is shown again, never drawn anew."""
    try:
        view, fresh = store.flip_habit(db, habit, member, rng)
    except store.RecentlySkipped as exc:
        page, card = "flips/show.html", "flips/_card.html"
        return render(request, page, partial=card, status_code=409, habit=habit, view=None, cooldown=exc.until)
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=view.flip.id)
    return render(request, "flips/show.html", partial="flips/_card.html", habit=habit, view=view, fresh=fresh)


@router.get("/flips/{flip_id}")
@reads_on_loop
def show_flip(request: Request, db: DbSession, flip: OwnedFlip) -> Response:
    view = store.view_of(db, flip)
    return render(request, "flips/show.html", partial="flips/_card.html", habit=view.habit, view=view)


@router.post("/flips/{flip_id}/reflection")
def save_reflection(request: Request, db: DbSession, flip: OwnedFlip, form: Form) -> Response:
    data, errors = forms.parse(ReflectionIn, form)
    view = store.view_of(db, flip)
    if data is None:
        values = forms.values_of(form)
        page, card = "flips/show.html", "flips/_card.html"
        return render(
            request, page, partial=card, status_code=422, habit=view.habit, view=view, values=values, errors=errors
        )
    store.save_reflection(db, flip, data)
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=flip.id)
    return render(request, "flips/show.html", partial="flips/_card.html", habit=view.habit, view=None, saved=view)


@router.post("/flips/{flip_id}/skip")
def skip_flip(request: Request, db: DbSession, flip: OwnedFlip) -> Response:
    """Close a flip without a reflection; it stays in history, and it cannot be used to draw again at once."""
    store.skip_flip(db, flip)
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=flip.id)
    habit = store.view_of(db, flip).habit
    until = store.skip_cooldown_end(flip)
    return render(request, "flips/show.html", partial="flips/_card.html", habit=habit, view=None, cooldown=until)


@router.get("/history")
@reads_on_loop
def show_history(request: Request, db: DbSession, member: CurrentMember, before: IdQuery = None) -> Response:
    flips = store.flips_of_member(db, member, before=before, limit=HISTORY_PAGE + 1)
    older = flips[HISTORY_PAGE - 1].id if len(flips) > HISTORY_PAGE else None
    views = store.views_of(db, flips[:HISTORY_PAGE])
    return render(request, "flips/history.html", partial="flips/_history_page.html", views=views, older=older)
