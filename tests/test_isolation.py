"""Tenant isolation as a property: two households make random calls; neither ever sees or changes the other's data."""

import itertools
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlmodel import Session

from app import tokens
from app.schemas import EnhancerIn
from tests import factories

names = itertools.count()
REFLECTION = {"effort": 6, "enjoyment": 7, "followed": "yes", "note": "steady"}


@dataclass
class Tenant:
    """One household's API client, and what the model says it owns."""

    client: TestClient
    enhancers: dict[int, str] = field(default_factory=dict)
    habits: dict[int, str] = field(default_factory=dict)
    flips: dict[int, int] = field(default_factory=dict)  # flip id -> habit id
    open_flips: dict[int, int] = field(default_factory=dict)  # habit id -> open flip id
    closed: set[int] = field(default_factory=set)  # habits whose session's flip is reflected on
    bare: set[int] = field(default_factory=set)  # habits without an enhancer: nothing to flip
    links: dict[int, set[int]] = field(default_factory=dict)  # habit id -> its enhancers' ids


def make_machine(app: FastAPI, db: Session) -> type[RuleBasedStateMachine]:
    class TwoHouseholds(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.tenants = []
            for _ in range(2):
                household = factories.make_household(db, f"House {next(names)}")
                member = factories.make_member(db, household)
                token = tokens.create(db, member)
                db.commit()
                self.tenants.append(Tenant(TestClient(app, headers={"Authorization": f"Bearer {token}"})))

        def any_id(self, data: st.DataObject, kind: str) -> tuple[int, Tenant | None]:
            """An id from either household (or one nobody has), and its owner."""
            owned = [(i, t) for t in self.tenants for i in getattr(t, kind)]
            return data.draw(st.sampled_from([*owned, (10**6, None)]))

        @rule(who=st.integers(0, 1), name=st.text(min_size=1, max_size=20).filter(str.strip))
        def create_enhancer(self, who: int, name: str) -> None:
            tenant = self.tenants[who]
            response = tenant.client.post("/api/v1/enhancers", json={"name": name, "kind": "media", "spike": 2})
            if EnhancerIn(name=name).name.casefold() in {n.casefold() for n in tenant.enhancers.values()}:
                assert response.status_code == 422  # its own name again; the other household's doesn't count
                return
            assert response.status_code == 201
            tenant.enhancers[response.json()["id"]] = response.json()["name"]

        @rule(who=st.integers(0, 1), data=st.data())
        def create_habit(self, who: int, data: st.DataObject) -> None:
            tenant = self.tenants[who]
            linked, owner = self.any_id(data, "enhancers")
            ids = [linked] if owner is not None else []
            response = tenant.client.post("/api/v1/habits", json={"name": f"Habit {next(names)}", "enhancer_ids": ids})
            if owner in (tenant, None):
                assert response.status_code == 201
                tenant.habits[response.json()["id"]] = response.json()["name"]
                tenant.links[response.json()["id"]] = set(ids)
                if not ids:
                    tenant.bare.add(response.json()["id"])
            else:
                assert response.status_code == 422  # another household's enhancer cannot be linked

        @rule(who=st.integers(0, 1), data=st.data())
        def flip(self, who: int, data: st.DataObject) -> None:
            tenant = self.tenants[who]
            habit_id, owner = self.any_id(data, "habits")
            response = tenant.client.post(f"/api/v1/habits/{habit_id}/flips")
            if owner is not tenant:
                assert response.status_code == 404
                return
            flip = response.json()
            if habit_id in tenant.bare or habit_id in tenant.closed:
                assert response.status_code == 409  # nothing to flip, or this session's flip is done
                return
            if habit_id in tenant.open_flips:
                assert (response.status_code, flip["id"]) == (200, tenant.open_flips[habit_id])
            else:
                assert response.status_code == 201
            tenant.flips[flip["id"]] = habit_id
            tenant.open_flips[habit_id] = flip["id"]

        @rule(who=st.integers(0, 1), data=st.data())
        def reflect(self, who: int, data: st.DataObject) -> None:
            tenant = self.tenants[who]
            flip_id, owner = self.any_id(data, "flips")
            response = tenant.client.put(f"/api/v1/flips/{flip_id}/reflection", json=REFLECTION)
            if owner is not tenant:
                assert response.status_code == 404
                return
            assert response.status_code == 200  # the first time, or the same reflection again
            tenant.open_flips.pop(tenant.flips[flip_id], None)
            tenant.closed.add(tenant.flips[flip_id])

        @rule(who=st.integers(0, 1), kind=st.sampled_from(["enhancers", "habits", "flips"]), data=st.data())
        def read(self, who: int, kind: str, data: st.DataObject) -> None:
            tenant = self.tenants[who]
            object_id, owner = self.any_id(data, kind)
            response = tenant.client.get(f"/api/v1/{kind}/{object_id}")
            assert response.status_code == (200 if owner is tenant else 404)

        @rule(who=st.integers(0, 1), kind=st.sampled_from(["enhancers", "habits"]), data=st.data())
        def delete(self, who: int, kind: str, data: st.DataObject) -> None:
            tenant = self.tenants[who]
            object_id, owner = self.any_id(data, kind)
            response = tenant.client.delete(f"/api/v1/{kind}/{object_id}")
            if owner is not tenant:
                assert response.status_code == 404
                return
            if kind == "habits" and object_id in tenant.flips.values():
                assert response.status_code == 409  # a habit with history is archived, not deleted, first
                return
            assert response.status_code == 204
            del getattr(tenant, kind)[object_id]
            if kind == "habits":  # forgotten: SQLite may give its id to the next habit
                tenant.links.pop(object_id, None)
                tenant.bare.discard(object_id)
                tenant.closed.discard(object_id)
            if kind == "enhancers":  # a habit whose last enhancer goes has nothing left to flip
                for habit_id, linked in tenant.links.items():
                    linked.discard(object_id)
                    if not linked:
                        tenant.bare.add(habit_id)

        @invariant()
        def each_sees_exactly_its_own(self) -> None:
            for tenant in self.tenants:
                enhancers = {e["id"]: e["name"] for e in tenant.client.get("/api/v1/enhancers").json()}
                habits = {h["id"]: h["name"] for h in tenant.client.get("/api/v1/habits").json()}
                flips = {f["id"] for f in tenant.client.get("/api/v1/flips?limit=200").json()}
                assert (enhancers, habits, flips) == (tenant.enhancers, tenant.habits, set(tenant.flips))

    return TwoHouseholds


def test_two_households_never_see_or_change_each_other(app: FastAPI, db: Session) -> None:
    machine = make_machine(app, db)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=15, stateful_step_count=20, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )  # fmt: skip
