"""Reminders: when one is due (the household's zone, days of the week, summer time), sent once within its grace
window and never when the habit is flipped or archived, once only with two dispatchers; the Reminders page."""

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import reminders
from app.config import Settings
from app.db import Database, make_engine
from app.models import WEEKDAYS, AppriseTarget, Habit, Member, Reminder, ReminderSent, Weekday
from app.notify import Message, Notifier
from tests import factories
from tests.conftest import Clock, Home

BERLIN = ZoneInfo("Europe/Berlin")
MON, TUE, WED, SUN = Weekday.mon, Weekday.tue, Weekday.wed, Weekday.sun


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "at", "now", "due"),
    [
        # Monday 23 November 2026, 18:00 in Berlin is 17:00 UTC (winter time).
        ([MON, WED], "18:00", "2026-11-23 17:05", "2026-11-23 17:00"),
        ([MON, WED], "18:00", "2026-11-23 16:59", None),  # not yet today, and nothing yesterday
        ([MON, WED], "18:00", "2026-11-24 09:00", "2026-11-23 17:00"),  # Tuesday is not one of its days
        ([SUN], "23:30", "2026-11-29 22:40", "2026-11-29 22:30"),  # late on Sunday, local
        ([MON], "00:15", "2026-11-22 23:20", "2026-11-22 23:15"),  # Monday 00:15 in Berlin is Sunday in UTC
        # Summer time: Monday 22 June 2026, 18:00 in Berlin is 16:00 UTC.
        ([MON], "18:00", "2026-06-22 16:00", "2026-06-22 16:00"),
        # 29 March 2026: the clocks skip 02:00–03:00. A reminder at 02:30 comes at 03:30 local, 01:30 UTC.
        ([SUN], "02:30", "2026-03-29 01:35", "2026-03-29 01:30"),
        # 25 October 2026: 02:00–03:00 happens twice. A reminder at 02:30 comes the first time, once.
        ([SUN], "02:30", "2026-10-25 01:45", "2026-10-25 00:30"),
        ([SUN], "18:00", "2026-10-25 17:00", "2026-10-25 17:00"),  # winter time from that day on
        ([Weekday.sat], "18:00", "2026-10-24 16:00", "2026-10-24 16:00"),  # the day before: summer time
    ],
)
def test_when_a_reminder_was_last_due(days: list[Weekday], at: str, now: str, due: str | None) -> None:
    """The latest moment it was due, today or yesterday (local): older ones are long past the grace window."""
    assert reminders.last_due(reminders.mask_of(days), at, BERLIN, utc(now)) == (utc(due) if due else None)


def test_the_next_time_a_reminder_is_due() -> None:
    mask = reminders.mask_of([MON, WED])
    assert reminders.next_due(mask, "18:00", BERLIN, utc("2026-11-23 17:00")) == utc("2026-11-25 17:00")
    assert reminders.next_due(mask, "18:00", BERLIN, utc("2026-11-23 16:59")) == utc("2026-11-23 17:00")
    assert reminders.next_due(0, "18:00", BERLIN, utc("2026-11-23 16:59")) is None


def test_days_are_kept_as_bits_and_read_back_in_the_weeks_order() -> None:
    assert reminders.days_of(reminders.mask_of([SUN, MON, MON])) == [MON, SUN]
    assert reminders.mask_of(list(Weekday)) == 127


class Recorder(Notifier):
    """Sends nothing: records what would have gone where (thread-safe: dispatchers send from worker threads)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: list[tuple[str, Message]] = []
        self.lock = threading.Lock()

    def apprise(self, url: str, message: Message) -> str | None:
        with self.lock:
            self.sent.append((url, message))
        return None


@pytest.fixture
def recorder(settings: Settings) -> Recorder:
    return Recorder(settings)


def tick(app: FastAPI, notifier: Notifier, now: datetime) -> list[reminders.Due]:
    return asyncio.run(reminders.tick(app.state.db, notifier, now))


@pytest.fixture
def gym(client: TestClient, db: Session, home: Home, clock: Clock) -> Habit:
    """Ana's gym, with a reminder on Tuesdays at 09:30 (the household is on UTC; the clock says Tue 09:00), to an
    Apprise URL."""
    habit = factories.make_flippable_habit(db, home.member, "Gym")
    assert client.put(f"/api/v1/habits/{habit.id}/reminder", json={"days": ["tue"], "time": "09:30"}).status_code == 200
    db.add(AppriseTarget(member_id=home.member.id or 0, url="json://127.0.0.1:9/"))
    db.commit()
    return habit


def test_a_due_reminder_is_sent_once(app: FastAPI, gym: Habit, recorder: Recorder) -> None:
    assert tick(app, recorder, utc("2026-11-24 09:29")) == []
    assert len(tick(app, recorder, utc("2026-11-24 09:30"))) == 1
    assert tick(app, recorder, utc("2026-11-24 09:30:30")) == []
    assert tick(app, recorder, utc("2026-11-24 09:35")) == []
    [(url, message)] = recorder.sent
    assert url == "json://127.0.0.1:9/"
    assert message == Message(f"{gym.emoji} Gym", "Gym at 09:30: tap to flip.", f"/reminders/open/{gym.id}")
    assert len(tick(app, recorder, utc("2026-12-01 09:30:10"))) == 1  # next Tuesday again


@pytest.mark.parametrize(("late", "sent"), [(9, 1), (11, 0), (600, 0)])
def test_after_downtime_nothing_stale_is_sent(
    app: FastAPI, gym: Habit, recorder: Recorder, late: int, sent: int
) -> None:
    """A server back up after downtime sends what is due within the grace window (10 minutes), nothing older."""
    assert len(tick(app, recorder, utc("2026-11-24 09:30") + timedelta(minutes=late))) == sent


def test_no_reminder_once_the_habit_is_flipped_in_its_session(
    app: FastAPI, client: TestClient, gym: Habit, recorder: Recorder, clock: Clock
) -> None:
    assert client.post(f"/api/v1/habits/{gym.id}/flips").status_code == 201  # at 09:00
    assert tick(app, recorder, utc("2026-11-24 09:30")) == []
    # Next Tuesday the session of that flip is long over: the cue comes again.
    assert len(tick(app, recorder, utc("2026-12-01 09:30"))) == 1


def test_no_reminder_for_an_archived_habit(app: FastAPI, client: TestClient, gym: Habit, recorder: Recorder) -> None:
    assert client.post(f"/api/v1/habits/{gym.id}/archive").status_code == 200
    assert tick(app, recorder, utc("2026-11-24 09:30")) == []


def test_a_reminder_set_after_its_time_waits_for_its_next_day(
    app: FastAPI, client: TestClient, gym: Habit, recorder: Recorder, clock: Clock
) -> None:
    clock.set(utc("2026-11-24 09:35"))
    client.put(f"/api/v1/habits/{gym.id}/reminder", json={"days": ["tue"], "time": "09:30"})
    assert tick(app, recorder, utc("2026-11-24 09:36")) == []


def test_a_claim_whose_sender_died_is_taken_over_after_its_lease(
    app: FastAPI, db: Session, gym: Habit, recorder: Recorder
) -> None:
    """A dispatcher claimed the moment and died before sending: another sends it once the lease has run out,
    as long as it is still within the grace window."""
    reminder = db.exec(select(Reminder)).one()
    db.add(
        ReminderSent(reminder_id=reminder.id or 0, due_at=utc("2026-11-24 09:30"), claimed_at=utc("2026-11-24 09:30"))
    )
    db.commit()
    assert tick(app, recorder, utc("2026-11-24 09:31")) == []
    assert len(tick(app, recorder, utc("2026-11-24 09:32:30"))) == 1
    assert tick(app, recorder, utc("2026-11-24 09:35")) == []
    assert len(recorder.sent) == 1


def test_two_dispatchers_send_a_due_reminder_once(settings: Settings, gym: Habit, recorder: Recorder) -> None:
    """Two workers (or replicas: own engines, own connections) look at the same moment: both find the reminder
    due, one claim gets in, and it is sent once."""
    now = utc("2026-11-24 09:30")
    databases = [Database(make_engine(settings.db_url)) for _ in range(2)]
    found = [asyncio.run(db.read_plain(reminders.due_now, now)) for db in databases]
    assert [len(due) for due in found] == [1, 1]
    start = threading.Barrier(2)
    sent: list[list[reminders.Due]] = []

    def dispatcher(db: Database) -> None:
        start.wait()
        sent.append(asyncio.run(reminders.tick(db, recorder, now)))

    threads = [threading.Thread(target=dispatcher, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.close()
    assert sorted(len(s) for s in sent) == [0, 1]
    assert len(recorder.sent) == 1


def test_the_claim_lets_one_in(settings: Settings, gym: Habit) -> None:
    now = utc("2026-11-24 09:30")
    databases = [Database(make_engine(settings.db_url)) for _ in range(2)]
    [due] = asyncio.run(databases[0].read_plain(reminders.due_now, now))
    claims = [asyncio.run(db.write_plain(reminders.claim, due, now)) for db in databases]
    for db in databases:
        db.close()
    assert claims == [True, False]


# The Reminders page.


@pytest.fixture
def run(db: Session, home: Home) -> Habit:
    return factories.make_flippable_habit(db, home.member, "Run")


@pytest.mark.parametrize("hx", [False, True])
def test_a_reminder_is_set_on_the_page_and_shown(client: TestClient, run: Habit, hx: bool) -> None:
    headers = {"HX-Request": "true"} if hx else {}
    page = client.get("/reminders", headers=headers)
    assert page.status_code == 200 and "Off." in page.text
    saved = client.post(f"/reminders/habits/{run.id}", data={"days": ["mon", "wed"], "time": "18:00"}, headers=headers)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/reminders?saved={run.id}#reminder-{run.id}"
    page = client.get(f"/reminders?saved={run.id}", headers=headers)
    assert "Saved: Run, Mon and Wed at 18:00." in page.text
    assert "On: Mon and Wed at 18:00. Next: " in page.text
    assert client.get(f"/api/v1/habits/{run.id}/reminder").json()["days"] == ["mon", "wed"]
    assert client.post(f"/reminders/habits/{run.id}/off").status_code == 303
    assert client.get(f"/api/v1/habits/{run.id}/reminder").status_code == 404
    assert "Reminder off for Run." in client.get(f"/reminders?saved={run.id}").text


@pytest.mark.parametrize(
    ("language", "days", "said", "chip"),
    [
        ("de", ["mon", "wed"], "An: Mo. und Mi. um 18:00.", ">Do<"),
        ("fr", ["mon", "tue", "wed", "thu", "fri"], "Activé\u00a0: du lundi au vendredi à 18:00.", ">jeu.<"),
        ("es", list(WEEKDAYS), "Activado: todos los días a las 18:00.", ">jue<"),
    ],
)
def test_the_days_are_said_as_the_language_says_them(
    client: TestClient, run: Habit, language: str, days: list[str], said: str, chip: str
) -> None:
    """The days' names are Babel's for the locale, in a sentence and on the chips; never English ones."""
    assert client.post(f"/reminders/habits/{run.id}", data={"days": days, "time": "18:00"}).status_code == 303
    page = client.get("/reminders", headers={"Accept-Language": language}).text
    assert said in page and chip in page
    assert ">Thu<" not in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"time": "18:00"}, "days", "Pick at least one day, or turn the reminder off."),
        ({"days": "mon", "time": "25:00"}, "time", "Please give a time like 18:00."),
        ({"days": "mon"}, "time", "Please fill this in."),
        ({"days": ["mon", "someday"], "time": "07:15"}, "days", "Input should be"),
        ({"days": "tue", "time": "x" * 5000}, "time", "Please keep this to 8 characters or fewer"),
    ],
)
def test_a_wrong_reminder_is_shown_beside_its_field_with_what_was_typed(
    client: TestClient, run: Habit, data: dict[str, object], field: str, message: str
) -> None:
    response = client.post(f"/reminders/habits/{run.id}", data=data)
    assert response.status_code == 422
    assert f'<p class="error" id="h{run.id}-{field}-error">{message}' in response.text
    if data.get("days") == "mon":
        assert 'value="mon" checked' in response.text
    if data.get("time") == "25:00":
        assert 'value="25:00"' in response.text


def test_the_page_says_when_this_device_takes_notifications(client: TestClient, home: Home) -> None:
    page = client.get("/reminders?push_on=true").text
    assert "Notifications are on for this device." in page
    assert "Notifications are on for this device." not in client.get("/reminders").text


def test_the_service_worker_takes_the_push_handlers(client: TestClient) -> None:
    worker = client.get("/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.text.startswith('importScripts("/static/sw-push.js");\n')  # first: the offline part follows
    handlers = client.get("/static/sw-push.js").text
    assert 'addEventListener("push"' in handlers and 'addEventListener("notificationclick"' in handlers


def test_another_members_habit_has_no_reminder_form(client: TestClient, db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    bens = factories.make_habit(db, ben, "Swim")
    assert client.post(f"/reminders/habits/{bens.id}", data={"days": "mon", "time": "18:00"}).status_code == 404
    assert client.put(f"/api/v1/habits/{bens.id}/reminder", json={"days": ["mon"], "time": "18:00"}).status_code == 404


def test_a_notification_opens_the_habits_card_for_its_member(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home, run: Habit
) -> None:
    """On a shared phone where someone else is picked, "Who's this?" comes first, then the card."""
    assert client.get(f"/reminders/open/{run.id}").headers["location"] == f"/#habit-{run.id}"
    ben = factories.make_member(db, home.household, "Ben")
    with TestClient(app, follow_redirects=False) as family_phone:
        factories.log_in(family_phone, db, settings, home.household, ben)
        asked = family_phone.get(f"/reminders/open/{run.id}")
        assert asked.headers["location"] == f"/members?next=%2F%23habit-{run.id}"


def test_a_members_deletion_takes_their_reminders_and_targets(
    client: TestClient, db: Session, home: Home, run: Habit
) -> None:
    client.put(f"/api/v1/habits/{run.id}/reminder", json={"days": ["mon"], "time": "18:00"})
    assert len(db.exec(select(Reminder)).all()) == 1
    db.delete(db.get(Member, home.member.id))
    db.commit()
    assert db.exec(select(Reminder)).all() == []


# The API.

JSON = {"Content-Type": "application/json"}


def test_the_api_sets_reads_lists_and_turns_off_a_reminder(client: TestClient, run: Habit, clock: Clock) -> None:
    assert client.get(f"/api/v1/habits/{run.id}/reminder").json() == {"detail": "This habit has no reminder."}
    assert client.get("/api/v1/reminders").json() == []
    put = client.put(f"/api/v1/habits/{run.id}/reminder", json={"days": ["wed", "mon", "wed"], "time": "18:00"})
    expected = {"habit_id": run.id, "days": ["mon", "wed"], "time": "18:00", "next_at": "2026-11-25T18:00:00Z"}
    assert put.status_code == 200 and put.json() == expected
    assert client.get(f"/api/v1/habits/{run.id}/reminder").json() == expected
    assert client.get("/api/v1/reminders").json() == [expected]
    changed = client.put(f"/api/v1/habits/{run.id}/reminder", json={"days": ["tue"], "time": "07:05"})
    assert changed.json()["next_at"] == "2026-12-01T07:05:00Z"
    assert client.delete(f"/api/v1/habits/{run.id}/reminder").status_code == 204
    assert client.delete(f"/api/v1/habits/{run.id}/reminder").status_code == 204
    assert client.get("/api/v1/reminders").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"days": [], "time": "18:00"},
        {"days": ["monday"], "time": "18:00"},
        {"days": ["mon"] * 8, "time": "18:00"},
        {"days": ["mon"], "time": "24:00"},
        {"days": ["mon"], "time": "18:60"},
        {"days": ["mon"], "time": "6pm"},
        {"days": ["mon"], "time": 1800},
        {"days": ["mon"], "time": "\ud800\ud800:00"},
        {"days": ["mon"], "time": "1" * 100_000},
        {"days": ["\ud800"], "time": "18:00"},
        {"days": "mon", "time": "18:00", "extra": 1},
        {"days": ["mon"]},
    ],
)
def test_a_wrong_reminder_is_a_422(client: TestClient, run: Habit, body: dict[str, object]) -> None:
    # json.dumps writes a lone surrogate as the escape JSON allows ("\ud800"), as a script might send it.
    response = client.put(f"/api/v1/habits/{run.id}/reminder", content=json.dumps(body), headers=JSON)
    assert response.status_code in (413, 422), response.text
    assert client.get("/api/v1/reminders").json() == []


@pytest.mark.parametrize("raw", [b'{"days": ["mon"], "time": NaN}', b'{"days": ["mon"], "time": 1e999}', b"[]"])
def test_values_json_can_carry_are_a_422(client: TestClient, run: Habit, raw: bytes) -> None:
    assert client.put(f"/api/v1/habits/{run.id}/reminder", content=raw, headers=JSON).status_code == 422


def test_push_subscriptions_are_the_members_own(
    client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    keys = {"p256dh": "BOr" + "A" * 84, "auth": "c2VjcmV0c2VjcmV0c2VjcmV0"}
    first = client.post("/api/v1/push/subscriptions", json={"endpoint": "https://push.example/a", "keys": keys})
    assert first.status_code == 201
    again = client.post("/api/v1/push/subscriptions", json={"endpoint": "https://push.example/a", "keys": keys})
    assert again.json()["id"] == first.json()["id"]  # the same browser subscribing again
    listed = client.get("/api/v1/push/subscriptions").json()
    assert [s["endpoint"] for s in listed] == ["https://push.example/a"]
    ben = factories.make_member(db, home.household, "Ben")
    assert client.get("/api/v1/push/key").json()["public_key"]
    with TestClient(client.app, follow_redirects=False) as bens_phone:  # type: ignore[arg-type]
        factories.log_in(bens_phone, db, settings, home.household, ben)
        assert bens_phone.get("/api/v1/push/subscriptions").json() == []
        assert bens_phone.delete(f"/api/v1/push/subscriptions/{first.json()['id']}").status_code == 404
    assert client.delete(f"/api/v1/push/subscriptions/{first.json()['id']}").status_code == 204
    assert client.get("/api/v1/push/subscriptions").json() == []


@pytest.mark.parametrize(
    "endpoint",
    ["http://push.example/a", "ftp://push.example/a", "https://", "", "https://p.example/" + "a" * 1000, "\ud800"],
)
def test_a_push_endpoint_must_be_a_push_services(client: TestClient, home: Home, endpoint: str) -> None:
    keys = {"p256dh": "key", "auth": "auth"}
    body = json.dumps({"endpoint": endpoint, "keys": keys})
    assert client.post("/api/v1/push/subscriptions", content=body, headers=JSON).status_code == 422
