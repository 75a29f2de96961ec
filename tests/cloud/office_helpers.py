"""Back-office test helpers: an owner with a shop in a cloud database, and a signed-in client."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cloud_api.database import create_engine
from cloud_api.demo_shop import seed_demo_catalog
from cloud_api.owners import attach_shop, create_owner, owner_by_login
from cloud_api.shops import create_shop

PASSWORD = "chai-and-biscuits"


@dataclass
class OwnedShop:
    shop_id: str
    owner_login: str
    owner_token: str
    enrol_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.owner_token}"}


async def owned_shop(cloud_db_url: str, login: str = "03001234567", name: str = "Madina",
                     demo: bool = True) -> OwnedShop:
    """A shop (with the demo catalog unless told not) held by the owner `login` (made on first use)."""
    engine = create_engine(cloud_db_url)
    try:
        async with engine.begin() as conn:
            owner = await owner_by_login(conn, login) or await create_owner(conn, login, PASSWORD)
            shop = await create_shop(conn, name)
            await attach_shop(conn, owner.owner_id, shop.shop_id)
            if demo:
                await seed_demo_catalog(conn, shop.shop_id)
    finally:
        await engine.dispose()
    return OwnedShop(shop.shop_id, owner.login, shop.owner_token, shop.enrol_token)


async def sign_in(client: Any, login: str = "03001234567", password: str = PASSWORD) -> str:
    """Sign `client` in (its cookie jar keeps the session); returns the CSRF token its forms carry."""
    response = await client.post("/office/sign-in", data={"login": login, "password": password},
                                 allow_redirects=False)
    assert response.status == 303, await response.text()
    return await csrf_of(client, "/office/")


async def csrf_of(client: Any, path: str) -> str:
    """The CSRF token in a page's forms."""
    page = await (await client.get(path)).text()
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)
