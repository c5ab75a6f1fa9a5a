"""Export and import of a household (JSON), and the CSV download."""

import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import archive, cli, security
from app.config import Settings
from app.models import NAME_MAX, NOTE_MAX, TEXT_MAX, Colour, Habit, Household, Member, PleasureCheck
from tests import factories
from tests.conftest import Clock, Home

IDS = {"id", "member_id", "habit_id", "enhancer_id", "enhancer_ids", "exported_at"}


def without_ids(value: Any) -> Any:
    """The export with every id left out, for comparing two exports of the same data."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in IDS}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


@pytest.fixture
def lived_in(client: TestClient, db: Session, home: Home, clock: Clock) -> Home:
    """A household with two members, enhancers, habits, flips reflected, skipped and open, and pleasure checks."""
    music = factories.make_enhancer(db, home.member, "Music")
    coffee = factories.make_enhancer(db, home.member, "=cmd|' /C calc'!A0")
    run = factories.make_habit(db, home.member, "Run", [music, coffee])
    gym = factories.make_habit(db, home.member, "Gym", [coffee])
    ben = factories.make_member(db, home.household, "Ben", pin="1234")
    ben.colour = Colour.rose
    factories.make_habit(db, ben, "Piano")
    db.add(PleasureCheck(member_id=ben.id or 0, name="Chocolate", enjoyment=6, craving=8))
    db.commit()
    client.post("/pleasures", data={"name": "Coffee", "enjoyment": "7", "craving": "9"})
    client.post(f"/habits/{run.id}/flips")
    api = client.get("/api/v1/flips").json()
    client.post(
        f"/flips/{api[0]['id']}/reflection",
        data={"effort": "7", "enjoyment": "9", "followed": "partly", "note": "Hills, 🌄"},
    )
    client.post(f"/habits/{gym.id}/flips")
    client.post(f"/flips/{client.get('/api/v1/flips').json()[0]['id']}/skip")
    clock.advance(days=1)
    client.post(f"/habits/{run.id}/flips")
    client.post(f"/enhancers/{music.id}/delete")  # history keeps its name
    return home


def export_file(settings: Settings, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "rivera.json"
    path.write_text(cli.run(["export", "--household", "Rivera"], settings) or "")
    return path, json.loads(path.read_text())


def test_export_import_export_is_identical(
    lived_in: Home, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = cli.run(["export", "--household", "Rivera"], settings)
    assert first
    exported = json.loads(first)
    assert exported["format"] == "coinflip-export" and exported["version"] == 3
    assert len(exported["flips"]) == 3 and exported["household"]["password_hash"]
    assert [m["colour"] for m in exported["members"]] == ["blue", "rose"]  # and back again: compared below
    assert [(p["name"], p["enjoyment"], p["craving"]) for p in exported["pleasure_checks"]] == [
        ("Chocolate", 6, 8),
        ("Coffee", 7, 9),
    ]
    path = tmp_path / "rivera.json"
    path.write_text(first)
    out = cli.run(["import", str(path), "--name", "Rivera again"], settings)
    assert out and "2 members, 3 flips" in out
    second = json.loads(cli.run(["export", "--household", "Rivera again"], settings) or "")
    assert second["household"].pop("name") == "Rivera again"
    exported["household"].pop("name")
    assert without_ids(second) == without_ids(exported)


def test_an_imported_household_can_log_in_with_its_password(
    lived_in: Home, settings: Settings, db: Session, tmp_path: Path
) -> None:
    path = tmp_path / "rivera.json"
    path.write_text(cli.run(["export", "--household", "Rivera"], settings) or "")
    cli.run(["import", str(path), "--name", "Copy"], settings)
    copy = db.exec(select(Household).where(Household.name == "Copy")).one()
    assert security.verify_secret(factories.PASSWORD, copy.password_hash)


def test_import_refuses_an_existing_name_and_a_foreign_file(lived_in: Home, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "rivera.json"
    path.write_text(cli.run(["export", "--household", "Rivera"], settings) or "")
    with pytest.raises(cli.CliError, match="exists already"):
        cli.run(["import", str(path)], settings)
    path.write_text('{"hello": "world"}')
    with pytest.raises(cli.CliError, match="not a Coinflip export"):
        cli.run(["import", str(path), "--name", "X"], settings)


def test_an_export_without_password_imports_with_a_note(
    client: TestClient, lived_in: Home, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "from-api.json"
    path.write_text(client.get("/api/v1/export").text)
    out = cli.run(["import", str(path), "--name", "Fresh"], settings)
    assert out and "reset-password" in out


def test_api_and_settings_exports_leave_out_the_secrets(client: TestClient, lived_in: Home) -> None:
    for response in (client.get("/api/v1/export"), client.get("/settings/export.json")):
        assert response.status_code == 200
        data = response.json()
        assert data["household"]["password_hash"] is None
        assert all(m["pin_hash"] is None for m in data["members"])
        assert [m["name"] for m in data["members"]] == ["Ana", "Ben"]
    assert "attachment" in client.get("/settings/export.json").headers["content-disposition"]


def test_the_csv_has_a_row_per_flip_and_enhancer(client: TestClient, lived_in: Home) -> None:
    response = client.get("/settings/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 2 + 1 + 2  # Run's two enhancers, Gym's one, Run's two
    reflected = [r for r in rows if r["note"] == "Hills, 🌄"]
    assert {r["enhancer"] for r in reflected} == {"Music", "'=cmd|' /C calc'!A0"}  # no formula runs
    assert {(r["effort"], r["enjoyment"], r["followed"]) for r in reflected} == {("7", "9", "partly")}
    assert [r["skipped"] for r in rows if r["habit"] == "Gym"] == ["True"]


def test_the_pleasure_checks_csv_has_a_row_per_check(client: TestClient, lived_in: Home, db: Session) -> None:
    db.add(PleasureCheck(member_id=lived_in.member.id or 0, name="=HYPERLINK(1)", enjoyment=2, craving=10))
    db.commit()
    response = client.get("/settings/export-pleasure-checks.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # Ben's Chocolate is behind his PIN; a formula stays text.
    assert [(r["member"], r["pleasure"], r["enjoyment"], r["craving"]) for r in rows] == [
        ("Ana", "Coffee", "7", "9"),
        ("Ana", "'=HYPERLINK(1)", "2", "10"),
    ]
    assert rows[0]["logged_at"] == "2026-11-24T09:00:00+00:00"


def test_settings_offers_every_download(client: TestClient, home: Home) -> None:
    page = client.get("/settings").text
    for download in ("export.json", "export.csv", "export-pleasure-checks.csv"):
        assert f'href="/settings/{download}"' in page


def test_cli_export_of_an_unknown_household(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["coinflip", "export", "--household", "Nobody"])
    with pytest.raises(cli.CliError, match="No household"):
        cli.run(["export", "--household", "Nobody"], settings)


def test_import_reads_standard_input(lived_in: Home, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    exported = cli.run(["export", "--household", "Rivera"], settings) or ""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(exported.encode())))
    out = cli.run(["import", "-", "--name", "From stdin"], settings)
    assert out and "Imported household 'From stdin'" in out


def test_times_in_exports_are_the_households_local_times(
    client: TestClient, db: Session, lived_in: Home, settings: Settings, tmp_path: Path
) -> None:
    factories.move_household(db, lived_in.household, "America/New_York")
    _, exported = export_file(settings, tmp_path)
    assert exported["household"]["timezone"] == "America/New_York"
    # The test clock's 09:00 UTC on 24 November is 04:00 in New York (UTC-5).
    assert exported["flips"][0]["flipped_at"] == "2026-11-24T04:00:00-05:00"
    # Drawn while the household was on UTC: its session ends at UTC midnight, whatever the zone is now.
    assert exported["flips"][0]["next_flip_at"] == "2026-11-24T19:00:00-05:00"
    rows = list(csv.DictReader(io.StringIO(client.get("/settings/export.csv").text)))
    assert rows[0]["flipped_at"] == "2026-11-24T04:00:00-05:00"


def test_an_altered_export_is_refused_naming_every_changed_flip(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, exported = export_file(settings, tmp_path)
    first, second = exported["flips"][0], exported["flips"][1]
    first["coin"] = "tails" if first["coin"] == "heads" else "heads"  # a re-roll after the fact
    first["verdict"][0]["allowed"] = not first["verdict"][0]["allowed"]
    second["nonce"] = None
    path.write_text(json.dumps(exported))
    with pytest.raises(cli.CliError) as refused:
        cli.run(["import", str(path), "--name", "Altered"], settings)
    message = str(refused.value)
    assert f"Flip {first['id']} (Run" in message and "does not match its seal" in message
    assert f"Flip {second['id']} (Gym" in message and "has no seal" in message
    db.commit()
    assert db.exec(select(Household).where(Household.name == "Altered")).first() is None  # nothing written


def test_a_version_1_export_still_imports(lived_in: Home, db: Session, settings: Settings, tmp_path: Path) -> None:
    """Files written before sessions and time zones: the day's session and the habit's policy are filled in."""
    path, exported = export_file(settings, tmp_path)
    exported["version"] = 1
    exported.pop("pleasure_checks")
    exported["household"].pop("timezone")
    for habit in exported["habits"]:
        habit.pop("every_hours"), habit.pop("archived_at")
    for flip in exported["flips"]:
        flip.pop("next_flip_at"), flip.pop("mode"), flip.pop("chance")
        for row in flip["verdict"]:
            row.pop("capped")
        if flip["reflection"]:
            flip["reflection"].pop("version")
    path.write_text(json.dumps(exported))
    assert "3 flips" in (cli.run(["import", str(path), "--name", "Old file"], settings) or "")
    copy = db.exec(select(Household).where(Household.name == "Old file")).one()
    assert copy.timezone == settings.timezone


def test_a_version_2_export_still_imports(lived_in: Home, db: Session, settings: Settings, tmp_path: Path) -> None:
    """Files written before pleasure checks were exported: everything else comes in, no pleasure check."""
    path, exported = export_file(settings, tmp_path)
    exported["version"] = 2
    exported.pop("pleasure_checks")
    path.write_text(json.dumps(exported))
    assert "3 flips" in (cli.run(["import", str(path), "--name", "Old file"], settings) or "")
    copy = json.loads(cli.run(["export", "--household", "Old file"], settings) or "")
    assert copy["pleasure_checks"] == [] and without_ids(copy["flips"]) == without_ids(exported["flips"])


def test_pleasure_checks_come_back_with_their_member_and_time(
    client: TestClient, lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, exported = export_file(settings, tmp_path)
    cli.run(["import", str(path), "--name", "Copy"], settings)
    copy = db.exec(select(Household).where(Household.name == "Copy")).one()
    members = {m.id: m.name for m in db.exec(select(Member).where(Member.household_id == copy.id))}
    checks = db.exec(select(PleasureCheck).where(col(PleasureCheck.member_id).in_(list(members))))
    names = {m["id"]: m["name"] for m in exported["members"]}
    assert sorted((members[p.member_id], p.name, p.enjoyment, p.craving, p.logged_at) for p in checks) == sorted(
        (names[p["member_id"]], p["name"], p["enjoyment"], p["craving"], datetime.fromisoformat(p["logged_at"]))
        for p in exported["pleasure_checks"]
    )


def test_flips_from_before_seals_import_only_when_asked(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, exported = export_file(settings, tmp_path)
    exported["flips"][0]["nonce"] = exported["flips"][0]["commitment"] = None  # as flips before seals existed
    path.write_text(json.dumps(exported))
    with pytest.raises(cli.CliError, match="--allow-unsealed"):
        cli.run(["import", str(path), "--name", "Old"], settings)
    assert "3 flips" in (cli.run(["import", str(path), "--name", "Old", "--allow-unsealed"], settings) or "")
    exported["flips"][1]["coin"] = "mixed"  # a sealed flip changed: refused even so
    path.write_text(json.dumps(exported))
    with pytest.raises(cli.CliError, match="does not match its seal"):
        cli.run(["import", str(path), "--name", "Older", "--allow-unsealed"], settings)


def refusal_of(db: Session, settings: Settings, path: Path, exported: dict[str, Any], *argv: str) -> str:
    """The import's refusal of this file, having checked that nothing of it was written."""
    path.write_text(json.dumps(exported))
    with pytest.raises(cli.CliError) as refused:
        cli.run(["import", str(path), "--name", "Copy", *argv], settings)
    db.commit()  # a fresh look at the database
    assert db.exec(select(Household).where(Household.name == "Copy")).first() is None
    return str(refused.value)


def test_an_import_is_checked_with_the_limits_of_the_api_and_names_every_problem(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, exported = export_file(settings, tmp_path)
    exported["household"]["timezone"] = "Mars/Olympus_Mons"
    exported["members"][1]["name"] = "B" * (NAME_MAX + 1)  # stored by SQLite, refused by PostgreSQL
    exported["members"][1]["emoji"] = ""
    exported["enhancers"][0]["spike"] = 4
    exported["habits"][0]["max_stack"] = 0  # every flip of the habit would fail
    exported["habits"][1]["chance"] = 1.0  # a coin that always says yes
    exported["habits"][2]["why"] = "w" * (TEXT_MAX + 1)
    exported["flips"][0]["reflection"]["note"] = "n" * (NOTE_MAX + 1)
    exported["flips"][0]["reflection"]["effort"] = 11
    exported["flips"][1]["idempotency_key"] = "k" * 201
    message = refusal_of(db, settings, path, exported)
    places = [
        "household.timezone", "members[1].name", "members[1].emoji", "enhancers[0].spike", "habits[0].max_stack",
        "habits[1].chance", "habits[2].why", "flips[0].reflection.note", "flips[0].reflection.effort",
        "flips[1].idempotency_key",
    ]  # fmt: skip
    assert message.count("\n  ") == len(places) and f"{len(places)} problems" in message
    for place in places:
        assert f"\n  {place}: " in message
    assert "members[1].name: String should have at most 60 characters" in message


def test_whitespace_and_nul_are_taken_as_the_forms_take_them(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, exported = export_file(settings, tmp_path)
    exported["members"][1]["name"] = "  Ben\x00 "
    exported["habits"][2]["name"] = "   "  # nothing but spaces: as good as no name
    assert "habits[2].name: String should have at least 1 character" in refusal_of(db, settings, path, exported)
    exported["habits"][2]["name"] = "Piano"
    path.write_text(json.dumps(exported))
    cli.run(["import", str(path), "--name", "Copy"], settings)
    assert "Ben" in {m.name for m in db.exec(select(Member))}


def first_member_id(exported: dict[str, Any]) -> int:
    return int(exported["members"][0]["id"])


RELATION_CASES: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("member name twice", lambda e: e["members"][1].update(name="Ana"),
     "members[1].name: 'Ana' is the name of members[0] too"),
    ("member id twice", lambda e: e["members"][1].update(id=first_member_id(e)), "members[1].id: "),
    ("enhancer id twice", lambda e: e["enhancers"].append(e["enhancers"][0] | {"name": "Tea"}), "enhancers[1].id: "),
    ("habit id twice", lambda e: e["habits"][1].update(id=e["habits"][0]["id"]), "habits[1].id: "),
    ("flip id twice", lambda e: e["flips"][1].update(id=e["flips"][0]["id"]), "flips[1].id: "),
    ("habit name in another case", lambda e: e["habits"][1].update(name="RUN"),
     "habits[1].name: the member has a habit called 'RUN' already (habits[0])"),
    ("enhancer of nobody", lambda e: e["enhancers"][0].update(member_id=999),
     "enhancers[0].member_id: there is no member 999"),
    ("habit of nobody", lambda e: e["habits"][0].update(member_id=999), "habits[0].member_id: there is no member 999"),
    ("link to nothing", lambda e: e["habits"][1]["enhancer_ids"].append(999),
     "habits[1].enhancer_ids[1]: there is no enhancer 999"),
    ("link to another member's enhancer", lambda e: e["habits"][2].update(enhancer_ids=e["habits"][1]["enhancer_ids"]),
     "habits[2].enhancer_ids[0]: enhancer"),
    ("flip of no habit", lambda e: e["flips"][0].update(habit_id=999), "flips[0].habit_id: there is no habit 999"),
    ("flip of nobody", lambda e: e["flips"][0].update(member_id=999), "flips[0].member_id: there is no member 999"),
    ("pleasure check of nobody", lambda e: e["pleasure_checks"][1].update(member_id=999),
     "pleasure_checks[1].member_id: there is no member 999"),
    ("flip of another member's habit", lambda e: e["flips"][0].update(member_id=e["members"][1]["id"]),
     "flips[0].member_id: habit"),
    ("two open flips of a habit", lambda e: e["flips"][0].update(closed_at=None),
     "flips[2].closed_at: flips[0] of the same habit is open too"),
    ("an idempotency key twice", lambda e: [f.update(idempotency_key="same") for f in e["flips"][:2]],
     "flips[1].idempotency_key: flips[0] of the same member has this key too"),
]  # fmt: skip


@pytest.mark.parametrize(("mistake", "change", "message"), RELATION_CASES, ids=[c[0] for c in RELATION_CASES])
def test_duplicates_and_references_that_do_not_resolve_are_named(
    lived_in: Home,
    db: Session,
    settings: Settings,
    tmp_path: Path,
    mistake: str,
    change: Callable[[dict[str, Any]], object],
    message: str,
) -> None:
    path, exported = export_file(settings, tmp_path)
    change(exported)
    refused = refusal_of(db, settings, path, exported)
    assert f"\n  {message}" in refused, refused


def test_every_kind_of_problem_is_listed_at_once(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, exported = export_file(settings, tmp_path)
    exported["household"]["password_hash"] = "plain text"  # a field
    exported["habits"][2]["max_stack"] = 0  # a record unsound on its own: a reference to it is no second problem
    exported["flips"][1]["habit_id"] = exported["habits"][2]["id"]
    exported["members"][1]["name"] = "Ana"  # across records
    exported["habits"][1]["name"] = "run"
    exported["flips"][0]["habit_id"] = 999
    exported["flips"][2]["coin"] = "mixed"  # a seal
    path.write_text(json.dumps(exported))
    with pytest.raises(cli.CliError) as refused:
        cli.run(["import", str(path)], settings)  # a name that is taken
    message = str(refused.value)
    assert "7 problems" in message
    for place in ("household.password_hash: ", "habits[2].max_stack: ", "members[1].name: ", "habits[1].name: ",
                  "flips[0].habit_id: ", "flips[2]: Flip", "A household named 'Rivera' exists already"):  # fmt: skip
        assert f"\n  {place}" in message


def test_a_name_too_long_to_log_in_with_is_refused(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    """ "ﬃ" is one character, but "ffi" when case-folded for login: 60 of them don't fit the login column."""
    path, exported = export_file(settings, tmp_path)
    path.write_text(json.dumps(exported))
    with pytest.raises(cli.CliError, match="shorter name"):
        cli.run(["import", str(path), "--name", "ﬃ" * 60], settings)
    exported["household"]["name"] = "ﬃ" * 60
    assert "household.name: Please use a shorter name" in refusal_of(db, settings, path, exported)
    db.commit()
    assert db.exec(select(Household).where(Household.name == "ﬃ" * 60)).first() is None


def test_a_name_taken_while_the_import_ran_is_refused_without_a_traceback(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = export_file(settings, tmp_path)
    checks = iter([[]])  # the first check finds the name free, as if the other household came right after
    real = archive.name_problems
    monkeypatch.setattr(archive, "name_problems", lambda db, name, given: next(checks, None) or real(db, name))
    with pytest.raises(cli.CliError, match="exists already"):
        cli.run(["import", str(path)], settings)
    db.commit()
    assert len(db.exec(select(Household)).all()) == 1


# One the app wrote, then ways a file can spoil it.
GOOD_HASH = security.hash_secret("a fine password")
SALT, DIGEST = GOOD_HASH.split("$")[4:]
UNUSABLE_HASHES = [
    "garbage",
    "",
    f"$2b$12${SALT}{DIGEST}",  # bcrypt: a hasher the app doesn't have
    f"$argon2id$m=65536,t=3,p=4${SALT}${DIGEST}",  # no version
    f"$argon2id$v=19$m=65536,t=3,p=4${SALT}",  # no hash
    f"$argon2id$v=19$m=65536,t=3,p=4${SALT}$",
    f"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA${DIGEST}",  # a 4-byte salt
    f"$argon2id$v=19$m=65536,t=3,p=4${SALT}$!{DIGEST[1:]}",  # not Base64
    f"$argon2id$v=19$m=65536,t=3,p=4${SALT}${DIGEST}=",  # padded
    f"$argon2id$v=17$m=65536,t=3,p=4${SALT}${DIGEST}",
    f"$argon2id$v=19$m=65536,t=3,p=4,x=1${SALT}${DIGEST}",
    f"$argon2id$v=19$m=16,t=3,p=4${SALT}${DIGEST}",  # less memory than its lanes need
    f"$argon2id$v=19$m=65536,t=0,p=4${SALT}${DIGEST}",
    f"$argon2id$v=19$m=4194304,t=3,p=4${SALT}${DIGEST}",  # 4 GiB for every login
    f"$argon2id$v=19$m=65536,t=1000,p=4${SALT}${DIGEST}",  # minutes for every login
    f"$argon2id$v=19$m=65536,t=3,p=255${SALT}${DIGEST}",
]


@pytest.mark.parametrize("value", UNUSABLE_HASHES)
def test_a_hash_the_app_could_not_check_is_named(value: str) -> None:
    assert archive.hash_problem(value)


@pytest.mark.parametrize(
    "value",
    [
        GOOD_HASH,
        f"$argon2i$v=19$m=64,t=1,p=1${SALT}${DIGEST}",
        f"$argon2d$v=16$m=32,t=2,p=4${SALT}${DIGEST}",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",  # the smallest salt and hash Argon2 takes
    ],
)
def test_a_hash_that_passes_is_one_the_app_checks_without_an_error(value: str) -> None:
    assert archive.hash_problem(value) is None
    assert security.verify_secret("a fine password", value) is (value == GOOD_HASH)


def test_unusable_password_and_pin_hashes_are_refused(
    lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    path, exported = export_file(settings, tmp_path)
    assert exported["members"][1]["pin_hash"]  # Ben's PIN
    exported["household"]["password_hash"] = "correct horse battery staple"
    exported["members"][1]["pin_hash"] = exported["members"][1]["pin_hash"].replace("m=65536", "m=999999999")
    message = refusal_of(db, settings, path, exported)
    assert "household.password_hash: This is not an Argon2 hash" in message
    assert "members[1].pin_hash: Its cost (m=999999999, t=3, p=4) is out of range" in message


def test_a_flips_session_length_is_exported_and_imported(
    client: TestClient, lived_in: Home, db: Session, settings: Settings, tmp_path: Path
) -> None:
    habit = factories.make_flippable_habit(db, lived_in.member, "Swim")
    habit.every_hours = 6
    db.add(habit)
    db.commit()
    assert client.post(f"/habits/{habit.id}/flips").status_code in (200, 303)
    path, exported = export_file(settings, tmp_path)
    assert [f["every_hours"] for f in exported["flips"]] == [None, None, None, 6]
    cli.run(["import", str(path), "--name", "Copy"], settings)
    copy = json.loads(cli.run(["export", "--household", "Copy"], settings) or "")
    assert [f["every_hours"] for f in copy["flips"]] == [None, None, None, 6]


def journal(data: archive.Export) -> dict[str, list[str]]:
    """Each member's reflected flips in an export, as their notes (or efforts), and their pleasure checks."""
    members = {m.id: m.name for m in data.members}
    seen: dict[str, list[str]] = {name: [] for name in members.values()}
    for f in data.flips:
        if f.reflection is not None:
            seen[members[f.member_id]].append(f.reflection.note or str(f.reflection.effort))
    for p in data.pleasure_checks:
        seen[members[p.member_id]].append(p.name)
    return seen


def test_an_export_for_a_member_leaves_out_the_journals_of_others_with_a_pin(lived_in: Home, db: Session) -> None:
    ana, household = lived_in.member, lived_in.household
    ben = db.exec(select(Member).where(Member.name == "Ben")).one()  # has a PIN
    piano = db.exec(select(Habit).where(Habit.name == "Piano")).one()
    factories.make_flip(db, piano, "heads", reflection=(4, 8, "yes"))
    everything = {"Ana": ["Hills, 🌄", "Coffee"], "Ben": ["4", "Chocolate"]}

    def export_for(viewer: Member | None) -> archive.Export:
        return archive.export_household(db, household, secrets=False, viewer=viewer)

    assert journal(export_for(None)) == everything  # the CLI: the server's owner
    assert journal(export_for(ben)) == everything  # Ana has no PIN
    for_ana = export_for(ana)
    assert journal(for_ana) == {"Ana": ["Hills, 🌄", "Coffee"], "Ben": []}
    assert len(for_ana.flips) == 4 and "Piano" in {h.name for h in for_ana.habits}  # the flips stay, not the journal
    assert [r["effort"] for r in csv.DictReader(io.StringIO(archive.flips_csv(for_ana))) if r["habit"] == "Piano"] == [
        ""
    ]
    ana.pin_hash = security.hash_secret("2468")
    db.add(ana)
    db.commit()
    assert journal(export_for(ben)) == {"Ana": [], "Ben": ["4", "Chocolate"]}
    assert journal(export_for(ana)) == {"Ana": ["Hills, 🌄", "Coffee"], "Ben": []}
    assert journal(export_for(None)) == everything
