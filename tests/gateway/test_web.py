"""The box's HTTP edges: hostile JSON envelopes are a 400, and every page carries its security headers."""
from __future__ import annotations

from typing import Any

from gateway.openapi_routes import DOCUMENT
from gateway.settings import GatewaySettings
from gateway.shell import shell_files
from tests.cloud.test_web import HOSTILE_BODIES
from tests.gateway.conftest import paired

HTML_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


async def test_every_till_body_answers_a_hostile_envelope_with_400(gateway: Any, provisioned: GatewaySettings):
    till = await paired(gateway, provisioned)
    operations = [(method.upper(), path, bool(op["security"])) for path, item in DOCUMENT["paths"].items()
                  for method, op in item.items() if "requestBody" in op]
    assert {path for _, path, _ in operations} == {"/api/v1/pair", "/api/v1/journal:batch", "/api/v1/journal:acks",
                                                   "/api/v1/cashiers:verify", "/api/v1/print",
                                                   "/api/v1/khata/approvals"}
    for method, path, needs_token in operations:
        headers = {"Content-Type": "application/json", **(till["headers"] if needs_token else {})}
        for name, body in HOSTILE_BODIES.items():
            response = await gateway.request(method, path, data=body, headers=headers)
            # 413 where the body is over the route's own limit (a pairing request is a few hundred bytes).
            assert response.status in (400, 413), (path, name, await response.text())
            assert (await response.json())["error"]["code"] in ("bad_request", "too_large")


def _get_paths(app: Any) -> list[str]:
    """Every path a GET can reach: each route, and each shell file for the shell's /{name}."""
    paths = []
    for route in app.router.routes():
        if route.method != "GET":
            continue
        canonical = route.resource.canonical
        if canonical == "/{name}":
            paths.extend(f"/{name}" for name in shell_files())
        elif "{" not in canonical:
            paths.append(canonical)
    return paths + ["/no-such-page"]


async def test_every_html_response_carries_the_security_headers(gateway: Any):
    html = []
    for path in _get_paths(gateway.app):
        response = await gateway.get(path, allow_redirects=False)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        if response.content_type == "text/html":
            html.append(path)
            for name in HTML_HEADERS:
                assert name in response.headers, (path, name)
            policy = response.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy and response.headers["X-Frame-Options"] == "DENY", path
    assert {"/", "/index.html", "/setup", "/admin"} <= set(html)


async def test_the_till_shell_allows_only_what_the_till_does(gateway: Any):
    # No inline script or style exists in web_till: the shell's policy allows neither.
    for path in ("/", "/index.html"):
        policy = (await gateway.get(path)).headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["connect-src"] == "'self'" and directives["worker-src"] == "'self'"
        assert "unsafe" not in policy


async def test_the_boxs_own_pages_keep_their_own_policy(gateway: Any):
    from gateway.pages import SECURITY_HEADERS
    response = await gateway.get("/setup")
    assert response.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]


async def test_the_openapi_document_describes_the_till_api(gateway: Any):
    response = await gateway.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    till_routes = {(route.method, route.resource.canonical) for route in gateway.app.router.routes()
                   if route.resource.canonical.startswith("/api/v1/") and route.method in ("GET", "POST")
                   and not route.resource.canonical.endswith("openapi.json")}
    assert operations == till_routes   # no route undocumented, none documented that is not there
    batch = document["paths"]["/api/v1/journal:batch"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JournalBatch"}
    assert batch["responses"]["4XX"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
