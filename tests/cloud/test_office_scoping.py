"""No page of the back office opens another owner's shop: every route under /office/shops/{shop_id}
is tried, GET and POST, by an owner who does not hold that shop, and each is refused with 403."""
from __future__ import annotations

import re
from typing import Any

from tests.cloud.office_helpers import owned_shop, sign_in


def shop_routes(client: Any) -> list[tuple[str, str]]:
    """(method, path template) of every back-office route of one shop."""
    return sorted({(route.method, route.resource.canonical) for route in client.app.router.routes()
                   if route.method in ("GET", "POST") and route.resource.canonical.startswith("/office/shops/")})


def with_values(template: str, shop_id: str) -> str:
    # Any value for the other parts: the shop is checked before anything else is looked up.
    return re.sub(r"\{(\w+)\}", lambda m: shop_id if m.group(1) == "shop_id" else "x1", template)


async def test_every_page_and_form_of_another_owners_shop_is_refused(cloud_client: Any, cloud_db_url: str):
    mine = await owned_shop(cloud_db_url)
    theirs = await owned_shop(cloud_db_url, login="other@owner.pk", name="Other Owner's Shop")
    csrf = await sign_in(cloud_client)
    routes = shop_routes(cloud_client)
    assert len(routes) >= 10, routes   # the pages exist: this test is not vacuous
    for method, template in routes:
        path = with_values(template, theirs.shop_id)
        response = await cloud_client.request(method, path, data={"csrf": csrf} if method == "POST" else None,
                                              allow_redirects=False)
        assert response.status == 403, (method, template, response.status)
        assert "Other Owner" not in await response.text(), (method, template)
    # The same pages of the owner's own shop are not refused.
    for method, template in routes:
        if method == "GET" and "{" not in template.replace("{shop_id}", ""):
            response = await cloud_client.get(with_values(template, mine.shop_id), allow_redirects=False)
            assert response.status in (200, 303), (template, response.status)


async def test_signed_out_every_shop_page_sends_you_to_sign_in(cloud_client: Any, cloud_db_url: str):
    mine = await owned_shop(cloud_db_url)
    for method, template in shop_routes(cloud_client):
        response = await cloud_client.request(method, with_values(template, mine.shop_id), allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/office/sign-in"), template
