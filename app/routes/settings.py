"""Household settings: appearance, password, the devices logged in (named, renamed, logged out), API tokens, data."""

from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app import archive, forms, households, throttle, tokens
from app.db import Database
from app.deps import CurrentHousehold, CurrentLogin, CurrentMember, Db, Form, IdPath, IdQuery, Now, cookie, cookie_name
from app.i18n import LANGUAGES, N_, gettext
from app.models import Household
from app.schemas import DeviceIn, PasswordChange, TimeZoneIn, TokenIn, time_zones
from app.templating import (
    THEME_COOKIE,
    THEMES,
    cookie_path,
    delete_cookie,
    redirect,
    render,
    set_cookie,
    theme_of,
)

router = APIRouter()


SHOWN_ONCE_COOKIE = "coinflip_shown_once"
# Translators: the colours picked in Settings, in "Appearance saved on this device: %(theme)s."
THEME_NAMES = {"system": N_("like the system"), "light": N_("light"), "dark": N_("dark")}


async def settings_page(
    request: Request,
    db: Database,
    household: Household,
    *,
    new_token: str | None = None,
    message: str | None = None,
    values: Mapping[str, object] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "settings/index.html",
        status_code=422 if errors else 200,
        household=household,
        time_zones=time_zones(),
        devices=await db.read(households.devices_of, household),
        tokens=await db.read(tokens.of_household, household.id),
        new_token=new_token,
        message=message,
        values=values or {},
        errors=errors or {},
    )


@router.get("/settings")
async def show_settings(
    request: Request,
    db: Db,
    household: CurrentHousehold,
    member: CurrentMember,
    changed: bool = False,
    zone_saved: bool = False,
    revoked: bool = False,
    theme_saved: bool = False,
    language_saved: bool = False,
    logged_out: bool = False,
    renamed: IdQuery = None,
) -> Response:
    """After a change, the page says what was done. What it names comes from the database, never from the link
    (which anyone could write): a renamed device by its id; a device logged out is gone, so it goes unnamed here
    (its confirmation button named it)."""
    message = None
    if theme_saved:
        message = gettext("Appearance saved on this device: %(theme)s.", theme=gettext(THEME_NAMES[theme_of(request)]))
    if language_saved:
        message = (
            gettext("Language saved: %(language)s.", language=LANGUAGES.get(member.language or "", ""))
            if (member.language)
            else gettext("Language saved: this browser's own.")
        )
    if logged_out:
        message = gettext("The device is logged out: it asks for the household password again.")
    device = await db.read(households.device_of, household, renamed) if renamed else None
    if device is not None:
        message = gettext("Device renamed: “%(name)s”.", name=device.device_name)
    if changed:
        message = gettext("Password changed. Every other device has been logged out, and every API token revoked.")
    if zone_saved:
        zone = household.timezone.replace("_", " ")
        message = gettext(
            "Time zone saved: %(zone)s. Times are shown in it, and a day's session follows it.", zone=zone
        )
    if revoked:
        message = gettext("Token revoked: scripts using it get 401 from now on.")
    # A token just made is shown once: its cookie goes with this page, so a reload shows it no more.
    new_token = cookie(request, SHOWN_ONCE_COOKIE)
    found = await db.read_plain(tokens.find, new_token) if new_token else None
    shown = new_token if found is not None and found[1].household_id == household.id else None
    response = await settings_page(request, db, household, new_token=shown, message=message)
    if new_token:
        delete_cookie(request, response, SHOWN_ONCE_COOKIE)
    return response


@router.post("/settings/timezone")
async def set_time_zone(request: Request, db: Db, household: CurrentHousehold, form: Form, now: Now) -> Response:
    """The household's time zone. A session already under way never ends sooner for it."""
    data, errors = forms.parse(TimeZoneIn, form)
    if data is None:
        return await settings_page(request, db, household, errors=errors)
    await db.write(households.set_time_zone, household, data.timezone, now)
    return redirect(request, "show_settings", query={"zone_saved": "true"})


@router.post("/settings/theme")
async def set_theme(request: Request, form: Form) -> Response:
    """Remembered per device, in a cookie: light, dark, or following the system."""
    theme = str(form.get("theme", "system"))
    response = redirect(request, "show_settings", query={"theme_saved": "true"})
    set_cookie(request, response, THEME_COOKIE, theme if theme in THEMES else "system")
    return response


@router.post("/settings/language")
async def set_language(request: Request, db: Db, member: CurrentMember, form: Form) -> Response:
    """The member's own language, on every device; "" leaves it to each browser."""
    language = str(form.get("language", ""))
    await db.write(households.set_language, member, language if language in LANGUAGES else None)
    return redirect(request, "show_settings", query={"language_saved": "true"})


@router.post("/settings/password")
async def change_password(
    request: Request, db: Db, household: CurrentHousehold, login: CurrentLogin, member: CurrentMember, form: Form
) -> Response:
    """Needs the current password; every other device is logged out and every API token revoked, this device
    stays in."""
    data, errors = forms.parse(PasswordChange, form)
    if data is not None:
        refused = await throttle.check_password(request, db, household, household.name, data.current, login)
        if refused is None:
            password_hash = await throttle.new_hash(request, data.password)
            await db.write(households.set_password, household, password_hash, keep=login)
            return redirect(request, "show_settings", query={"changed": "true"})
        errors = {"current": refused.message}
    return await settings_page(request, db, household, errors=errors)


@router.post("/settings/devices/{device_id}/name")
async def rename_device(
    request: Request, db: Db, device_id: IdPath, household: CurrentHousehold, form: Form
) -> Response:
    """A name people know the device by; a bad one is shown again beside its message, with that device's form open."""
    if await db.read(households.device_of, household, device_id) is None:
        raise HTTPException(404)  # another household's device is not there, whatever the form says
    data, errors = forms.parse(DeviceIn, form)
    if data is None:
        field = f"device-{device_id}"
        values = {field: forms.values_of(form).get("device_name", "")}
        return await settings_page(request, db, household, values=values, errors={field: errors["device_name"]})
    if not await db.write(households.rename_device, household, device_id, data.device_name):
        raise HTTPException(404)
    return redirect(request, "show_settings", query={"renamed": device_id})


@router.post("/settings/devices/{device_id}/revoke")
async def revoke_device(request: Request, db: Db, device_id: IdPath, household: CurrentHousehold) -> Response:
    """Asked for with a confirmation on the page, which names the device."""
    if not await db.write(households.log_out_device, household, device_id):
        raise HTTPException(404)
    return redirect(request, "show_settings", query={"logged_out": "true"})


@router.post("/settings/tokens")
async def create_token(
    request: Request, db: Db, household: CurrentHousehold, member: CurrentMember, form: Form
) -> Response:
    """Made here, shown once on the page this redirects to (a reload there makes no second token); only its
    hash is kept."""
    data, errors = forms.parse(TokenIn, form)
    if data is None:
        return await settings_page(request, db, household, values=forms.values_of(form), errors=errors)
    token = await db.write(tokens.create, member, data.name)
    response = redirect(request, "show_settings")
    response.set_cookie(
        cookie_name(request, SHOWN_ONCE_COOKIE), token, max_age=300, path=cookie_path(request),
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(request: Request, db: Db, token_id: IdPath, household: CurrentHousehold) -> Response:
    """Any member may revoke any token of the household, as with devices: a lost laptop is everyone's concern."""
    if not await db.write(households.revoke_token, household, token_id):
        raise HTTPException(404)
    return redirect(request, "show_settings", query={"revoked": "true"})


def download(content: str, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/settings/export.json")
async def export_json(db: Db, member: CurrentMember) -> Response:
    """The household's data as this member may see it: never the journal of someone else behind a PIN."""
    data = await db.read_long(archive.export_for, member)
    return download(data.model_dump_json(indent=2), "application/json", f"coinflip-{data.exported_at:%Y-%m-%d}.json")


@router.get("/settings/export.csv")
async def export_csv(db: Db, member: CurrentMember) -> Response:
    data = await db.read_long(archive.export_for, member)
    return download(
        archive.flips_csv(data), "text/csv; charset=utf-8", f"coinflip-flips-{data.exported_at:%Y-%m-%d}.csv"
    )


@router.get("/settings/export-pleasure-checks.csv")
async def export_pleasure_checks_csv(db: Db, member: CurrentMember) -> Response:
    data = await db.read_long(archive.export_for, member)
    filename = f"coinflip-pleasure-checks-{data.exported_at:%Y-%m-%d}.csv"
    return download(archive.pleasure_checks_csv(data), "text/csv; charset=utf-8", filename)
