"""Who's this? Picking, adding and renaming members, and their PINs."""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import households, security, tokens
from app.config import Settings
from app.models import ApiToken, Enhancer, Flip, Habit, LoginSession, Member, PleasureCheck, Reflection
from app.schemas import MemberIn
from tests import factories
from tests.conftest import Home


def picked(db: Session) -> int | None:
    db.commit()
    return db.exec(select(LoginSession.member_id)).one()


def test_after_login_the_device_asks_who_this_is(client: TestClient, db: Session, settings: Settings) -> None:
    household = factories.make_household(db)
    factories.make_member(db, household, "Ana")
    factories.make_member(db, household, "Ben")
    factories.log_in(client, db, settings, household, None)
    assert client.get("/").headers["location"] == "/members"
    page = client.get("/members")
    assert "Ana" in page.text and "Ben" in page.text


def test_picking_a_member_is_one_tap(client: TestClient, db: Session, settings: Settings) -> None:
    household = factories.make_household(db)
    ben = factories.make_member(db, household, "Ben")
    factories.log_in(client, db, settings, household, None)
    response = client.post(f"/members/{ben.id}/pick")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert picked(db) == ben.id
    assert "Switch person, now: </span>Ben" in client.get("/").text


def test_switching_member_is_linked_from_every_page(client: TestClient, home: Home) -> None:
    """Who's this? and a member's own pages too: they only need the login, and show the member picked."""
    pages = ("/", "/history", "/habits", "/enhancers", "/settings", "/members", "/members/new",
             f"/members/{home.member.id}/edit")  # fmt: skip
    for url in pages:
        page = client.get(url).text
        assert '<a class="person" href="/members"' in page, url
        assert f"Switch person, now: </span>{home.member.name}" in page, url


def test_a_member_with_a_pin_asks_for_it(client: TestClient, db: Session, settings: Settings) -> None:
    household = factories.make_household(db)
    ana = factories.make_member(db, household, "Ana", pin="1234")
    factories.log_in(client, db, settings, household, None)
    assert f'href="/members/{ana.id}/pick"' in client.get("/members").text
    assert 'inputmode="numeric"' in client.get(f"/members/{ana.id}/pick").text
    wrong = client.post(f"/members/{ana.id}/pick", data={"pin": "9999"})
    assert wrong.status_code == 422 and "PIN is not right" in wrong.text
    assert picked(db) is None
    assert client.post(f"/members/{ana.id}/pick").status_code == 422
    right = client.post(f"/members/{ana.id}/pick", data={"pin": "1234"})
    assert right.status_code == 303 and picked(db) == ana.id


def test_add_a_member(client: TestClient, db: Session, home: Home) -> None:
    response = client.post("/members", data={"name": "Ben", "emoji": "🦊"})
    assert response.status_code == 303
    ben = db.exec(select(Member).where(Member.name == "Ben")).one()
    assert ben.emoji == "🦊" and ben.household_id == home.household.id


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "Please fill this in."),
        ({"name": "n" * 61}, "name", "60 characters"),
        ({"name": "Ana"}, "name", "has this name already"),
        ({"name": "Ben", "emoji": "x" * 17}, "emoji", "16 characters"),
    ],
)
def test_member_form_errors(client: TestClient, home: Home, data: dict[str, str], field: str, message: str) -> None:
    response = client.post("/members", data=data)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', response.text)


def test_rename_a_member_and_set_a_pin(client: TestClient, db: Session, home: Home) -> None:
    assert 'value="Ana"' in client.get(f"/members/{home.member.id}/edit").text
    response = client.post(f"/members/{home.member.id}/edit", data={"name": "Ana María", "emoji": "🌻", "pin": "4321"})
    assert response.status_code == 303
    db.refresh(home.member)
    assert home.member.name == "Ana María" and home.member.emoji == "🌻"
    assert security.verify_secret("4321", home.member.pin_hash)
    removal = {"name": "Ana María", "emoji": "🌻", "remove_pin": "true"}
    asked = client.post(f"/members/{home.member.id}/edit", data=removal)
    assert asked.status_code == 422 and "enter the current PIN" in asked.text
    wrong = client.post(f"/members/{home.member.id}/edit", data={**removal, "current_pin": "1234"})
    assert wrong.status_code == 422 and "PIN is not right" in wrong.text
    db.refresh(home.member)
    assert home.member.pin_hash is not None
    assert client.post(f"/members/{home.member.id}/edit", data={**removal, "current_pin": "4321"}).status_code == 303
    db.refresh(home.member)
    assert home.member.pin_hash is None


def test_only_the_member_sets_their_own_pin(client: TestClient, db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    page = client.get(f"/members/{ben.id}/edit")
    assert page.status_code == 200 and 'name="pin"' not in page.text and "Only Ben can set a PIN" in page.text
    refused = client.post(f"/members/{ben.id}/edit", data={"name": "Ben", "emoji": "🙂", "pin": "0000"})
    assert refused.status_code == 422 and "Only Ben can set a PIN" in refused.text
    db.refresh(ben)
    assert ben.pin_hash is None
    assert client.post(f"/members/{ben.id}/edit", data={"name": "Benjamin", "emoji": "🙂"}).status_code == 303


def test_a_forgotten_pin_is_cleared_with_the_household_password(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    ben = factories.make_member(db, home.household, "Ben", pin="2468")
    bens_phone = TestClient(app, follow_redirects=False)
    factories.log_in(bens_phone, db, settings, home.household, ben)
    bens_token = tokens.create(db, ben)
    anas_token = tokens.create(db, home.member)
    db.commit()
    assert 'href="/members/' in client.get(f"/members/{ben.id}/pick").text
    wrong = client.post(f"/members/{ben.id}/forgot-pin", data={"password": "not it at all"})
    assert wrong.status_code == 422 and 'id="password-error"' in wrong.text
    done = client.post(f"/members/{ben.id}/forgot-pin", data={"password": factories.PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == f"/members/{ben.id}/edit?pin_cleared=true"
    db.refresh(ben)
    assert ben.pin_hash is None and picked_on(db, home.token) == ben.id
    assert "The PIN is removed" in client.get(done.headers["location"]).text
    assert bens_phone.get("/").headers["location"] == "/login"  # whoever knew the PIN is out
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {bens_token}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {anas_token}"}).status_code == 200


def picked_on(db: Session, login_token: str) -> int | None:
    db.commit()
    return db.exec(select(LoginSession.member_id).where(LoginSession.token_hash == security.digest(login_token))).one()


@pytest.mark.parametrize("pin", ["123", "12345", "abcd", "١٢٣٤"])
def test_a_pin_is_four_digits(client: TestClient, db: Session, home: Home, pin: str) -> None:
    response = client.post(f"/members/{home.member.id}/edit", data={"name": "Ana", "emoji": "🙂", "pin": pin})
    assert response.status_code == 422 and "exactly 4 digits" in response.text
    db.refresh(home.member)
    assert home.member.pin_hash is None


def test_a_member_behind_a_pin_cannot_be_edited_by_someone_else(client: TestClient, db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben", pin="1111")
    assert client.get(f"/members/{ben.id}/edit").status_code == 403
    response = client.post(f"/members/{ben.id}/edit", data={"name": "Hacked", "emoji": "🙂", "remove_pin": "true"})
    assert response.status_code == 403
    db.refresh(ben)
    assert ben.name == "Ben" and ben.pin_hash is not None


def test_a_new_pin_shuts_out_devices_and_tokens_that_had_the_member_before(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    """Found by probing: a phone that had picked Ana before her PIN, and a token made on it, read on behind it."""
    other_phone = TestClient(app, follow_redirects=False)
    factories.log_in(other_phone, db, settings, home.household, home.member)
    token = tokens.create(db, home.member)
    db.commit()
    saved = client.post(f"/members/{home.member.id}/edit", data={"name": "Ana", "emoji": "🙂", "pin": "1357"})
    assert saved.status_code == 303 and saved.headers["location"] == "/members?pin_saved=true"
    assert "PIN saved" in client.get(saved.headers["location"]).text
    assert other_phone.get("/").headers["location"] == "/login"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/").status_code == 200  # this device, Ana's own, stays in


def test_forgetting_a_pin_that_isnt_there_does_nothing(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    bens_phone = TestClient(app, follow_redirects=False)
    factories.log_in(bens_phone, db, settings, home.household, ben)
    done = client.post(f"/members/{ben.id}/forgot-pin", data={"password": factories.PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/members"
    assert bens_phone.get("/").status_code == 200  # not logged out


def test_a_pin_set_since_the_request_looked_stops_a_pick_and_an_edit(db: Session, home: Home) -> None:
    """Ben sets a PIN on his phone while the tablet, which saw him without one, picks or renames him: the write
    finds the PIN it didn't check, and does nothing."""
    ben = factories.make_member(db, home.household, "Ben")
    tablet = db.exec(select(LoginSession).where(LoginSession.token_hash == security.digest(home.token))).one()
    seen = Member(id=ben.id, household_id=ben.household_id, name=ben.name, emoji=ben.emoji)  # as the tablet read him
    ben.pin_hash = security.hash_secret("2468")
    db.add(ben)
    db.commit()
    with pytest.raises(households.PinChanged):
        households.pick(db, tablet, seen)
    db.rollback()
    with pytest.raises(households.PinChanged):
        households.save_member(db, tablet, seen, MemberIn(name="Hacked", emoji="🙂"), None)
    db.rollback()
    db.refresh(ben)
    assert ben.name == "Ben" and ben.pin_hash is not None and picked_on(db, home.token) == home.member.id


def test_a_name_taken_since_the_form_was_checked_is_refused_by_the_write(db: Session, home: Home) -> None:
    factories.make_member(db, home.household, "Ben")
    login = db.exec(select(LoginSession)).one()
    with pytest.raises(households.NameTaken):
        households.add_member(db, home.household, MemberIn(name="Ben"))
    db.rollback()
    with pytest.raises(households.NameTaken):
        households.save_member(db, login, home.member, MemberIn(name="Ben"), None)
    db.rollback()
    assert [m.name for m in households.members_of(db, home.household)] == ["Ana", "Ben"]


def test_adding_and_saving_a_member_say_so(client: TestClient, db: Session, home: Home) -> None:
    added = client.post("/members", data={"name": "Ben", "emoji": "🦊"})
    ben = households.member_named(db, home.household.id, "Ben")
    assert ben is not None and added.headers["location"] == f"/members?added={ben.id}"
    assert (
        "Ben added. Tap Ben below to use Coinflip as Ben on this phone." in client.get(added.headers["location"]).text
    )
    saved = client.post(f"/members/{home.member.id}/edit", data={"name": "Ana María", "emoji": "🌻"})
    assert saved.headers["location"] == f"/members?saved={home.member.id}"
    assert '<p class="notice" role="status">Ana María saved.</p>' in client.get(saved.headers["location"]).text


def test_a_member_has_a_colour_shown_wherever_they_are(client: TestClient, db: Session, home: Home) -> None:
    """A new member is offered a colour nobody has yet; the colour is saved and painted on Who's this?, on the
    tab bar's person and in Settings; a colour outside the palette is refused next to the field."""
    form = client.get("/members/new").text
    assert 'name="colour" value="teal" checked' in form  # Ana has the first one, blue
    added = client.post("/members", data={"name": "Ben", "emoji": "🦊", "colour": "rose"})
    assert added.status_code == 303
    ben = db.exec(select(Member).where(Member.name == "Ben")).one()
    assert ben.colour == "rose"
    assert '<span class="avatar m-rose" aria-hidden="true">🦊</span>' in client.get("/members").text
    client.post(f"/members/{home.member.id}/edit", data={"name": "Ana", "emoji": "🙂", "colour": "violet"})
    for url in ("/", "/members", "/settings"):
        assert 'class="avatar m-violet' in client.get(url).text, url
    wrong = client.post(f"/members/{home.member.id}/edit", data={"name": "Ana", "emoji": "🙂", "colour": "plaid"})
    assert wrong.status_code == 422 and 'id="colour-error"' in wrong.text


def with_everything(db: Session, member: Member) -> None:
    """A habit flipped and reflected on, an enhancer, a pleasure check and an API token, all of `member`."""
    music = factories.make_enhancer(db, member, "Music")
    habit = factories.make_habit(db, member, "Run", [music])
    factories.make_flip(db, habit, "heads", {"Music": (2, True)}, reflection=(5, 6, "yes"))
    db.add(PleasureCheck(member_id=member.id or 0, name="Chocolate", enjoyment=6, craving=8))
    tokens.create(db, member)
    db.commit()


def test_deleting_a_member_names_what_goes_and_takes_it(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    with_everything(db, ben)
    with_everything(db, home.member)
    bens_phone = TestClient(app, follow_redirects=False)
    factories.log_in(bens_phone, db, settings, home.household, ben)
    page = client.get(f"/members/{ben.id}/edit").text
    for named in ("1 habit", "1 enhancer", "1 flip", "1 reflection", "1 pleasure check", "1 API token"):
        assert f"<li>{named}</li>" in page, named
    assert "Yes, delete Ben and all of this" in page
    deleted = client.post(f"/members/{ben.id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/members?deleted=true"
    assert "The member is deleted" in client.get(deleted.headers["location"]).text
    ben_id, ana_id = ben.id, home.member.id
    db.expire_all()
    assert db.get(Member, ben_id) is None
    for table in (Habit, Enhancer, Flip, PleasureCheck, ApiToken):
        left = db.exec(select(table.member_id)).all()  # type: ignore[attr-defined]
        assert left == [ana_id], table  # Ana's own are untouched
    assert len(db.exec(select(Reflection)).all()) == 1
    assert bens_phone.get("/").headers["location"] == "/members"  # still logged in, asks who's this


def test_the_last_member_cannot_be_deleted(client: TestClient, db: Session, home: Home) -> None:
    page = client.get(f"/members/{home.member.id}/edit").text
    assert "the only member of the household" in page and "Yes, delete" not in page
    refused = client.post(f"/members/{home.member.id}/delete")
    assert refused.status_code == 422 and "at least one member" in refused.text
    assert db.get(Member, home.member.id) is not None


def test_a_member_behind_a_pin_is_deleted_only_by_themself(client: TestClient, db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben", pin="1111")
    assert client.post(f"/members/{ben.id}/delete").status_code == 403
    assert households.member_count(db, home.household.id or 0) == 2


def test_a_pin_set_since_the_request_looked_stops_a_deletion(db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    seen = Member(id=ben.id, household_id=ben.household_id, name=ben.name, emoji=ben.emoji)
    ben.pin_hash = security.hash_secret("2468")
    db.add(ben)
    db.commit()
    with pytest.raises(households.PinChanged):
        households.delete_member(db, home.household, seen)
    db.rollback()
    assert db.get(Member, ben.id) is not None


def test_a_member_with_nothing_yet_is_deleted_with_nothing_to_list(client: TestClient, db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    page = client.get(f"/members/{ben.id}/edit").text
    assert "They have no habits, enhancers, flips, reflections, pleasure checks or API tokens yet." in page
    assert "<li>0" not in page
