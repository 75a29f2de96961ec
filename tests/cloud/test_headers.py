"""Security headers (cloud_api/service/headers.py) and the cloud's OpenAPI document."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from aiohttp import web

from cloud_api.service.headers import NO_CONTENT_POLICY, security_headers
from cloud_api.service.web import error_middleware


async def test_every_cloud_response_is_nosniff_and_any_html_gets_the_policy(cloud_client: Any):
    for route in cloud_client.app.router.routes():
        if route.method != "GET":
            continue
        # Every other {name} in a path (a document, a report) as a value no route knows.
        path = route.resource.canonical.format_map(defaultdict(lambda: "no-such-thing", shop_id="no-such-shop"))
        response = await cloud_client.get(path, allow_redirects=False)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        if path.startswith("/office"):
            # The back office's pages are HTML with their own policy: no inline script or style.
            if response.content_type == "text/html":
                policy = response.headers["Content-Security-Policy"]
                assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy, path
            continue
        assert response.content_type == "application/json", path   # the API serves no HTML
    missing = await cloud_client.get("/no-such-page")
    assert missing.status == 404 and missing.headers["X-Content-Type-Options"] == "nosniff"


async def test_html_gets_the_policy_unless_its_handler_set_one(aiohttp_client: Any):
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="<p>hi</p>", content_type="text/html")

    async def own_policy(_request: web.Request) -> web.Response:
        return web.Response(text="<p>hi</p>", content_type="text/html",
                            headers={"Content-Security-Policy": "default-src 'self'"})

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/page")   # raised, as the box's plain-HTTP redirects are

    app = web.Application(middlewares=[security_headers(NO_CONTENT_POLICY), error_middleware])
    app.router.add_get("/page", page)
    app.router.add_get("/own", own_policy)
    app.router.add_get("/moved", moved)
    client = await aiohttp_client(app)

    response = await client.get("/page")
    assert response.headers["Content-Security-Policy"] == NO_CONTENT_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/own")).headers["Content-Security-Policy"] == "default-src 'self'"
    redirect = await client.get("/moved", allow_redirects=False)
    assert redirect.status == 302 and redirect.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_openapi_document_describes_every_cloud_route(cloud_client: Any):
    response = await cloud_client.get("/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    routes = {(route.method, route.resource.canonical) for route in cloud_client.app.router.routes()
              if route.method != "HEAD" and route.resource.canonical != "/v1/openapi.json"
              and not route.resource.canonical.startswith("/office")}   # pages, not the API
    assert documented == routes   # no route undocumented, none documented that is not there
    schemas = document["components"]["schemas"]
    assert {"JournalBatch", "BatchResponse", "Catalog", "Heartbeat", "EnrolRequest", "ErrorBody"} <= set(schemas)
    owner = document["paths"]["/v1/shops/{shop_id}/stock"]["get"]
    assert owner["security"] == [{"owner": []}]
    assert document["components"]["securitySchemes"]["owner"] == {
        "type": "http", "scheme": "bearer", "description": "the shop owner's token, given when the shop is created"}
