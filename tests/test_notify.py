"""Delivery, end to end on loopback: Web Push to a push service that checks the VAPID signature and decrypts the
payload with the subscription's own keys; Apprise to a json:// receiver; failures said in plain words."""

import asyncio
import base64
import json
import os
import secrets
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import reminders
from app.config import Settings
from app.models import Habit, PushSubscription
from app.notify import VAPID_FILE, Notifier
from tests import factories
from tests.conftest import Clock, Home


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP server that keeps what is posted to it and answers with `status`."""

    url: str
    posts: list[Received] = field(default_factory=list)
    status: int = 201


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = Receiver(f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            found.posts.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(found.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    """A browser's push subscription: its key pair and auth secret, made by the test."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(public)

    def decrypt(self, body: bytes) -> dict[str, str]:
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        decoded: dict[str, str] = json.loads(plain)
        return decoded


@pytest.fixture
def browser() -> Browser:
    return Browser(ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16))


def vapid_claims(received: Received, server_key: str) -> dict[str, Any]:
    """The JWT of the push's Authorization header ("vapid t=…, k=…"), its ES256 signature checked against the
    server's public key, which the header must name too."""
    scheme, _, rest = received.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(part.strip().split("=", 1) for part in rest.split(","))
    assert parts["k"] == server_key
    header, claims, signature = parts["t"].split(".")
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    try:
        public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        pytest.fail("The VAPID JWT is not signed by the server's key")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    decoded: dict[str, Any] = json.loads(unb64url(claims))
    return decoded


@pytest.fixture
def gym(client: TestClient, db: Session, home: Home, clock: Clock) -> Habit:
    """Ana's gym with a reminder on Tuesdays at 09:30 (the clock says Tuesday 09:00 UTC)."""
    habit = factories.make_flippable_habit(db, home.member, "Gym")
    assert client.put(f"/api/v1/habits/{habit.id}/reminder", json={"days": ["tue"], "time": "09:30"}).status_code == 200
    return habit


def subscribe(
    client: TestClient, receiver: Receiver, browser: Browser, name: str = "abc", language: str | None = None
) -> int:
    """The browser subscribes, asking for `language` (its Accept-Language) if given."""
    subscription = {"endpoint": f"{receiver.url}/push/{name}", "expirationTime": None,
                    "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}}  # fmt: skip
    headers = {"Accept-Language": language} if language else {}
    response = client.post("/api/v1/push/subscriptions", json=subscription, headers=headers)
    assert response.status_code == 201, response.text
    subscription_id: int = response.json()["id"]
    return subscription_id


def test_a_due_reminder_arrives_by_web_push_decrypted_with_the_browsers_keys(
    app: FastAPI, client: TestClient, settings: Settings, receiver: Receiver, browser: Browser, gym: Habit
) -> None:
    server_key = client.get("/api/v1/push/key").json()["public_key"]
    subscribe(client, receiver, browser)
    sent = asyncio.run(reminders.tick(app.state.db, app.state.notifier, datetime(2026, 11, 24, 9, 30, tzinfo=UTC)))
    assert len(sent) == 1
    [push] = receiver.posts
    assert push.path == "/push/abc"
    assert push.headers["content-encoding"] == "aes128gcm" and int(push.headers["ttl"]) > 0
    claims = vapid_claims(push, server_key)
    assert claims["aud"] == receiver.url  # the push service's origin
    assert claims["exp"] > time.time() and claims["sub"].startswith(("mailto:", "https://"))
    assert browser.decrypt(push.body) == {
        "title": f"{gym.emoji} Gym",
        "body": "Gym at 09:30: tap to flip.",
        "url": f"/reminders/open/{gym.id}",
    }


def test_the_vapid_key_is_made_once_and_kept_private(settings: Settings) -> None:
    first, second = Notifier(settings), Notifier(settings)
    assert first.public_key == second.public_key
    assert len(unb64url(first.public_key)) == 65  # an uncompressed P-256 point, as browsers take it
    mode = stat.S_IMODE(os.stat(settings.data_dir / VAPID_FILE).st_mode)
    assert mode == 0o600


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_no_longer_knows_is_forgotten(
    client: TestClient, db: Session, receiver: Receiver, browser: Browser, home: Home, status: int
) -> None:
    receiver.status = status
    subscribe(client, receiver, browser)
    page = client.post("/reminders/push/test")
    assert page.status_code == 422
    assert "No device takes your notifications yet" in page.text
    assert db.exec(select(PushSubscription)).all() == []


def test_the_push_test_arrives_and_the_page_says_so(
    client: TestClient, receiver: Receiver, browser: Browser, home: Home
) -> None:
    subscribe(client, receiver, browser)
    page = client.post("/reminders/push/test")
    assert page.status_code == 200 and "Test sent." in page.text
    assert browser.decrypt(receiver.posts[0].body)["body"] == "A test: your reminders will arrive like this."


def test_a_push_service_that_refuses_is_said_in_plain_words(
    client: TestClient, receiver: Receiver, browser: Browser, home: Home
) -> None:
    receiver.status = 400
    subscribe(client, receiver, browser)
    page = client.post("/reminders/push/test")
    assert page.status_code == 422
    assert "127.0.0.1 refused the notification (HTTP 400)." in page.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def add_apprise_url(client: TestClient, url: str, language: str = "en") -> int:
    """The URL added on the Reminders page, in a browser asking for `language`."""
    headers = {"Accept-Language": language}
    added = client.post("/reminders/apprise", data={"url": url}, headers=headers)
    assert added.status_code == 303 and added.headers["location"] == "/reminders?added=true#apprise"
    page = client.get(added.headers["location"], headers=headers)
    assert page.status_code == 200 and f'<html lang="{language}"' in page.text
    return int(page.text.split('<li id="apprise-')[1].split('"')[0])


def test_the_apprise_test_arrives_at_a_json_receiver(client: TestClient, receiver: Receiver, home: Home) -> None:
    target = add_apprise_url(client, receiver.url.replace("http://", "json://") + "/hook")
    page = client.post(f"/reminders/apprise/{target}/test")
    assert page.status_code == 200
    assert "Test sent to json://127.0.0.1/…" in page.text
    [post] = receiver.posts
    assert post.path == "/hook"
    body = json.loads(post.body)
    assert (body["title"], body["message"]) == ("🪙 Coinflip", "A test: your reminders will arrive like this.")


def test_a_due_reminder_arrives_through_apprise(
    app: FastAPI, client: TestClient, receiver: Receiver, gym: Habit
) -> None:
    add_apprise_url(client, receiver.url.replace("http://", "json://"))
    asyncio.run(reminders.tick(app.state.db, app.state.notifier, datetime(2026, 11, 24, 9, 31, tzinfo=UTC)))
    body = json.loads(receiver.posts[0].body)
    assert (body["title"], body["message"]) == (f"{gym.emoji} Gym", "Gym at 09:30: tap to flip.")


def test_an_apprise_failure_is_said_in_plain_words_beside_its_url(client: TestClient, home: Home) -> None:
    target = add_apprise_url(client, f"json://127.0.0.1:{free_port()}/")
    page = client.post(f"/reminders/apprise/{target}/test")
    assert page.status_code == 422
    assert "Couldn&#39;t send through json://127.0.0.1/…: the connection was refused." in page.text


def test_an_apprise_url_holds_its_secret_out_of_the_page(client: TestClient, home: Home) -> None:
    add_apprise_url(client, "tgram://123456789:SECRETbottoken/987654")
    page = client.get("/reminders").text
    assert "SECRET" not in page and "tgram://" in page


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Please fill this in."),
        ("not a url", "Apprise doesn&#39;t recognise this URL."),
        ("nosuchservice://host/x", "Apprise doesn&#39;t recognise this URL."),
        ("json://" + "a" * 1200, "Please keep this to 1,000 characters or fewer"),
    ],
)
def test_a_wrong_apprise_url_is_shown_beside_its_field_and_kept(
    client: TestClient, home: Home, url: str, message: str
) -> None:
    page = client.post("/reminders/apprise", data={"url": url})
    assert page.status_code == 422
    assert f'<p class="error" id="url-error">{message}' in page.text
    assert f'value="{url}"' in page.text


def test_apprise_urls_stay_out_of_the_export(client: TestClient, home: Home) -> None:
    """They may hold a password: neither the API's export nor the download has them."""
    add_apprise_url(client, "tgram://123456789:SECRETbottoken/987654")
    assert "SECRETbottoken" not in client.get("/api/v1/export").text
    assert "SECRETbottoken" not in client.get("/settings/export.json").text


# Notifications in the member's language: their own if they picked one, else the one each browser asked for when it
# subscribed or added the URL. The dispatcher composes them outside any page request.

SPOKEN = {
    "en": ("Gym at 09:30: tap to flip.", "A test: your reminders will arrive like this.", "Test sent."),
    "de": ("Gym um 09:30: tippe und wirf die Münze.", "Ein Test: So kommen deine Erinnerungen an.", "Test gesendet."),
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_reminder_and_a_test_speak_the_members_own_language(
    app: FastAPI, client: TestClient, receiver: Receiver, browser: Browser, gym: Habit, language: str
) -> None:
    """A member who picked German gets German on every device and URL, even ones added in a French browser; one
    who picked English gets English."""
    reminder, test, sent = SPOKEN[language]
    subscribe(client, receiver, browser, language="fr")
    add_apprise_url(client, receiver.url.replace("http://", "json://") + "/hook", language="fr")
    assert client.post("/settings/language", data={"language": language}).status_code == 303
    asyncio.run(reminders.tick(app.state.db, app.state.notifier, datetime(2026, 11, 24, 9, 30, tzinfo=UTC)))
    [push] = [post for post in receiver.posts if post.path.startswith("/push/")]
    [apprise] = [post for post in receiver.posts if post.path == "/hook"]
    assert browser.decrypt(push.body)["body"] == reminder
    assert (json.loads(apprise.body)["title"], json.loads(apprise.body)["message"]) == (f"{gym.emoji} Gym", reminder)
    page = client.post("/reminders/push/test", headers={"Accept-Language": "fr"})
    assert page.status_code == 200 and f'<html lang="{language}"' in page.text and sent in page.text
    assert browser.decrypt(receiver.posts[-1].body)["body"] == test


def test_without_a_language_of_their_own_each_device_gets_the_one_its_browser_asked_for(
    app: FastAPI, client: TestClient, receiver: Receiver, browser: Browser, gym: Habit
) -> None:
    subscribe(client, receiver, browser, language="de-DE,de;q=0.9")
    add_apprise_url(client, receiver.url.replace("http://", "json://") + "/hook", language="es")
    asyncio.run(reminders.tick(app.state.db, app.state.notifier, datetime(2026, 11, 24, 9, 30, tzinfo=UTC)))
    [push] = [post for post in receiver.posts if post.path.startswith("/push/")]
    [apprise] = [post for post in receiver.posts if post.path == "/hook"]
    assert browser.decrypt(push.body)["body"] == SPOKEN["de"][0]
    assert json.loads(apprise.body)["message"] == "Gym a las 9:30: toca para lanzar la moneda."  # Spanish writes 9:30


def test_a_failure_is_said_in_the_pages_language_and_logged_in_english(
    app: FastAPI, client: TestClient, gym: Habit, caplog: pytest.LogCaptureFixture
) -> None:
    target = add_apprise_url(client, f"json://127.0.0.1:{free_port()}/", language="de")
    page = client.post(f"/reminders/apprise/{target}/test", headers={"Accept-Language": "de"})
    assert page.status_code == 422
    assert "Senden über json://127.0.0.1/… hat nicht geklappt: die Verbindung wurde abgelehnt." in page.text
    asyncio.run(reminders.tick(app.state.db, app.state.notifier, datetime(2026, 11, 24, 9, 30, tzinfo=UTC)))
    assert "Couldn't send through json://127.0.0.1/…: the connection was refused." in caplog.text
