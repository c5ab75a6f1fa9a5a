"""Every route of the app, walked: pages with and without htmx, another household's ids, CSRF."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import main, security, tokens
from app.config import Settings
from app.main import INTERFACES, PAGES
from app.models import (
    ApiToken,
    AppriseTarget,
    Flip,
    Habit,
    Household,
    LoginSession,
    Member,
    PleasureCheck,
    PushSubscription,
    Reflection,
)
from tests import factories
from tests.conftest import Home

PARAM = re.compile(r"{(\w+)(?::\w+)?}")  # {name} or {name:path}
PUBLIC = {"/healthz", "/signup", "/login", "/docs", "/manifest.webmanifest", "/sw.js", "/offline"}
DOWNLOADS = (".json", ".csv", ".webmanifest", ".js")
PARTIAL_PAGES = {"/history", "/flips/{flip_id}", "/flips/{flip_id}/reflection"}  # htmx asks these for a piece


@dataclass
class Ids:
    member_id: int
    enhancer_id: int
    habit_id: int
    flip_id: int
    device_id: int
    token_id: int
    name: str  # a pleasure's name
    target_id: int = 0  # an Apprise URL's
    subscription_id: int = 0  # a push subscription's


def routes() -> list[tuple[str, str]]:
    """Every (method, path) of the app's routers, pages and API alike (its OpenAPI schema lists only the API)."""
    return [
        (method, route.path)
        for router in [module.router for module in PAGES] + list(INTERFACES)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def fill(path: str, ids: Ids) -> str:
    return PARAM.sub(lambda m: str(getattr(ids, m.group(1))), path)


def populate(db: Session, household: Household, member: Member, pleasure: str = "Coffee") -> Ids:
    enhancer = factories.make_enhancer(db, member, "Music")
    habit = factories.make_habit(db, member, "Run", [enhancer])
    other_habit = factories.make_habit(db, member, "Swim")
    flip = factories.make_flip(db, other_habit, "heads")
    db.add(PleasureCheck(member_id=member.id or 0, name=pleasure, enjoyment=6, craving=4))
    db.commit()
    device = db.exec(select(LoginSession).where(LoginSession.household_id == household.id)).first()
    if device is None:
        security.start_login(db, household.id or 0, "elsewhere", member.id)
        db.commit()
        device = db.exec(select(LoginSession).where(LoginSession.household_id == household.id)).one()
    tokens.create(db, member, "Script")
    db.commit()
    token = db.exec(select(ApiToken).where(ApiToken.member_id == member.id)).one()
    target = AppriseTarget(member_id=member.id or 0, url="json://127.0.0.1:9/")
    subscription = PushSubscription(member_id=member.id or 0, endpoint="https://push.example/1", p256dh="k", auth="a")
    db.add_all([target, subscription])
    db.commit()
    return Ids(member.id or 0, enhancer.id or 0, habit.id or 0, flip.id or 0, device.id or 0, token.id or 0, pleasure,
               target.id or 0, subscription.id or 0)  # fmt: skip


@pytest.fixture
def own(db: Session, home: Home) -> Ids:
    return populate(db, home.household, home.member)


@pytest.fixture
def foreign(db: Session) -> Ids:
    household = factories.make_household(db, "Okafor")
    return populate(db, household, factories.make_member(db, household, "Obi"), "Foreign sweets")


def test_the_walk_covers_the_whole_app() -> None:
    walked = routes()
    assert len(walked) >= 40
    assert ("POST", "/habits/{habit_id}/flips") in walked and ("PUT", "/api/v1/flips/{flip_id}/reflection") in walked


@pytest.mark.parametrize("hx", [False, True])
def test_every_page_renders_with_and_without_htmx(client: TestClient, own: Ids, hx: bool) -> None:
    headers = {"HX-Request": "true"} if hx else {}
    for method, path in routes():
        if method != "GET" or path.startswith("/api/") or path == "/healthz" or path.endswith(DOWNLOADS):
            continue
        response = client.get(fill(path, own), headers=headers)
        # Set-up is closed once a household exists; the login page sends a logged-in device on to Today.
        # A member without a PIN has none to forget.
        # A reminder's notification leads on to the habit's card.
        redirected = {"/login", "/members/{member_id}/forgot-pin", "/reminders/open/{habit_id}"}
        expected = 404 if path == "/signup" else 303 if path in redirected else 200
        assert response.status_code == expected, path
        if expected == 303:
            continue
        assert response.headers["vary"].startswith("HX-Request"), path
        assert response.headers["content-type"].startswith("text/html"), path
        if expected == 200:
            whole = not (hx and path in PARTIAL_PAGES)
            assert ("<html" in response.text) is whole, f"{path}: whole page {whole}"


@pytest.mark.parametrize("hx", [False, True])
def test_public_pages_render_with_and_without_htmx(app: FastAPI, db: Session, hx: bool) -> None:
    headers = {"HX-Request": "true"} if hx else {}
    with TestClient(app, follow_redirects=False) as visitor:
        assert "Welcome to Coinflip" in visitor.get("/signup", headers=headers).text
        factories.make_household(db)
        login = visitor.get("/login", headers=headers)
        assert login.status_code == 200 and "<html" in login.text and login.headers["vary"].startswith("HX-Request")


def test_history_restore_gets_the_whole_page(client: TestClient, own: Ids) -> None:
    response = client.get("/history", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.text


def test_another_households_ids_do_not_exist(client: TestClient, own: Ids, foreign: Ids) -> None:
    for method, path in routes():
        if "{" not in path:
            continue
        kwargs: dict[str, object] = (
            {"json": {}} if path.startswith("/api/") and method in ("POST", "PUT", "PATCH") else {}
        )
        response = client.request(method, fill(path, foreign), **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        if path.startswith("/api/"):
            assert response.json() == {"detail": "Not found"}
        else:
            assert "There&#39;s nothing here" in response.text


def test_malformed_ids_are_404_pages_or_422_json(client: TestClient, home: Home) -> None:
    assert client.get("/flips/abc").status_code == 404
    assert client.get("/api/v1/flips/abc").status_code == 422


@pytest.mark.parametrize(
    ("without_token", "headers"),
    [
        (True, {}),
        (False, {"Origin": "https://evil.example"}),
        (False, {"Sec-Fetch-Site": "cross-site"}),
        (False, {"Origin": "http://testserver.evil.example"}),
    ],
)
def test_every_unsafe_route_refuses_cross_site_requests(
    app: FastAPI, client: TestClient, db: Session, own: Ids, without_token: bool, headers: dict[str, str]
) -> None:
    if without_token:
        del client.headers[security.CSRF_HEADER]
    walked = 0
    for method, path in routes():
        if method == "GET":
            continue
        data = {"name": "x"} if method == "POST" else None
        response = client.request(method, fill(path, own), data=data, headers=headers)
        assert response.status_code == 403, f"{method} {path}"
        walked += 1
    assert walked >= 25
    db.commit()
    assert db.exec(select(Flip)).one().closed_at is None  # nothing was changed


def test_the_login_required_pages_send_visitors_to_the_login(app: FastAPI, db: Session, own: Ids) -> None:
    with TestClient(app, follow_redirects=False) as visitor:
        for method, path in routes():
            if method != "GET" or path in PUBLIC or path.startswith("/api/"):
                continue
            response = visitor.get(fill(path, own))
            back = "" if path == "/" else "?" + urlencode({"next": fill(path, own)})  # Today is where all go
            assert response.status_code == 303 and response.headers["location"] == f"/login{back}", path
            assert visitor.get(fill(path, own), headers={"HX-Request": "true"}).headers["hx-redirect"] == "/login"


def test_a_device_without_a_member_is_asked_who_it_is(
    app: FastAPI, db: Session, settings: Settings, home: Home, own: Ids
) -> None:
    with TestClient(app, follow_redirects=False) as device:
        factories.log_in(device, db, settings, home.household, None)
        assert device.get("/").headers["location"] == "/members"
        for path in ("/history", "/habits", "/enhancers", f"/flips/{own.flip_id}"):
            assert device.get(path).headers["location"] == "/members?" + urlencode({"next": path}), path


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def test_stored_xss_is_shown_as_text_on_every_page_and_partial(
    app: FastAPI, client: TestClient, db: Session, home: Home
) -> None:
    home.household.name = SCRIPT
    db.add(home.household)
    home.member.name = IMG
    db.add(home.member)
    db.commit()
    music = factories.make_enhancer(db, home.member, SCRIPT)
    habit = factories.make_habit(db, home.member, IMG, [music])
    habit.why, habit.minimum, habit.emoji = SCRIPT, IMG, "<b>"
    db.add(habit)
    db.commit()
    client.post(f"/habits/{habit.id}/flips")
    flip_id = client.get("/api/v1/flips").json()[0]["id"]
    client.post(
        f"/flips/{flip_id}/reflection", data={"effort": "5", "enjoyment": "5", "followed": "no", "note": IMG + SCRIPT}
    )
    factories.make_member(db, home.household, SCRIPT)
    client.post("/pleasures", data={"name": SCRIPT, "enjoyment": "5", "craving": "5"})
    tokens.create(db, home.member, SCRIPT)  # a token's name is shown in Settings
    db.commit()
    token_id = db.exec(select(ApiToken.id)).one() or 0
    ids = Ids(home.member.id or 0, music.id or 0, habit.id or 0, flip_id, 1, token_id, SCRIPT)
    second = factories.make_habit(db, home.member, SCRIPT, [music])
    responses = [client.post(f"/habits/{second.id}/flips", headers={"HX-Request": "true"})]
    for method, path in routes():
        if method == "GET" and not path.startswith("/api/") and not path.endswith(DOWNLOADS):
            responses += [client.get(fill(path, ids)), client.get(fill(path, ids), headers={"HX-Request": "true"})]
    shown = 0
    for response in responses:
        text = response.text
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>" not in text, response.url
        shown += text.count("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert shown > 20


NOTE, PLEASURE = "Ana-private-note-7f3a", "Ana-private-pleasure-7f3a"


def anas_journal(db: Session, home: Home) -> Ids:
    """Ana's habits, a reflection with a note and a pleasure check, each marked so a leak is easy to find."""
    ids = populate(db, home.household, home.member, PLEASURE)
    habit = db.get(Habit, ids.habit_id)
    assert habit is not None
    flip = factories.make_flip(db, habit, "heads", {"Music": (2, True)}, reflection=(4, 4, "yes"))
    reflection = db.get(Reflection, flip.id)
    assert reflection is not None
    reflection.note = NOTE
    db.add(reflection)
    db.commit()
    return ids


def everything_ben_can_ask(ben: TestClient, ids: Ids, headers: dict[str, str]) -> str:
    """Every GET of the app, pages, partials, downloads and API, with Ana's ids and Ben's: all Ben gets."""
    seen = []
    for method, path in routes():
        if method != "GET":
            continue
        for hx in ({}, {"HX-Request": "true"}):
            response = ben.get(fill(path, ids), headers={**headers, **hx})
            assert response.status_code < 500, path
            seen.append(response.text)
    return "\n".join(seen)


@pytest.mark.parametrize("pin", [True, False])
def test_a_pin_keeps_a_members_journal_from_every_other_member(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home, pin: bool
) -> None:
    """product.md: other members, their devices and their tokens never see a PIN member's reflections, notes or
    pleasure checks, in pages, insights, exports or the API. Without a PIN, a household shares its journal."""
    anas = anas_journal(db, home)
    if pin:
        home.member.pin_hash = security.hash_secret("2468")
        db.add(home.member)
        db.commit()
    ben = factories.make_member(db, home.household, "Ben")
    bens = populate(db, home.household, ben, "Bens pleasure")
    bens_token = tokens.create(db, ben)
    db.commit()
    with TestClient(app, follow_redirects=False) as bens_phone:
        factories.log_in(bens_phone, db, settings, home.household, ben)
        seen = everything_ben_can_ask(bens_phone, anas, {}) + everything_ben_can_ask(bens_phone, bens, {})
    with TestClient(app, follow_redirects=False) as script:
        token = {"Authorization": f"Bearer {bens_token}"}
        seen += everything_ben_can_ask(script, anas, token) + everything_ben_can_ask(script, bens, token)
    assert "Bens pleasure" in seen  # the walk reached Ben's own journal
    assert (NOTE in seen) is not pin
    assert (PLEASURE in seen) is not pin  # the exports carry pleasure checks: a shared journal's, not a private one's
    # Ana herself, after her PIN, sees all of it.
    assert NOTE in client.get("/settings/export.json").text and NOTE in client.get("/api/v1/export").text
    assert PLEASURE in client.get("/pleasures").text


def test_route_modules_never_import_each_other() -> None:
    """A rule two routes share lives in the domain (house-style.md): a route module that imports another one
    drags that one's routes, and its way of answering, into its own."""
    package = Path(main.__file__).parent
    importing = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if any(name.startswith("app.routes") for name in names) and path.name != "main.py":
                importing.append(str(path.relative_to(package)))
    assert importing == []


def test_the_route_index_finds_what_fastapi_would() -> None:
    """Routes grouped by first segment keep FastAPI's order, its 405 and 404, a parameter as first segment, a
    router's prefix, and routes added after the first request."""
    from fastapi import APIRouter

    from app.routeindex import RouteIndex

    app = FastAPI(redirect_slashes=False)
    pages, api = APIRouter(), APIRouter(prefix="/api")
    pages.add_api_route("/", lambda: "root")
    pages.add_api_route("/habits/{habit_id}", lambda habit_id: f"habit {habit_id}")
    pages.add_api_route("/habits/new", lambda: "never: the route above comes first")
    pages.add_api_route("/{slug}/new", lambda slug: f"new {slug}")
    pages.add_api_route("/habits", lambda: "added", methods=["POST"])
    api.add_api_route("/flips", lambda: "api flips")
    app.include_router(api)
    app.include_router(pages)
    app.router.middleware_stack = RouteIndex(app.router)
    client = TestClient(app)
    assert client.get("/").json() == "root"
    assert client.get("/habits/new").json() == "habit new"
    assert client.get("/enhancers/new").json() == "new enhancers"
    assert client.get("/api/flips").json() == "api flips"
    assert client.get("/api/new").json() == "new api"  # a parameter's route is in every group
    assert client.get("/habits").status_code == 405
    assert client.get("/nowhere/at/all").status_code == 404
    app.add_api_route("/late", lambda: "late")
    assert client.get("/late").json() == "late"
