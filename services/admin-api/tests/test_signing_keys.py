"""Supabase projects on asymmetric "JWT Signing Keys": the real admin-api process verifies ES256
tokens with the public keys it fetches from the project's JWKS, with no shared secret configured.

Supabase Auth is the GoTrue loopback stub (https, its own certificate trusted through SSL_CERT_FILE).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pentagon.devtools.embedded import free_port
from pentagon.devtools.gotrue_stub import EcSigningKey, GoTrueStub

ANON_KEY = "anon-signing-keys-test"


@pytest.fixture
def stub() -> Iterator[GoTrueStub]:
    server = GoTrueStub("unused-legacy-secret", ANON_KEY, signing="ES256").start()
    server.add_user("ana@cafe.test", "pass-1", "admin")
    server.add_user("vic@cafe.test", "pass-2", "viewer")
    server.add_user("nobody@cafe.test", "pass-3", None)
    try:
        yield server
    finally:
        server.stop()


def start_admin(services: Any, db_url: str, nats_url: str, stub: GoTrueStub, **env: str) -> str:
    port = free_port()
    assert stub.cert_path is not None
    services.start("pentagon.admin", {"NATS_URL": nats_url, "DATABASE_URL": db_url, "ADMIN_TOKENS": "",
                                      "ADMIN_API_ADDR": f"127.0.0.1:{port}", "SUPABASE_URL": stub.base_url,
                                      "SUPABASE_ANON_KEY": ANON_KEY, "SSL_CERT_FILE": str(stub.cert_path),
                                      "SUPABASE_JWT_SECRET": "", **env},
                   ready_url=f"http://127.0.0.1:{port}/readyz")
    return f"http://127.0.0.1:{port}"


def sign_in(stub: GoTrueStub, email: str, password: str) -> str:
    response = httpx.post(f"{stub.base_url}/auth/v1/token", params={"grant_type": "password"},
                          json={"email": email, "password": password}, headers={"apikey": ANON_KEY},
                          verify=str(stub.cert_path), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def me(base: str, token: str) -> httpx.Response:
    return httpx.get(f"{base}/admin/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def claims(email: str = "eve@cafe.test", role: str = "admin") -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "u-1", "aud": "authenticated", "exp": now + 600, "iat": now, "email": email,
            "app_metadata": {"role": role}, "role": "authenticated"}


def jwks_fetches(stub: GoTrueStub) -> int:
    return sum(1 for r in stub.requests if r["path"].endswith("/jwks.json"))


def test_es256_tokens_are_verified_with_the_projects_public_keys(services, db_url, nats_url, stub) -> None:
    base = start_admin(services, db_url, nats_url, stub)
    # The panel is offered Supabase sign-in with no JWT secret configured.
    assert httpx.get(f"{base}/admin/config").json()["supabase_url"] == stub.base_url

    admin_token = sign_in(stub, "ana@cafe.test", "pass-1")
    assert jwt.get_unverified_header(admin_token)["alg"] == "ES256"
    assert me(base, admin_token).json()["user"] == {"name": "ana@cafe.test", "role": "admin"}
    assert me(base, sign_in(stub, "vic@cafe.test", "pass-2")).json()["user"]["role"] == "viewer"
    no_role = me(base, sign_in(stub, "nobody@cafe.test", "pass-3"))
    assert no_role.status_code == 403

    # Forged: the project's key id, signed with someone else's key.
    impostor = EcSigningKey(stub.signing_keys[0].kid, ec.generate_private_key(ec.SECP256R1()))
    assert me(base, impostor.sign(claims())).status_code == 401
    # Algorithm confusion: HS256 "signed" with the public key's JSON, or with the anon key.
    public = str(stub.jwks()["keys"][0])
    for secret in (public, ANON_KEY):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)  # short on purpose: an attacker's key
            forged = jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": stub.signing_keys[0].kid})
        assert me(base, forged).status_code == 401
    # Unsigned, and expired.
    assert me(base, jwt.encode(claims(), None, algorithm="none")).status_code == 401
    expired = claims() | {"exp": int(time.time()) - 120}
    assert me(base, stub.signing_keys[0].sign(expired)).status_code == 401


def test_a_rotated_key_is_picked_up_and_unknown_key_ids_do_not_hammer_supabase(
        services, db_url, nats_url, stub) -> None:
    base = start_admin(services, db_url, nats_url, stub, SUPABASE_JWKS_REFETCH_S="0")
    before = sign_in(stub, "ana@cafe.test", "pass-1")
    assert me(base, before).status_code == 200

    stub.rotate_signing_key()
    after = sign_in(stub, "ana@cafe.test", "pass-1")
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    assert me(base, after).status_code == 200  # unknown kid: the keys were fetched again
    assert me(base, before).status_code == 200  # the previous key is still published


def test_unknown_key_ids_refetch_at_most_once_per_interval(services, db_url, nats_url, stub) -> None:
    # Twenty refused tokens from one address: above the sign-in throttle's burst, which is not the point here.
    base = start_admin(services, db_url, nats_url, stub, SUPABASE_JWKS_REFETCH_S="3600", ADMIN_AUTH_FAILURES_BURST="100")
    assert me(base, sign_in(stub, "ana@cafe.test", "pass-1")).status_code == 200
    fetched = jwks_fetches(stub)
    for _ in range(20):
        stranger = EcSigningKey.generate()  # a new key id every time
        assert me(base, stranger.sign(claims())).status_code == 401
    assert jwks_fetches(stub) == fetched
