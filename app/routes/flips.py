"""Today's habits with their Flip buttons, the verdicts, reflections, skipping and its undo, and history."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import flips, forms, habits, insights, pleasures
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, Form, IdQuery, Now, OwnedFlip, OwnedHabit, Rng
from app.models import Habit
from app.schemas import ReflectionIn
from app.templating import redirect, render, wants_partial

router = APIRouter()

HISTORY_PAGE = 20


def card(
    request: Request, habit: Habit, view: flips.FlipView | None, status_code: int = 200, **context: object
) -> Response:
    """A habit's card: swapped in place by htmx, or as the flip's own page."""
    return render(
        request, "flips/show.html", partial="flips/_card.html", status_code=status_code, habit=habit, view=view,
        **context,
    )  # fmt: skip


@router.get("/")
@reads_on_loop
def show_today(request: Request, db: DbSession, member: CurrentMember, now: Now) -> Response:
    active = habits.habits_of_member(db, member)
    return render(
        request,
        "flips/index.html",
        cards=flips.cards_of_member(db, member, active, now),
        has_enhancers=not active and bool(habits.enhancers_of_member(db, member)),
        after_peak=insights.after_peak(db, member),
        names=pleasures.names_of(db, member),
        values={},
        errors={},
    )


@router.post("/habits/{habit_id}/flips")
def flip_habit(
    request: Request, db: DbSession, habit: OwnedHabit, member: CurrentMember, rng: Rng, now: Now
) -> Response:
    """Draw the session's verdict; a flip of this session is shown again, never drawn anew."""
    try:
        view, fresh = flips.flip_habit(db, habit, member, rng, now)
    except flips.SessionClosed as exc:
        return card(request, habit, flips.view_of(db, exc.flip), status_code=409)
    except flips.NothingToFlip:
        return card(request, habit, None, status_code=409, linked=0)
    except flips.FlipRefused:  # archived: the card says so, and where to restore it
        return card(request, habit, None, status_code=409)
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=view.flip.id)
    return card(request, habit, view, fresh=fresh)


@router.get("/flips/{flip_id}")
@reads_on_loop
def show_flip(request: Request, db: DbSession, flip: OwnedFlip) -> Response:
    view = flips.view_of(db, flip)
    return card(request, view.habit, view)


@router.get("/flips/{flip_id}/reflection")
@reads_on_loop
def edit_reflection(request: Request, db: DbSession, flip: OwnedFlip) -> Response:
    """The reflection form filled with the saved reflection, to change it."""
    view = flips.view_of(db, flip)
    values = view.reflection.model_dump() if view.reflection else {}
    return card(request, view.habit, view, editing=True, values=values)


@router.post("/flips/{flip_id}/reflection")
def save_reflection(request: Request, db: DbSession, flip: OwnedFlip, form: Form, now: Now) -> Response:
    data, errors = forms.parse(ReflectionIn, form)
    version = forms.version_of(form)
    if data is None:
        view = flips.view_of(db, flip)
        return card(request, view.habit, view, 422, editing=True, values=forms.values_of(form), errors=errors)
    try:
        flips.save_reflection(db, flip, data, now, (version,) if version is not None else None)
    except flips.ReflectionConflict:
        # Saved from another tab or phone meanwhile: show what was saved there, keep what was typed here.
        db.rollback()
        view = flips.view_of(db, flip)
        return card(request, view.habit, view, 409, editing=True, conflict=True, values=forms.values_of(form))
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=flip.id)
    view = flips.view_of(db, flip)
    return card(request, view.habit, view, saved=True)


@router.post("/flips/{flip_id}/skip")
def skip_flip(request: Request, db: DbSession, flip: OwnedFlip, now: Now) -> Response:
    """Mark the flip skipped (the page asked first); it stays in history and the session goes on."""
    flips.skip_flip(db, flip, now)
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=flip.id)
    view = flips.view_of(db, flip)
    return card(request, view.habit, view)


@router.post("/flips/{flip_id}/unskip")
def undo_skip(request: Request, db: DbSession, flip: OwnedFlip, now: Now) -> Response:
    """Open the skipped flip again, same verdict, while its session lasts."""
    try:
        flips.undo_skip(db, flip, now)
    except flips.FlipRefused as exc:  # its session is over, or its habit archived
        view = flips.view_of(db, flip)
        return card(request, view.habit, view, 409, refused=str(exc))
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=flip.id)
    view = flips.view_of(db, flip)
    return card(request, view.habit, view)


@router.get("/history")
@reads_on_loop
def show_history(request: Request, db: DbSession, member: CurrentMember, before: IdQuery = None) -> Response:
    page = flips.flips_of_member(db, member, before=before, limit=HISTORY_PAGE + 1)
    older = page[HISTORY_PAGE - 1].id if len(page) > HISTORY_PAGE else None
    views = flips.views_of(db, page[:HISTORY_PAGE])
    return render(request, "flips/history.html", partial="flips/_history_page.html", views=views, older=older)
