"""schemathesis against the app's own OpenAPI schema: no 500, and every response as the schema says."""

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.case import Case
from sqlmodel import Session

from app import tokens
from tests import factories
from tests.conftest import Home

EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def token(db: Session, home: Home) -> str:
    """A member with an enhancer, a habit and a flip, so generated ids sometimes hit real objects."""
    music = factories.make_enhancer(db, home.member)
    factories.make_habit(db, home.member, enhancers=[music])
    token = tokens.create(db, home.member)
    db.commit()
    return token


def test_the_api_keeps_its_schema(app: FastAPI, token: str) -> None:
    """Every API operation, a bounded number of generated requests each (schemathesis's pytest plugin
    needs pytest internals this pytest no longer has, so the operations are walked here)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=r"^/api/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
