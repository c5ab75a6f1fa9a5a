"""Configuration from COINFLIP_* variables, and from *_FILE paths (Docker secrets)."""

from pathlib import Path

import pytest

from app.config import Settings


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.data_dir == Path("data") and settings.signup == "closed" and settings.root_path == ""
    assert settings.db_url == "sqlite:///data/coinflip.db"


def test_a_file_can_hold_any_value(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("a-secret-from-a-docker-secret\n")
    (tmp_path / "url").write_text("postgresql+psycopg://coinflip:pw@db/coinflip")
    monkeypatch.setenv("COINFLIP_SECRET_KEY_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("COINFLIP_DATABASE_URL_FILE", str(tmp_path / "url"))
    settings = Settings()
    assert settings.secret_key == "a-secret-from-a-docker-secret"
    assert settings.db_url == "postgresql+psycopg://coinflip:pw@db/coinflip" and not settings.is_sqlite


def test_the_variable_itself_wins_over_its_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "signup").write_text("closed")
    monkeypatch.setenv("COINFLIP_SIGNUP_FILE", str(tmp_path / "signup"))
    monkeypatch.setenv("COINFLIP_SIGNUP", "open")
    assert Settings().signup == "open"


def test_the_generated_secret_key_is_kept_in_the_data_folder(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path).key == first and len(first) >= 32


def test_the_public_url_gives_the_sub_path() -> None:
    assert Settings(public_url="https://home.example/coinflip/").root_path == "/coinflip"
    assert Settings(public_url="https://coinflip.home.example").root_path == ""
