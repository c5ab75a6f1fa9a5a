"""Settings, read from COINFLIP_* environment variables; runs locally with no .env at all."""

import os
import secrets
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from app.headers import host_name

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "please-change-me", "xxx"}


class FileValues(PydanticBaseSettingsSource):
    """COINFLIP_X_FILE=/run/secrets/x sets COINFLIP_X to that file's contents (Docker secrets)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            path = os.environ.get(f"COINFLIP_{name.upper()}_FILE")
            if path:
                values[name] = Path(path).read_text().strip()
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COINFLIP_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    public_url: str | None = None
    # Host names served besides the public URL's (comma-separated; "*": any). See host_names.
    allowed_hosts: str = ""
    secret_key: str | None = None
    signup: Literal["open", "closed"] = "closed"
    timezone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1, le=32)
    # Proxy headers (X-Forwarded-Proto, -For) are believed only from these addresses.
    forwarded_allow_ips: str = "127.0.0.1"
    # Daily automatic backups of the SQLite database into data_dir/backups; how many to keep (0: none).
    backup_keep: int = Field(default=7, ge=0, le=365)
    # Whether this process sends the reminders that are due (every worker and replica may: each goes out once).
    send_reminders: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, FileValues(settings_cls), dotenv_settings, file_secret_settings

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

    @field_validator("allowed_hosts")
    @classmethod
    def plain_host_names(cls, value: str) -> str:
        for entry in value.split(","):
            if "/" in entry or ("*" in entry and entry.strip() != "*"):
                raise ValueError(f"COINFLIP_ALLOWED_HOSTS: {entry.strip()!r} is not a host name (e.g. nas.local)")
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'coinflip.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def root_path(self) -> str:
        """The sub-path the app is served under, from COINFLIP_PUBLIC_URL ("" at the root)."""
        return urlsplit(self.public_url).path.rstrip("/") if self.public_url else ""

    @property
    def host_names(self) -> frozenset[str] | None:
        """The host names served, or None for any: with neither COINFLIP_PUBLIC_URL nor COINFLIP_ALLOWED_HOSTS the
        app is reached on a LAN by whatever address the server has, and it never writes that address anywhere."""
        names = {host_name(entry) for entry in self.allowed_hosts.split(",") if entry.strip()}
        if self.public_url:
            names.add(host_name(urlsplit(self.public_url).netloc))
        return None if not names or "*" in names else frozenset(names)

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
