"""schemathesis against the OpenAPI of the in-process app: every operation, with the credentials it needs
(HTTP Basic app id:secret, the admin's console cookie, a shopper's Bearer token), in positive and negative
modes. Checks: no 5xx, and the documented status codes, content types, headers and response schemas."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shopcall.app import create_app
from tests.fuzz.conftest import COOKIE, PASSWORD, FuzzTenant, fuzz_settings, make_tenant

MAX_EXAMPLES = 25  # per operation and mode; the whole module runs in about a minute on 2 cores

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

# Operations after which the admin's session may be gone (sign out, own password, admin actions on agents):
# the fixture signs in again so later cases stay authenticated.
SESSION_CHANGING = ("/v1/console/logout", "/v1/console/password", "/v1/console/admin/agents/")


def sign_in(t: FuzzTenant) -> None:
    t.seed_admin()
    with asgi.get_client(t.app) as c:
        r = c.post("/v1/console/login", json={"app_id": t.app_id, "login": "anna", "password": PASSWORD})
        assert r.status_code == 200, r.text
        t.cookie = r.cookies[COOKIE]


def _load_schema() -> Any:
    """The documented schema, read from a throwaway app at collection (`schemathesis.pytest.from_fixture`
    fails on pytest 9: `Function._nodeid`); the cases are sent to the fixture's app (`app=`)."""
    with tempfile.TemporaryDirectory(prefix="shopcall-fuzz-") as d:
        app = create_app(fuzz_settings(Path(d) / "data"))
        with asgi.get_client(app) as c:
            document = c.get("/openapi.json").json()
        asgi.shutdown_lifespans()
    return schemathesis.openapi.from_dict(document)


schema = _load_schema()


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory, cheap_hashing: None) -> Iterator[FuzzTenant]:
    app = create_app(fuzz_settings(tmp_path_factory.mktemp("api-fuzz") / "data"))
    with asgi.get_client(app):  # starts the app's lifespan (stopped below)
        t = make_tenant(app)
        sign_in(t)
    yield t
    asgi.shutdown_lifespans()


def credentials(case: Any, t: FuzzTenant) -> dict[str, Any]:
    security = [name for req in case.operation.definition.raw.get("security", []) for name in req]
    path: str = case.path
    if "HTTPBasic" in security:
        return {"auth": (t.app_id, t.secret)}
    if "HTTPBearer" in security:
        return {"headers": {"Authorization": f"Bearer {t.shopper_token}"}}
    if path.startswith("/v1/console/") and path != "/v1/console/login":
        return {"cookies": {COOKIE: t.cookie}}
    return {}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_openapi(case: Any, tenant: FuzzTenant) -> None:
    kwargs = credentials(case, tenant)
    response = case.call(app=tenant.app, **kwargs)
    try:
        case.validate_response(response, checks=CHECKS)
    finally:
        if case.path == "/v1/app/secret" and response.status_code == 200:
            tenant.secret = response.json()["secret"]  # rotated: keep fuzzing with the new secret
        if case.path.startswith(SESSION_CHANGING) and response.status_code < 300:
            sign_in(tenant)
