"""Export and import of a household (JSON), and the CSV download."""

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import cli, security
from app.config import Settings
from app.models import Household
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
    """A household with two members, enhancers, habits, and flips reflected, skipped and open."""
    music = factories.make_enhancer(db, home.member, "Music")
    coffee = factories.make_enhancer(db, home.member, "=cmd|' /C calc'!A0")
    run = factories.make_habit(db, home.member, "Run", [music, coffee])
    gym = factories.make_habit(db, home.member, "Gym", [coffee])
    ben = factories.make_member(db, home.household, "Ben", pin="1234")
    factories.make_habit(db, ben, "Piano")
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
    assert exported["format"] == "coinflip-export" and exported["version"] == 2
    assert len(exported["flips"]) == 3 and exported["household"]["password_hash"]
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


def test_settings_offers_both_downloads(client: TestClient, home: Home) -> None:
    page = client.get("/settings").text
    assert 'href="/settings/export.json"' in page and 'href="/settings/export.csv"' in page


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
