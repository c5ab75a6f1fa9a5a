"""Delivery of notifications: Web Push to the installed app (VAPID keys kept in the data folder) and Apprise URLs
(ntfy, Gotify, Telegram, e-mail, …). Each send answers in plain words what went wrong, or nothing."""

import base64
import json
import logging
import os
import secrets
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.config import Settings
from app.i18n import N_, gettext

# Apprise logs the URLs it sends to, with their tokens and passwords: its lines stay out of the server's log.
APPRISE_LOG = logging.getLogger("apprise")
APPRISE_LOG.propagate = False

VAPID_FILE = "vapid_private.pem"
TIMEOUT = 10.0  # seconds a push service or an Apprise target may take to answer
# A cue is worth little late: a push service drops it if the phone isn't reachable within this many seconds.
PUSH_TTL = 15 * 60
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class Message:
    """What a notification says, and the page it opens (a path of the app)."""

    title: str
    body: str
    url: str


class Gone(Exception):
    """The push service says this subscription no longer exists (404 or 410): the browser unsubscribed."""


def keep_once(path: Path, make: bytes) -> bytes:
    """The file's contents, written first with `make` if there is none: aside, then linked into place, so two
    workers starting at once agree on one. Readable by the server's user only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
        draft.write_bytes(make)
        draft.chmod(0o600)
        with suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_bytes()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def push_endpoint_problem(endpoint: str) -> str | None:
    """Push services are on HTTPS; plain HTTP only on this machine itself (a test's push service)."""
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    return gettext("A push endpoint is an https:// address of a push service.")


def apprise_problem(url: str) -> str | None:
    """Why Apprise can't use this URL, or None."""
    import apprise  # here, not at the top: it loads a hundred plugins, which only sending needs

    if "://" not in url or apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        return gettext(
            "Apprise doesn't recognise this URL. It starts with the service, like ntfys://ntfy.sh/your-topic."
        )
    return None


def shown(url: str) -> str:
    """An Apprise URL as pages show it: the service and host, never the tokens or passwords after them."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}/…" if host else f"{parts.scheme}://…"


class Notifier:
    """Sends messages. The VAPID key is made the first time push needs it, and kept in the data folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def vapid_pem(self) -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return keep_once(self.settings.data_dir / VAPID_FILE, pem)

    @cached_property
    def public_key(self) -> str:
        """The VAPID public key as a browser's pushManager.subscribe() takes it (applicationServerKey)."""
        key = serialization.load_pem_private_key(self.vapid_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return b64url(raw)

    @property
    def contact(self) -> str:
        """Who push services may write to about this server (VAPID's `sub`): the public URL, if it is https."""
        public = self.settings.public_url or ""
        return public if public.startswith("https://") else "mailto:coinflip@localhost"

    def push(self, endpoint: str, p256dh: str, auth: str, message: Message) -> str | None:
        """Send to one browser; raises Gone if it unsubscribed, else answers what went wrong (None: sent)."""
        from py_vapid import Vapid
        from pywebpush import WebPushException, webpush

        info = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        payload = json.dumps({"title": message.title, "body": message.body, "url": message.url})
        service = urlsplit(endpoint).hostname or gettext("the push service")
        try:
            webpush(
                info, payload, vapid_private_key=Vapid.from_pem(self.vapid_pem), vapid_claims={"sub": self.contact},
                ttl=PUSH_TTL, timeout=TIMEOUT, headers={"Urgency": "high"},
            )  # fmt: skip
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                raise Gone() from exc
            if status:
                # Translators: %(service)s is a push service's host ("fcm.googleapis.com"), %(status)s an HTTP status.
                return gettext(
                    "%(service)s refused the notification (HTTP %(status)s).", service=service, status=status
                )
            return gettext("%(service)s refused the notification.", service=service)
        except (OSError, ValueError) as exc:  # requests' connection errors are OSErrors
            cause = plain_cause(str(exc))
            if cause:
                # Translators: %(cause)s is one of the reasons below ("the connection was refused").
                return gettext("Couldn't reach %(service)s: %(cause)s.", service=service, cause=gettext(cause))
            # Translators: %(error)s is the name of a programming error, like ConnectionError.
            return gettext("Couldn't reach %(service)s (%(error)s).", service=service, error=type(exc).__name__)
        return None

    def apprise(self, url: str, message: Message) -> str | None:
        """Send through one Apprise URL; answers what went wrong in Apprise's words (None: sent)."""
        import apprise

        sender = apprise.Apprise()
        if not sender.add(url):
            return apprise_problem(url) or gettext("Apprise doesn't recognise this URL.")
        body = message.body
        if self.settings.public_url:
            body += f"\n{self.settings.public_url.rstrip('/')}{message.url.removeprefix(self.settings.root_path)}"
        # Apprise's own lines, its debug ones too (they name the cause): kept to say what failed, never passed on to
        # the server's log, where the URLs in them would show their secrets (see APPRISE_LOG below).
        with apprise.LogCapture(level=logging.DEBUG, fmt="%(levelname)s %(message)s") as output:  # type: ignore[no-untyped-call]
            sent = sender.notify(body=body, title=message.title)
        if sent:
            return None
        return apprise_failure(shown(url), output.getvalue())


def apprise_failure(target: str, lines: str) -> str:
    """What failed, in plain words: the cause Apprise's debug lines name ("the connection was refused"), else its
    own warning, which is English (Apprise has no other language)."""
    said = [line.split(" ", 1) for line in lines.splitlines() if " " in line]
    warnings = [text.strip().rstrip(".") for level, text in said if level in ("WARNING", "ERROR", "CRITICAL")]
    causes = [plain_cause(text) for level, text in said if level == "DEBUG" and "Exception" in text]
    cause = next((c for c in causes if c), None)
    if cause:
        # Translators: %(target)s is an Apprise URL as the page shows it ("ntfys://ntfy.sh/…"); %(cause)s one of the
        # reasons below ("the connection was refused").
        return gettext("Couldn't send through %(target)s: %(cause)s.", target=target, cause=gettext(cause))
    if warnings:
        # Translators: %(said)s is Apprise's own message, in English.
        return gettext("Couldn't send through %(target)s. Apprise says: %(said)s.", target=target, said=warnings[-1])
    return gettext("Couldn't send through %(target)s, and Apprise doesn't say why.", target=target)


def plain_cause(text: str) -> str | None:
    lowered = text.lower()
    for words, plain in CAUSES:
        if any(word in lowered for word in words):
            return plain
    return None


CAUSES = (
    # Translators: why a notification couldn't be sent, the end of "Couldn't reach fcm.googleapis.com: …".
    (("refused",), N_("the connection was refused")),
    (("timed out", "timeout"), N_("it didn't answer in time")),
    (("name or service not known", "nodename nor servname", "getaddrinfo", "name resolution"), N_("no such host")),
    (("certificate", "ssl"), N_("its HTTPS certificate was not accepted")),
)
