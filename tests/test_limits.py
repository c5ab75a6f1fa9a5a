"""Each entity's fields and limits are declared once (app/models.py), so the API, the forms and the import file
take and refuse exactly the same values. Every limit is walked on both sides, with the values at and just past
each bound that either side's schema names."""

import copy
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session

from app import archive, schemas, tokens
from tests import factories
from tests.conftest import Home

Schema = dict[str, Any]
LINKABLE = 51  # one more enhancer than a habit may link


def definitions(schema: Schema) -> dict[str, Schema]:
    """The named schemas (enums) of an OpenAPI document or of a model's JSON schema."""
    return schema.get("components", {}).get("schemas", {}) | schema.get("$defs", {})


def options(prop: Schema, named: dict[str, Schema]) -> Iterator[Schema]:
    for option in prop.get("anyOf", [prop]):
        yield named[option["$ref"].rsplit("/", 1)[1]] if "$ref" in option else option


def bounds(prop: Schema, named: dict[str, Schema]) -> list[object]:
    """Values at and just past each of a field's limits, a few that only look wrong (spaces, NUL), and the
    examples a schema gives (of a field that takes only some text, like an emoji)."""
    values: list[object] = [None, *prop.get("examples", [])]
    for option in options(prop, named):
        values += option.get("examples", [])
        if "enum" in option:
            values += [*option["enum"], "none of these", option["enum"][0].upper()]
        elif option.get("type") == "string":
            shortest, longest = option.get("minLength", 0), option.get("maxLength")
            values += ["x" * shortest, " " * max(shortest, 1), "\x00" * max(shortest, 1)]
            values += ["x" * (shortest - 1)] if shortest else []
            values += ["x" * longest, "x" * (longest + 1), f" {'y' * longest}\x00 "] if longest else []
        elif option.get("type") in ("integer", "number"):
            step = 1 if option["type"] == "integer" else 0.01
            for bound, outwards in ((option.get("minimum"), -step), (option.get("maximum"), step)):
                if bound is not None:
                    values += [bound, bound + outwards, bound - outwards]
            values += [1.5] if option["type"] == "integer" else []
        elif option.get("type") == "array":
            # Lists of the member's own enhancers (ids differ on each side): as many as allowed, one more.
            values += [Links(option["maxItems"]), Links(option["maxItems"] + 1), Links(2, twice=True), Links(0)]
    return values


@dataclass(frozen=True)
class Links:
    """A list of `count` of the member's enhancer ids, the first one given twice if `twice`."""

    count: int
    twice: bool = False

    def of(self, ids: list[int]) -> list[int]:
        chosen = ids[: self.count]
        return chosen + chosen[:1] if self.twice else chosen


def concrete(value: object, ids: list[int]) -> object:
    return value.of(ids) if isinstance(value, Links) else value


@dataclass
class Entity:
    section: str  # of the export file; its first record (a reflection: the first flip's) takes the values
    path: str  # where the API (or a form) takes a new one
    taken: str | type[BaseModel]  # what the API takes, as named in /openapi.json; or the form's model
    data: type[BaseModel]  # what the import takes
    base: dict[str, object]  # the fewest fields the API needs

    @property
    def form(self) -> bool:
        return not isinstance(self.taken, str)

    def record(self, document: dict[str, Any]) -> dict[str, Any]:
        if self.section == "reflection":
            return dict(document["flips"][0]["reflection"])
        return dict(document[self.section][0])

    def place(self, field: str) -> str:
        return f"flips[0].reflection.{field}" if self.section == "reflection" else f"{self.section}[0].{field}"


ENTITIES = [
    Entity("enhancers", "/api/v1/enhancers", "EnhancerIn", archive.EnhancerData, {"name": "Tea"}),
    Entity("habits", "/api/v1/habits", "HabitIn", archive.HabitData, {"name": "Swim"}),
    Entity(
        "reflection",
        "/api/v1/flips/{flip_id}/reflection",
        "ReflectionIn",
        archive.ReflectionData,
        {"effort": 5, "enjoyment": 5, "followed": "yes"},
    ),
    Entity(
        "pleasure_checks",
        "/api/v1/pleasures",
        "PleasureIn",
        archive.PleasureData,
        {"name": "Tea", "enjoyment": 5, "craving": 5},
    ),
    Entity("members", "/members", schemas.MemberIn, archive.MemberData, {}),
]


@pytest.fixture
def api(app: FastAPI, db: Session, home: Home) -> TestClient:
    token = tokens.create(db, home.member)
    db.commit()
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def exported(api: TestClient, db: Session, home: Home) -> dict[str, Any]:
    """Ana's enhancers, a habit, a reflected flip and a pleasure check, exported with her password."""
    enhancers = [factories.make_enhancer(db, home.member, f"Enhancer {i}") for i in range(LINKABLE)]
    habit = factories.make_habit(db, home.member, "Run", enhancers[:1])
    flip = api.post(f"/api/v1/habits/{habit.id}/flips").json()
    api.put(f"/api/v1/flips/{flip['id']}/reflection", json={"effort": 5, "enjoyment": 5, "followed": "yes"})
    api.post("/api/v1/pleasures", json={"name": "Coffee", "enjoyment": 5, "craving": 5})
    return archive.export_household(db, home.household, secrets=True).model_dump(mode="json")


def form_takes(client: TestClient, entity: Entity, field: str, value: object) -> list[bool]:
    """Whether the form takes the value (a form sends text only; an empty field is one not filled in)."""
    if not isinstance(value, str):
        return []
    response = client.post(entity.path, data={"name": f"Someone {secrets.token_hex(4)}", field: value})
    if response.status_code == 422:
        assert re.findall(r'id="(\w+)-error"', response.text) == [field], response.text
        return [False]
    assert response.status_code == 303, response.text
    return [True]


def api_takes(api: TestClient, entity: Entity, file: dict[str, Any], field: str, value: object) -> list[bool]:
    """Whether the API takes the value in a new record (removed again) and, where there is one, in a change."""
    body = {field: concrete(value, sorted(e["id"] for e in api.get("/api/v1/enhancers").json()))}
    if entity.section == "reflection":
        url = entity.path.format(flip_id=file["flips"][0]["id"])
        return [took(api.put(url, json=entity.base | body, headers={"If-Match": "*"}), field)]
    new = api.post(entity.path, json=entity.base | body)
    verdicts = [took(new, field)]
    if entity.section in ("enhancers", "habits"):
        if verdicts[0]:
            api.delete(f"{entity.path}/{new.json()['id']}")
        if value is not None:  # in a PATCH, None is no change
            verdicts.append(took(api.patch(f"{entity.path}/{file[entity.section][0]['id']}", json=body), field))
    return verdicts


def took(response: httpx.Response, field: str) -> bool:
    """Taken: a 2xx; refused: a 422 for this field alone."""
    if response.status_code == 422:
        assert {tuple(e["loc"]) for e in response.json()["detail"]} <= {("body", field)}, response.text
        return False
    assert response.status_code in (200, 201), response.text
    return True


def import_takes(db: Session, entity: Entity, file: dict[str, Any], field: str, value: object) -> bool:
    """Whether `coinflip import` takes the file with the value: imported, or refused naming that field alone."""
    changed = copy.deepcopy(file)
    ana = file["members"][0]["id"]
    own = sorted(e["id"] for e in file["enhancers"] if e["member_id"] == ana)
    record = entity.record(changed) | {field: concrete(value, own)}
    if entity.form and value == "":  # as a form field left empty: not given
        record.pop(field)
    if entity.section == "reflection":
        changed["flips"][0]["reflection"] = record
    else:
        changed[entity.section][0] = record
    raw = json.dumps(changed).encode()
    try:
        archive.import_household(db, raw, name=f"Copy {secrets.token_hex(4)}", spare_password_hash="", timezone="UTC")
    except archive.ArchiveError as exc:
        places = [problem.strip().split(": ")[0] for problem in str(exc).splitlines()[1:]]
        assert places and all(place.startswith(entity.place(field)) for place in places), str(exc)
        return False
    return True


def once(values: list[object]) -> list[object]:
    return list({repr(v): v for v in values}.values())


@pytest.mark.parametrize("entity", ENTITIES, ids=[e.section for e in ENTITIES])
def test_the_import_refuses_exactly_what_the_api_refuses(
    api: TestClient, client: TestClient, db: Session, exported: dict[str, Any], entity: Entity
) -> None:
    """The values at each limit that the API's schema (a form's model) or the import's names: taken by both, or
    by neither. A PATCH takes what a POST takes."""
    openapi = api.get("/openapi.json").json()
    if isinstance(entity.taken, str):
        taken, named = openapi["components"]["schemas"][entity.taken], definitions(openapi)
    else:
        taken = entity.taken.model_json_schema()
        named = definitions(taken)
    in_file = entity.data.model_json_schema()
    assert set(taken["properties"]) <= set(in_file["properties"])
    differ = []
    for field in taken["properties"]:
        values = bounds(taken["properties"][field], named) + bounds(in_file["properties"][field], definitions(in_file))
        seen = set()
        for value in once(values):
            if entity.form:
                by_app = form_takes(client, entity, field, value)
            else:
                by_app = api_takes(api, entity, exported, field, value)
            verdicts = [*by_app, import_takes(db, entity, exported, field, value)]
            seen.update(verdicts)
            if len(set(verdicts)) > 1:
                differ.append(f"{field} = {value!r:.50}: the app's verdicts, then the import's: {verdicts}")
        assert seen == {True, False}, f"{field}: every value taken, or every value refused"
    assert differ == []
