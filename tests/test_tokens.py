"""API tokens: named, shown once, listed with when they were last used, revocable in Settings, through the API
and the CLI, and all revoked when the household password changes."""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import tokens
from app.cli import CliError
from app.config import Settings
from app.models import ApiToken
from tests import factories
from tests.conftest import Home
from tests.test_cli import run as cli


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_made_in_settings_is_shown_once_and_a_reload_makes_no_second(
    app: FastAPI, client: TestClient, db: Session, home: Home
) -> None:
    made = client.post("/settings/tokens", data={"name": "Watch shortcut"})
    assert made.status_code == 303 and made.headers["location"] == "/settings"
    page = client.get("/settings").text
    token = re.search(r'<pre class="token" id="new-token">(cf_[\w-]+)</pre>', page)
    assert token and 'data-copy="new-token"' in page and "shown only once" in page
    assert "Watch shortcut" in page and "never used" in page
    again = client.get("/settings").text  # the reload
    assert "cf_" not in again and "Watch shortcut" in again
    db.commit()
    assert len(db.exec(select(ApiToken)).all()) == 1
    me = TestClient(app).get("/api/v1/me", headers=bearer(token.group(1)))
    assert me.status_code == 200 and me.json()["member"] == home.member.name
    assert "last used" in client.get("/settings").text


def test_a_token_is_revoked_in_settings(app: FastAPI, client: TestClient, db: Session, home: Home) -> None:
    token = tokens.create(db, home.member, "Old laptop")
    db.commit()
    row = db.exec(select(ApiToken)).one()
    done = client.post(f"/settings/tokens/{row.id}/revoke")
    assert done.status_code == 303 and "Token revoked" in client.get(done.headers["location"]).text
    assert TestClient(app).get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.post(f"/settings/tokens/{row.id}/revoke").status_code == 404


def test_another_households_token_cannot_be_revoked(client: TestClient, db: Session, home: Home) -> None:
    stranger = factories.make_member(db, factories.make_household(db, "Okafor"), "Obi")
    token = tokens.create(db, stranger)
    db.commit()
    row = db.exec(select(ApiToken)).one()
    assert client.post(f"/settings/tokens/{row.id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_the_api_lists_and_revokes_the_callers_own_tokens(app: FastAPI, db: Session, home: Home) -> None:
    script = tokens.create(db, home.member, "Script")
    other = tokens.create(db, home.member, "Phone shortcut")
    ben = factories.make_member(db, home.household, "Ben")
    bens = tokens.create(db, ben, "Ben's")
    db.commit()
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer(script)).status_code == 200
    listed = api.get("/api/v1/tokens", headers=bearer(script))
    assert listed.status_code == 200
    assert [(t["name"], t["last_used_at"] is not None) for t in listed.json()] == [
        ("Script", True),
        ("Phone shortcut", False),
    ]
    assert set(listed.json()[0]) == {"id", "name", "created_at", "last_used_at"}
    bens_id = db.exec(select(ApiToken.id).where(ApiToken.member_id == ben.id)).one()
    assert api.delete(f"/api/v1/tokens/{bens_id}", headers=bearer(script)).status_code == 404
    other_id = listed.json()[1]["id"]
    assert api.delete(f"/api/v1/tokens/{other_id}", headers=bearer(script)).status_code == 204
    assert api.get("/api/v1/me", headers=bearer(other)).status_code == 401
    assert api.get("/api/v1/me", headers=bearer(bens)).status_code == 200


def test_last_used_is_noted_to_the_minutes_not_on_every_call(app: FastAPI, db: Session, home: Home) -> None:
    token = tokens.create(db, home.member)
    db.commit()
    api = TestClient(app)
    api.get("/api/v1/me", headers=bearer(token))
    db.commit()
    first = db.exec(select(ApiToken.last_used_at)).one()
    api.get("/api/v1/me", headers=bearer(token))
    db.commit()
    assert first is not None and db.exec(select(ApiToken.last_used_at)).one() == first
    row = db.exec(select(ApiToken)).one()
    row.last_used_at = first - tokens.LAST_USED_GRANULARITY * 2
    db.add(row)
    db.commit()
    api.get("/api/v1/me", headers=bearer(token))
    db.commit()
    db.refresh(row)
    assert row.last_used_at is not None and row.last_used_at > first - tokens.LAST_USED_GRANULARITY


def test_a_new_household_password_revokes_every_token(
    app: FastAPI, client: TestClient, db: Session, home: Home
) -> None:
    mine = tokens.create(db, home.member)
    bens = tokens.create(db, factories.make_member(db, home.household, "Ben"))
    elsewhere = tokens.create(db, factories.make_member(db, factories.make_household(db, "Okafor"), "Obi"))
    db.commit()
    change = {"current": factories.PASSWORD, "password": "a brand new one", "password_again": "a brand new one"}
    assert client.post("/settings/password", data=change).status_code == 303
    api = TestClient(app)
    assert [api.get("/api/v1/me", headers=bearer(t)).status_code for t in (mine, bens, elsewhere)] == [401, 401, 200]
    assert "every API token revoked" in client.get("/settings?changed=true").text


def test_the_cli_makes_lists_and_revokes_tokens_and_a_reset_password_revokes_them_all(
    app: FastAPI, db: Session, settings: Settings, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = cli(settings, monkeypatch, "token", "create", "--household", "Rivera", "--member", "Ana", "--name", "Cron")
    kept = cli(settings, monkeypatch, "token", "create", "--household", "Rivera", "--member", "Ana")
    assert made and kept and made.startswith("cf_")
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer(made)).status_code == 200
    listing = cli(settings, monkeypatch, "token", "list", "--household", "Rivera")
    assert listing is not None
    rows = [line.split("\t") for line in listing.splitlines()[1:]]
    assert [(member, name) for _, member, name, _, _ in rows] == [("Ana", "Cron"), ("Ana", "API token")]
    assert rows[0][4].endswith("UTC") and rows[1][4] == "never"  # the first was used just now
    assert "Revoked API token" in (cli(settings, monkeypatch, "token", "revoke", rows[0][0]) or "")
    assert api.get("/api/v1/me", headers=bearer(made)).status_code == 401
    with pytest.raises(CliError, match="No API token with id"):
        cli(settings, monkeypatch, "token", "revoke", rows[0][0])
    out = cli(
        settings, monkeypatch, "household", "reset-password", "Rivera", "--password-stdin", stdin="new password 1\n"
    )
    assert out and "every API token revoked" in out
    assert api.get("/api/v1/me", headers=bearer(kept)).status_code == 401
    assert "has no API tokens" in (cli(settings, monkeypatch, "token", "list", "--household", "Rivera") or "")
