"""A loopback server speaking Supabase Auth (GoTrue)'s token wire format (password and refresh grants), for tests.

It stands in for ``https://<project>.supabase.co/auth/v1`` so the admin panel's own
sign-in code (static/api.js ``supabaseSignIn``) runs unchanged in a real browser:

- ``POST /auth/v1/token?grant_type=password`` with ``apikey`` and ``{"email", "password"}``:
  200 ``{"access_token", "token_type": "bearer", "expires_in", "expires_at",
  "refresh_token", "user"}``. The access token is an HS256 JWT signed with the
  project's JWT secret, with GoTrue's claims (``iss``, ``sub``, ``aud``
  "authenticated", ``exp``, ``iat``, ``email``, ``role`` "authenticated",
  ``app_metadata`` with the account's ``role``, ``aal``, ``amr``, ``session_id``).
- ``POST /auth/v1/token?grant_type=refresh_token`` with ``apikey`` and ``{"refresh_token"}``: a new
  session (same body as above) with a new refresh token; the old one is spent (rotation), though
  like GoTrue (``REFRESH_TOKEN_REUSE_INTERVAL``, 10 s) it still works for ``reuse_interval``
  seconds, for a page reloaded while its refresh was in flight. Spent longer ago: 400
  ``refresh_token_already_used``; an unknown or revoked one: 400
  ``refresh_token_not_found`` (GoTrue's codes and messages). ``revoke_sessions()`` forgets
  every refresh token, as signing a user out everywhere does.
- Signing: HS256 with the project's JWT secret (``signing="HS256"``, legacy projects) or ES256
  with an EC P-256 key (``signing="ES256"``, Supabase's "JWT Signing Keys"), its ``kid`` in the
  token header and its public key at ``GET /auth/v1/.well-known/jwks.json`` (an empty set for
  HS256 projects). ``rotate_signing_key()`` signs with a new key and publishes both.
- Wrong email or password: 400 with the body GoTrue sends for its ``invalid_credentials``
  error: ``{"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login
  credentials"}``; ``{"code": "invalid_credentials", "message": ...}`` when the request
  asks for ``X-Supabase-Api-Version: 2024-01-01``; ``error_format = "legacy"`` gives the
  older GoTrue body ``{"error": "invalid_grant", "error_description": ...}``.
- Missing or wrong ``apikey``: 401 as Supabase's API gateway answers
  (``{"message": "No API key found in request"}`` / ``{"message": "Invalid API key"}``).
- CORS like Supabase: preflights (``OPTIONS``) are answered, every answer carries
  ``Access-Control-Allow-Origin``; the panel is served from another origin.
- HTTPS with a self-signed certificate for 127.0.0.1 by default, because Supabase is
  https and the panel's Content-Security-Policy only lets ``fetch`` reach https origins.
  Browsers in tests ignore certificate errors; httpx can verify with ``stub.cert_path``.

Every request is recorded in ``stub.requests`` (method, path, origin, whether an apikey
came, status; never the password). ``expires_in`` sets the lifetime of the next tokens
(negative: already expired).

Use in tests: ``stub = GoTrueStub(jwt_secret).start()``, ``stub.add_user(email, password,
"admin")`` ... ``stub.stop()``; point SUPABASE_URL at ``stub.base_url``. Standalone:
``python -m pentagon.devtools.gotrue_stub`` (``GOTRUE_STUB_ADDR``, default 127.0.0.1:8011;
``SUPABASE_JWT_SECRET``, ``SUPABASE_ANON_KEY``; ``GOTRUE_STUB_USERS`` as
``email:password:role,...``; ``GOTRUE_STUB_TLS=0`` for plain HTTP).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from pentagon.devtools.embedded import free_port
from pentagon.devtools.threaded import ThreadedServer

INVALID_LOGIN = "Invalid login credentials"
API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024 = "2024-01-01"
CORS_ALLOW_HEADERS = "authorization, x-client-info, apikey, content-type, x-supabase-api-version"


@dataclass
class StubUser:
    email: str
    password: str
    role: str | None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = field(default_factory=lambda: _iso(time.time()))

    def app_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"provider": "email", "providers": ["email"]}
        if self.role is not None:
            meta["role"] = self.role
        return meta

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id, "aud": "authenticated", "role": "authenticated", "email": self.email,
            "email_confirmed_at": self.created_at, "phone": "", "confirmed_at": self.created_at,
            "last_sign_in_at": _iso(now), "app_metadata": self.app_metadata(), "user_metadata": {},
            "identities": [], "created_at": self.created_at, "updated_at": _iso(now), "is_anonymous": False,
        }


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_hs256(claims: dict[str, Any], secret: str) -> str:
    """A compact JWS, as GoTrue signs access tokens with a project's (legacy) JWT secret."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def _b64url_int(value: int, length: int) -> str:
    return _b64url(value.to_bytes(length, "big"))


@dataclass
class EcSigningKey:
    """An ES256 signing key as Supabase's JWT Signing Keys use: P-256, a kid, JWS raw r||s signatures."""

    kid: str
    private_key: Any

    @classmethod
    def generate(cls) -> "EcSigningKey":
        from cryptography.hazmat.primitives.asymmetric import ec

        return cls(str(uuid.uuid4()), ec.generate_private_key(ec.SECP256R1()))

    def sign(self, claims: dict[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        header = _b64url(json.dumps({"alg": "ES256", "kid": self.kid, "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode("ascii")
        r, s = decode_dss_signature(self.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return f"{header}.{payload}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def public_jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64url_int(numbers.x, 32), "y": _b64url_int(numbers.y, 32),
                "kid": self.kid, "alg": "ES256", "use": "sig", "key_ops": ["verify"], "ext": True}


def self_signed_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throwaway certificate for the loopback address (and localhost), valid one day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gotrue-stub")])
    now = dt.datetime.now(dt.timezone.utc)
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt_names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "gotrue-stub.crt", directory / "gotrue-stub.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class GoTrueStub:
    def __init__(self, jwt_secret: str, anon_key: str = "anon-test-key", host: str = "127.0.0.1",
                 port: int | None = None, tls: bool = True, signing: str = "HS256") -> None:
        if signing not in ("HS256", "ES256"):
            raise ValueError(f"unsupported signing {signing!r}")
        self.jwt_secret = jwt_secret
        self.signing = signing
        self.signing_keys: list[EcSigningKey] = [EcSigningKey.generate()] if signing == "ES256" else []
        self.anon_key = anon_key
        self.host = host
        self.port = port or free_port()
        self.tls = tls
        self.expires_in = 3600
        self.error_format = "current"  # or "legacy": the pre-2024 OAuth-style error body
        self.users: dict[str, StubUser] = {}
        self.refresh_tokens: dict[str, tuple[StubUser, float | None]] = {}  # token -> (user, spent at)
        self.reuse_interval = 10.0
        self.requests: list[dict[str, Any]] = []
        self.cert_path: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.app = self._build_app()
        self._server: ThreadedServer | None = None

    @property
    def base_url(self) -> str:
        """What SUPABASE_URL is set to (the project URL, without /auth/v1)."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def add_user(self, email: str, password: str, role: str | None = "admin") -> StubUser:
        user = StubUser(email=email.lower(), password=password, role=role)
        self.users[user.email] = user
        return user

    def access_token(self, user: StubUser, now: float, expires_in: int) -> str:
        iat = int(now)
        claims = {
            "iss": f"{self.base_url}/auth/v1", "sub": user.id, "aud": "authenticated", "exp": iat + expires_in,
            "iat": iat, "email": user.email, "phone": "", "app_metadata": user.app_metadata(),
            "user_metadata": {}, "role": "authenticated", "aal": "aal1",
            "amr": [{"method": "password", "timestamp": iat}], "session_id": str(uuid.uuid4()),
            "is_anonymous": False,
        }
        if self.signing == "ES256":
            return self.signing_keys[-1].sign(claims)
        return sign_hs256(claims, self.jwt_secret)

    def rotate_signing_key(self) -> None:
        """Sign with a new key from now on; the old one stays published (tokens it signed stay valid)."""
        self.signing_keys.append(EcSigningKey.generate())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.signing_keys]}

    def session_for(self, user: StubUser) -> dict[str, Any]:
        now = time.time()
        refresh_token = secrets.token_urlsafe(9)
        self.refresh_tokens[refresh_token] = (user, None)
        return {
            "access_token": self.access_token(user, now, self.expires_in), "token_type": "bearer",
            "expires_in": self.expires_in, "expires_at": int(now) + self.expires_in,
            "refresh_token": refresh_token, "user": user.as_json(now),
        }

    def revoke_sessions(self) -> None:
        self.refresh_tokens.clear()

    # ---------------------------------------------------------------- HTTP

    def _cors(self, request: Request, response: Response) -> Response:
        if request.headers.get("origin"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = API_VERSION_HEADER
        return response

    def _credentials_error(self, request: Request, code: str, message: str) -> JSONResponse:
        version = request.headers.get(API_VERSION_HEADER, "")
        if self.error_format == "legacy":
            return JSONResponse({"error": "invalid_grant", "error_description": message}, 400)
        if version >= API_VERSION_2024:
            return JSONResponse({"code": code, "message": message}, 400,
                                headers={API_VERSION_HEADER: API_VERSION_2024})
        return JSONResponse({"code": 400, "error_code": code, "msg": message}, 400)

    async def _grant(self, request: Request) -> Response:
        apikey = request.headers.get("apikey") or request.query_params.get("apikey")
        if not apikey:
            return JSONResponse({"message": "No API key found in request",
                                 "hint": "No `apikey` request header or url param was found."}, 401)
        if not hmac.compare_digest(apikey.encode(), self.anon_key.encode()):
            return JSONResponse({"message": "Invalid API key",
                                 "hint": "Double check your Supabase `anon` or `service_role` API key."}, 401)
        grant_type = request.query_params.get("grant_type")
        if grant_type not in ("password", "refresh_token"):
            return self._credentials_error(request, "validation_failed", "unsupported_grant_type")
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return JSONResponse({"code": 400, "error_code": "bad_json",
                                 "msg": f"Could not parse request body as JSON: {exc}"}, 400)
        if grant_type == "refresh_token":
            return self._refresh_grant(request, body)
        if not isinstance(body, dict) or not isinstance(body.get("email"), str) or not body["email"]:
            return self._credentials_error(request, "validation_failed", "missing email or phone")
        user = self.users.get(body["email"].strip().lower())
        password = body.get("password") if isinstance(body.get("password"), str) else ""
        if user is None or not hmac.compare_digest(password.encode(), user.password.encode()):
            return self._credentials_error(request, "invalid_credentials", INVALID_LOGIN)
        return JSONResponse(self.session_for(user))

    def _refresh_grant(self, request: Request, body: Any) -> Response:
        token = body.get("refresh_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return self._credentials_error(request, "validation_failed", "Refresh Token is missing")
        found = self.refresh_tokens.get(token)
        if found is None:
            return self._credentials_error(request, "refresh_token_not_found",
                                           "Invalid Refresh Token: Refresh Token Not Found")
        user, spent_at = found
        now = time.monotonic()
        if spent_at is not None and now - spent_at > self.reuse_interval:
            return self._credentials_error(request, "refresh_token_already_used",
                                           "Invalid Refresh Token: Already Used")
        self.refresh_tokens[token] = (user, spent_at if spent_at is not None else now)
        return JSONResponse(self.session_for(user))

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/auth/v1/health")
        async def health() -> dict[str, str]:
            return {"version": "stub", "name": "GoTrue", "description": "GoTrue is a user registration API"}

        @app.get("/auth/v1/.well-known/jwks.json")
        async def jwks(request: Request) -> Response:
            self._record(request, 200)
            return JSONResponse(self.jwks(), headers={"Cache-Control": "public, max-age=600"})

        @app.options("/auth/v1/{rest:path}")
        async def preflight(request: Request, rest: str) -> Response:
            self._record(request, 200)
            response = Response(status_code=200)
            response.headers["Access-Control-Allow-Methods"] = "GET,HEAD,PUT,PATCH,POST,DELETE"
            response.headers["Access-Control-Allow-Headers"] = (
                request.headers.get("access-control-request-headers") or CORS_ALLOW_HEADERS)
            response.headers["Access-Control-Max-Age"] = "3600"
            return self._cors(request, response)

        @app.post("/auth/v1/token")
        async def token(request: Request) -> Response:
            response = await self._grant(request)
            self._record(request, response.status_code)
            return self._cors(request, response)

        return app

    def _record(self, request: Request, status: int) -> None:
        self.requests.append({"method": request.method, "path": request.url.path,
                              "grant_type": request.query_params.get("grant_type"),
                              "origin": request.headers.get("origin"), "has_apikey": bool(request.headers.get("apikey")),
                              "request_headers": request.headers.get("access-control-request-headers"),
                              "status": status})

    # ---------------------------------------------------------------- lifecycle

    def _config(self) -> uvicorn.Config:
        ssl: dict[str, Any] = {}
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="gotrue-stub-")
            self.cert_path, key_path = self_signed_cert(Path(self._tmp.name), self.host)
            ssl = {"ssl_certfile": str(self.cert_path), "ssl_keyfile": str(key_path)}
        return uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", access_log=False,
                              lifespan="off", **ssl)

    def start(self) -> "GoTrueStub":
        self._server = ThreadedServer(self._config(), "gotrue-stub").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def _users_from_env(stub: GoTrueStub, raw: str) -> None:
    for item in filter(None, (part.strip() for part in raw.split(","))):
        email, _, rest = item.partition(":")
        password, _, role = rest.rpartition(":") if rest.count(":") else (rest, "", "admin")
        stub.add_user(email, password, role or None)


def main() -> None:
    host, _, port = os.environ.get("GOTRUE_STUB_ADDR", "127.0.0.1:8011").rpartition(":")
    stub = GoTrueStub(jwt_secret=os.environ.get("SUPABASE_JWT_SECRET", "super-secret-jwt-token-for-tests-only"),
                      anon_key=os.environ.get("SUPABASE_ANON_KEY", "anon-test-key"), host=host, port=int(port),
                      tls=os.environ.get("GOTRUE_STUB_TLS", "1") != "0")
    _users_from_env(stub, os.environ.get("GOTRUE_STUB_USERS", ""))
    config = stub._config()
    config.load()  # reads the certificate: its files can go now (uvicorn re-raises SIGTERM, no finally runs)
    if stub._tmp is not None:
        stub._tmp.cleanup()
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
