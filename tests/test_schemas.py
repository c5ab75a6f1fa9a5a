"""The input models: a household's name must fit the login column once case-folded, at sign-up and at login."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import NAME_MAX, Household, Throttle, login_name
from tests.test_auth import csrf_of, sign_up


@pytest.mark.parametrize(
    ("name", "created"),
    [
        ("ﬃ" * 20, True),  # 60 characters once folded: fits exactly
        ("ß" * 31, False),  # "ss" each: 62
        ("ﬃ" * NAME_MAX, False),  # 180, which PostgreSQL refused with a 500
    ],
)
def test_a_household_name_must_fit_once_written_for_login(
    client: TestClient, db: Session, name: str, created: bool
) -> None:
    response = sign_up(client, name=name)
    assert response.status_code == (303 if created else 422)
    households = db.exec(select(Household)).all()
    assert [h.login for h in households] == ([login_name(name)] if created else [])
    if not created:
        assert re.search(r'id="name-error">[^<]*Please use a shorter name', response.text)


def test_a_login_name_no_household_can_have_is_refused_like_a_wrong_password(client: TestClient, db: Session) -> None:
    sign_up(client)
    client.cookies.clear()
    page = client.get("/login")
    response = client.post(
        "/login", data={"name": "ﬃ" * NAME_MAX, "password": "whatever1", "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 422 and "don&#39;t match" in response.text
    assert db.exec(select(Throttle)).all() == []  # nothing to count: no password was checked
