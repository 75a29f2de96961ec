"""The box's fiscal queue (issue 9) against the FBR simulator: order, outages, 102s, timeouts, tokens."""
from __future__ import annotations

import asyncio
import json
import os
import stat
import tarfile
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from gateway import fiscal_jobs
from gateway.backup import backup_box
from gateway.catalog import catalog_for_tills, current_catalog
from gateway.fiscal_secret import key_path
from tests.conftest import make_sale
from tests.fbr_sim import SIM_TOKEN, FbrSimulator, fbr_sim  # noqa: F401 - the fixture
from tests.gateway.documents import make_refund
from tests.gateway.fiscal_helpers import (POS_T1, POS_T2, T1, T2, FiscalBox, close_box, eventually, fiscal_catalog,
                                          open_box)

ONE = dict(device_id=T1.device_id, device_code=T1.device_code)
TWO = dict(device_id=T2.device_id, device_code=T2.device_code)


@pytest.fixture
async def box(tmp_path: Path, fbr_sim: FbrSimulator) -> AsyncIterator[FiscalBox]:  # noqa: F811
    opened = await open_box(tmp_path / "gateway", fbr_sim)
    yield opened
    await close_box(opened)


def statuses(jobs: list[dict[str, Any]]) -> dict[str, str]:
    return {job["usin"]: job["status"] for job in jobs}


async def all_settled(box: FiscalBox) -> list[dict[str, Any]] | None:
    jobs = await box.jobs()
    return jobs if jobs and all(job["status"] != "pending" for job in jobs) else None


async def test_sales_and_a_return_made_offline_are_fiscalized_once_in_order_when_fbr_returns(box):
    await box.sim.down()
    box.queue.start()
    first, second = make_sale(seq=1, **ONE), make_sale(seq=2, qty=1, tender="card", **ONE)
    back = make_refund(first, {0: 1}, seq=3, **ONE)
    assert await box.receive(T1, [first, second]) == ["stored", "stored"]
    assert await box.receive(T1, [back]) == ["stored"]

    async def tried_while_down() -> bool:
        head = (await box.jobs())[0]
        return head["attempts"] >= 2 and "Could not reach FBR" in (head["last_error"] or "")

    await eventually(tried_while_down)
    assert statuses(await box.jobs()) == {"T1-000001": "pending", "T1-000002": "pending", "T1-000003": "pending"}
    assert box.sim.invoices == {}

    await box.sim.up()
    jobs = await eventually(lambda: all_settled(box))
    assert statuses(jobs) == {"T1-000001": "fiscalized", "T1-000002": "fiscalized", "T1-000003": "fiscalized"}
    # In order, once each: the simulator issued three invoices, in receive order, and was asked three
    # times after it came back (each answered with a new number).
    assert [usin for _, usin in box.sim.invoices] == ["T1-000001", "T1-000002", "T1-000003"]
    answered = [r for r in box.sim.requests if r["status"] == 200]
    assert [r["payload"]["USIN"] for r in answered] == ["T1-000001", "T1-000002", "T1-000003"]
    for job in jobs:
        assert job["fbr_number"] == box.sim.invoices[(POS_T1, job["usin"])]["number"]
        assert job["fbr_number"].endswith("*test*") and job["pos_id"] == POS_T1
    refund = box.sim.invoices[(POS_T1, "T1-000003")]["payload"]
    assert refund["InvoiceType"] == 3 and refund["RefUSIN"] == "T1-000001"
    assert [job["position"] for job in jobs] == sorted(job["position"] for job in jobs)


async def test_a_102_parks_one_invoice_with_fbrs_message_and_the_rest_go_on(box):
    # T2's POSID is not registered with the authority: its invoice is refused (102), T1's are not.
    await box.catalog(fiscal_catalog(pos_ids={T1.device_id: POS_T1, T2.device_id: 999999}, version=2))
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    await box.receive(T2, [make_sale(seq=1, **TWO)])
    await box.receive(T1, [make_sale(seq=2, **ONE)])
    jobs = await eventually(lambda: all_settled(box))
    assert statuses(jobs) == {"T1-000001": "fiscalized", "T2-000001": "parked", "T1-000002": "fiscalized"}
    parked = next(job for job in jobs if job["usin"] == "T2-000001")
    assert "Invalid data received" in parked["last_error"] and "POSID 999999 is not registered" in parked["last_error"]
    assert parked["fbr_number"] is None
    assert sorted(usin for _, usin in box.sim.invoices) == ["T1-000001", "T1-000002"]

    found = await fiscal_jobs.summary(box.store.read(), today=date(2026, 11, 28))   # the sales' day is the 27th
    assert [(f.receipt_number, f.status, f.kind) for f in found.failures] == [("T2-000001", "parked", "sale")]
    assert "POSID 999999 is not registered" in found.failures[0].message
    assert [(d.date, d.fiscalized, d.pending, d.failed) for d in found.days] == [("2026-11-27", 2, 0, 1)]


async def test_a_timeout_resends_the_same_usin_and_fbr_holds_one_invoice(box):
    box.sim.time_out_next(1, hold_s=3)   # FBR records the invoice, the box hears nothing in time
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    jobs = await eventually(lambda: all_settled(box))
    job = jobs[0]
    assert job["status"] == "fiscalized" and job["attempts"] == 2 and job["timeouts"] == 1
    assert len(box.sim.requests) == 2 and box.sim.requests[0]["held"] and not box.sim.requests[1]["held"]
    # The same bytes both times: the same USIN, the same DateTime, never a second invoice.
    assert box.sim.requests[0]["payload"] == box.sim.requests[1]["payload"] == json.loads(job["payload"])
    assert list(box.sim.invoices) == [(POS_T1, "T1-000001")]
    assert job["fbr_number"] == box.sim.invoices[(POS_T1, "T1-000001")]["number"]


async def test_a_duplicate_answer_after_a_timeout_is_flagged_never_guessed_and_retry_sends_it_again(box):
    box.sim.duplicates = "reject"        # a resent USIN gets 102 "Duplicate USIN", no number
    box.sim.time_out_next(1, hold_s=3)
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE), make_sale(seq=2, **ONE)])
    jobs = await eventually(lambda: all_settled(box))
    assert statuses(jobs) == {"T1-000001": "ambiguous", "T1-000002": "fiscalized"}
    flagged = jobs[0]
    assert flagged["fbr_number"] is None and "portal" in flagged["last_error"]
    assert len(box.sim.invoices) == 2    # the first was made once, by the timed-out request

    box.sim.duplicates = "same"          # the owner checked it; Retry sends the same USIN again
    async with box.store.transaction() as db:
        assert await fiscal_jobs.retry(db) == 1
    box.queue.wake()
    jobs = await eventually(lambda: all_settled(box))
    assert statuses(jobs) == {"T1-000001": "fiscalized", "T1-000002": "fiscalized"}
    assert jobs[0]["fbr_number"] == box.sim.invoices[(POS_T1, "T1-000001")]["number"]
    assert len(box.sim.invoices) == 2


async def test_an_invoice_without_an_answer_after_the_limit_is_flagged_and_the_next_goes(tmp_path, fbr_sim):  # noqa: F811
    box = await open_box(tmp_path / "gateway", fbr_sim, fiscal_ambiguous_after=2)
    try:
        fbr_sim.time_out_next(2, hold_s=3)
        box.queue.start()
        await box.receive(T1, [make_sale(seq=1, **ONE), make_sale(seq=2, **ONE)])
        jobs = await eventually(lambda: all_settled(box))
        assert statuses(jobs) == {"T1-000001": "ambiguous", "T1-000002": "fiscalized"}
        assert jobs[0]["timeouts"] == 2 and "did not answer 2 times" in jobs[0]["last_error"]
        assert [r["payload"]["USIN"] for r in fbr_sim.requests] == ["T1-000001", "T1-000001", "T1-000002"]
    finally:
        await close_box(box)


async def test_a_bad_token_stops_the_whole_queue_until_the_catalog_brings_another(box):
    await box.catalog(fiscal_catalog(token="not-the-token", version=2))
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])

    async def stopped() -> str | None:
        return await fiscal_jobs.stopped(box.store.read())

    reason = await eventually(stopped)
    assert "refused the shop's access token" in reason and "Invalid Credentials" in reason
    assert box.queue.state == "stopped"
    await box.receive(T1, [make_sale(seq=2, **ONE)])
    await eventually(lambda: _after(0.5))
    assert len(box.sim.requests) == 1          # stopped: nothing more was sent
    assert statuses(await box.jobs()) == {"T1-000001": "pending", "T1-000002": "pending"}
    assert (await fiscal_jobs.summary(box.store.read())).stopped == reason

    assert await box.catalog(fiscal_catalog(token=SIM_TOKEN, version=3))   # the owner fixed the token
    jobs = await eventually(lambda: all_settled(box))
    assert statuses(jobs) == {"T1-000001": "fiscalized", "T1-000002": "fiscalized"}
    assert await fiscal_jobs.stopped(box.store.read()) is None


async def test_the_owners_retry_in_the_back_office_resumes_a_stopped_queue(box):
    box.sim.tokens = {"rotated"}
    await box.catalog(fiscal_catalog(token="rotated", version=2))
    box.sim.tokens = set()                   # the authority refuses it for a while
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    await eventually(lambda: fiscal_jobs.stopped(box.store.read()))
    box.sim.tokens = {"rotated"}
    # Same token, but a new retry_requested_at: the owner pressed Retry in the back office.
    await box.catalog(fiscal_catalog(token="rotated", retry_requested_at="2026-11-28T10:00:00Z", version=3))
    jobs = await eventually(lambda: all_settled(box))
    assert statuses(jobs) == {"T1-000001": "fiscalized"}


async def test_a_tablet_without_a_posid_waits_with_a_clear_message_and_goes_once_named(box):
    box.queue.start()
    await box.receive(T2, [make_sale(seq=1, **TWO)])
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    await eventually(lambda: _fiscalized(box, "T1-000001"))
    fiscal = await fiscal_jobs.fiscal_settings(box.store.read())
    assert await fiscal_jobs.waiting_for_pos_id(box.store.read(), fiscal.pos_ids) == [
        "T2 has no FBR POSID: set it in the back office (1 invoice waiting)"]
    # The heartbeat carries it to the owner's back office.
    assert (await fiscal_jobs.summary(box.store.read())).waiting == [
        "T2 has no FBR POSID: set it in the back office (1 invoice waiting)"]
    assert (await box.job("T2-000001"))["status"] == "pending"
    assert [usin for _, usin in box.sim.invoices] == ["T1-000001"]

    await box.catalog(fiscal_catalog(pos_ids={T1.device_id: POS_T1, T2.device_id: POS_T2}, version=2))
    await eventually(lambda: _fiscalized(box, "T2-000001"))
    assert (await box.job("T2-000001"))["pos_id"] == POS_T2
    assert (POS_T2, "T2-000001") in box.sim.invoices
    fiscal = await fiscal_jobs.fiscal_settings(box.store.read())
    assert await fiscal_jobs.waiting_for_pos_id(box.store.read(), fiscal.pos_ids) == []


async def test_no_job_is_made_while_the_mode_is_off_and_only_sales_and_refunds_make_one(box):
    await box.catalog(fiscal_catalog(mode="off", version=2))
    sale = make_sale(seq=1, **ONE)
    await box.receive(T1, [sale])
    assert await box.jobs() == []
    await box.catalog(fiscal_catalog(version=3))
    shift = {"id": "0b6f0000-0000-4000-8000-000000000001", "kind": "shift_open", **ONE, "seq": 2,
             "created_at": "2026-11-27T09:00:00+05:00", "cashier_id": "c1", "opening_float": 0}
    from cloud_api.contract import document_hash
    shift["hash"] = document_hash(shift)
    refund = make_refund(sale, {0: 1}, seq=3, **ONE)
    statuses_in = await box.receive(T1, [shift, refund, dict(refund)])
    assert statuses_in == ["stored", "stored", "duplicate"]
    assert [(job["usin"], job["kind"], job["day"]) for job in await box.jobs()] == [
        ("T1-000003", "refund", "2026-11-27")]


async def test_the_token_is_never_in_the_tills_catalog_nor_in_plain_text_on_disk(tmp_path, fbr_sim):  # noqa: F811
    token = "fbr-secret-token-7f3a9c1e5b"
    fbr_sim.tokens = {token}
    box = await open_box(tmp_path / "gateway", fbr_sim, catalog=fiscal_catalog(token=token))
    try:
        box.queue.start()
        await box.receive(T1, [make_sale(seq=1, **ONE)])
        await eventually(lambda: _fiscalized(box, "T1-000001"))   # the box can use it
        db = box.store.read()
        _, served = await catalog_for_tills(db)
        assert token not in served and "fiscal_token" not in json.loads(served)
        assert json.loads(served)["fiscal"]["pos_ids"] == {T1.device_id: POS_T1}
        assert token not in (await current_catalog(db))[1]
        assert await fiscal_jobs.fiscal_token(db, box.settings.state_dir) == token
        assert stat.S_IMODE(os.stat(key_path(box.settings.state_dir)).st_mode) == 0o600
        _nowhere_on_disk(token, tmp_path / "gateway")        # the WAL included, while the box runs
        # The nightly backup carries the database and the CA, never the key (gateway/fiscal_secret.py).
        backup = tmp_path / "box.tar.gz"
        backup_box(box.settings.state_dir, backup)
        with tarfile.open(backup) as archive:
            assert "fiscal.key" not in " ".join(archive.getnames()) and "gateway.db" in archive.getnames()
            assert token.encode() not in archive.extractfile("gateway.db").read()
    finally:
        await close_box(box)
    _nowhere_on_disk(token, tmp_path / "gateway")


def _nowhere_on_disk(token: str, state_dir: Path) -> None:
    files = [path for path in state_dir.rglob("*") if path.is_file()]
    assert any(path.name == "gateway.db" for path in files)
    for path in files:
        assert token.encode() not in path.read_bytes(), path


async def test_a_box_that_lost_its_key_asks_for_the_whole_catalog_again(box):
    assert not await fiscal_jobs.token_unreadable(box.store.read(), box.settings.state_dir)
    key_path(box.settings.state_dir).unlink()   # restored from a backup, which never holds the key
    assert await fiscal_jobs.token_unreadable(box.store.read(), box.settings.state_dir)
    assert await fiscal_jobs.fiscal_token(box.store.read(), box.settings.state_dir) is None
    await box.catalog(fiscal_catalog(version=1))   # the same catalog, fetched again without an ETag
    assert await fiscal_jobs.fiscal_token(box.store.read(), box.settings.state_dir) == SIM_TOKEN


async def test_a_till_learns_only_its_own_outcomes_after_its_cursor(box):
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    await box.receive(T2, [make_sale(seq=1, **TWO)])   # no POSID: waits
    await eventually(lambda: _fiscalized(box, "T1-000001"))
    db = box.store.read()
    cursor, rows = await fiscal_jobs.receipts_since(db, T1.device_id, 0)
    assert [(row["usin"], row["status"]) for row in rows] == [("T1-000001", "fiscalized")]
    again, none = await fiscal_jobs.receipts_since(db, T1.device_id, cursor)
    assert none == [] and again == cursor
    # A tablet that counted on a box since replaced asks past this box's counter: it hears the lower
    # cursor, and so asks again from 0.
    assert (await fiscal_jobs.receipts_since(db, T1.device_id, cursor + 1000))[0] == cursor
    # A full page ends at its last row; the rest comes with the next question (the queue stopped, so
    # no job moves meanwhile).
    await box.queue.stop()
    await box.receive(T1, [make_sale(seq=n, **ONE) for n in range(2, 5)])
    first, page = await fiscal_jobs.receipts_since(db, T1.device_id, cursor, limit=2)
    assert [row["usin"] for row in page] == ["T1-000002", "T1-000003"] and first == page[-1]["changed_seq"]
    rest = (await fiscal_jobs.receipts_since(db, T1.device_id, first, limit=2))[1]
    assert "T1-000004" in [row["usin"] for row in rest] and "T1-000002" not in [row["usin"] for row in rest]
    _, theirs = await fiscal_jobs.receipts_since(db, T2.device_id, 0)
    assert [(row["usin"], row["status"]) for row in theirs] == [("T2-000001", "pending")]


async def _after(seconds: float) -> bool:
    await asyncio.sleep(seconds)
    return True


async def _fiscalized(box: FiscalBox, usin: str) -> bool:
    return any(job["usin"] == usin and job["status"] == "fiscalized" for job in await box.jobs())


async def test_an_authority_that_holds_its_reply_never_holds_up_the_journal(tmp_path, fbr_sim):  # noqa: F811
    box = await open_box(tmp_path / "gateway", fbr_sim, fiscal_timeout_s=5.0)
    try:
        fbr_sim.time_out_next(1, hold_s=10)
        box.queue.start()
        await box.receive(T1, [make_sale(seq=1, **ONE)])
        await eventually(lambda: _requested(fbr_sim))   # the post is in flight, its reply held
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await box.receive(T1, [make_sale(seq=n, **ONE) for n in range(2, 52)]) == ["stored"] * 50
        async with box.store.transaction() as db:      # the writer is free: the queue holds no lock
            await db.execute("SELECT 1")
        assert loop.time() - started < 1.0
        assert box.queue.state == "sending" and len(await box.jobs()) == 51
    finally:
        await close_box(box)


async def _requested(sim: FbrSimulator) -> bool:
    return len(sim.requests) == 1


def test_the_key_file_is_made_private_and_a_foreign_key_reads_nothing(tmp_path):
    from gateway import fiscal_secret
    secret = fiscal_secret.encrypt(tmp_path, "tok")
    assert "tok" not in secret and fiscal_secret.decrypt(tmp_path, secret) == "tok"
    os.chmod(key_path(tmp_path), 0o644)          # copied about by hand
    assert fiscal_secret.decrypt(tmp_path, secret) == "tok"
    assert stat.S_IMODE(os.stat(key_path(tmp_path)).st_mode) == 0o600
    other = tmp_path / "other"
    other.mkdir()
    assert fiscal_secret.decrypt(other, secret) is None               # no key there
    fiscal_secret.encrypt(other, "x")
    assert fiscal_secret.decrypt(other, secret) is None               # another box's key
