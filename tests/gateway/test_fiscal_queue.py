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

import httpx
import pytest
from pydantic import ValidationError

from cloud_api.contract import Catalog, FiscalSettings, FiscalSettingsIn
from gateway import fiscal_jobs
from gateway.backup import backup_box
from gateway.catalog import catalog_for_tills, current_catalog
from gateway.fiscal_queue import FiscalQueue
from gateway.fiscal_secret import key_path
from tests.conftest import UNROUTABLE_FISCAL_URL, make_sale
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
    # The owner is told why, not only how many (the internet may be up while FBR is not).
    holding = (await fiscal_jobs.owner_view(box.store.read()))["holding"]
    assert holding.startswith("3 invoices waiting: Could not reach FBR")

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
    await looked_again(box)                    # woken by the sale, it looked, and saw it is stopped
    assert len(box.sim.requests) == 1          # stopped: nothing more was sent
    assert statuses(await box.jobs()) == {"T1-000001": "pending", "T1-000002": "pending"}
    assert (await fiscal_jobs.summary(box.store.read())).stopped == reason
    # The owner's page says the reason once, in the stop's banner, and only counts what waits behind it.
    view = await fiscal_jobs.owner_view(box.store.read())
    assert view["stopped"] == reason and view["holding"] == "2 invoices waiting."

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


async def looked_again(box: FiscalBox) -> None:
    """Until the queue has finished a look that began after this call (it was woken, or its idle
    wait ended): two passes, since one may have been under way already."""
    since = box.queue.passes

    async def looked() -> bool:
        return box.queue.passes >= since + 2

    await eventually(looked)


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


# --- review fixes -----------------------------------------------------------------------------


async def test_retry_rebuilds_a_refused_invoice_from_the_corrected_catalog(box):
    # T2's POSID was typed wrong: FBR refuses it (102). The owner corrects it, then presses Retry.
    await box.catalog(fiscal_catalog(pos_ids={T1.device_id: POS_T1, T2.device_id: 999999}, version=2))
    box.queue.start()
    await box.receive(T2, [make_sale(seq=1, **TWO)])
    await eventually(lambda: all_settled(box))
    parked = await box.job("T2-000001")
    assert parked["status"] == "parked" and json.loads(parked["payload"])["POSID"] == 999999
    assert parked["sent_at"] is None          # a clear refusal: nothing of it is on FBR's books

    await box.catalog(fiscal_catalog(pos_ids={T1.device_id: POS_T1, T2.device_id: POS_T2}, version=3,
                                     retry_requested_at="2026-11-28T10:00:00Z"))
    jobs = await eventually(lambda: all_settled(box))
    assert statuses(jobs) == {"T2-000001": "fiscalized"}
    assert box.sim.requests[-1]["payload"]["POSID"] == POS_T2
    assert (POS_T2, "T2-000001") in box.sim.invoices and jobs[0]["pos_id"] == POS_T2


async def test_retry_keeps_the_stored_payload_of_an_ambiguous_invoice(box):
    box.sim.duplicates = "reject"
    box.sim.time_out_next(1, hold_s=3)
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    [flagged] = await eventually(lambda: all_settled(box))
    assert flagged["status"] == "ambiguous" and flagged["sent_at"] is not None
    await box.catalog(fiscal_catalog(pos_ids={T1.device_id: POS_T2}, version=2))   # a POSID changed since
    async with box.store.transaction() as db:
        assert await fiscal_jobs.retry(db) == 1
    kept = await box.job("T1-000001")
    assert kept["payload"] == flagged["payload"] and kept["pos_id"] == POS_T1
    assert kept["sent_at"] == flagged["sent_at"]   # never reset on Retry


async def test_a_wrong_address_parks_nothing_and_stops_the_queue_with_the_reason(tmp_path, fbr_sim):  # noqa: F811
    # The sandbox / production mix-up: the address answers an HTML 404, not as FBR answers.
    box = await open_box(tmp_path / "gateway", fbr_sim, fiscal_url=fbr_sim.base_url + "/wrong/api/Live/PostData")
    try:
        box.queue.start()
        await box.receive(T1, [make_sale(seq=1, **ONE), make_sale(seq=2, **ONE)])
        reason = await eventually(lambda: fiscal_jobs.stopped(box.store.read()))
        assert "answered HTTP 404" in reason and "sandbox / production" in reason
        jobs = await box.jobs()
        assert statuses(jobs) == {"T1-000001": "pending", "T1-000002": "pending"}   # nothing parked
        assert "answered HTTP 404" in jobs[0]["last_error"] and jobs[0]["sent_at"] is None
        assert fbr_sim.requests == [] and box.queue.state == "stopped"

        box.settings.fiscal_url = fbr_sim.url("fbr")   # the address corrected; the owner presses Retry
        async with box.store.transaction() as db:
            await fiscal_jobs.retry(db)
        box.queue.wake()
        jobs = await eventually(lambda: all_settled(box))
        assert statuses(jobs) == {"T1-000001": "fiscalized", "T1-000002": "fiscalized"}
    finally:
        await close_box(box)


async def test_a_post_cut_short_by_a_restart_makes_a_later_refusal_ambiguous_not_a_refused_invoice(
        tmp_path, fbr_sim):  # noqa: F811
    box = await open_box(tmp_path / "gateway", fbr_sim, fiscal_timeout_s=5.0)
    try:
        fbr_sim.time_out_next(1, hold_s=30)      # FBR records the invoice and holds its reply
        box.queue.start()
        await box.receive(T1, [make_sale(seq=1, **ONE)])
        await eventually(lambda: _requested(fbr_sim))
        await box.queue.stop()                   # the box restarts mid-post: nothing recorded of its outcome
        job = await box.job("T1-000001")
        assert job["status"] == "pending" and job["sent_at"] is not None and job["attempts"] == 1

        fbr_sim.duplicates = "generic"           # a resent USIN gets a generic 102, no word of a duplicate
        box.queue = FiscalQueue(box.store, box.settings)
        box.queue.start()
        [job] = await eventually(lambda: all_settled(box))
        assert job["status"] == "ambiguous" and job["fbr_number"] is None and "portal" in job["last_error"]
        assert len(fbr_sim.invoices) == 1 and len(fbr_sim.requests) == 2
        assert fbr_sim.requests[0]["payload"] == fbr_sim.requests[1]["payload"]
    finally:
        await close_box(box)


async def test_a_switch_to_pra_rebuilds_an_invoice_never_sent_and_keeps_an_unanswered_one_with_fbr(
        tmp_path, fbr_sim):  # noqa: F811
    box = await open_box(tmp_path / "gateway", fbr_sim, fiscal_backoff_base_s=30.0, fiscal_backoff_cap_s=30.0)
    try:
        # T1-000001: posted to FBR, no answer (maybe made there). T1-000002: built for FBR, never reached it.
        fbr_sim.time_out_next(1, hold_s=10)
        box.queue.start()
        await box.receive(T1, [make_sale(seq=1, **ONE)])

        async def timed_out() -> bool:
            return (await box.job("T1-000001"))["timeouts"] == 1

        await eventually(timed_out)
        await box.queue.stop()
        await fbr_sim.down()
        box.queue = FiscalQueue(box.store, box.settings)
        await box.receive(T1, [make_sale(seq=2, **ONE)])
        async with box.store.transaction() as db:   # the first aside, so the second is built and tried
            await fiscal_jobs.set_aside(db, (await box.job("T1-000001"))["document_id"], "ambiguous", "x")
        box.queue.start()

        async def built_and_refused() -> bool:
            job = await box.job("T1-000002")
            return job["payload"] is not None and "Could not reach" in (job["last_error"] or "")

        await eventually(built_and_refused)
        await box.queue.stop()
        assert (await box.job("T1-000002"))["sent_at"] is None
        async with box.store.transaction() as db:   # the owner's Retry: the first goes again too
            await fiscal_jobs.retry(db)

        box.settings.fiscal_url = fbr_sim.url("pra")   # the shop now reports to PRA
        await box.catalog(fiscal_catalog(mode="pra", version=2))
        await fbr_sim.up()
        box.queue = FiscalQueue(box.store, box.settings)
        box.queue.start()
        jobs = await eventually(lambda: all_settled(box))
        assert statuses(jobs) == {"T1-000001": "ambiguous", "T1-000002": "fiscalized"}
        assert "stays with FBR (sandbox)" in jobs[0]["last_error"] and "PRA (sandbox)" in jobs[0]["last_error"]
        assert fbr_sim.invoices[(POS_T1, "T1-000001")]["authority"] == "fbr"
        rebuilt = fbr_sim.invoices[(POS_T1, "T1-000002")]
        assert rebuilt["authority"] == "pra" and "BuyerPNTN" in rebuilt["payload"]
        assert [r["payload"]["USIN"] for r in fbr_sim.requests if r["authority"] == "pra"] == ["T1-000002"]
        assert jobs[1]["target"].startswith("pra sandbox ")
    finally:
        await close_box(box)


async def test_the_business_day_is_read_in_the_gateways_zone_as_the_invoices_datetime(tmp_path, fbr_sim):  # noqa: F811
    box = await open_box(tmp_path / "gateway", fbr_sim, timezone="UTC")
    try:
        box.queue.start()
        # 02:00 on the 28th in Karachi is 21:00 on the 27th in UTC, the zone this box is set to.
        await box.receive(T1, [make_sale(seq=1, created_at="2026-11-28T02:00:00+05:00", **ONE)])
        [job] = await eventually(lambda: all_settled(box))
        assert json.loads(job["payload"])["DateTime"] == "2026-11-27 21:00:00"
        assert job["day"] == "2026-11-27"
    finally:
        await close_box(box)


async def test_the_qr_code_is_drawn_once_when_fiscalized_and_stored(box):
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    [job] = await eventually(lambda: all_settled(box))
    assert job["qr"] == fiscal_jobs.qr_data_uri(job["fbr_number"]) and job["qr"].startswith("data:image/svg+xml")
    record = await fiscal_jobs.fiscal_record(box.store.read(), job["document_id"])
    assert record == {"status": "fiscalized", "fbr_number": job["fbr_number"], "pos_id": POS_T1, "qr": job["qr"]}
    assert await fiscal_jobs.fiscal_record(box.store.read(), "no-such-document") is None


async def test_an_unreadable_token_is_reported_as_such(box):
    key_path(box.settings.state_dir).unlink()   # restored from a backup, which never holds the key
    box.queue.start()
    await box.receive(T1, [make_sale(seq=1, **ONE)])
    reason = await eventually(lambda: fiscal_jobs.stopped(box.store.read()))
    assert "cannot be read" in reason and "No FBR token" not in reason
    await box.catalog(fiscal_catalog(version=1))   # fetched again: the token comes back, reporting resumes
    await eventually(lambda: all_settled(box))


async def test_a_2xx_without_a_number_is_flagged_at_once_and_is_no_failure_of_the_authority(tmp_path, fbr_sim):  # noqa: F811
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"InvoiceNumber": "Not Available", "Code": "100", "Response": "OK"})

    box = await open_box(tmp_path / "gateway", fbr_sim)
    try:
        box.queue = FiscalQueue(box.store, box.settings, transport=httpx.MockTransport(answer))
        box.queue.failures = 3                    # an outage before: this answer ends it
        box.queue.start()
        await box.receive(T1, [make_sale(seq=1, **ONE), make_sale(seq=2, **ONE)])
        jobs = await eventually(lambda: all_settled(box))
        assert statuses(jobs) == {"T1-000001": "ambiguous", "T1-000002": "ambiguous"}
        assert [job["attempts"] for job in jobs] == [1, 1] and box.queue.failures == 0
        assert "portal" in jobs[0]["last_error"] and jobs[0]["sent_at"] is not None
    finally:
        await close_box(box)


def test_no_test_can_reach_a_real_fbr_host(tmp_path):
    from gateway.settings import GatewaySettings
    assert os.environ["POSLINE_GATEWAY_FISCAL_URL"] == UNROUTABLE_FISCAL_URL
    assert GatewaySettings(state_dir=tmp_path).fiscal_url == UNROUTABLE_FISCAL_URL


def test_fiscal_settings_from_a_newer_cloud_are_read_and_an_owners_are_strict():
    settings = FiscalSettings.model_validate({"mode": "fbr", "a_setting_from_later": True})
    assert settings.mode == "fbr" and not hasattr(settings, "a_setting_from_later")
    catalog = fiscal_catalog().model_dump()
    catalog["fiscal"]["buyer_details"] = {"ask": True}
    assert Catalog.model_validate(catalog).fiscal.mode == "fbr"
    with pytest.raises(ValidationError):
        FiscalSettingsIn.model_validate({"mode": "fbr", "a_setting_from_later": True})


def test_two_processes_making_the_key_at_once_share_one_complete_key(tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    from gateway import fiscal_secret
    made = Fernet.generate_key
    theirs: list[str] = []

    def meanwhile() -> bytes:
        # While this process makes its key, another (the CLI, serve) makes one too.
        if not theirs:
            theirs.append("")
            theirs[0] = fiscal_secret.encrypt(tmp_path, "their token")
        return made()

    monkeypatch.setattr(fiscal_secret.Fernet, "generate_key", staticmethod(meanwhile))
    mine = fiscal_secret.encrypt(tmp_path, "my token")
    assert fiscal_secret.decrypt(tmp_path, mine) == "my token"
    assert fiscal_secret.decrypt(tmp_path, theirs[0]) == "their token"
    assert [path.name for path in tmp_path.iterdir()] == ["fiscal.key"]   # no temporary left
    assert stat.S_IMODE(os.stat(key_path(tmp_path)).st_mode) == 0o600


def test_a_new_address_of_the_same_service_keeps_the_payload_another_mode_or_environment_does_not():
    fbr = fiscal_jobs.target("fbr", "sandbox", "https://esp.fbr.gov.pk:8244/FBR/v1/api/Live/PostData")
    assert fiscal_jobs.same_books(fbr, fiscal_jobs.target("fbr", "sandbox", "https://new.fbr.gov.pk/PostData"))
    assert not fiscal_jobs.same_books(fbr, fiscal_jobs.target("fbr", "production", "https://gw.fbr.gov.pk/x"))
    assert not fiscal_jobs.same_books(fbr, fiscal_jobs.target("pra", "sandbox", "https://ims.pral.com.pk/x"))
    assert not fiscal_jobs.same_books(None, fbr)
    assert fiscal_jobs.target_words(fbr) == "FBR (sandbox)"
