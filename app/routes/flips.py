"""Today's habits with their Flip buttons, the verdicts, reflections, skipping and its undo, and history."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from app import flips, forms, habits
from app.deps import CurrentMember, Db, Form, IdQuery, Now, OwnedFlip, OwnedHabit, Rng
from app.models import Flip, Habit
from app.schemas import ReflectionIn
from app.templating import redirect, render, wants_partial
from app.today import today_of_member

router = APIRouter()

HISTORY_PAGE = 20
# The habit filter's value: a habit's id, or "" (every habit) as the form sends "All habits".
HabitFilter = Annotated[str, Query(max_length=12)]


def card(
    request: Request, habit: Habit, view: flips.FlipView | None, status_code: int = 200, **context: object
) -> Response:
    """A habit's card: swapped in place by htmx, or as the flip's own page."""
    return render(
        request, "flips/show.html", partial="flips/_card.html", status_code=status_code, habit=habit, view=view,
        **context,
    )  # fmt: skip


@router.get("/")
async def show_today(request: Request, db: Db, member: CurrentMember, rng: Rng, now: Now) -> Response:
    today = await db.read_plain(today_of_member, member, now)
    unsealed = [card.habit.id or 0 for card in today.cards if card.unsealed]
    if unsealed:  # a habit new, changed, or from before seals: its next verdict is sealed before it is shown
        await db.write_plain(flips.seal_habits, unsealed, rng, now)
        today = await db.read_plain(today_of_member, member, now)
    return render(request, "flips/index.html", **vars(today), values={}, errors={})


@router.post("/habits/{habit_id}/flips")
async def flip_habit(
    request: Request, db: Db, habit: OwnedHabit, member: CurrentMember, rng: Rng, now: Now
) -> Response:
    """Draw the session's verdict; a flip of this session is shown again, never drawn anew."""
    try:
        view, fresh = await db.write_plain(flips.flip_habit, habit, member, rng, now)
    except flips.SessionClosed as exc:
        return card(request, habit, await db.read_plain(flips.view_of, exc.flip), status_code=409)
    except flips.NothingToFlip:
        return card(request, habit, None, status_code=409, linked=0)
    except flips.FlipRefused:  # archived: the card says so, and where to restore it
        return card(request, habit, None, status_code=409)
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=view.flip.id)
    return card(request, habit, view, fresh=fresh)


@router.get("/flips/{flip_id}")
async def show_flip(request: Request, db: Db, flip: OwnedFlip) -> Response:
    view = await db.read_plain(flips.view_of, flip)
    return card(request, view.habit, view)


@router.get("/flips/{flip_id}/reflection")
async def edit_reflection(request: Request, db: Db, flip: OwnedFlip) -> Response:
    """The reflection form filled with the saved reflection, to change it."""
    view = await db.read_plain(flips.view_of, flip)
    values = view.reflection.model_dump() if view.reflection else {}
    return card(request, view.habit, view, editing=True, values=values)


@router.post("/flips/{flip_id}/reflection")
async def save_reflection(request: Request, db: Db, flip: OwnedFlip, form: Form, now: Now) -> Response:
    data, errors = forms.parse(ReflectionIn, form)
    version = forms.version_of(form)
    if data is None:
        view = await db.read_plain(flips.view_of, flip)
        return card(request, view.habit, view, 422, editing=True, values=forms.values_of(form), errors=errors)
    try:
        await db.write_plain(flips.save_reflection, flip, data, now, (version,) if version is not None else None)
    except flips.ReflectionConflict:
        # Saved from another tab or phone meanwhile: show what was saved there, keep what was typed here.
        view = await db.read_plain(flips.view_of, flip)
        return card(request, view.habit, view, 409, editing=True, conflict=True, values=forms.values_of(form))
    return await after_change(request, db, flip, saved=True)


@router.post("/flips/{flip_id}/skip")
async def skip_flip(request: Request, db: Db, flip: OwnedFlip, now: Now) -> Response:
    """Mark the flip skipped (the page asked first); it stays in history and the session goes on."""
    await db.write(flips.skip_flip, flip, now)
    return await after_change(request, db, flip)


@router.post("/flips/{flip_id}/unskip")
async def undo_skip(request: Request, db: Db, flip: OwnedFlip, now: Now) -> Response:
    """Open the skipped flip again, same verdict, while its session lasts."""
    try:
        await db.write(flips.undo_skip, flip, now)
    except flips.FlipRefused as exc:  # its session is over, or its habit archived
        view = await db.read_plain(flips.view_of, flip)
        return card(request, view.habit, view, 409, refused=str(exc))
    return await after_change(request, db, flip)


async def after_change(request: Request, db: Db, flip: Flip, *, saved: bool = False) -> Response:
    """Post/redirect/get for a plain form; for htmx, the card as it is now."""
    if not wants_partial(request):
        return redirect(request, "show_flip", flip_id=flip.id)
    view = await db.read_plain(flips.view_of, flip)
    return card(request, view.habit, view, saved=saved)


@router.get("/history")
async def show_history(
    request: Request, db: Db, member: CurrentMember, before: IdQuery = None, habit: HabitFilter = ""
) -> Response:
    """Newest first, a page at a time; `habit` (its id, in the URL for the back button) shows one habit's."""
    every = await db.read(habits.every_habit, member)
    shown = next((h for h in every if str(h.id) == habit), None) if habit else None
    if habit and shown is None:
        raise HTTPException(404)
    views, older = await db.read(flips.history_page, member, before, HISTORY_PAGE, shown.id if shown else None)
    return render(request, "flips/history.html", partial="flips/_history_page.html", views=views, older=older,
                  habits=every, shown=shown)  # fmt: skip
