"""First-run set-up, sign-up, logging in and out, and CSRF protection."""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import households, security
from app.config import Settings
from app.main import create_app
from app.models import Household, LoginSession, Member
from tests import factories
from tests.conftest import Home


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def sign_up(client: TestClient, **fields: str) -> "object":
    page = client.get("/signup")
    data = {"name": "Rivera", "password": "long enough pw", "password_again": "long enough pw", "member": "Ana"}
    return client.post("/signup", data={**data, **fields, "csrf_token": csrf_of(page.text)})


def test_an_empty_instance_leads_to_first_run_setup(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/login").headers["location"] == "/signup"
    page = client.get("/signup")
    assert "Welcome to Coinflip" in page.text


def test_setup_creates_household_and_member_and_logs_in(client: TestClient, db: Session) -> None:
    response = sign_up(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/enhancers"
    household = db.exec(select(Household)).one()
    assert household.name == "Rivera" and household.password_hash != "long enough pw"
    member = db.exec(select(Member)).one()
    today = client.get("/")
    assert today.status_code == 200
    assert f"{member.name}" in today.text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Asia/Calcutta", "Asia/Calcutta"),  # an alias some browsers still name
        ("", "Europe/Lisbon"),  # no JavaScript: the server's default
        ("Mars/Olympus_Mons", "Europe/Lisbon"),
        ("../../etc/passwd", "Europe/Lisbon"),
    ],
)
def test_the_households_time_zone_comes_from_the_browser_at_sign_up(
    app: FastAPI, db: Session, sent: str, kept: str
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"timezone": "Europe/Lisbon"})
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/signup").text
        assert '<input type="hidden" name="timezone" value="" data-browser-time-zone>' in page
        assert sign_up(client, timezone=sent).status_code == 303  # type: ignore[attr-defined]
    assert db.exec(select(Household)).one().timezone == kept


def test_setup_closes_after_the_first_household(client: TestClient) -> None:
    sign_up(client)
    client.cookies.clear()
    assert client.get("/signup").status_code == 404
    assert client.post("/signup", data={"name": "Other"}).status_code in (403, 404)


def test_open_signup_lets_more_households_register(tmp_path: object, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"signup": "open"}))
    with TestClient(app, follow_redirects=False) as client:
        assert sign_up(client).status_code == 303
        client.cookies.clear()
        assert "Create a household" in client.get("/signup").text
        assert sign_up(client, name="Okafor").status_code == 303
        client.cookies.clear()
        taken = sign_up(client, name="okafor")
        assert taken.status_code == 422 and "exists already" in taken.text


def test_a_name_taken_in_the_moment_before_the_write_gets_the_friendly_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when another replica signs the same name up while this one hashes the password: the unique index
    refuses it, and the form says so instead of a 500 (the checks by name are blinded here to get there)."""
    app = create_app(settings.model_copy(update={"signup": "open"}))
    with TestClient(app, follow_redirects=False) as client:
        assert sign_up(client).status_code == 303
        client.cookies.clear()
        monkeypatch.setattr(households, "named", lambda db, name: None)
        taken = sign_up(client, name="RIVERA")
        assert taken.status_code == 422 and "exists already" in taken.text
        assert sign_up(client, name="Okafor").status_code == 303


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "Please fill this in."),
        ({"name": "x" * 61}, "name", "60 characters or fewer"),
        ({"password": "short", "password_again": "short"}, "password", "at least 8 characters"),
        ({"password_again": "something else"}, "password_again", "not the same"),
        ({"member": "   "}, "member", "Please fill this in."),
    ],
)
def test_setup_form_errors_are_shown_next_to_the_field(
    client: TestClient, fields: dict[str, str], field: str, message: str
) -> None:
    response = sign_up(client, **fields)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', response.text)
    if field != "name":
        assert 'value="Rivera"' in response.text  # what the person typed is kept
    assert "long enough pw" not in response.text  # passwords are never echoed back


def test_login_with_the_household_password(client: TestClient, db: Session) -> None:
    household = factories.make_household(db, "Rivera")
    factories.make_member(db, household)
    page = client.get("/login")
    wrong = client.post("/login", data={"name": "rivera", "password": "nope nope", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 422
    assert "don&#39;t match" in wrong.text and 'value="rivera"' in wrong.text
    assert security.LOGIN_COOKIE not in client.cookies
    right = client.post(
        "/login", data={"name": "Rivera", "password": factories.PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert right.status_code == 303 and right.headers["location"] == "/members"
    assert "Who's this?" in client.get("/members").text


def test_the_login_page_says_what_the_app_is(client: TestClient, db: Session) -> None:
    factories.make_household(db)
    page = client.get("/login").text
    assert "flip a coin. Heads, your music, coffee and other boosters come along" in page


def log_in_from(client: TestClient, path: str) -> str:
    """Open `path` logged out, log in on the page it sends to, and pick Ana: where does the person land?"""
    login = client.get(path).headers["location"]
    page = client.get(login)
    assert page.status_code == 200, login
    found = re.search(r'name="next" value="([^"]*)"', page.text)
    data = {"name": "Rivera", "password": factories.PASSWORD, "csrf_token": csrf_of(page.text)}
    who = client.post("/login", data={**data, "next": found.group(1)} if found else data).headers["location"]
    page = client.get(who)
    found = re.search(r'name="next" value="([^"]*)"', page.text)
    data = {"csrf_token": csrf_of(page.text)}
    picked = client.post("/members/1/pick", data={**data, "next": found.group(1)} if found else data)
    return str(picked.headers["location"])


@pytest.mark.parametrize(
    "path", ["/insights", "/history?before=3", "/pleasures/Coffee%20%26%20cake", "/habits/1/edit", "/settings"]
)
def test_a_deep_link_leads_there_after_logging_in_and_picking(client: TestClient, db: Session, path: str) -> None:
    factories.make_member(db, factories.make_household(db))
    assert log_in_from(client, path) == path


def test_today_needs_no_next(client: TestClient, db: Session) -> None:
    factories.make_member(db, factories.make_household(db))
    assert client.get("/").headers["location"] == "/login"
    assert log_in_from(client, "/") == "/"


OTHER_SITES = [
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "https://evil.example", "http:evil.example", "javascript:alert(1)", "evil.example", " /insights",
    "/%0d%0aSet-Cookie:x=1\r\n", "/insights\n", "/ünïcode", "",
]  # fmt: skip


@pytest.mark.parametrize("target", OTHER_SITES)
def test_the_login_never_sends_anyone_to_another_site(client: TestClient, db: Session, target: str) -> None:
    """Whatever `next` a link or a form carries, the way on is a path of this app, or Today."""
    household = factories.make_household(db)
    ana = factories.make_member(db, household)
    page = client.get("/login", params={"next": target})
    assert 'name="next"' not in page.text
    data = {"name": "Rivera", "password": factories.PASSWORD, "csrf_token": csrf_of(page.text), "next": target}
    assert client.post("/login", data=data).headers["location"] == "/members"
    page = client.get("/members", params={"next": target})
    assert 'name="next"' not in page.text
    data = {"csrf_token": csrf_of(page.text), "next": target}
    assert client.post(f"/members/{ana.id}/pick", data=data).headers["location"] == "/"
    assert client.get("/login", params={"next": target}).headers["location"] == "/"


def test_logging_out_asks_first(client: TestClient, home: Home) -> None:
    """The log-out button sits inside a closed disclosure that says what it does; it is still a POST with CSRF."""
    for path in ("/members", "/settings"):
        page = client.get(path).text
        question = page.index("<summary>Log this device out of Rivera…</summary>")
        assert page.index('<button type="submit" class="danger">Yes, log this device out</button>') > question
        assert '<details class="danger log-out">' in page and 'action="/logout"' in page
    with TestClient(client.app, follow_redirects=False, cookies={security.LOGIN_COOKIE: home.token}) as stranger:
        assert stranger.post("/logout").status_code == 403  # the login cookie, without the page's CSRF token


def test_login_with_an_unknown_household_says_the_same(client: TestClient) -> None:
    page = client.get("/signup")
    sign_up(client)
    client.cookies.clear()
    page = client.get("/login")
    response = client.post("/login", data={"name": "Nobody", "password": "whatever1", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 422 and "don&#39;t match" in response.text


def test_each_login_gets_a_new_token(client: TestClient, db: Session) -> None:
    household = factories.make_household(db)
    tokens = set()
    for _ in range(2):
        client.cookies.clear()
        page = client.get("/login")
        client.post("/login", data={"name": "Rivera", "password": factories.PASSWORD, "csrf_token": csrf_of(page.text)})
        tokens.add(client.cookies[security.LOGIN_COOKIE])
    assert len(tokens) == 2
    stored = db.exec(select(LoginSession.token_hash)).all()
    assert not tokens & set(stored)  # only hashes are stored
    assert {security.digest(t) for t in tokens} == set(stored)
    assert household.id is not None


def test_logout_ends_the_login_for_real(client: TestClient, home: Home, db: Session) -> None:
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 303
    assert db.exec(select(LoginSession)).all() == []
    # Replaying the old cookie, as someone who copied it would, no longer works.
    client.cookies.set(security.LOGIN_COOKIE, home.token)
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401


def test_login_cookie_is_httponly_and_lax(client: TestClient) -> None:
    response = sign_up(client)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_unsafe_requests_without_the_csrf_token_are_refused(client: TestClient, home: Home, db: Session) -> None:
    habit = factories.make_flippable_habit(db, home.member)
    del client.headers[security.CSRF_HEADER]
    assert client.post(f"/habits/{habit.id}/flips").status_code == 403
    assert client.post(f"/habits/{habit.id}/flips", data={"csrf_token": "0" * 64}).status_code == 403
    assert client.post("/logout").status_code == 403


def test_a_csrf_token_of_another_login_is_refused(
    client: TestClient, app: FastAPI, home: Home, db: Session, settings: Settings
) -> None:
    habit = factories.make_flippable_habit(db, home.member)
    other = security.start_login(db, home.household.id or 0, "other")
    db.commit()
    client.headers[security.CSRF_HEADER] = factories.csrf_for(settings, other)
    assert client.post(f"/habits/{habit.id}/flips").status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
def test_cross_site_requests_are_refused_even_with_the_token(
    client: TestClient, home: Home, db: Session, headers: dict[str, str]
) -> None:
    habit = factories.make_flippable_habit(db, home.member)
    response = client.post(f"/habits/{habit.id}/flips", headers=headers)
    assert response.status_code == 403
    assert db.exec(select(LoginSession)).first() is not None


def test_same_origin_requests_with_the_token_pass(client: TestClient, home: Home, db: Session) -> None:
    habit = factories.make_flippable_habit(db, home.member)
    headers = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post(f"/habits/{habit.id}/flips", headers=headers).status_code == 303


def test_a_device_is_seen_again_after_a_while(client: TestClient, home: Home, db: Session) -> None:
    from datetime import timedelta

    login = db.exec(select(LoginSession)).one()
    login.last_seen_at -= timedelta(hours=1)
    db.add(login)
    db.commit()
    before = login.last_seen_at
    assert client.get("/").status_code == 200
    db.refresh(login)
    assert login.last_seen_at > before + timedelta(minutes=59)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused_at_start(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        Settings(timezone=zone, secret_key="a real secret of enough length")


@pytest.mark.parametrize("secret", ["changeme", "short"])
def test_a_placeholder_secret_key_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="real secret"):
        Settings(secret_key=secret)
