"""Settings, read from COINFLIP_* environment variables; runs locally with no .env at all."""

import os
import secrets
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "please-change-me", "xxx"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COINFLIP_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    public_url: str | None = None
    secret_key: str | None = None
    signup: Literal["open", "closed"] = "closed"
    timezone: str = "UTC"

    @field_validator("secret_key")
    @classmethod
    def refuse_placeholder(cls, value: str | None) -> str | None:
        if value is not None and (value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 16):
            raise ValueError("COINFLIP_SECRET_KEY must be a real secret of at least 16 characters")
        return value

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"COINFLIP_TIMEZONE: unknown time zone {value!r} (try e.g. Europe/Berlin)") from exc
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'coinflip.db'}"

    @cached_property
    def key(self) -> bytes:
        """The secret key: the configured one, else one generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            # Written aside and linked into place, so two workers starting at once agree on one key.
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f"secret_key.{secrets.token_hex(4)}")
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            with suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip().encode()
