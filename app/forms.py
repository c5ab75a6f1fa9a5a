"""Form posts checked by pydantic models; errors come back as one message per field, values kept."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from app.i18n import N_, gettext, ngettext, number

M = TypeVar("M", bound=BaseModel)

MESSAGES = {
    "missing": N_("Please fill this in."),
    "int_parsing": N_("Please enter a whole number."),
    "float_parsing": N_("Please enter a number."),
}


def values_of(form: FormData) -> dict[str, str | list[str]]:
    """The posted values, as strings, to put back into the form."""
    values: dict[str, str | list[str]] = {}
    for key in form:
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if len(items) > 1 or key.endswith("_ids") else (items[0] if items else "")
    return values


def message(error_type: str, msg: str, ctx: dict[str, object] | None, given: object = None) -> str:
    if error_type in MESSAGES:
        return gettext(MESSAGES[error_type])
    if error_type == "string_too_short" and ctx and int(str(ctx["min_length"])) > 1:
        least = int(str(ctx["min_length"]))
        return ngettext("Please use at least %(num)s character.", "Please use at least %(num)s characters.", least)
    if error_type == "string_too_short":
        return message("missing", msg, ctx)  # not gettext(MESSAGES["missing"]): pybabel would extract "missing"
    if error_type == "string_too_long" and ctx:
        most = int(str(ctx["max_length"]))
        if isinstance(given, str):
            return ngettext(
                "Please keep this to %(num)s character or fewer (this is %(length)s).",
                "Please keep this to %(num)s characters or fewer (this is %(length)s).",
                most,
                length=number(len(given.strip())),
            )
        return ngettext(
            "Please keep this to %(num)s character or fewer.", "Please keep this to %(num)s characters or fewer.", most
        )
    if error_type in {"greater_than_equal", "less_than_equal"} and ctx:
        bound = ctx.get("ge", ctx.get("le"))
        # A bound as a person writes it: 10, not 10.0 (or 10.000000000000002, a percentage made of a probability).
        shown = number(round(bound, 6)) if isinstance(bound, float) else str(bound)
        if error_type == "greater_than_equal":
            return gettext("Please enter a value of at least %(bound)s.", bound=shown)
        return gettext("Please enter a value of at most %(bound)s.", bound=shown)
    return msg.removeprefix("Value error, ")


def parse(model: type[M], form: FormData) -> tuple[M | None, dict[str, str]]:
    """Validate a form; on failure return the errors, keyed by field, in words a person understands."""
    # Empty fields fall back to their defaults (or count as missing); fields the model lacks, like the
    # CSRF token, are not its business.
    data = {k: v for k, v in values_of(form).items() if k in model.model_fields and v != ""}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "__all__"
            errors.setdefault(field, message(error["type"], error["msg"], error.get("ctx"), error.get("input")))
        return None, errors


def version_of(form: FormData) -> int | None:
    """The version of a record the form was filled from (a hidden field), or None for a new one. Anything
    unreadable counts as None: the save then refuses to replace what it cannot have seen."""
    value = form.get("version")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None
