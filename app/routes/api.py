"""The JSON API under /api/v1, for members' own scripts: bearer token or the browser's login."""

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, SQLModel

from app import archive, flips, habits, i18n, insights, pleasures, reminders, tokens
from app.deps import (
    CurrentMember,
    Db,
    HouseholdZone,
    IdPath,
    IdQuery,
    Now,
    OwnedEnhancer,
    OwnedFlip,
    OwnedHabit,
    Rng,
    not_found,
)
from app.models import (
    IDEMPOTENCY_KEY_MAX,
    NAME_MAX,
    Colour,
    Enhancer,
    EnhancerBase,
    EnhancerIds,
    FlipShown,
    Habit,
    HabitBase,
    Household,
    Member,
    Name,
    PleasureCheckBase,
    Reflection,
    ReflectionBase,
    Reminder,
    Version,
    Weekday,
)
from app.notify import Notifier
from app.schemas import (
    EnhancerIn,
    EnhancerPatch,
    HabitIn,
    HabitPatch,
    NameParam,
    PleasureIn,
    PushSubscriptionIn,
    ReflectionIn,
    ReminderIn,
    RevealIn,
)


class ErrorOut(BaseModel):
    detail: str


class SessionClosedOut(ErrorOut):
    """A 409 of a flip: with `next_flip_at` when the session's flip is closed; without it when the habit is
    archived or has no enhancers (nothing to wait for)."""

    next_flip_at: datetime | None = None


ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "No valid bearer token or login"},
    403: {"model": ErrorOut, "description": "Refused (for example a cross-site request, or no member picked)"},
    404: {"model": ErrorOut, "description": "No such object in your household"},
}


def api_router() -> APIRouter:
    return APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS)


# A router per kind of resource, not one for the whole API: FastAPI tries a router's routes one by one at ~8 µs
# each, and app.routeindex picks the router by the path's literal start ("/api/v1/flips").
me_api, token_api, enhancer_api, habit_api, flip_api, archive_api, pleasure_api, insight_api = (
    api_router() for _ in range(8)
)
reminder_api, push_api = api_router(), api_router()
routers = (
    me_api, token_api, enhancer_api, habit_api, flip_api, archive_api, pleasure_api, insight_api, reminder_api,
    push_api,
)  # fmt: skip


class MeOut(BaseModel):
    member_id: int
    member: str
    emoji: str
    colour: Colour
    household_id: int
    household: str


class Identified(SQLModel):
    """An answer's id. Named after the entity's fields among an answer's bases, it comes first in the answer
    (pydantic collects fields from the last base on), where scripts have always found it."""

    id: int


class EnhancerOut(EnhancerBase, Identified):
    pass


class HabitOut(HabitBase, Identified):
    archived: bool
    enhancer_ids: EnhancerIds


class VerdictOut(BaseModel):
    """An enhancer's part of a flip's verdict: `id` is the enhancer's (None once it is deleted)."""

    id: int | None
    name: Name
    allowed: bool


class ReflectionOut(ReflectionBase):
    version: Version


class ReflectionConflictOut(ErrorOut):
    reflection: ReflectionOut | None


class FlipKeys(Identified):
    habit_id: int
    member_id: int


class FlipOut(FlipShown, FlipKeys):
    enhancers: list[VerdictOut]
    reflection: ReflectionOut | None
    revealed_at: datetime = Field(
        description="When the tap revealed the sealed verdict (online, or offline by the phone's clock): the "
        "session starts then, as `flipped_at`. Compare `sealed_at`: a seal older than its reveal proves the coin "
        "fell before the tap."
    )


def enhancer_out(enhancer: Enhancer) -> EnhancerOut:
    return EnhancerOut.model_validate(enhancer, from_attributes=True)


def habit_out(db: Session, habit: Habit) -> HabitOut:
    """The habit as stored now (the request's copy may be older than a write it just made)."""
    habit = db.get(Habit, habit.id) or habit
    extra = {"enhancer_ids": habits.enhancer_ids_of(db, habit), "archived": habit.archived_at is not None}
    return HabitOut.model_validate(habit.model_dump() | extra)


def habits_out(db: Session, member: Member) -> list[HabitOut]:
    return [habit_out(db, h) for h in habits.every_habit(db, member)]


def reflection_out(reflection: Reflection | None) -> ReflectionOut | None:
    return ReflectionOut.model_validate(reflection, from_attributes=True) if reflection else None


def flip_out(view: flips.FlipView) -> FlipOut:
    verdict = [VerdictOut(id=e.enhancer_id, name=e.name, allowed=e.allowed) for e in view.verdict]
    fields = view.flip.model_dump(include=set(FlipOut.model_fields) - {"enhancers", "reflection", "revealed_at"})
    reflection = reflection_out(view.reflection)
    return FlipOut(**fields, enhancers=verdict, reflection=reflection, revealed_at=view.flip.flipped_at)


def etag(reflection: Reflection | None) -> dict[str, str]:
    return {"ETag": f'"{reflection.version}"'} if reflection else {}


def if_match_of(header: str | None) -> flips.IfMatch:
    """If-Match: "3", W/"3", a list of them, or *. Tags that can't be versions match nothing."""
    if header is None:
        return None
    if header.strip() == "*":
        return "*"
    tags = (tag.strip().removeprefix("W/").strip('"') for tag in header.split(","))
    return tuple(int(tag) for tag in tags if tag.isascii() and tag.isdigit() and len(tag) < 10)


def invalid(exc: habits.UnknownEnhancer | habits.DuplicateName) -> HTTPException:
    """A habit or enhancer refused as FastAPI's own validation errors read: the field, and why."""
    field = "name" if isinstance(exc, habits.DuplicateName) else "enhancer_ids"
    return HTTPException(422, detail=[{"loc": ["body", field], "msg": str(exc), "type": "value_error"}])


@me_api.get("/me")
async def get_me(member: CurrentMember, db: Db) -> MeOut:
    household = await db.read(Session.get, Household, member.household_id)
    assert household is not None and member.id is not None and household.id is not None
    return MeOut(
        member_id=member.id,
        member=member.name,
        emoji=member.emoji,
        colour=member.colour,
        household_id=household.id,
        household=household.name,
    )


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


@token_api.get("/tokens")
async def list_tokens_api(member: CurrentMember, db: Db) -> list[TokenOut]:
    """The calling member's API tokens (never the tokens themselves: only their hashes are kept)."""
    return [TokenOut.model_validate(t, from_attributes=True) for t in await db.read(tokens.of_members, [member.id])]


@token_api.delete("/tokens/{token_id}", status_code=204)
async def revoke_token_api(token_id: IdPath, member: CurrentMember, db: Db) -> Response:
    """Revoke one of the calling member's tokens (the one making this call, too, if it names itself)."""
    if not await db.write(tokens.revoke, token_id, [member.id]):
        raise not_found()
    return Response(status_code=204)


@enhancer_api.get("/enhancers")
async def list_enhancers_api(member: CurrentMember, db: Db) -> list[EnhancerOut]:
    return [enhancer_out(e) for e in await db.read(habits.enhancers_of_member, member)]


@enhancer_api.post("/enhancers", status_code=201)
async def create_enhancer_api(data: EnhancerIn, member: CurrentMember, db: Db) -> EnhancerOut:
    try:
        return enhancer_out(await db.write(habits.add_enhancer, member, data))
    except habits.DuplicateName as exc:
        raise invalid(exc) from exc


@enhancer_api.get("/enhancers/{enhancer_id}")
async def get_enhancer_api(enhancer: OwnedEnhancer) -> EnhancerOut:
    return enhancer_out(enhancer)


@enhancer_api.patch("/enhancers/{enhancer_id}")
async def update_enhancer_api(data: EnhancerPatch, enhancer: OwnedEnhancer, db: Db) -> EnhancerOut:
    try:
        return enhancer_out(await db.write(habits.update_enhancer, enhancer, data))
    except habits.DuplicateName as exc:
        raise invalid(exc) from exc


@enhancer_api.delete("/enhancers/{enhancer_id}", status_code=204)
async def delete_enhancer_api(enhancer: OwnedEnhancer, db: Db) -> Response:
    await db.write(habits.delete_enhancer, enhancer)
    return Response(status_code=204)


@habit_api.get("/habits")
async def list_habits_api(member: CurrentMember, db: Db) -> list[HabitOut]:
    """Every habit of the member, archived ones included (`archived`)."""
    return await db.read(habits_out, member)


@habit_api.post("/habits", status_code=201)
async def create_habit_api(data: HabitIn, member: CurrentMember, db: Db) -> HabitOut:
    try:
        habit = await db.write(habits.save_habit, member, Habit(member_id=member.id or 0, name=data.name), data)
    except (habits.UnknownEnhancer, habits.DuplicateName) as exc:
        raise invalid(exc) from exc
    return await db.read(habit_out, habit)


@habit_api.get("/habits/{habit_id}")
async def get_habit_api(habit: OwnedHabit, db: Db) -> HabitOut:
    return await db.read(habit_out, habit)


@habit_api.patch("/habits/{habit_id}")
async def update_habit_api(data: HabitPatch, habit: OwnedHabit, member: CurrentMember, db: Db) -> HabitOut:
    """A changed policy or `every_hours` applies from the next session on."""
    try:
        habit = await db.write(habits.save_habit, member, habit, data)
    except (habits.UnknownEnhancer, habits.DuplicateName) as exc:
        raise invalid(exc) from exc
    return await db.read(habit_out, habit)


BUSY: dict[int | str, dict[str, object]] = {
    409: {"model": ErrorOut, "description": "A flip of the habit is open, or its session is in progress"}
}


@habit_api.delete("/habits/{habit_id}", status_code=204, responses=BUSY)
async def delete_habit_api(habit: OwnedHabit, db: Db, now: Now) -> Response:
    """A habit never flipped goes at once; one with history only once archived and its last session over."""
    try:
        await db.write(habits.delete_habit, habit, now)
    except habits.HabitBusy as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    return Response(status_code=204)


@habit_api.post("/habits/{habit_id}/archive", responses=BUSY)
async def archive_habit_api(habit: OwnedHabit, db: Db, now: Now) -> HabitOut:
    """Off Today, history kept; not while a flip of it waits for its reflection."""
    try:
        await db.write(habits.archive_habit, habit, now)
    except habits.HabitBusy as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    return await db.read(habit_out, habit)


@habit_api.post("/habits/{habit_id}/restore")
async def restore_habit_api(habit: OwnedHabit, db: Db) -> HabitOut:
    await db.write(habits.restore_habit, habit)
    return await db.read(habit_out, habit)


@habit_api.post(
    "/habits/{habit_id}/flips",
    status_code=201,
    response_model=FlipOut,
    responses={
        200: {"model": FlipOut, "description": "The same flip again: a retried key, or the session's open flip"},
        409: {
            "model": SessionClosedOut,
            "description": "This session's flip is closed (`next_flip_at` says when the next one is possible), "
            "or the habit is archived or has no enhancers (then without `next_flip_at`)",
        },
        422: {
            "model": ErrorOut,
            "description": "The Idempotency-Key was used for another habit's flip, or an offline reveal names a "
            "verdict other than the one its seal holds (the sealed verdict stands)",
        },
    },
)
async def flip_habit_api(
    habit: OwnedHabit,
    member: CurrentMember,
    db: Db,
    rng: Rng,
    now: Now,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=IDEMPOTENCY_KEY_MAX)] = None,
    reveal: Annotated[
        RevealIn | None,
        Body(description="Only for a seal revealed offline on a phone; an online tap sends no body"),
    ] = None,
) -> FlipOut | JSONResponse:
    """Reveal the habit's sealed verdict (its commitment was shown before the tap) as this session's flip; the
    next session's is sealed at once. A retried key or the session's open flip answers 200 with that same flip.

    With a body, the seal was revealed offline on a phone: taken only for the habit's current seal (else 409),
    and only as the verdict it holds (else 422). Sent again, or from a second phone, it answers 200 with the
    flip that seal became."""
    try:
        # A blank key is no key: stored, it would refuse every other habit's flip.
        key = (idempotency_key or "").strip() or None
        offline = None if reveal is None else flips.Reveal(
            reveal.commitment, reveal.coin, tuple((e.name, e.allowed) for e in reveal.enhancers),
            reveal.revealed_at.astimezone(UTC),
        )  # fmt: skip
        view, fresh = await db.write_plain(flips.flip_habit, habit, member, rng, now, key, offline)
    except flips.SessionClosed as exc:
        body = SessionClosedOut(detail=str(exc), next_flip_at=exc.flip.next_flip_at)
        return JSONResponse(body.model_dump(mode="json"), status_code=409)
    except (flips.KeyReused, flips.RevealDiffers) as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    except flips.FlipRefused as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    if not fresh:
        response.status_code = 200
    return flip_out(view)


@flip_api.get("/flips")
async def list_flips_api(
    member: CurrentMember,
    db: Db,
    habit_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: IdQuery = None,
) -> list[FlipOut]:
    views = await db.read(flips.page_of_member, member, habit_id, before, limit)
    return [flip_out(v) for v in views]


@flip_api.get("/flips/{flip_id}")
async def get_flip_api(flip: OwnedFlip, db: Db, response: Response) -> FlipOut:
    """With `ETag: "<version>"` when reflected: send it back as If-Match to change the reflection."""
    view = await db.read_plain(flips.view_of, flip)
    response.headers.update(etag(view.reflection))
    return flip_out(view)


@flip_api.put(
    "/flips/{flip_id}/reflection",
    response_model=FlipOut,
    responses={
        409: {"model": ReflectionConflictOut, "description": "A different reflection is saved; no If-Match was sent"},
        412: {"model": ReflectionConflictOut, "description": "If-Match names a version that is no longer saved"},
    },
)
async def put_reflection_api(
    data: ReflectionIn,
    flip: OwnedFlip,
    db: Db,
    now: Now,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=200)] = None,
) -> FlipOut | JSONResponse:
    """Save the flip's reflection. To change a saved one, send If-Match with the version (its ETag); the same
    reflection sent again is fine. Nothing saved is ever replaced unseen: the answer then carries it."""
    try:
        view = await db.write_plain(flips.reflect, flip, data, now, if_match_of(if_match))
    except flips.ReflectionConflict as exc:
        body = ReflectionConflictOut(detail=str(exc), reflection=reflection_out(exc.saved))
        return JSONResponse(
            body.model_dump(mode="json"), status_code=412 if exc.stale else 409, headers=etag(exc.saved)
        )
    response.headers.update(etag(view.reflection))
    return flip_out(view)


@archive_api.get("/export")
async def export_api(member: CurrentMember, db: Db) -> archive.Export:
    """Everything of the member's household, in the format `coinflip import` reads (without password hashes),
    less the reflections, notes and pleasure checks of other members who have a PIN."""
    return await db.read_long(archive.export_for, member)


class PleasureOut(PleasureCheckBase, Identified):
    logged_at: datetime


@pleasure_api.post("/pleasures", status_code=201)
async def log_pleasure_api(data: PleasureIn, member: CurrentMember, db: Db, now: Now) -> PleasureOut:
    return PleasureOut.model_validate(await db.write(pleasures.record, member, data, now), from_attributes=True)


@pleasure_api.get("/pleasures")
async def list_pleasures_api(
    member: CurrentMember,
    db: Db,
    name: Annotated[NameParam | None, Query(max_length=NAME_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PleasureOut]:
    """Newest first."""
    rows = await db.read(pleasures.checks_of, member, name, limit)
    return [PleasureOut.model_validate(p, from_attributes=True) for p in rows]


@insight_api.get("/insights/habits/{habit_id}")
async def habit_insights_api(habit: OwnedHabit, db: Db, zone: HouseholdZone) -> insights.HabitInsights:
    """The numbers the habit's insights page shows."""
    return await db.read(insights.habit_insights, habit, zone)


class ReminderOut(BaseModel):
    """A habit's reminder: on these days, at this local time (the household's time zone)."""

    habit_id: int
    days: list[Weekday]
    time: str
    next_at: datetime | None


def reminder_out(reminder: Reminder, zone: ZoneInfo, now: datetime) -> ReminderOut:
    next_at = reminders.next_due(reminder.days, reminder.at, zone, now)
    return ReminderOut(habit_id=reminder.habit_id, days=reminders.days_of(reminder.days), time=reminder.at,
                       next_at=next_at)  # fmt: skip


NO_REMINDER: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut, "description": "No such habit, or it has no reminder (it is off)"}
}


@reminder_api.get("/reminders")
async def list_reminders_api(member: CurrentMember, db: Db, zone: HouseholdZone, now: Now) -> list[ReminderOut]:
    """The calling member's reminders that are on; a habit without one has none (off is the default)."""
    found = await db.read_plain(reminders.reminders_of, member)
    return [reminder_out(r, zone, now) for _, r in sorted(found.items())]


@reminder_api.get("/habits/{habit_id}/reminder", responses=NO_REMINDER)
async def get_reminder_api(habit: OwnedHabit, db: Db, zone: HouseholdZone, now: Now) -> ReminderOut:
    reminder = await db.read_plain(reminders.reminder_of, habit)
    if reminder is None:
        raise HTTPException(404, detail="This habit has no reminder.")
    return reminder_out(reminder, zone, now)


@reminder_api.put("/habits/{habit_id}/reminder")
async def put_reminder_api(data: ReminderIn, habit: OwnedHabit, db: Db, zone: HouseholdZone, now: Now) -> ReminderOut:
    """Turn the habit's reminder on, or change it: due from now on, never for a moment already past."""
    return reminder_out(await db.write_plain(reminders.set_reminder, habit, data, now), zone, now)


@reminder_api.delete("/habits/{habit_id}/reminder", status_code=204)
async def delete_reminder_api(habit: OwnedHabit, db: Db) -> Response:
    """Turn the reminder off (already off: the same 204)."""
    await db.write_plain(reminders.turn_off, habit)
    return Response(status_code=204)


class PushKeyOut(BaseModel):
    """The server's VAPID public key, as `pushManager.subscribe({applicationServerKey})` takes it."""

    public_key: str


class PushSubscriptionOut(Identified):
    endpoint: str
    created_at: datetime


@push_api.get("/push/key")
async def push_key_api(member: CurrentMember, request: Request) -> PushKeyOut:
    notifier: Notifier = request.app.state.notifier
    return PushKeyOut(public_key=notifier.public_key)


@push_api.get("/push/subscriptions")
async def list_push_subscriptions_api(member: CurrentMember, db: Db) -> list[PushSubscriptionOut]:
    """The browsers that take the calling member's reminders by Web Push."""
    found = await db.read_plain(reminders.subscriptions_of, member.id)
    return [PushSubscriptionOut.model_validate(s, from_attributes=True) for s in found]


@push_api.post("/push/subscriptions", status_code=201)
async def subscribe_push_api(
    data: PushSubscriptionIn, member: CurrentMember, db: Db, now: Now, request: Request
) -> PushSubscriptionOut:
    """Send a browser's `PushSubscription.toJSON()`: its reminders go there, in the language of its
    `Accept-Language` unless the member picked one. Sent again, its keys (and language) are renewed."""
    keys, language = data.keys, i18n.language_of(request.scope)
    saved = await db.write_plain(reminders.subscribe, member, data.endpoint, keys.p256dh, keys.auth, language, now)
    return PushSubscriptionOut.model_validate(saved, from_attributes=True)


@push_api.delete("/push/subscriptions/{subscription_id}", status_code=204)
async def unsubscribe_push_api(subscription_id: IdPath, member: CurrentMember, db: Db) -> Response:
    if not await db.write_plain(reminders.unsubscribe, member, subscription_id):
        raise not_found()
    return Response(status_code=204)
