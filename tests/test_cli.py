"""The `coinflip` command: migrate, households, members, tokens, sample history."""

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import cli, coin, security
from app.config import Settings
from app.main import create_app
from app.models import Flip, Household, LoginSession, Member
from tests import factories
from tests.conftest import Home, serving


def run(settings: Settings, monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> str | None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.run(argv, settings)


def test_household_member_and_token(
    app: FastAPI, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run(settings, monkeypatch, "household", "create", "Okafor", "--password-stdin", stdin="a fine password\n")
    assert out and "Created household 'Okafor'" in out
    household = db.exec(select(Household)).one()
    assert security.verify_secret("a fine password", household.password_hash)
    run(settings, monkeypatch, "member", "add", "--household", "okafor", "Obi")
    assert db.exec(select(Member.name)).all() == ["Obi"]
    token = run(settings, monkeypatch, "token", "create", "--household", "Okafor", "--member", "Obi")
    assert token and token.startswith("cf_")
    me = TestClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["member"] == "Obi"


def test_reset_password_logs_every_device_out(db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    household = factories.make_household(db, "Rivera")
    security.start_login(db, household.id or 0, "phone")
    db.commit()
    out = run(
        settings, monkeypatch, "household", "reset-password", "Rivera", "--password-stdin", stdin="new password 1\n"
    )
    assert out and "logged out" in out
    db.refresh(household)
    assert security.verify_secret("new password 1", household.password_hash)
    assert db.exec(select(LoginSession)).all() == []


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (("household", "create", "Rivera", "--password-stdin"), "long enough\n", "exists already"),
        (("household", "create", "New", "--password-stdin"), "short\n", "at least 8"),
        (("household", "create", "x" * 61, "--password-stdin"), "long enough\n", "1 to 60"),
        (("household", "create", "ﬃ" * 60, "--password-stdin"), "long enough\n", "shorter name"),
        (("household", "reset-password", "Nobody", "--password-stdin"), "long enough\n", "No household"),
        (("member", "add", "--household", "Nobody", "Ana"), "", "No household"),
        (("member", "add", "--household", "Rivera", "Ana"), "", "already"),
        (("token", "create", "--household", "Rivera", "--member", "Zed"), "", "no member named"),
    ],
)
def test_cli_errors_are_plain_sentences(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...], stdin: str, message: str
) -> None:
    factories.make_member(db, factories.make_household(db, "Rivera"), "Ana")
    with pytest.raises(cli.CliError, match=message):
        run(settings, monkeypatch, *argv, stdin=stdin)


def test_the_console_script_migrates_and_creates_a_household(tmp_path: Path) -> None:
    env = {"COINFLIP_DATA_DIR": str(tmp_path / "data"), "PATH": str(Path(sys.executable).parent)}
    coinflip = str(Path(sys.executable).parent / "coinflip")
    done = subprocess.run([coinflip, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "coinflip.db").exists() and (tmp_path / "data" / "secret_key").exists()
    args = [coinflip, "household", "create", "Home", "--password-stdin"]
    created = subprocess.run(args, env=env, input="a household secret\n", capture_output=True, text=True, timeout=60)
    assert created.returncode == 0 and "Created household 'Home'" in created.stdout
    again = subprocess.run(args, env=env, input="a household secret\n", capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and again.stderr.startswith("coinflip: ") and "Traceback" not in again.stderr


@pytest.mark.parametrize("public_url", [None, "https://home.example/coinflip"])
def test_healthcheck_asks_the_running_app(settings: Settings, public_url: str | None) -> None:
    config = settings.model_copy(update={"public_url": public_url, "host": "0.0.0.0"})  # noqa: S104
    with serving(create_app(config)) as url:
        out = cli.run(["healthcheck"], config.model_copy(update={"port": int(url.rsplit(":", 1)[1])}))
    assert out == f"{url}{config.root_path}/healthz: 200"


def test_healthcheck_fails_when_nothing_answers(settings: Settings) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    with pytest.raises(cli.CliError, match="did not answer"):
        cli.run(["healthcheck"], settings.model_copy(update={"port": free_port}))


def test_the_worker_socket_is_labelled_tcp_so_nagle_is_switched_off() -> None:
    import socket

    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # as uvicorn binds it for its workers: proto 0
    raw.bind(("127.0.0.1", 0))
    address = raw.getsockname()
    fixed = cli.tcp_socket(raw)
    try:
        assert fixed.proto == socket.IPPROTO_TCP and fixed.getsockname() == address and fixed.get_inheritable()
    finally:
        fixed.close()


def test_demo_fills_every_insight_with_sessions_drawn_by_the_coin(
    client: TestClient, db: Session, home: Home, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run(settings, monkeypatch, "demo", "--household", "Rivera", "--member", "Ana", "--days", "60", "--seed", "7")
    assert out and "Gave Ana 2 habits (Morning run (sample), Gym (sample))" in out
    habits = {h["name"]: h for h in client.get("/api/v1/habits").json()}
    assert (habits["Morning run (sample)"]["mode"], habits["Gym (sample)"]["mode"]) == ("all_or_nothing", "each")
    flips = client.get("/api/v1/flips?limit=200").json()
    assert 60 <= len(flips) <= 120 and str(len(flips)) + " sessions" in out
    days = {f["flipped_at"][:10] for f in flips}
    assert len(days) > 40 and max(days) < datetime.now(UTC).date().isoformat()  # back-dated, today left free
    for flip in flips:  # each sealed like any flip: its commitment matches its verdict
        text = coin.commitment_text(flip["coin"], ((e["name"], e["allowed"]) for e in flip["enhancers"]), flip["nonce"])
        assert coin.commitment(text) == flip["commitment"]
    reflections = [f["reflection"] for f in flips if f["reflection"]]
    assert {r["followed"] for r in reflections} == {"yes", "partly", "no"}
    assert len({r["effort"] for r in reflections}) > 3 and any(f["skipped"] for f in flips)
    for habit in habits.values():
        data = client.get(f"/api/v1/insights/habits/{habit['id']}").json()
        assert all(c["enjoyment"]["value"] is not None for c in data["comparisons"][:2])  # with and without
        assert data["bare_weeks"] and data["audit"]["looks_fair"] is not None
    assert "Weekly stacking load" in client.get("/insights").text
    assert client.get("/api/v1/pleasures?name=Coffee").json()
    today = client.get("/").text
    assert today.count("Flip<span") == 2  # both habits can be flipped today


def test_the_same_seed_gives_the_same_demo(
    client: TestClient, db: Session, home: Home, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.make_member(db, home.household, "Ben")
    for member in ("Ana", "Ben"):
        run(settings, monkeypatch, "demo", "--household", "Rivera", "--member", member, "--days", "20", "--seed", "3")
    flips = db.exec(select(Flip).order_by(col(Flip.id))).all()
    coins = {m: [(f.flipped_at, f.coin) for f in flips if f.member_id == m] for m in {f.member_id for f in flips}}
    first, second = coins.values()
    assert first == second and len(first) > 20
    with pytest.raises(cli.CliError, match="demo habits already"):
        run(settings, monkeypatch, "demo", "--household", "Rivera", "--member", "Ana", "--days", "5")
    with pytest.raises(cli.CliError, match="No household"):
        run(settings, monkeypatch, "demo", "--household", "Nobody", "--member", "Ana", "--days", "5")


def test_a_refused_import_exits_1_listing_every_problem_without_a_traceback(
    db: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    household = factories.make_household(db, "Rivera")
    factories.make_member(db, household, "Ana")
    factories.make_member(db, household, "Ben")
    exported = json.loads(cli.run(["export", "--household", "Rivera"], settings) or "")
    exported["members"][1]["name"] = "Ana"  # the database would refuse it half-way through
    exported["household"]["password_hash"] = "hunter22"  # every login would fail with an error
    path = tmp_path / "rivera.json"
    path.write_text(json.dumps(exported))
    environment = {
        "DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.db_url,
        "SECRET_KEY": settings.secret_key or "",
    }
    for key, value in environment.items():
        monkeypatch.setenv(f"COINFLIP_{key}", value)
    monkeypatch.setenv("COINFLIP_BACKUP_KEEP", "0")
    assert cli.main(["import", str(path), "--name", "Copy"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"coinflip: {path}: Nothing was imported: 2 problems.") and "Traceback" not in err
    assert "\n  household.password_hash: This is not an Argon2 hash" in err
    assert "\n  members[1].name: 'Ana' is the name of members[0] too." in err
    db.commit()
    assert db.exec(select(Household).where(Household.name == "Copy")).first() is None


def test_the_image_health_check_is_light_and_says_when_nothing_answers(settings: Settings) -> None:
    """Docker runs it every 30 s: it must not load the app's database or web stack (a second of CPU each time)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    probe = "import runpy, sys; runpy.run_module('app.healthcheck', run_name='__main__')"
    env = {**os.environ, "COINFLIP_DATA_DIR": str(settings.data_dir), "COINFLIP_PORT": str(free_port)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "did not answer" in done.stderr and "Traceback" not in done.stderr
    heavy = "('sqlalchemy', 'fastapi', 'app.cli')"
    loaded = f"import app.healthcheck, sys; print(sorted(m for m in {heavy} if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", loaded], capture_output=True, text=True, timeout=60).stdout == "[]\n"


ROOT = Path(__file__).resolve().parent.parent
EVERY = "0.0.0.0"  # noqa: S104 (every address, as `make run HOST=0.0.0.0` asks)


@pytest.mark.parametrize(
    ("host", "lan", "container", "allowed", "says"),
    [
        ("127.0.0.1", None, False, "", ["Open http://127.0.0.1:8000 in a browser on this computer.", "HOST=0.0.0.0"]),
        (EVERY, "192.168.1.23", False, "", ["Open http://192.168.1.23:8000 on a phone on the same Wi-Fi"]),
        (EVERY, None, False, "", ["Open http://<this computer's address>:8000 on a phone"]),
        (EVERY, "192.168.1.23", True, "", ["<this server's address>:<the port published for 8000>"]),
        ("::1", None, False, "", ["Open http://[::1]:8000 in a browser"]),
        (EVERY, "192.168.1.23", False, "nas.local", ["doesn't name 192.168.1.23: pages opened by that address"]),
        (EVERY, "192.168.1.23", False, "nas.local, 192.168.1.23", ["http://192.168.1.23:8000"]),
    ],
)
def test_serve_says_which_address_to_open(
    settings: Settings, host: str, lan: str | None, container: bool, allowed: str, says: list[str]
) -> None:
    config = settings.model_copy(update={"allowed_hosts": allowed})
    message = cli.start_message(config, host, 8000, lan=lan, container=container, new_instance=False)
    assert all(words in message for words in says), message
    assert ("doesn't name" in message) == (allowed == "nas.local")
    assert "household" not in message


def test_serve_says_the_first_page_sets_up_a_household_until_one_exists(db: Session, settings: Settings) -> None:
    def message() -> str:
        new = cli.is_new_instance(settings)
        return cli.start_message(settings, "127.0.0.1", 8000, lan=None, container=False, new_instance=new)

    assert "the first page you open sets one up" in message()
    factories.make_household(db, "Rivera")
    assert "household" not in message()


def test_a_public_url_is_the_address_to_open(settings: Settings) -> None:
    config = settings.model_copy(update={"public_url": "https://home.example/coinflip"})
    message = cli.start_message(config, EVERY, 8000, lan="192.168.1.23", container=False, new_instance=False)
    assert message.startswith("Open https://home.example/coinflip ") and "192.168" not in message


def listen_command(env: dict[str, str], *make_args: str) -> str:
    """The command `make run` would run (make -n: nothing is run)."""
    done = subprocess.run(["make", "-n", "run", *make_args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stdout.splitlines() if "coinflip serve" in line).strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_leaves_the_address_to_coinflip_serve_unless_told_on_its_command_line() -> None:
    env = {"PATH": os.environ["PATH"], "COINFLIP_HOST": EVERY, "COINFLIP_PORT": "8080"}
    assert listen_command(env) == ".venv/bin/coinflip serve"  # so COINFLIP_HOST and COINFLIP_PORT apply
    assert listen_command(env | {"HOST": "somewhere", "PORT": "1"}) == ".venv/bin/coinflip serve"
    assert listen_command(env, "HOST=0.0.0.0", "PORT=9000") == ".venv/bin/coinflip serve --host 0.0.0.0 --port 9000"


def started(process: subprocess.Popen[str]) -> str:
    """What the server wrote until it was up (uvicorn's log goes to stderr)."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "Application startup complete" in line:
            return "".join(lines)
    raise AssertionError("".join(lines))


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_make_run_prints_where_to_open_it_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    """As in a terminal: Ctrl-C signals make and coinflip alike (the whole process group)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"PATH": os.environ["PATH"], "COINFLIP_DATA_DIR": str(tmp_path), "COINFLIP_PORT": str(port)}
    # -o: the .venv as it is (tests run from it), not brought up to date first.
    command = ["make", "--no-print-directory", "-o", ".venv/bin/.installed-runtime", "run"]
    make = subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    try:
        log = started(make)
        os.killpg(make.pid, stop)
        out, err = make.communicate(timeout=30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    assert f"Open http://127.0.0.1:{port} in a browser on this computer." in out
    assert "Nobody has set up a household yet: the first page you open sets one up." in out
    assert "Application shutdown complete" in err and "Traceback" not in err and "***" not in err, log + err


def test_coinflip_serve_exits_0_when_stopped(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"PATH": os.environ["PATH"], "COINFLIP_DATA_DIR": str(tmp_path), "COINFLIP_PORT": str(port)}
    coinflip = str(Path(sys.executable).parent / "coinflip")
    server = subprocess.Popen([coinflip, "serve"], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        started(server)
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0 and "Traceback" not in err
