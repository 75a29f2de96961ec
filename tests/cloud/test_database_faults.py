"""A passing database fault answers 503 (send again), never the 500 that the box reads as a poison document."""
from __future__ import annotations

import sqlite3

import pytest
from aiohttp.test_utils import make_mocked_request
from sqlalchemy.exc import IntegrityError, OperationalError

from cloud_api.database_faults import database_faults
from cloud_api.service.web import error_middleware


async def answer(fault: Exception):
    async def handler(_request):
        raise fault

    async def inner(request):
        return await database_faults(request, handler)

    return await error_middleware(make_mocked_request("POST", "/v1/journal:batch"), inner)


async def test_a_locked_or_lost_database_is_503():
    locked = OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))
    response = await answer(locked)
    assert response.status == 503 and b'"unavailable"' in response.body


async def test_a_document_the_database_refuses_is_not_hidden_as_503():
    refused = IntegrityError("INSERT …", {}, sqlite3.IntegrityError("CHECK constraint failed"))
    response = await answer(refused)
    assert response.status == 500   # ingest's savepoints decide about documents; this is not weather


@pytest.mark.parametrize("invalidated", [True, False])
async def test_a_dropped_connection_is_503_only_when_it_was_one(invalidated):
    from sqlalchemy.exc import DBAPIError
    err = DBAPIError("SELECT 1", {}, Exception("connection reset"), connection_invalidated=invalidated)
    assert (await answer(err)).status == (503 if invalidated else 500)


async def test_reports_answer_while_a_writer_holds_sqlites_lock(tmp_path, aiohttp_client):
    """Readers take a snapshot, not the write lock: a long ingest never stalls the owner's reports."""
    from cloud_api.app import create_app
    from cloud_api.settings import CloudSettings
    from tests.conftest import new_cloud_shop
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    shop = await new_cloud_shop(url)
    client = await aiohttp_client(create_app(CloudSettings(db_url=url)))
    writer = sqlite3.connect(tmp_path / "cloud.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")   # someone is mid-write, and stays so
    try:
        owner = {"Authorization": f"Bearer {shop.owner_token}"}
        for path in ("health", "stock", "reports/summary?date=2026-11-28", "documents"):
            answer = await client.get(f"/v1/shops/{shop.shop_id}/{path}", headers=owner)
            assert answer.status == 200, (path, await answer.text())
    finally:
        writer.execute("ROLLBACK")
        writer.close()
