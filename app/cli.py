"""The `coinflip` command: serve, migrate, and household, member and token administration."""

import argparse
import random
import secrets
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from alembic import command
from alembic.config import Config
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine, text
from sqlmodel import Session

from app import archive, backup, households, security, tokens
from app import healthcheck as app_health
from app.config import Settings
from app.db import make_engine, open_session
from app.demo import DemoError, add_demo
from app.headers import host_name
from app.models import NAME_MAX, ApiToken, Household, HouseholdName, Member, login_name

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x636F696E  # "coin": the advisory lock that serialises migrations on PostgreSQL


class CliError(Exception):
    """A problem the person at the terminal can fix; printed without a traceback."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(settings: Settings) -> None:
    """Bring the schema up to date, and make sure the data folder has its secret key.

    Migrations run on a connection of the app's own engine (so a new SQLite file starts in WAL mode); on
    PostgreSQL an advisory lock makes containers that start together migrate one after the other.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = alembic_config(settings.db_url)
    engine = make_engine(settings.db_url)
    with engine.connect() as connection:
        locked = not settings.is_sqlite
        if locked:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
        else:
            # SQLite changes a column by rebuilding its table (copy, drop, rename). With foreign keys on, the
            # drop would cascade-delete every row that refers to the table. The pragma only takes effect
            # outside a transaction, so it goes to the driver's connection before SQLAlchemy begins one.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            config.attributes["connection"] = connection
            config.attributes["timezone"] = settings.timezone  # for households that predate time zones
            command.upgrade(config, "head")
            connection.commit()
            if not locked:
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                connection.commit()
                if problems:
                    raise CliError(f"The migration left rows that refer to nothing: {problems[:5]}")
        finally:
            if locked:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()
            else:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
    engine.dispose()
    assert settings.key


def read_password() -> str:
    password = sys.stdin.readline().rstrip("\n").strip()
    problem = security.password_problem(password)
    if problem:
        raise CliError(problem)
    return password


def find_household(db: Session, name: str) -> Household:
    household = households.named(db, name)
    if household is None:
        raise CliError(f"No household named {name!r}.")
    return household


def find_member(db: Session, household: Household, name: str) -> Member:
    member = households.member_named(db, household.id, name)
    if member is None:
        raise CliError(f"{household.name} has no member named {name!r}.")
    return member


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise CliError(f"Names are 1 to {NAME_MAX} characters long.")
    return name


def household_create(engine: Engine, name: str) -> str:
    name = check_name(name)
    try:
        TypeAdapter(HouseholdName).validate_python(name)
    except ValidationError as exc:
        raise CliError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    password = read_password()
    with open_session(engine) as db:
        if households.named(db, name) is not None:
            raise CliError(f"A household named {name!r} exists already.")
        db.add(Household(name=name, login=login_name(name), password_hash=security.hash_secret(password)))
        db.commit()
    return f"Created household {name!r}. Add its members with: coinflip member add --household {name!r} NAME"


def household_reset_password(engine: Engine, name: str) -> str:
    password = read_password()
    with open_session(engine) as db:
        # Whoever knew the old password is out: every device logged out, every API token revoked.
        households.set_password(db, find_household(db, name), security.hash_secret(password))
    return f"New password set for {name!r}; every device has been logged out and every API token revoked."


def member_add(engine: Engine, household_name: str, member_name: str) -> str:
    member_name = check_name(member_name)
    with open_session(engine) as db:
        household = find_household(db, household_name)
        if households.member_named(db, household.id, member_name):
            raise CliError(f"{household.name} has a member named {member_name!r} already.")
        assert household.id is not None
        db.add(Member(household_id=household.id, name=member_name))
        db.commit()
    return f"Added {member_name!r} to {household_name!r}."


def token_create(engine: Engine, household_name: str, member_name: str, name: str) -> str:
    with open_session(engine) as db:
        member = find_member(db, find_household(db, household_name), member_name)
        token = tokens.create(db, member, check_name(name))
        db.commit()
    return token


def token_list(engine: Engine, household_name: str) -> str:
    with open_session(engine, write=False) as db:
        found = tokens.of_household(db, find_household(db, household_name).id)
    if not found:
        return f"{household_name!r} has no API tokens."
    lines = ["ID\tMEMBER\tNAME\tCREATED\tLAST USED"]
    for token, member in found:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never"
        lines.append(f"{token.id}\t{member.name}\t{token.name}\t{token.created_at:%Y-%m-%d %H:%M} UTC\t{used}")
    return "\n".join(lines)


def token_revoke(engine: Engine, token_id: int) -> str:
    with open_session(engine) as db:
        token = db.get(ApiToken, token_id)
        if token is None:
            raise CliError(f"No API token with id {token_id}: see `coinflip token list --household NAME`.")
        db.delete(token)
        db.commit()
    return f"Revoked API token {token_id} ({token.name!r}): scripts using it get 401 from now on."


def demo(engine: Engine, household_name: str, member_name: str, days: int, seed: int | None) -> str:
    """Sample history for a member, drawn by the real coin (seeded: the same seed gives the same history)."""
    # Seeded on request only: sample data, never a real flip.
    rng: random.Random = random.Random(seed) if seed is not None else secrets.SystemRandom()  # noqa: S311
    with open_session(engine) as db:
        household = find_household(db, household_name)
        member = households.member_named(db, household.id, member_name)
        if member is None:
            member = Member(household_id=household.id or 0, name=check_name(member_name))
            db.add(member)
            db.flush()
        zone = ZoneInfo(household.timezone)
        try:
            made, summary = add_demo(db, member, zone, days, rng, datetime.now(zone).date())
        except DemoError as exc:
            raise CliError(str(exc)) from exc
        db.commit()
    return (
        f"Gave {member.name} {len(made)} habits ({', '.join(h.name for h in made)}) and {summary.sessions} sessions "
        f"over {days} days: {summary.reflected} reflected, {summary.skipped} skipped; "
        f"{summary.pleasure_checks} pleasure checks."
    )


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
EVERY_ADDRESS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (what a person asks for to reach it from a phone)


def in_container() -> bool:
    return Path("/.dockerenv").exists()


def lan_address() -> str | None:
    """This computer's address on its network (where its default route leaves from), or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # A UDP "connect" sends nothing: the kernel only picks the route to this address (TEST-NET-1).
            probe.connect(("192.0.2.1", 9))
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def web_address(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def start_message(
    settings: Settings, host: str, port: int, *, lan: str | None, container: bool, new_instance: bool
) -> str:
    """What `coinflip serve` says before it starts: the address to open, and on an empty instance what the first
    page does. `lan` is this computer's address on its network, if known."""
    shown: list[str] = []  # the hosts named, each checked against COINFLIP_ALLOWED_HOSTS below
    if settings.public_url:
        lines = [f"Open {settings.public_url} (COINFLIP_PUBLIC_URL, through your proxy)."]
    elif container and host in EVERY_ADDRESS:
        lines = [f"Open http://<this server's address>:<the port published for {port}> on a phone or computer."]
    elif host in EVERY_ADDRESS:
        phone = web_address(lan, port) if lan else f"http://<this computer's address>:{port}"
        lines = [f"Open {phone} on a phone on the same Wi-Fi, or {web_address('127.0.0.1', port)} on this computer."]
        shown = [lan] if lan else []
    elif host in LOOPBACK:
        lines = [
            f"Open {web_address(host, port)} in a browser on this computer.",
            "Only this computer can reach it. To open it on a phone on the same Wi-Fi, listen on every address:",
            '`make run HOST=0.0.0.0`, or COINFLIP_HOST=0.0.0.0 (see README.md, "On your phone").',
        ]
        shown = [host]
    else:
        lines = [f"Open {web_address(host, port)}."]
        shown = [host]
    served = settings.host_names
    for name in shown:
        if served is not None and host_name(name) not in served:
            lines.append(f"COINFLIP_ALLOWED_HOSTS doesn't name {name}: pages opened by that address answer 400.")
    if new_instance:
        lines.append("Nobody has set up a household yet: the first page you open sets one up.")
    return "\n".join(lines)


def is_new_instance(settings: Settings) -> bool:
    engine = make_engine(settings.db_url)
    try:
        with open_session(engine, write=False) as db:
            return not households.has_households(db)
    finally:
        engine.dispose()


def stop(number: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@contextmanager
def stopped_quietly() -> Iterator[None]:
    """Ctrl-C or SIGTERM stop the server cleanly. uvicorn shuts down gracefully, then raises the signal again
    for the handler it found: this one, which exits with status 0, not with a KeyboardInterrupt's traceback or
    a death by the signal that `make run` would report as an error. Before uvicorn takes the signals over (it
    is still starting), the same handler simply stops."""
    before = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def serve(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    migrate(settings)
    host, port = host or settings.host, port or settings.port
    new = is_new_instance(settings)
    print(start_message(settings, host, port, lan=lan_address(), container=in_container(), new_instance=new))
    print("Stop it with Ctrl-C.", flush=True)
    # Proxy headers are handled inside the app, trusted only from COINFLIP_FORWARDED_ALLOW_IPS.
    with stopped_quietly():
        run_server("app.main:create_app", factory=True, host=host, port=port, workers=workers or settings.workers)


def tcp_socket(sock: socket.socket) -> socket.socket:
    """The listening socket again, labelled IPPROTO_TCP. uvicorn binds it for its workers with protocol 0, and
    asyncio then leaves Nagle's algorithm on for every connection: each keep-alive response waits ~40 ms for
    the client's delayed ACK (uvicorn issue 3149)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.set_inheritable(True)
    return fixed


def run_server(target: str, *, factory: bool, host: str, port: int, workers: int, access_log: bool = True) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    # The app has no WebSocket routes. ws="none" keeps uvicorn from loading the websockets package that
    # uvicorn[standard] brings (~20 ms of start-up) and serves an Upgrade request as plain HTTP, as before it
    # came; uvicorn's warning about "no supported WebSocket library" on such a request means just that.
    # httptools parses HTTP (+10-15 % page views over h11). The loop stays asyncio's: under uvloop, with 50
    # connections, a few requests waited 1.3-1.4 s (p99) while the rest were served; asyncio's p99 was ~140 ms
    # at the same throughput (bench/README.md, issue 14).
    config = uvicorn.Config(target, factory=factory, host=host, port=port, workers=workers, proxy_headers=False,
                            server_header=False, access_log=access_log, ws="none", loop="asyncio",
                            http="httptools")  # fmt: skip
    if config.workers > 1:
        Multiprocess(config, sockets=[tcp_socket(config.bind_socket())]).run()
    else:
        uvicorn.Server(config).run()


def healthcheck(settings: Settings) -> str:
    """Ask the running app's /healthz (app.healthcheck, which the image's HEALTHCHECK runs on its own)."""
    try:
        return app_health.check(settings)
    except app_health.Unhealthy as exc:
        raise CliError(str(exc)) from exc


def export(engine: Engine, household_name: str) -> str:
    with open_session(engine, write=False) as db:
        data = archive.export_household(db, find_household(db, household_name), secrets=True)
    return data.model_dump_json(indent=2)


def import_file(engine: Engine, path: str, name: str | None, timezone: str, allow_unsealed: bool = False) -> str:
    """Import an export file (or `-`, standard input) as a new household: all of it, or nothing."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"{path} can't be read: {exc}") from exc
    # Hashed before the import takes the write lock; used if the file has no password (an export from the API).
    spare_hash = security.hash_secret(secrets.token_urlsafe(24))
    with open_session(engine) as db:
        try:
            household, data = archive.import_household(
                db, raw, name=name, spare_password_hash=spare_hash, timezone=timezone, allow_unsealed=allow_unsealed
            )
        except archive.ArchiveError as exc:
            raise CliError(f"{path}: {exc}") from exc
    name = household.name
    note = f" It had no password: set one with `coinflip household reset-password {name!r} --password-stdin`."
    note = note if data.household.password_hash is None else ""
    return f"Imported household {name!r}: {len(data.members)} members, {len(data.flips)} flips.{note}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coinflip", description="Flip a coin before the effort.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="migrate the database, then run the web app")
    s.add_argument("--host", help="default: COINFLIP_HOST or 127.0.0.1")
    s.add_argument("--port", type=int, help="default: COINFLIP_PORT or 8000")
    s.add_argument("--workers", type=int, help="default: COINFLIP_WORKERS or 1")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("healthcheck", help="exit 0 when the running app answers /healthz")
    h = sub.add_parser("household", help="create households, reset their passwords").add_subparsers(
        dest="action", required=True
    )
    for action in ("create", "reset-password"):
        a = h.add_parser(action)
        a.add_argument("name")
        a.add_argument("--password-stdin", action="store_true", required=True, help="read the password from stdin")
    m = sub.add_parser("member", help="add members").add_subparsers(dest="action", required=True)
    add = m.add_parser("add")
    add.add_argument("--household", required=True)
    add.add_argument("member")
    t = sub.add_parser("token", help="create, list and revoke API tokens").add_subparsers(dest="action", required=True)
    tc = t.add_parser("create", help="print a new bearer token for a member")
    tc.add_argument("--household", required=True)
    tc.add_argument("--member", required=True)
    tc.add_argument("--name", default=tokens.DEFAULT_NAME)
    tl = t.add_parser("list", help="every token of a household, with when it was last used")
    tl.add_argument("--household", required=True)
    tr = t.add_parser("revoke", help="revoke a token by its id")
    tr.add_argument("id", type=int)
    b = sub.add_parser("backup", help="write a consistent copy of the SQLite database to PATH")
    b.add_argument("path", type=Path)
    e = sub.add_parser("export", help="print everything of one household as JSON")
    e.add_argument("--household", required=True)
    i = sub.add_parser("import", help="restore an export as a new household")
    i.add_argument("file", help="an export file, or - to read standard input")
    i.add_argument("--name", help="import under this household name instead")
    i.add_argument(
        "--allow-unsealed", action="store_true", help="take flips from before seals existed (your own old exports)"
    )
    d = sub.add_parser("demo", help="give a member sample history: habits and N days of sessions by the real coin")
    d.add_argument("--household", required=True)
    d.add_argument("--member", required=True, help="added to the household if it has no member of that name")
    d.add_argument("--days", type=int, required=True)
    d.add_argument("--seed", type=int, help="the same seed gives the same history")
    return p


def run(argv: Sequence[str], settings: Settings) -> str | None:
    args = parser().parse_args(argv)
    if args.command == "serve":
        serve(settings, args.host, args.port, args.workers)
        return None
    if args.command == "healthcheck":
        return healthcheck(settings)
    if args.command == "backup":
        try:
            return f"Backed up to {backup.backup_to(settings, args.path)}"
        except backup.BackupError as exc:
            raise CliError(str(exc)) from exc
    migrate(settings)
    if args.command == "migrate":
        return "The database is up to date."
    engine = make_engine(settings.db_url)
    try:
        if args.command == "household" and args.action == "create":
            return household_create(engine, args.name)
        if args.command == "household":
            return household_reset_password(engine, args.name)
        if args.command == "member":
            return member_add(engine, args.household, args.member)
        if args.command == "export":
            return export(engine, args.household)
        if args.command == "import":
            return import_file(engine, args.file, args.name, settings.timezone, args.allow_unsealed)
        if args.command == "demo":
            return demo(engine, args.household, args.member, args.days, args.seed)
        if args.action == "list":
            return token_list(engine, args.household)
        if args.action == "revoke":
            return token_revoke(engine, args.id)
        return token_create(engine, args.household, args.member, args.name)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        output = run(sys.argv[1:] if argv is None else argv, Settings())
    except CliError as exc:
        print(f"coinflip: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # a COINFLIP_* variable with a value that cannot work
        print(f"coinflip: configuration: {exc}", file=sys.stderr)
        return 2
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
