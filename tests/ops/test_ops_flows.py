"""Issuer operations end to end, in-process: onboarding, deposits, the indexer, payouts and the
reconciliation, on the real Anvil ape starts and a real SQLite (and, with
``DEPTOKEN_TEST_POSTGRES_URL``, PostgreSQL) ledger. Transactions are counted from the ledger's
outbox (``transactions``), row counts before and after show that a refused input wrote nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eth_utils import keccak
from lxml import etree
from sqlalchemy import func, select

from deptoken.accounts import sign_transaction
from deptoken.token.deployer import deploy_token
from deptoken.errors import DepositTokenError
from deptoken.iso20022 import Party, build_camt054, validate
from deptoken.token import TokenClient
from deptoken.ops import indexer, onboarding, outbox, workflow
from deptoken.ops.context import open_ops
from deptoken.ops.deposits import DepositInput, from_camt054, from_csv, record_deposits
from deptoken.ops.indexer import statement, supply_history
from deptoken.ops.reconcile import camt053_statement, reconcile
from deptoken.settlement.interbank import payment_reference
from deptoken.ops.redemptions import export_payouts, render_payout_file
from deptoken.ops.redemptions import mark_paid as _mark_paid
from deptoken.ops.models import (
    AllowlistJob,
    AuditEntry,
    ChainEvent,
    Client,
    Deposit,
    IndexedBlock,
    PayoutFile,
    Reconciliation,
    Redemption,
    Request,
    SyncState,
    Transaction,
)
from deptoken.validation import reference_to_bytes32
from helpers import one_line_error, set_time
from ops_support import TEST_POLICY

ZERO = "0x0000000000000000000000000000000000000000"
KYC_HEADER = "address,client_id,legal_name,country,lei,kyc_review_date,payout_account,payout_bic"
TABLES = (Client, AllowlistJob, Deposit, Request, Transaction, ChainEvent, Redemption, PayoutFile, Reconciliation, AuditEntry)


# ---------------------------------------------------------------------------- helpers


def lei(prefix: str) -> str:
    """An LEI with correct ISO 7064 MOD 97-10 check digits for an 18-character ``prefix``."""
    assert len(prefix) == 18
    number = int("".join(str(int(c, 36)) for c in prefix + "00"))
    return f"{prefix}{98 - number % 97:02d}"


def chain_now(chain) -> int:
    return int(chain.pending_timestamp)


def chain_today(chain) -> date:
    return datetime.fromtimestamp(chain_now(chain), UTC).date()


def end_of_day(day: date) -> int:
    """The allowlist expiry of a KYC review date: the midnight (UTC) that ends it."""
    return int(datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC).timestamp())


def midnight(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


def counts(ledger) -> dict[str, int]:
    with ledger.session() as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def rows(ledger, model, fn=None):
    """Every row of ``model`` by id; with ``fn``, ``fn(row)`` of each, computed inside the session."""
    with ledger.session() as session:
        found = list(session.scalars(select(model).order_by(model.id)))
        return [fn(r) for r in found] if fn else found


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def kyc_file(path: Path, clients, review: date) -> Path:
    """A KYC file: ``clients`` is ``[(account, client_id, legal_name[, payout_account, payout_bic]), ...]``,
    all reviewed until ``review`` (+ one day per row, so that every row has its own expiry); the payout
    account is by default the deposit account ``ACC-<client_id>`` at the bank."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KYC_HEADER.split(","))
    for n, (account, client_id, name, *payout) in enumerate(clients):
        writer.writerow([account.address, client_id, name, "DE", lei(f"TESTLEI{n:011d}") if n % 2 == 0 else "",
                         (review + timedelta(days=n)).isoformat(), *(payout or [f"ACC-{client_id}", ""])])
    return write(path, out.getvalue())


def onboard(ops, ledger, compliance, path: Path, clients, review: date):
    """Imports and applies ``clients`` (see ``kyc_file``); returns the ApplyResult."""
    kyc_file(path, clients, review)
    with ledger.session() as session:
        onboarding.import_clients(session, path, today=review - timedelta(days=365), actor="kyc")
    with ledger.new_session() as session:
        return onboarding.apply_jobs(session, ops, compliance, actor="executor")



def in_session(ledger, fn, *args, **kwargs):
    """``fn(session, *args, **kwargs)`` in one committed transaction (rolled back on error)."""
    with ledger.session() as session:
        return fn(session, *args, **kwargs)


def txs(ledger) -> list[tuple[str, str]]:
    """(purpose, status) of every stored transaction, oldest first."""
    return [(t.purpose, t.status) for t in rows(ledger, Transaction)]


@pytest.fixture(scope="module", autouse=True)
def _higher_scoped_fixtures_first(token, devnet_config, admin, minter_admin, minter, compliance, ana, ben, chen):
    """Every session- or module-scoped fixture the tests use, requested by the first test already:
    ape's isolation otherwise rebases (reverts and re-creates fixtures) when one turns up later."""


@pytest.fixture
def newcomers(accounts):
    """Test accounts 14-18: no role, never allowlisted."""
    return [accounts[i] for i in range(14, 19)]


@pytest.fixture
def review(chain) -> date:
    """A KYC review date about a year after the chain's today."""
    return chain_today(chain) + timedelta(days=365)


# ---------------------------------------------------------------------------- 1. onboarding


def test_import_records_jobs_and_apply_sends_two_batches(ops, ledger, compliance, newcomers, review, tmp_path):
    clients = [(a, f"C-{14 + i}", f"Client {14 + i} GmbH") for i, a in enumerate(newcomers)]
    clients[1] = (newcomers[1], "C-15", "Fifteen, Sons & Co. Ltd")  # a quoted comma
    path = kyc_file(tmp_path / "kyc.csv", clients, review)
    today = review - timedelta(days=365)

    result = in_session(ledger, onboarding.import_clients, path, today=today, actor="kyc")
    assert (result.added, result.unchanged) == (5, 0)
    assert result.run.startswith("onboard:") and result.run[8:] == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    # audit: the ledger's adoption of the fixture token (it has mints: issue 10 #9) and the import
    assert counts(ledger) == {**dict.fromkeys(counts(ledger), 0), "clients": 5, "allowlist_jobs": 5, "audit_log": 2}
    assert [(c.client_id, c.legal_name, c.status, c.review_date) for c in rows(ledger, Client)] == [
        (cid, name, "pending", review + timedelta(days=n)) for n, (_, cid, name) in enumerate(clients)
    ]
    assert [c.lei for c in rows(ledger, Client)] == [lei("TESTLEI00000000000"), None, lei("TESTLEI00000000002"), None,
                                                     lei("TESTLEI00000000004")]
    assert [(j.action, j.status, j.tx_id, j.expiry) for j in rows(ledger, AllowlistJob)] == [
        ("onboard", "pending", None, end_of_day(review + timedelta(days=n))) for n in range(5)
    ]
    assert all(ops.client.contract.allowlistExpiry(a) == 0 for a in newcomers)  # nothing sent

    with ledger.new_session() as session:
        applied = onboarding.apply_jobs(session, ops, compliance, actor="executor")
    assert (applied.transactions, applied.done, applied.already) == (2, 5, 0)
    stored = rows(ledger, Transaction)
    assert [(t.purpose, t.status, t.sender) for t in stored] == [
        ("allowlist 3 jobs from #1", "mined", compliance.address),
        ("allowlist 2 jobs from #4", "mined", compliance.address),
    ]
    assert [j.tx_id for j in rows(ledger, AllowlistJob)] == [stored[0].id] * 3 + [stored[1].id] * 2
    assert {j.status for j in rows(ledger, AllowlistJob)} == {"done"}
    assert {c.status for c in rows(ledger, Client)} == {"active"}
    for n, account in enumerate(newcomers):
        assert ops.client.contract.allowlistExpiry(account) == end_of_day(review + timedelta(days=n))
        assert ops.client.contract.isAllowlisted(account)
    updates = [e for e in ops.client.events(["AllowlistUpdated"]) if e.block >= stored[0].block_number]
    assert [(str(e.args["account"]), e.block) for e in updates] == [
        (a.address, stored[0].block_number if n < 3 else stored[1].block_number) for n, a in enumerate(newcomers)
    ]

    # The same file again: nothing new, nothing to send.
    before = counts(ledger)
    again = in_session(ledger, onboarding.import_clients, path, today=today, actor="kyc")
    assert (again.added, again.unchanged) == (0, 5)
    with ledger.new_session() as session:
        assert onboarding.apply_jobs(session, ops, compliance, actor="executor") == onboarding.ApplyResult(0, 0, 0)
    assert counts(ledger) == before | {"audit_log": before["audit_log"] + 1}  # the import is audited, nothing else


def test_kyc_file_with_bad_rows_is_refused_whole(ops, ledger, compliance, newcomers, review, tmp_path, accounts):
    onboard(ops, ledger, compliance, tmp_path / "first.csv", [(newcomers[0], "C-14", "Fourteen AG")], review)
    today = review - timedelta(days=365)
    good = newcomers[1].address
    letter = next(i for i, ch in enumerate(newcomers[2].address) if i > 1 and ch.isalpha())
    bad_checksum = newcomers[2].address[:letter] + newcomers[2].address[letter].swapcase() + newcomers[2].address[letter + 1:]
    text = "\n".join([
        "address,client_id,legal_name,country,lei,kyc_review_date",  # a file without payout accounts
        f"{good},C-15,Fifteen Ltd,GB,,{review}",                       # 2: fine on its own
        f"{bad_checksum},C-16,Sixteen Ltd,GB,,{review}",               # 3: bad EIP-55 checksum
        f"{newcomers[3].address},C-17,Seventeen SA,XX,,{review}",      # 4: unknown country
        f"{newcomers[4].address},C-18,Eighteen BV,NL,,{today - timedelta(days=1)}",  # 5: review date passed
        f"{accounts[13].address},C-15,Again Ltd,GB,,{review}",         # 6: client id of line 2 again
        f"{newcomers[0].address},C-99,Other Ltd,GB,,{review}",         # 7: the address of client C-14
        f"{accounts[19].address},C-14,Fourteen AG,DE,,{review}",       # 8: C-14 with another address
        "",
    ])
    path = write(tmp_path / "bad.csv", text)
    before = counts(ledger)
    message = one_line_error(in_session, ledger, onboarding.import_clients, path, today=today, actor="kyc")
    assert message.startswith(f"{path}: 6 bad rows: line 3: ") and message.endswith("; nothing recorded")
    assert re.findall(r"line (\d+): ", message) == ["3", "4", "5", "6", "7", "8"]
    assert f"line 3: address {bad_checksum} has a wrong EIP-55 checksum" in message
    assert "line 4: unknown country code 'XX'" in message
    assert f"kyc_review_date {today - timedelta(days=1)} is not after today ({today})" in message
    assert "client_id C-15 is already on line 2" in message
    assert f"line 7: address {newcomers[0].address} belongs to client C-14" in message
    assert f"line 8: client C-14 holds {newcomers[0].address}, not {accounts[19].address}" in message
    assert counts(ledger) == before
    assert ops.client.contract.allowlistExpiry(good) == 0


def test_a_job_whose_review_date_passed_is_set_aside_not_blocking_the_queue(ops, ledger, compliance, newcomers, review, tmp_path, chain):
    """Rows 0-4 are reviewed until review, review+1, ...; when the chain's clock has passed the first
    two before ``apply``, they are set aside as expired (audited) and the other three are allowlisted."""
    clients = [(a, f"EXP-{n}", f"Expiring {n} Ltd") for n, a in enumerate(newcomers)]
    kyc_file(tmp_path / "kyc.csv", clients, review)
    with ledger.session() as session:
        onboarding.import_clients(session, tmp_path / "kyc.csv", today=review - timedelta(days=365), actor="kyc")
    set_time(chain, end_of_day(review + timedelta(days=1)))
    with ledger.new_session() as session:
        result = onboarding.apply_jobs(session, ops, compliance, actor="executor")
    assert (result.done, result.expired, result.transactions) == (3, 2, 1)
    expiries = ops.client.allowlist_expiries([a.address for a in newcomers])
    assert [expiries[a.address] == 0 for a in newcomers] == [True, True, False, False, False]
    statuses = {c.client_id: c.status for c in rows(ledger, Client)}
    assert [statuses[f"EXP-{n}"] for n in range(5)] == ["pending", "pending", "active", "active", "active"]
    with ledger.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "allowlist.expired")).one()
        assert entry.details["clients"] == ["EXP-0", "EXP-1"]
        assert onboarding.pending_jobs(session) == 0


def test_job_already_true_on_chain_completes_without_a_transaction(ops, ledger, compliance, newcomers, review, tmp_path):
    ops.client.allowlist(newcomers[0], review, sender=compliance)  # outside the tool, same expiry as the file's
    kyc_file(tmp_path / "kyc.csv", [(newcomers[0], "C-14", "Fourteen AG"), (newcomers[1], "C-15", "Fifteen AG")], review)
    in_session(ledger, onboarding.import_clients, tmp_path / "kyc.csv", today=review - timedelta(days=30), actor="kyc")
    with ledger.new_session() as session:
        result = onboarding.apply_jobs(session, ops, compliance, actor="executor")
    assert (result.transactions, result.done, result.already) == (1, 1, 1)
    jobs = rows(ledger, AllowlistJob)
    assert [(j.status, j.tx_id) for j in jobs] == [("done", None), ("done", rows(ledger, Transaction)[0].id)]
    assert txs(ledger) == [("allowlist 1 jobs from #2", "mined")]
    assert {c.status for c in rows(ledger, Client)} == {"active"}
    assert ops.client.contract.allowlistExpiry(newcomers[1]) == end_of_day(review + timedelta(days=1))


@pytest.mark.parametrize("nonce_used", [True, False], ids=["nonce-used-void", "node-lost-it"])
def test_apply_settles_a_stored_batch_that_was_never_broadcast(
    ops, ledger, compliance, newcomers, review, tmp_path, monkeypatch, accounts, chain, nonce_used
):
    kyc_file(tmp_path / "kyc.csv", [(a, f"C-{14 + i}", f"Client {i}") for i, a in enumerate(newcomers)], review)
    in_session(ledger, onboarding.import_clients, tmp_path / "kyc.csv", today=review - timedelta(days=30), actor="kyc")

    def refused(tx):
        raise DepositTokenError(f"the node refused transaction {tx.tx_hash}: connection reset")

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_broadcast", refused)
        with ledger.new_session() as session:
            assert "connection reset" in one_line_error(onboarding.apply_jobs, session, ops, compliance, actor="executor")
    stored = rows(ledger, Transaction)
    assert [(t.status, t.purpose) for t in stored] == [("signed", "allowlist 3 jobs from #1")]
    assert [(j.status, j.tx_id) for j in rows(ledger, AllowlistJob)] == [("sent", stored[0].id)] * 3 + [("pending", None)] * 2
    assert all(ops.client.contract.allowlistExpiry(a) == 0 for a in newcomers)

    if nonce_used:  # compliance sends something else meanwhile: the stored batch can never be mined
        ops.client.allowlist(accounts[19], review, sender=compliance)
    with ledger.new_session() as session:
        result = onboarding.apply_jobs(session, ops, compliance, actor="executor")
    after = rows(ledger, Transaction)
    if nonce_used:
        assert (result.transactions, result.done, result.already) == (2, 5, 0)
        assert [(t.id, t.status) for t in after] == [(stored[0].id, "void"), (stored[0].id + 1, "mined"), (stored[0].id + 2, "mined")]
        assert after[1].nonce == stored[0].nonce + 1
    else:  # the same signed bytes broadcast again: one more transaction only for the rest
        assert (result.transactions, result.done, result.already) == (1, 5, 0)
        assert [(t.id, t.status) for t in after] == [(stored[0].id, "mined"), (stored[0].id + 1, "mined")]
        receipt = chain.provider.web3.eth.get_transaction_receipt(stored[0].tx_hash)
        assert receipt["blockNumber"] == after[0].block_number
    jobs = rows(ledger, AllowlistJob)
    assert [j.tx_id for j in jobs] == [after[-2].id] * 3 + [after[-1].id] * 2
    assert {j.status for j in jobs} == {"done"} and {c.status for c in rows(ledger, Client)} == {"active"}
    for n, account in enumerate(newcomers):
        assert ops.client.contract.allowlistExpiry(account) == end_of_day(review + timedelta(days=n))


def test_renewal_offboarding_and_refused_renewals(ops, ledger, compliance, newcomers, review, tmp_path, alice):
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(newcomers[0], "C-14", "Fourteen AG"), (newcomers[1], "C-15", "Fifteen AG")], review)
    ops.client.transfer(newcomers[1], "25.00", sender=alice)
    today = review - timedelta(days=30)
    renewed = review + timedelta(days=400)

    path = write(tmp_path / "renew.csv", f"client_id,kyc_review_date\nC-14,{renewed}\n")
    result = in_session(ledger, onboarding.import_renewals, path, today=today, actor="kyc")
    assert (result.added, result.unchanged) == (1, 0)
    assert in_session(ledger, onboarding.import_renewals, path, today=today, actor="kyc").added == 0  # recorded already
    with ledger.new_session() as session:
        assert onboarding.apply_jobs(session, ops, compliance, actor="executor") == onboarding.ApplyResult(1, 1, 0)
    assert ops.client.contract.allowlistExpiry(newcomers[0]) == end_of_day(renewed)
    assert ops.client.contract.allowlistExpiry(newcomers[1]) == end_of_day(review + timedelta(days=1))  # untouched
    client = rows(ledger, Client)[0]
    assert (client.client_id, client.review_date, client.status) == ("C-14", renewed, "active")
    assert [(j.action, j.expiry, j.status) for j in rows(ledger, AllowlistJob)][2:] == [("renew", end_of_day(renewed), "done")]

    path = write(tmp_path / "offboard.csv", "client_id,reason\nC-15,Client closed the account\n")
    result = in_session(ledger, onboarding.import_offboarding, path, actor="kyc")
    assert (result.added, result.unchanged) == (1, 0)
    assert rows(ledger, Client)[1].status == "offboarding"
    assert ops.client.contract.isAllowlisted(newcomers[1])  # nothing sent yet
    with ledger.new_session() as session:
        assert onboarding.apply_jobs(session, ops, compliance, actor="executor") == onboarding.ApplyResult(1, 1, 0)
    assert ops.client.contract.allowlistExpiry(newcomers[1]) == 0
    assert ops.client.balance(newcomers[1]) == Decimal("25.00")  # the balance stays, immobile
    assert rows(ledger, Client)[1].status == "offboarded"
    assert [t for t in txs(ledger)] == [("allowlist 2 jobs from #1", "mined"), ("allowlist 1 jobs from #3", "mined"),
                                        ("allowlist 1 jobs from #4", "mined")]
    assert in_session(ledger, onboarding.import_offboarding, path, actor="kyc").added == 0

    # Renewals for an unknown or an offboarded client, and a KYC file bringing an offboarded one back.
    before = counts(ledger)
    path = write(tmp_path / "renew2.csv", f"client_id,kyc_review_date\nC-14,{renewed + timedelta(days=1)}\nC-99,{renewed}\nC-15,{renewed}\n")
    assert one_line_error(in_session, ledger, onboarding.import_renewals, path, today=today, actor="kyc") == (
        f"{path}: 2 bad rows: line 3: client C-99 is unknown; line 4: client C-15 is offboarded; nothing recorded"
    )
    kyc_file(tmp_path / "back.csv", [(newcomers[1], "C-15", "Fifteen AG")], review)
    assert one_line_error(in_session, ledger, onboarding.import_clients, tmp_path / "back.csv", today=today, actor="kyc") == (
        f"{tmp_path / 'back.csv'}: 1 bad row: line 2: client C-15 was offboarded; nothing recorded"
    )
    path = write(tmp_path / "off2.csv", "client_id,reason\nC-98,typo\n")
    assert one_line_error(in_session, ledger, onboarding.import_offboarding, path, actor="kyc") == (
        f"{path}: 1 bad row: line 2: client C-98 is unknown; nothing recorded"
    )
    assert counts(ledger) == before
    assert rows(ledger, Client)[0].review_date == renewed


# ---------------------------------------------------------------------------- 2. deposits

DEPOSIT_HEADER = "bank_reference,client_id,amount,currency,value_date\n"


def camt054_file(path: Path, credits, created: datetime | None = None) -> Path:
    """A camt.054 from the bank's (simulated) core system: ``credits`` are (reference, amount, currency, client_id)."""
    created = created or datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    data = build_camt054(
        message_id=f"NTF-{path.stem}", created=created,
        account=Party("Example Bank N.A. deposit token omnibus", "US", account="OMNIBUS-0001"), servicer_bic="EXBKUS33",
        credits=[(ref, Decimal(amount), ccy, created.date(), client, "Payer Inc") for ref, amount, ccy, client in credits],
    )
    path.write_bytes(data)
    return path


def record(ledger, ops, inputs, maker, source):
    """``record_deposits`` in one transaction; returns [(request id, deposit ref, amount, approvals needed)]."""
    with ledger.session() as session:
        requests = record_deposits(session, ops, inputs, maker, source=source)
        return [(r.id, r.params["deposit_reference"], r.amount, r.required_approvals) for r in requests]


@pytest.fixture
def three_clients(ops, ledger, compliance, newcomers, review, tmp_path):
    """C-14, C-15, C-16 onboarded and active (one allowlist transaction)."""
    clients = [(newcomers[0], "C-14", "Fourteen AG"), (newcomers[1], "C-15", "Fifteen & Sons Ltd"), (newcomers[2], "C-16", "Sixteen SA")]
    assert onboard(ops, ledger, compliance, tmp_path / "kyc.csv", clients, review).transactions == 1
    return {cid: account for account, cid, _ in clients}


def test_deposits_from_csv_camt054_and_by_hand_become_mint_requests(ops, ledger, team, three_clients, tmp_path):
    ana = team[0]
    path = write(tmp_path / "deposits.csv", DEPOSIT_HEADER + "DEP-1,C-14,1250.50,USD,2026-11-24\n\n# a comment\nDEP-2,C-15,0.01,usd,2026-11-24\n")
    inputs, source = from_csv(path, "USD")
    assert [(d.bank_reference, d.amount, d.where) for d in inputs] == [("DEP-1", Decimal("1250.50"), "line 2"), ("DEP-2", Decimal("0.01"), "line 5")]
    assert source == f"csv:deposits.csv:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    assert [r[1:] for r in record(ledger, ops, inputs, ana, source)] == [("DEP-1", 125050, 2), ("DEP-2", 1, 1)]

    xml = camt054_file(tmp_path / "ntf.xml", [("CAMT-1", "1000.00", "USD", "C-16"), ("CAMT-2", "1000.01", "USD", "C-14")])
    inputs, source = from_camt054(xml)
    assert [(d.bank_reference, d.client_id, d.amount, d.value_date, d.where) for d in inputs] == [
        ("CAMT-1", "C-16", Decimal("1000.00"), date(2026, 11, 20), "entry 1"),
        ("CAMT-2", "C-14", Decimal("1000.01"), date(2026, 11, 20), "entry 2"),
    ]
    assert [r[1:] for r in record(ledger, ops, inputs, ana, source)] == [("CAMT-1", 100000, 1), ("CAMT-2", 100001, 2)]

    manual = [DepositInput("MAN-1", "C-15", Decimal("75.5"), "USD", date(2026, 11, 25), "command line")]
    assert [r[1:] for r in record(ledger, ops, manual, ana, "manual")] == [("MAN-1", 7550, 1)]

    addresses = {cid: a.address for cid, a in three_clients.items()}
    assert rows(ledger, Deposit, lambda d: (d.bank_reference, d.client.client_id, d.amount, d.currency, d.source.split(":")[0])) == [
        ("DEP-1", "C-14", 125050, "USD", "csv"), ("DEP-2", "C-15", 1, "USD", "csv"),
        ("CAMT-1", "C-16", 100000, "USD", "camt.054"), ("CAMT-2", "C-14", 100001, "USD", "camt.054"),
        ("MAN-1", "C-15", 7550, "USD", "manual"),
    ]
    assert rows(ledger, Request, lambda r: (r.kind, r.status, r.maker.name, r.deposit.bank_reference, r.params["to"], r.params["amount"])) == [
        ("mint", "pending", "ana", "DEP-1", addresses["C-14"], "125050"),
        ("mint", "pending", "ana", "DEP-2", addresses["C-15"], "1"),
        ("mint", "pending", "ana", "CAMT-1", addresses["C-16"], "100000"),
        ("mint", "pending", "ana", "CAMT-2", addresses["C-14"], "100001"),
        ("mint", "pending", "ana", "MAN-1", addresses["C-15"], "7550"),
    ]
    assert txs(ledger) == [("allowlist 3 jobs from #1", "mined")]  # recording sends nothing


def test_replayed_deposits_are_refused_and_record_nothing(ops, ledger, team, three_clients, tmp_path):
    ana = team[0]
    path = write(tmp_path / "deposits.csv", DEPOSIT_HEADER + "DEP-1,C-14,10.00,USD,2026-11-24\nDEP-2,C-15,20.00,USD,2026-11-24\n")
    record(ledger, ops, from_csv(path, "USD")[0], ana, "csv")
    xml = camt054_file(tmp_path / "ntf.xml", [("CAMT-1", "5.00", "USD", "C-16")])
    record(ledger, ops, from_camt054(xml)[0], ana, "camt")
    before = counts(ledger)

    inputs, source = from_csv(path, "USD")  # the same file again
    assert one_line_error(record, ledger, ops, inputs, ana, source) == (
        f"{source}: 2 bad deposit(s), nothing recorded: line 2: deposit 'DEP-1' was already recorded (a replayed deposit); "
        "line 3: deposit 'DEP-2' was already recorded (a replayed deposit)"
    )
    path = write(tmp_path / "more.csv", DEPOSIT_HEADER + "DEP-3,C-14,1.00,USD,2026-11-25\nDEP-2,C-15,20.00,USD,2026-11-24\n")
    inputs, source = from_csv(path, "USD")  # one new, one replayed: neither
    assert one_line_error(record, ledger, ops, inputs, ana, source) == (
        f"{source}: 1 bad deposit(s), nothing recorded: line 3: deposit 'DEP-2' was already recorded (a replayed deposit)"
    )
    inputs, source = from_camt054(xml)
    assert one_line_error(record, ledger, ops, inputs, ana, source) == (
        f"{source}: 1 bad deposit(s), nothing recorded: entry 1: deposit 'CAMT-1' was already recorded (a replayed deposit)"
    )
    manual = [DepositInput("DEP-1", "C-16", Decimal("3.00"), "USD", date(2026, 11, 25), "command line")]
    assert one_line_error(record, ledger, ops, manual, ana, "manual") == (
        "manual: 1 bad deposit(s), nothing recorded: command line: deposit 'DEP-1' was already recorded (a replayed deposit)"
    )
    assert counts(ledger) == before
    assert [d.bank_reference for d in rows(ledger, Deposit)] == ["DEP-1", "DEP-2", "CAMT-1"]


def test_bad_deposits_are_named_by_line_or_entry(ops, ledger, team, three_clients, newcomers, review, tmp_path):
    ana = team[0]
    kyc_file(tmp_path / "late.csv", [(newcomers[3], "C-17", "Seventeen SA")], review)  # imported, not yet applied: pending
    in_session(ledger, onboarding.import_clients, tmp_path / "late.csv", today=review - timedelta(days=30), actor="kyc")
    before = counts(ledger)

    day = date(2026, 11, 25)
    inputs = [
        DepositInput("M-1", "C-14", Decimal("10.00"), "USD", day, "entry 1"),  # fine on its own
        DepositInput("M-2", "C-404", Decimal("10.00"), "USD", day, "entry 2"),
        DepositInput("M-3", "C-17", Decimal("10.00"), "USD", day, "entry 3"),
        DepositInput("M-4", "C-15", Decimal("10.00"), "EUR", day, "entry 4"),
        DepositInput("M-5", "C-16", Decimal("10.00"), "USD", day, "entry 5"),
        DepositInput("M-5", "C-16", Decimal("11.00"), "USD", day, "entry 6"),
        DepositInput("M-7", "C-16", Decimal("10.005"), "USD", day, "entry 7"),
        DepositInput("M-8", "C-16", Decimal("0"), "USD", day, "entry 8"),
    ]
    message = one_line_error(record, ledger, ops, inputs, ana, "manual")
    assert message.startswith("manual: 7 bad deposit(s), nothing recorded: entry 2: unknown client 'C-404'; ")
    assert re.findall(r"(?:^|; )(entry \d+): ", message.split("nothing recorded: ", 1)[1]) == [f"entry {n}" for n in range(2, 9)]
    assert "entry 3: client C-17 is pending, not active" in message
    assert "entry 4: currency EUR is not the token's USD" in message
    assert "entry 5: deposit 'M-5' appears twice; entry 6: deposit 'M-5' appears twice" in message
    assert message.endswith("entry 7: amount Decimal('10.005') has more than 2 decimal places; entry 8: amount Decimal('0') must be positive")
    assert one_line_error(record, ledger, ops, [], ana, "empty.csv") == "empty.csv: no deposits"

    xml = camt054_file(tmp_path / "eur.xml", [("CAMT-1", "5.00", "USD", "C-14"), ("CAMT-2", "6.00", "EUR", "C-15")])
    inputs, source = from_camt054(xml)
    assert one_line_error(record, ledger, ops, inputs, ana, source) == (
        f"{source}: 1 bad deposit(s), nothing recorded: entry 2: currency EUR is not the token's USD"
    )
    path = write(tmp_path / "bad.csv", DEPOSIT_HEADER + "D-1,C-14,1.00,USD,2026-11-24\nD-2,C-14,1.00,EUR,2026-11-24\n"
                 "D-1,C-15,2.00,USD,2026-11-24\nD-4,C-15,2.001,USD,2026-11-24\n")
    message = one_line_error(from_csv, path, "USD")
    assert message.startswith(f"{path}: 3 bad rows: line 3: currency EUR is not the token's currency USD; "
                              "line 4: bank_reference 'D-1' is already on line 2; line 5: ")
    assert message.endswith("; nothing recorded")
    assert counts(ledger) == before


def test_hand_entered_bank_reference_is_checked_like_a_file_one(ops, ledger, team, three_clients):
    """The ledger keeps at most 35 characters of a bank reference (as camt.054 and the CSV file allow);
    a longer or blank one typed by hand must be refused with the others, not stored or crash the database."""
    day = date(2026, 11, 25)
    before = counts(ledger)
    inputs = [DepositInput("R" * 36, "C-14", Decimal("1.00"), "USD", day, "entry 1"),
              DepositInput("", "C-14", Decimal("1.00"), "USD", day, "entry 2"),
              DepositInput("OK-" + "9" * 32, "C-15", Decimal("1.00"), "USD", day, "entry 3")]
    assert one_line_error(record, ledger, ops, inputs, team[0], "manual") == (
        "manual: 2 bad deposit(s), nothing recorded: entry 1: bank_reference has 36 characters, at most 35 allowed; "
        "entry 2: bank_reference is empty"
    )
    assert counts(ledger) == before
    assert [r[1:] for r in record(ledger, ops, inputs[2:], team[0], "manual")] == [("OK-" + "9" * 32, 100, 1)]


# ---------------------------------------------------------------------------- 3. indexer


def sync(ledger, ops, **kwargs):
    with ledger.new_session() as session:
        return indexer.sync(session, ops, **kwargs)


def indexed(ledger) -> list[tuple[str, int, str]]:
    return rows(ledger, ChainEvent, lambda e: (e.tx_hash, e.log_index, e.name))


def on_chain(ops, to_block=None) -> list[tuple[str, int, str]]:
    return [(e.transaction.lower(), e.log_index, e.name) for e in ops.client.events(to_block=to_block)]


def test_sync_indexes_every_event_incrementally_in_chunks(ops, ledger, chain, alice, bob, carol, minter):
    ops.client.transfer(bob, "1.50", sender=alice)
    ops.client.redeem("2.00", "PAY-1", sender=alice)
    ops.client.mint(carol, "3.00", "DEP-X", sender=minter)
    chain.mine(120)
    head = chain.blocks.height
    chunks = []
    result = sync(ledger, ops, progress=lambda events, blocks: chunks.append((events, blocks)))
    assert (result.from_block, result.to_block, result.head, result.reorg_from) == (0, head, head, None)
    assert [blocks for _, blocks in chunks] == [50] * ((head + 1) // 50) + ([(head + 1) % 50] if (head + 1) % 50 else [])
    assert result.events == sum(events for events, _ in chunks) == len(on_chain(ops)) > 20
    assert sorted(indexed(ledger)) == sorted(on_chain(ops))
    with ledger.session() as session:
        ends = set(session.scalars(select(IndexedBlock.number)))
        assert {49, 99, head} <= ends  # each chunk's last block is remembered for the reorg check
        state = session.get(SyncState, ops.token)
        assert (state.block_number, state.block_hash) == (head, chain.blocks[head].hash.to_0x_hex())
    refs = {"0x" + reference_to_bytes32(text).hex(): text for text in ("PAY-1", "DEP-X")}
    with ledger.session() as session:
        found = session.scalars(select(ChainEvent).where(ChainEvent.reference.in_(list(refs))).order_by(ChainEvent.id))
        assert [(e.name, e.sender, e.recipient, e.amount, refs[e.reference]) for e in found] == [
            ("Redeemed", alice.address, None, 200, "PAY-1"),
            ("Minted", minter.address, carol.address, 300, "DEP-X"),
        ]

    again = sync(ledger, ops)  # nothing new
    assert (again.from_block, again.to_block, again.events) == (head + 1, head, 0)
    before = len(indexed(ledger))
    receipt = ops.client.transfer(carol, "0.25", sender=bob)
    third = sync(ledger, ops)
    assert (third.from_block, third.to_block, third.events) == (head + 1, receipt.block_number, 1)
    assert len(indexed(ledger)) == before + 1
    assert sorted(indexed(ledger)) == sorted(on_chain(ops))

    # Confirmations: the last 3 blocks stay out until they are 3 deep.
    last = [ops.client.transfer(alice, "0.01", sender=bob) for _ in range(5)]
    partial = sync(ledger, ops, confirmations=3)
    assert (partial.to_block, partial.head, partial.events) == (last[1].block_number, last[-1].block_number, 2)
    assert last[-1].block_number - last[1].block_number == 3
    hashes = {e[0] for e in indexed(ledger)}
    assert {r.txn_hash.lower() for r in last[:2]} <= hashes and not {r.txn_hash.lower() for r in last[2:]} & hashes
    chain.mine(2)
    assert sync(ledger, ops, confirmations=3).events == 2  # two more of them are 3 deep now
    assert sync(ledger, ops).events == 1
    assert sorted(indexed(ledger)) == sorted(on_chain(ops))


def export(ledger, ops, directory, fmt="pacs.008"):
    with ledger.new_session() as session:
        result = export_payouts(session, ops, directory, fmt, actor="ana")
        if result.file is None:  # nothing to instruct (not an error: issue 10 #9)
            return None, None, result.skipped
        return result.file.id, Path(result.file.path), result.skipped


def mark_paid(ledger, file_id, reference):
    return in_session(ledger, lambda session: _mark_paid(session, file_id=file_id, reference=reference, actor="ben"))


def run_reconcile(ledger, ops):
    return in_session(ledger, reconcile, ops, actor="ops")


def codes(report) -> list[tuple[str, str]]:
    return sorted((f.severity, f.code) for f in report.findings)


def test_reorg_drops_the_replaced_blocks(ops, ledger, chain, compliance, alice, bob, carol, review, tmp_path):
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(alice, "C-ALICE", "Alice Ltd"), (bob, "C-BOB", "Bob Ltd")], review)
    sync(ledger, ops)
    snapshot = chain.snapshot()
    fork = chain.blocks.height
    paid = ops.client.redeem("5.00", "PAY-A", sender=alice)
    sync(ledger, ops)
    file_id, _, _ = export(ledger, ops, tmp_path / "payouts")
    assert mark_paid(ledger, file_id, "BANK-1") == 1
    unpaid = ops.client.redeem("7.00", "PAY-B", sender=bob)
    moved = ops.client.transfer(carol, "1.00", sender=bob)
    assert sync(ledger, ops).to_block == moved.block_number == fork + 3
    dropped = {paid.txn_hash.lower(), unpaid.txn_hash.lower(), moved.txn_hash.lower()}
    assert dropped <= {e[0] for e in indexed(ledger)}

    chain.restore(snapshot)  # the chain forgets the three blocks ...
    other = [ops.client.transfer(carol, "2.00", sender=alice), ops.client.redeem("3.00", "PAY-C", sender=bob),
             ops.client.transfer(bob, "0.50", sender=alice)]  # ... and has three others at those heights
    assert [r.block_number for r in other] == [fork + 1, fork + 2, fork + 3]
    result = sync(ledger, ops)
    assert (result.reorg_from, result.to_block, result.events) == (fork + 1, fork + 3, 4)  # 2 transfers, Redeemed + its Transfer
    assert not dropped & {e[0] for e in indexed(ledger)}
    assert sorted(indexed(ledger)) == sorted(on_chain(ops))
    with ledger.session() as session:
        assert session.get(IndexedBlock, fork + 3).hash == chain.blocks[fork + 3].hash.to_0x_hex()
    assert rows(ledger, Redemption, lambda r: (r.tx_hash, r.amount, r.status, r.paid_reference)) == [
        (paid.txn_hash.lower(), 500, "orphaned", "BANK-1"),  # paid out: kept for the reconciliation
        (other[1].txn_hash.lower(), 300, "recorded", None),  # the unpaid PAY-B is gone
    ]
    report = run_reconcile(ledger, ops)
    assert not report.ok
    orphaned = [f for f in report.findings if f.code == "PAYOUT_FOR_ORPHANED_REDEMPTION"]
    assert [(f.severity, f.subject) for f in orphaned] == [("mismatch", f"redemption {paid.txn_hash.lower()}:{int(paid.logs[-1]['logIndex'], 16)}")]


def test_paid_redemption_back_at_another_position_after_a_reorg_is_not_paid_twice(
    ops, ledger, chain, compliance, alice, bob, carol, review, tmp_path
):
    """A reorg usually re-includes a transaction elsewhere (another block, another position): its
    Redeemed event comes back with another log index. It is the same redemption (one payout reference
    per holder, enforced on-chain): paid stays paid, and no second payout may be instructed."""
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(alice, "C-ALICE", "Alice Ltd")], review)
    sync(ledger, ops)
    snapshot = chain.snapshot()
    fork = chain.blocks.height
    w3 = chain.provider.web3
    # two transactions in one block (the test chain's default gas limit is a whole block)
    first = sign_transaction(bob, ops.client.contract.transfer.transaction(carol.address, 100, sender=bob, gas=500_000))
    redeem = sign_transaction(alice, ops.client.contract.redeem.transaction(500, reference_to_bytes32("PAY-R"), sender=alice, gas=500_000))
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        for raw in (first, redeem):
            w3.eth.send_raw_transaction(raw)
        chain.mine()
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    tx_hash = "0x" + keccak(redeem).hex()
    sync(ledger, ops)
    [(log_before, status)] = rows(ledger, Redemption, lambda r: (r.log_index, r.status))
    assert (log_before, status) == (2, "recorded")  # after bob's Transfer and its own Transfer
    file_id, _, _ = export(ledger, ops, tmp_path / "payouts")
    assert mark_paid(ledger, file_id, "SWIFT-1") == 1

    chain.restore(snapshot)
    w3.eth.send_raw_transaction(redeem)  # the same transaction, alone in its block
    result = sync(ledger, ops)
    assert (result.reorg_from, result.to_block) == (fork + 1, fork + 1)
    assert sorted(indexed(ledger)) == sorted(on_chain(ops))
    assert rows(ledger, Redemption, lambda r: (r.tx_hash, r.log_index, r.status, r.paid_reference)) == [(tx_hash, 1, "paid", "SWIFT-1")]
    assert export(ledger, ops, tmp_path / "payouts") == (None, None, [])  # nothing to pay out
    report = run_reconcile(ledger, ops)
    assert not {"PAYOUT_FOR_ORPHANED_REDEMPTION", "REDEMPTION_NOT_RECORDED", "PAYOUT_PENDING"} & {f.code for f in report.findings}


def test_reorg_to_a_shorter_chain(ops, ledger, chain, alice, bob):
    """After a reorg the new chain may have fewer blocks than were indexed (or not have reached that
    height yet): the next sync must still find the fork, not fail on a block that does not exist."""
    sync(ledger, ops)
    snapshot = chain.snapshot()
    fork = chain.blocks.height
    dropped = [ops.client.transfer(bob, "1.00", sender=alice) for _ in range(3)]
    sync(ledger, ops)
    chain.restore(snapshot)
    kept = ops.client.transfer(alice, "4.00", sender=bob)
    assert chain.blocks.height == fork + 1
    result = sync(ledger, ops)
    assert (result.reorg_from, result.to_block, result.events) == (fork + 1, fork + 1, 1)
    assert not {r.txn_hash.lower() for r in dropped} & {e[0] for e in indexed(ledger)}
    assert sorted(indexed(ledger)) == sorted(on_chain(ops))
    assert kept.block_number == fork + 1


def test_statement_and_supply_history_across_days(ops, ledger, chain, alice, bob, carol, minter):
    first = ops.client.events(["Transfer"])[0]
    setup_day = datetime.fromtimestamp(chain.blocks[first.block].timestamp, UTC).date()  # the fixture's two mints
    d1 = max(setup_day, chain_today(chain)) + timedelta(days=2)
    d2, d3 = d1 + timedelta(days=1), d1 + timedelta(days=2)

    def at(timestamp, operation):
        chain.pending_timestamp = timestamp
        receipt = operation()
        assert chain.blocks[receipt.block_number].timestamp == timestamp
        return receipt

    out1 = at(midnight(d1) + 10 * 3600, lambda: ops.client.transfer(bob, "100.00", sender=alice))
    redeem = at(midnight(d2) - 1, lambda: ops.client.redeem("10.00", "PAY-1", sender=alice))  # 23:59:59 on d1
    in2 = at(midnight(d2), lambda: ops.client.transfer(alice, "30.00", sender=bob))  # 00:00:00 on d2
    mint = at(midnight(d2) + 3600, lambda: ops.client.mint(alice, "50.00", "DEP-9", sender=minter))
    at(midnight(d2) + 7200, lambda: ops.client.transfer(minter, "5.00", sender=bob))  # to the treasury ...
    at(midnight(d2) + 7300, lambda: ops.client.burn("2.00", "BURN-1", sender=minter))  # ... which burns some
    out3 = at(midnight(d3) + 5, lambda: ops.client.transfer(carol, "1.00", sender=alice))
    sync(ledger, ops)

    with ledger.session() as session:
        day2 = statement(session, ops, alice.address, d2, d2)
        assert (day2.opening, day2.closing, day2.synced_to) == (1_000_000 - 10_000 - 1_000, 1_000_000 - 11_000 + 3_000 + 5_000, out3.block_number)
        assert [(l.kind, l.counterparty, l.amount, l.balance, l.tx_hash) for l in day2.lines] == [
            ("transfer in", bob.address, 3_000, 992_000, in2.txn_hash.lower()),
            ("mint", ZERO, 5_000, 997_000, mint.txn_hash.lower()),
        ]
        day1 = statement(session, ops, alice.address, d1, d1)
        assert (day1.opening, day1.closing) == (1_000_000, 989_000)
        assert [(l.kind, l.amount, l.balance, l.tx_hash) for l in day1.lines] == [
            ("transfer out", -10_000, 990_000, out1.txn_hash.lower()),
            ("redeem/burn", -1_000, 989_000, redeem.txn_hash.lower()),  # at 23:59:59: still d1
        ]
        everything = statement(session, ops, alice.address, setup_day, d3)
        assert everything.opening == 0
        assert everything.closing == int(ops.client.contract.balanceOf(alice)) == 996_900
        assert [(l.kind, l.amount) for l in everything.lines] == [
            ("mint", 1_000_000), ("transfer out", -10_000), ("redeem/burn", -1_000), ("transfer in", 3_000), ("mint", 5_000),
            ("transfer out", -100),
        ]
        assert [l.balance for l in everything.lines][-1] == everything.closing
        quiet = statement(session, ops, carol.address, d1, d1)
        assert (quiet.opening, quiet.closing, quiet.lines) == (0, 0, [])
        with pytest.raises(DepositTokenError, match="ends .* before it starts"):
            statement(session, ops, alice.address, d2, d1)

        history = supply_history(session)
        assert [(h.day, h.issued, h.retired, h.supply) for h in history] == [
            (setup_day, 2_000_000, 0, 2_000_000),
            (d1, 0, 1_000, 1_999_000),
            (d2, 5_000, 200, 2_003_800),
        ]
        assert history[-1].supply == int(ops.client.contract.totalSupply())
        assert [(h.day, h.supply) for h in supply_history(session, d2, d3)] == [(d2, 2_003_800)]
        treasury = statement(session, ops, minter.address, d2, d2)
        assert [(l.kind, l.amount, l.balance) for l in treasury.lines] == [("transfer in", 500, 500), ("redeem/burn", -200, 300)]


# ---------------------------------------------------------------------------- 4. redemptions and payouts


def xml_texts(data: bytes, path: str) -> list[str]:
    """Texts at ``path`` (local names separated by /, any namespace) anywhere in ``data``."""
    root = etree.fromstring(data)
    return [el.text for el in root.iterfind(".//" + "/".join(f"{{*}}{tag}" for tag in path.split("/")))]


def uetr(tx_hash: str, log_index: int) -> str:
    return str(uuid.UUID(hashlib.sha256(f"{tx_hash}:{log_index}".encode()).hexdigest()[:32], version=4))


def test_payouts_pacs008_csv_render_and_paid(ops, ledger, team, three_clients, alice, tmp_path):
    c14, c15 = three_clients["C-14"], three_clients["C-15"]
    for account in (c14, c15):
        ops.client.transfer(account, "100.00", sender=alice)
    r1 = ops.client.redeem("12.34", "PAY-1", sender=c14)
    r2 = ops.client.redeem("0.05", "PAY-2", sender=c15)
    r3 = ops.client.redeem("1.00", "PAY-3", sender=alice)  # alice is no client of this ledger
    assert rows(ledger, Redemption) == []
    sync(ledger, ops)
    ref = {text: "0x" + reference_to_bytes32(text).hex() for text in ("PAY-1", "PAY-2", "PAY-3", "PAY-4")}
    found = rows(ledger, Redemption, lambda r: (r.tx_hash, r.holder, r.client.client_id if r.client else None, r.amount, r.payout_ref, r.status))
    assert found == [
        (r1.txn_hash.lower(), c14.address, "C-14", 1234, ref["PAY-1"], "recorded"),
        (r2.txn_hash.lower(), c15.address, "C-15", 5, ref["PAY-2"], "recorded"),
        (r3.txn_hash.lower(), alice.address, None, 100, ref["PAY-3"], "recorded"),
    ]
    log3 = rows(ledger, Redemption)[2].log_index

    file_id, path, skipped = export(ledger, ops, tmp_path / "out")
    assert skipped == [f"redemption {r3.txn_hash.lower()}:{log3} by {alice.address}: not a client in the ledger"]
    data = path.read_bytes()
    validate(data, "pacs.008.001.08")
    record = rows(ledger, PayoutFile)[0]
    assert (record.id, record.format, record.count, record.total, record.path) == (file_id, "pacs.008", 2, 1239, str(path))
    assert record.sha256 == hashlib.sha256(data).hexdigest() and path.name == f"{record.message_id}.xml"
    assert xml_texts(data, "GrpHdr/MsgId") == [record.message_id] and xml_texts(data, "GrpHdr/NbOfTxs") == ["2"]
    assert xml_texts(data, "CdtTrfTxInf/IntrBkSttlmAmt") == ["12.34", "0.05"]
    assert [el.get("Ccy") for el in etree.fromstring(data).iterfind(".//{*}IntrBkSttlmAmt")] == ["USD", "USD"]
    assert xml_texts(data, "CdtTrfTxInf/Cdtr/Nm") == ["Fourteen AG", "Fifteen & Sons Ltd"]
    assert b"Fifteen &amp; Sons Ltd" in data
    assert xml_texts(data, "CdtTrfTxInf/PmtId/EndToEndId") == [ref["PAY-1"][2:34], ref["PAY-2"][2:34]]
    logs = rows(ledger, Redemption, lambda r: r.log_index)
    assert xml_texts(data, "CdtTrfTxInf/PmtId/UETR") == [uetr(r1.txn_hash.lower(), logs[0]), uetr(r2.txn_hash.lower(), logs[1])]
    assert xml_texts(data, "CdtTrfTxInf/Dbtr/Nm") == [str(ops.client.contract.issuer()[0])] * 2
    assert rows(ledger, Redemption, lambda r: (r.status, r.payout_file_id)) == [("instructed", file_id)] * 2 + [("recorded", None)]

    assert export(ledger, ops, tmp_path / "out") == (
        None, None, [f"redemption {r3.txn_hash.lower()}:{log3} by {alice.address}: not a client in the ledger"])
    assert len(rows(ledger, PayoutFile)) == 1

    path.unlink()  # lost after the export: written again byte for byte from the ledger
    with ledger.session() as session:
        assert render_payout_file(session, ops, file_id) == path
    assert path.read_bytes() == data and hashlib.sha256(path.read_bytes()).hexdigest() == record.sha256

    assert mark_paid(ledger, file_id, "SWIFT-0001") == 2
    assert one_line_error(mark_paid, ledger, file_id, "SWIFT-0002") == f"payout file #{file_id} ({record.message_id}) is already marked paid (SWIFT-0001)"
    assert one_line_error(mark_paid, ledger, file_id + 1, "X") == f"no payout file #{file_id + 1}"
    assert rows(ledger, Redemption, lambda r: (r.status, r.paid_reference)) == [("paid", "SWIFT-0001")] * 2 + [("recorded", None)]

    r4 = ops.client.redeem("3.00", "PAY-4", sender=c15)
    sync(ledger, ops)
    file2, csv_path, skipped = export(ledger, ops, tmp_path / "out", "csv")
    assert len(skipped) == 1 and csv_path.suffix == ".csv"
    r4_row = rows(ledger, Redemption)[3]
    assert csv_path.read_text() == (
        "instruction_id,end_to_end_id,uetr,amount,currency,client_id,legal_name,holder,tx_hash,log_index,payout_ref,"
        "creditor_account,creditor_agent_bic\n"
        f"DTR-{r4_row.id},{ref['PAY-4'][2:34]},{uetr(r4.txn_hash.lower(), r4_row.log_index)},3.00,USD,C-15,Fifteen & Sons Ltd,"
        f"{c15.address},{r4.txn_hash.lower()},{r4_row.log_index},{ref['PAY-4']},ACC-C-15,\n"
    )
    assert rows(ledger, PayoutFile, lambda f: (f.id, f.format, f.count, f.total)) == [(file_id, "pacs.008", 2, 1239), (file2, "csv", 1, 300)]


def test_a_holder_onboarded_after_redeeming_is_paid_at_the_next_export(ops, ledger, compliance, team, alice, review, tmp_path):
    """A redemption by an address that is not (yet) a client is skipped 'not a client in the ledger';
    once the KYC team onboards that address, the next export must instruct it (not skip it forever)."""
    redeemed = ops.client.redeem("4.00", "PAY-A", sender=alice)
    sync(ledger, ops)
    assert "not a client in the ledger" in export(ledger, ops, tmp_path)[2][0]
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(alice, "C-ALICE", "Alice Holdings Ltd")], review)
    file_id, path, skipped = export(ledger, ops, tmp_path)
    assert skipped == []
    assert xml_texts(path.read_bytes(), "CdtTrfTxInf/Cdtr/Nm") == ["Alice Holdings Ltd"]
    assert rows(ledger, Redemption, lambda r: (r.tx_hash, r.client.client_id, r.status, r.payout_file_id)) == [
        (redeemed.txn_hash.lower(), "C-ALICE", "instructed", file_id)
    ]


# ---------------------------------------------------------------------------- 5. reconciliation


@pytest.fixture
def clean_ops(ledger, devnet_config, admin, minter_admin, minter):
    """A token of its own (no fixture mints: every token in it goes through the ledger), bound to the
    ledger with its deployment record, so that the indexer starts at its deploy block."""
    token, deployment = deploy_token(devnet_config, admin, record=False)
    token.configureMinter(minter, 10**12, sender=minter_admin)
    return open_ops(ledger, TEST_POLICY, client=TokenClient.from_contract(token, deployment))


def mint_through_workflow(ledger, ops, inputs, maker, checkers, minter):
    """Records ``inputs`` (DepositInputs), approves each request by as many ``checkers`` as it needs
    and executes it; returns the outcomes."""
    made = record(ledger, ops, inputs, maker, "manual")
    outcomes = []
    for request_id, _, _, needed in made:
        with ledger.session() as session:
            for checker in checkers[:needed]:
                workflow.decide(session, request_id, checker, approve=True)
        with ledger.new_session() as session:
            request = session.get(Request, request_id)
            outcomes.append(workflow.execute(session, ops, request, minter, actor="executor"))
    assert [o.status for o in outcomes] == ["executed"] * len(made), outcomes
    return outcomes


def deposit(reference, client_id, amount, day):
    return DepositInput(reference, client_id, Decimal(amount), "USD", day, "command line")


def balances(data: bytes) -> dict[str, tuple[str, str]]:
    """camt.053 balances by type code: (amount, CRDT|DBIT)."""
    out = {}
    for bal in etree.fromstring(data).iterfind(".//{*}Stmt/{*}Bal"):
        code = bal.find("{*}Tp/{*}CdOrPrtry/{*}Cd").text
        out[code] = (bal.find("{*}Amt").text, bal.find("{*}CdtDbtInd").text)
    return out


def test_full_flow_reconciles_and_camt053(clean_ops, ledger, chain, team, compliance, minter, newcomers, tmp_path):
    ops, (ana, ben, chen) = clean_ops, team
    d1 = chain_today(chain) + timedelta(days=1)
    d2 = d1 + timedelta(days=1)
    chain.pending_timestamp = midnight(d1) + 3600
    c14, c15, c16 = newcomers[:3]
    clients = [(c14, "C-14", "Fourteen AG"), (c15, "C-15", "Fifteen & Sons Ltd"), (c16, "C-16", "Sixteen SA")]
    assert onboard(ops, ledger, compliance, tmp_path / "kyc.csv", clients, d1 + timedelta(days=365)).transactions == 1

    path = write(tmp_path / "deposits.csv", DEPOSIT_HEADER + f"DEP-1,C-14,1500.00,USD,{d1}\nDEP-2,C-15,250.00,USD,{d1}\n")
    inputs, _ = from_csv(path, "USD")
    mint_through_workflow(ledger, ops, inputs, ana, [ben, chen], minter)
    supply_d1 = int(ops.client.contract.totalSupply())
    assert supply_d1 == 175_000

    chain.pending_timestamp = midnight(d2) + 3600  # the next day
    mint_through_workflow(ledger, ops, [deposit("DEP-3", "C-16", "80.00", d2)], ana, [ben], minter)
    ops.client.transfer(c15, "100.00", sender=c14)
    ops.client.redeem("50.00", "PAY-F1", sender=c15)
    ops.client.redeem("20.00", "PAY-F2", sender=c14)
    sync(ledger, ops)
    file_id, path, skipped = export(ledger, ops, tmp_path / "payouts")
    assert skipped == [] and xml_texts(path.read_bytes(), "CdtTrfTxInf/IntrBkSttlmAmt") == ["50.00", "20.00"]
    assert mark_paid(ledger, file_id, "SWIFT-77") == 2

    report = run_reconcile(ledger, ops)
    assert report.findings == [] and report.ok
    assert (report.total_supply, report.ledger_minted, report.redemptions_paid, report.redemptions_unpaid, report.burned) == (
        176_000, 183_000, 7_000, 0, 0)
    assert report.ledger_liability == 176_000 == int(ops.client.contract.totalSupply())
    assert [(p.client_id, p.address, p.minted, p.redeemed, p.transfers, p.chain_balance) for p in report.clients] == sorted([
        ("C-14", c14.address, 150_000, 2_000, -10_000, 138_000),
        ("C-15", c15.address, 25_000, 5_000, 10_000, 30_000),
        ("C-16", c16.address, 8_000, 0, 0, 8_000),
    ], key=lambda p: p[1])
    for p in report.clients:
        assert p.chain_balance == int(ops.client.contract.balanceOf(p.address)) == p.explained
    assert rows(ledger, Reconciliation, lambda r: (r.block_number, r.ok, r.report["findings"])) == [(chain.blocks.height, True, [])]
    assert txs(ledger) == [("allowlist 3 jobs from #1", "mined"), ("request 1 mint", "mined"), ("request 2 mint", "mined"),
                           ("request 3 mint", "mined")]

    with ledger.session() as session:
        today = camt053_statement(session, ops, d2)
        yesterday = camt053_statement(session, ops, d1)
    validate(today, "camt.053.001.08")
    validate(yesterday, "camt.053.001.08")
    assert balances(today) == {"OPBD": ("1750.00", "CRDT"), "CLBD": ("1760.00", "CRDT")}
    assert balances(yesterday) == {"OPBD": ("0.00", "CRDT"), "CLBD": ("1750.00", "CRDT")}
    assert xml_texts(today, "Stmt/Ntry/Amt") == ["80.00", "50.00", "20.00"]
    assert xml_texts(today, "Stmt/Ntry/CdtDbtInd") == ["CRDT", "DBIT", "DBIT"]
    assert xml_texts(yesterday, "Stmt/Ntry/Amt") == ["1500.00", "250.00"]
    assert xml_texts(today, "Stmt/Acct/Id/Othr/Id") == ["DEPOSIT-TOKEN-LIABILITY"]
    with ledger.session() as session:
        assert "does not reach" in one_line_error(camt053_statement, session, ops, d2 + timedelta(days=1))


def test_reconcile_flags_what_the_ledger_cannot_explain(clean_ops, ledger, chain, team, compliance, minter, newcomers, accounts, review, tmp_path):
    ops, (ana, ben, _) = clean_ops, team
    c14, c15 = newcomers[:2]
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(c14, "C-14", "Fourteen AG"), (c15, "C-15", "Fifteen AG")], review)
    mint_through_workflow(ledger, ops, [deposit("DEP-1", "C-14", "300.00", chain_today(chain)), deposit("DEP-2", "C-15", "1.00", chain_today(chain))],
                          ana, [ben], minter)
    sync(ledger, ops)
    assert run_reconcile(ledger, ops).findings == []

    redeemed = ops.client.redeem("5.00", "PAY-1", sender=c14)
    sync(ledger, ops)
    report = run_reconcile(ledger, ops)
    log = rows(ledger, Redemption)[0].log_index
    assert report.ok and [(f.severity, f.code, f.subject, f.detail) for f in report.findings] == [
        ("info", "PAYOUT_PENDING", f"redemption {redeemed.txn_hash.lower()}:{log}", "5.00 EXUSD to C-14: recorded, not yet paid")
    ]
    assert (report.redemptions_unpaid, report.total_supply) == (500, 29_600)

    rogue = ops.client.mint(c15, "9.99", "ROGUE-1", sender=minter)  # straight on-chain, no deposit in the ledger
    sync(ledger, ops)
    report = run_reconcile(ledger, ops)
    assert not report.ok
    assert codes(report) == [("info", "PAYOUT_PENDING"), ("mismatch", "CLIENT_BALANCE"), ("mismatch", "MINT_WITHOUT_DEPOSIT"),
                             ("mismatch", "SUPPLY")]
    found = {f.code: f for f in report.findings}
    assert found["MINT_WITHOUT_DEPOSIT"].subject == f"mint {rogue.txn_hash.lower()}"
    assert found["MINT_WITHOUT_DEPOSIT"].detail.startswith(f"9.99 EXUSD minted to {c15.address} (reference 0x")
    assert found["SUPPLY"].detail.startswith("chain 305.99 EXUSD, ledger explains 296.00 EXUSD")
    assert (found["CLIENT_BALANCE"].subject, found["CLIENT_BALANCE"].detail) == ("C-15", "chain 10.99 EXUSD, ledger explains 1.00 EXUSD")

    outsider = accounts[19]
    ops.client.allowlist(outsider, review, sender=compliance)  # allowlisted around the ledger
    ops.client.transfer(outsider, "1.00", sender=c14)
    sync(ledger, ops)
    report = run_reconcile(ledger, ops)
    assert codes(report) == [("info", "PAYOUT_PENDING"), ("mismatch", "CLIENT_BALANCE"), ("mismatch", "MINT_WITHOUT_DEPOSIT"),
                             ("mismatch", "SUPPLY"), ("mismatch", "UNKNOWN_HOLDER")]
    unknown = next(f for f in report.findings if f.code == "UNKNOWN_HOLDER")
    assert (unknown.subject, unknown.detail) == (outsider.address, "holds 1.00 EXUSD but is no client in the ledger")
    assert rows(ledger, Reconciliation, lambda r: r.ok) == [True, True, False, False]


def test_reconcile_explains_interbank_payments_in_and_out(clean_ops, ledger, chain, team, devnet_config, admin, minter_admin,
                                                          minter, compliance, newcomers, accounts, review, tmp_path):
    """Issue 13: clients of this bank pay and are paid by clients of another bank through an interbank
    network (its burns here are payments out, its mints payments in, under the payment id). Declared in
    the policy (``interbank_networks``), the books explain the supply as minted - redeemed + interbank in
    - interbank out; undeclared, the network's mint is a mint without a deposit."""
    from dataclasses import replace

    from ape import project

    ops, (ana, ben, _) = clean_ops, team
    c14, c15 = newcomers[:2]
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(c14, "C-14", "Fourteen AG"), (c15, "C-15", "Fifteen AG")], review)
    mint_through_workflow(ledger, ops, [deposit("DEP-1", "C-14", "300.00", chain_today(chain))], ana, [ben], minter)
    # bank B, its client (a client of B only), the settlement asset and the network both banks joined
    bank_b, _ = deploy_token(replace(devnet_config, name="Example Bank B USD Deposit", symbol="EXUSB"), admin, record=False)
    other = accounts[19]
    asset = admin.deploy(project.SettlementAsset, "Tokenised USD reserves", "rUSD", 2, admin)
    network = admin.deploy(project.InterbankNetwork, asset, "USD", 0, 0, admin, admin)
    asset.setHolder(network, True, sender=admin)
    asset.mint(admin, 2 * 10**9, sender=admin)
    asset.approve(network, 2 * 10**9, sender=admin)
    expiry = int(chain.pending_timestamp) + 365 * 86_400
    bank_b.configureMinter(minter, 10**12, sender=minter_admin)
    bank_b.allowlistBatch([other, minter], [expiry] * 2, sender=compliance)
    bank_b.mint(other, 100_00, reference_to_bytes32("B-DEP-1"), sender=minter)
    for t in (ops.client.contract.address, bank_b):
        network.join(t, admin, sender=admin)
        network.postCollateral(t, 10**9, sender=admin)
    a = project.DepositToken.at(ops.client.address)
    a.configureMinter(network, 10**12, sender=minter_admin)  # bank A's grant and allowlisting: its own decisions
    a.allowlist(network, expiry, sender=compliance)
    bank_b.configureMinter(network, 10**12, sender=minter_admin)
    bank_b.allowlist(network, expiry, sender=compliance)
    a.approve(network, 50_00, sender=c14)
    network.pay(a, bank_b, other, 50_00, reference_to_bytes32("IB-OUT-1"), sender=c14)  # C-14 pays B's client 50.00
    bank_b.approve(network, 20_00, sender=other)
    paid_in = network.pay(bank_b, a, c15, 20_00, reference_to_bytes32("IB-IN-1"), sender=other)  # B's client pays C-15 20.00
    sync(ledger, ops)

    undeclared = run_reconcile(ledger, ops)
    assert codes(undeclared) == [("mismatch", "CLIENT_BALANCE"), ("mismatch", "MINT_WITHOUT_DEPOSIT"), ("mismatch", "SUPPLY")]
    assert next(f for f in undeclared.findings if f.code == "MINT_WITHOUT_DEPOSIT").subject == f"mint {paid_in.txn_hash.lower()}"

    declared = replace(ops, policy=replace(ops.policy, interbank_networks=(network.address,)))
    report = run_reconcile(ledger, declared)
    assert report.ok and report.findings == []
    assert (report.ledger_minted, report.interbank_in, report.interbank_out, report.burned) == (300_00, 20_00, 50_00, 0)
    assert report.total_supply == report.ledger_liability == 270_00 == int(a.totalSupply())
    positions = {p.client_id: (p.minted, p.interbank_in, p.transfers, p.chain_balance) for p in report.clients}
    assert positions == {"C-14": (300_00, 0, -50_00, 250_00), "C-15": (0, 20_00, 0, 20_00)}
    with ledger.session() as session:  # the day's statement names the interbank entries with their references
        data = camt053_statement(session, declared, chain_today(chain))
    # a payment's reference on both tokens: the payer's id scoped by the payer (the same at both banks)
    ids = [f"0x{payment_reference(payer.address, reference_to_bytes32(r)).hex()}" for payer, r in ((c14, "IB-OUT-1"), (other, "IB-IN-1"))]
    assert ids == [f"0x{bytes(network.paymentReference(payer, reference_to_bytes32(r))).hex()}" for payer, r in ((c14, "IB-OUT-1"), (other, "IB-IN-1"))]
    described = [t.split(" block ")[0] for t in xml_texts(data, "Ntry/AddtlNtryInf")]
    assert described == ["Mint", f"Interbank payment out {ids[0]}", f"Interbank payment in {ids[1]}"], described
    assert xml_texts(data, "Ntry/NtryDtls/TxDtls/AddtlTxInf") == ids  # the references in a field of their own
    assert xml_texts(data, "Ntry/BkTxCd/Domn/Fmly/Cd") == ["ICDT", "RCDT"]  # credit transfers issued, received


def test_reconcile_leaves_mints_after_the_last_confirmed_block_to_the_next_run(clean_ops, ledger, chain, team, compliance,
                                                                                minter, newcomers, review, tmp_path):
    """Mints the index does not reach yet (confirmations) are information, and count in no client's
    position: a client's chain balance at the indexed block does not include them either."""
    ops, (ana, ben, _) = clean_ops, team
    c14 = newcomers[0]
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(c14, "C-14", "Fourteen AG")], review)
    mint_through_workflow(ledger, ops, [deposit("DEP-1", "C-14", "300.00", chain_today(chain))], ana, [ben], minter)
    sync(ledger, ops, confirmations=1)  # the mint is in the newest block: not indexed
    report = run_reconcile(ledger, ops)
    assert report.ok, report.findings
    assert codes(report) == [("info", "MINT_NOT_CONFIRMED")]
    assert [(p.client_id, p.minted, p.chain_balance) for p in report.clients] == [("C-14", 0, 0)]
    sync(ledger, ops)
    report = run_reconcile(ledger, ops)
    assert report.ok and report.findings == []
    assert [(p.client_id, p.minted, p.chain_balance) for p in report.clients] == [("C-14", 30_000, 30_000)]


# ---------------------------------------------------------------------------- issue 10: payouts (defects 6, 14)


def test_a_failed_payout_export_records_nothing_and_render_writes_anywhere(ops, ledger, team, three_clients, alice, tmp_path):
    """Issue 10 #14: the file is written before the export is recorded: a write error leaves the
    redemptions ``recorded`` (a later export instructs them), and ``render`` can write a recorded file
    to another directory."""
    c14 = three_clients["C-14"]
    ops.client.transfer(c14, "10.00", sender=alice)
    ops.client.redeem("2.50", "PAY-W1", sender=c14)
    sync(ledger, ops)
    blocked = write(tmp_path / "not-a-directory", "")
    before = counts(ledger)
    with pytest.raises(OSError):
        export(ledger, ops, blocked)
    assert counts(ledger) == before
    assert rows(ledger, Redemption, lambda r: (r.status, r.payout_file_id)) == [("recorded", None)]

    file_id, path, _ = export(ledger, ops, tmp_path / "out")
    assert path.is_file() and rows(ledger, Redemption, lambda r: r.status) == ["instructed"]
    with ledger.session() as session:
        copy = render_payout_file(session, ops, file_id, directory=tmp_path / "elsewhere")
    assert copy == tmp_path / "elsewhere" / path.name and copy.read_bytes() == path.read_bytes()


def test_marking_a_payout_paid_needs_another_operator_than_the_exporter(ops, ledger, team, three_clients, alice, tmp_path):
    """Issue 10 #6: four eyes on the payment confirmation (policy ``paid_by_another_operator``)."""
    c14 = three_clients["C-14"]
    ops.client.transfer(c14, "10.00", sender=alice)
    ops.client.redeem("2.50", "PAY-P1", sender=c14)
    sync(ledger, ops)
    file_id, _, _ = export(ledger, ops, tmp_path)  # exported by ana
    assert rows(ledger, PayoutFile, lambda f: f.exported_by) == ["ana"]
    before = counts(ledger)
    paid_by_ana = lambda session: _mark_paid(session, file_id=file_id, reference="SWIFT-9", actor="ana")  # noqa: E731
    assert one_line_error(in_session, ledger, paid_by_ana) == (
        f"payout file #{file_id} was exported by ana: another operator must confirm its payment")
    assert counts(ledger) == before
    assert mark_paid(ledger, file_id, "SWIFT-9") == 1  # ben
    assert rows(ledger, Redemption, lambda r: (r.status, r.paid_reference)) == [("paid", "SWIFT-9")]


def ascii_ref(text: str) -> str:
    """A payout reference carried as text: its ASCII bytes, right-padded with zeros to bytes32."""
    return "0x" + text.encode().ljust(32, b"\0").hex()


def test_payouts_name_the_creditors_account_on_us_iban_or_local_account_at_another_bank(
        ops, ledger, compliance, team, alice, newcomers, review, tmp_path):
    """Issue 10 §4: each payout names the client's payout account; the creditor agent is the bank
    holding it (another bank's BIC) or, for a deposit account at the bank, the bank itself. The
    EndToEndId is the payout reference as text when the chain carries it so, else its hash's hex."""
    c14, c15, c16 = newcomers[:3]
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [
        (c14, "C-14", "On-us AG", "DEP-0014-001", ""),
        (c15, "C-15", "Iban Ltd", "GB33 BUKB 2020 1555 5555 55", "BUKBGB22"),
        (c16, "C-16", "Local Co", "0012345678", "DEVBCNSHXXX"),
    ], review)
    for holder in (c14, c15, c16):
        ops.client.transfer(holder, "10.00", sender=alice)
    ops.client.redeem("1.00", "PAY-HASHED", sender=c14)
    ops.client.redeem("2.00", ascii_ref("PAY-2026-0001"), sender=c15)
    ops.client.redeem("3.00", ascii_ref("P" * 32), sender=c16)
    sync(ledger, ops)
    file_id, path, skipped = export(ledger, ops, tmp_path / "out")
    data = path.read_bytes()
    validate(data, "pacs.008.001.08")
    bank_bic = str(ops.client.contract.issuer()[2])
    assert skipped == []
    assert xml_texts(data, "CdtTrfTxInf/CdtrAgt/FinInstnId/BICFI") == [bank_bic, "BUKBGB22", "DEVBCNSHXXX"]
    assert xml_texts(data, "CdtTrfTxInf/DbtrAgt/FinInstnId/BICFI") == [bank_bic] * 3
    assert xml_texts(data, "CdtTrfTxInf/CdtrAcct/Id/IBAN") == ["GB33BUKB20201555555555"]
    assert xml_texts(data, "CdtTrfTxInf/CdtrAcct/Id/Othr/Id") == ["DEP-0014-001", "0012345678"]
    hashed = "0x" + reference_to_bytes32("PAY-HASHED").hex()
    assert xml_texts(data, "CdtTrfTxInf/PmtId/EndToEndId") == [hashed[2:34], "PAY-2026-0001", "P" * 32]
    assert rows(ledger, Redemption, lambda r: (r.creditor_account, r.creditor_bic, r.end_to_end_id)) == [
        ("DEP-0014-001", None, hashed[2:34]), ("GB33BUKB20201555555555", "BUKBGB22", "PAY-2026-0001"),
        ("0012345678", "DEVBCNSHXXX", "P" * 32)]

    # a renewal changes the payout account: the next export pays there, the file written stays as it was
    renewal = write(tmp_path / "renew.csv", f"client_id,kyc_review_date,payout_account,payout_bic\nC-14,{review},DE89370400440532013000,COBADEFFXXX\n")
    result = in_session(ledger, onboarding.import_renewals, renewal, today=review - timedelta(days=30), actor="kyc")
    assert (result.added, result.unchanged, result.payout_accounts) == (0, 1, 1)
    assert rows(ledger, Client, lambda c: (c.client_id, c.payout_account, c.payout_bic))[0] == (
        "C-14", "DE89370400440532013000", "COBADEFFXXX")
    entry = rows(ledger, AuditEntry)[-2]
    assert (entry.action, entry.subject, entry.details["from"], entry.details["to"]) == (
        "client.payout_account", "C-14", "DEP-0014-001", "DE89370400440532013000")
    path.unlink()
    with ledger.session() as session:
        assert render_payout_file(session, ops, file_id) == path
    assert path.read_bytes() == data
    ops.client.redeem("0.50", "PAY-AFTER", sender=c14)
    sync(ledger, ops)
    _, path2, _ = export(ledger, ops, tmp_path / "out")
    assert xml_texts(path2.read_bytes(), "CdtTrfTxInf/CdtrAcct/Id/IBAN") == ["DE89370400440532013000"]
    assert xml_texts(path2.read_bytes(), "CdtTrfTxInf/CdtrAgt/FinInstnId/BICFI") == ["COBADEFFXXX"]


def test_a_client_without_a_payout_account_is_not_paid_until_one_is_given(ops, ledger, compliance, team, alice, newcomers, review, tmp_path):
    """Issue 10 §4: a KYC file without the payout columns still imports; its clients' redemptions
    are skipped by the export, named, until a renewal file gives a payout account; the other
    redemptions are exported meanwhile. A KYC file cannot change an onboarded client's account."""
    c14, c15 = newcomers[:2]
    old_style = write(tmp_path / "old.csv", "address,client_id,legal_name,country,lei,kyc_review_date\n"
                                            f"{c14.address},C-14,Fourteen AG,DE,,{review}\n")
    with ledger.session() as session:
        onboarding.import_clients(session, old_style, today=review - timedelta(days=365), actor="kyc")
    onboard(ops, ledger, compliance, tmp_path / "kyc.csv", [(c15, "C-15", "Fifteen AG")], review)
    for holder in (c14, c15):
        ops.client.transfer(holder, "10.00", sender=alice)
    r14 = ops.client.redeem("1.00", "PAY-14", sender=c14)
    ops.client.redeem("2.00", "PAY-15", sender=c15)
    sync(ledger, ops)
    log14 = rows(ledger, Redemption)[0].log_index
    file_id, path, skipped = export(ledger, ops, tmp_path / "out")
    assert skipped == [f"redemption {r14.txn_hash.lower()}:{log14}: client C-14 has no payout account "
                       "(a renewal file gives it: payout_account, payout_bic)"]
    assert xml_texts(path.read_bytes(), "CdtTrfTxInf/Cdtr/Nm") == ["Fifteen AG"]
    assert rows(ledger, Redemption, lambda r: r.status) == ["recorded", "instructed"]

    again = kyc_file(tmp_path / "again.csv", [(c14, "C-14", "Fourteen AG", "ACC-NEW", "")], review)
    assert one_line_error(in_session, ledger, onboarding.import_clients, again, today=review - timedelta(days=365), actor="kyc") == (
        f"{again}: 1 bad row: line 2: client C-14 is onboarded with another payout account: a renewal file changes it; nothing recorded")
    renewal = write(tmp_path / "renew.csv", f"client_id,kyc_review_date,payout_account,payout_bic\nC-14,{review},ACC-0014,\n")
    in_session(ledger, onboarding.import_renewals, renewal, today=review - timedelta(days=30), actor="kyc")
    _, path2, skipped = export(ledger, ops, tmp_path / "out")
    assert skipped == [] and xml_texts(path2.read_bytes(), "CdtTrfTxInf/CdtrAcct/Id/Othr/Id") == ["ACC-0014"]


def confirmation(path: Path, debits) -> Path:
    """The payment system's camt.054 debit notification: ``debits`` are DebitEntry field dicts."""
    from deptoken.iso20022 import DebitEntry, build_camt054_debits

    entries = [DebitEntry(**({"entry": 0, "reference": f"RTGS-{n}", "currency": "USD", "booking_date": date(2026, 11, 26),
                              "instruction_id": None, "end_to_end_id": None, "uetr": None, "message_id": None} | d))
               for n, d in enumerate(debits, start=1)]
    path.write_bytes(build_camt054_debits(message_id=f"CONF-{path.stem}", created=datetime(2026, 11, 26, 18, tzinfo=UTC),
                                          account=Party("Example Bank N.A.", "US", account="NOSTRO-0001"),
                                          servicer_bic="EXBKUS33", debits=entries))
    return path


def test_the_payment_systems_confirmation_marks_the_payouts_it_confirms_paid(ops, ledger, team, three_clients, alice, tmp_path):
    """Issue 10 #6: a camt.054 debit notification from the payment system is the second pair of eyes:
    the exporter may load it. Its debits are matched to the instructed payouts (InstrId, else UETR);
    an entry that matches nothing or another amount refuses the file, nothing marked paid."""
    from deptoken.ops.redemptions import confirm_paid
    from deptoken.ops.context import ledger_token

    c14, c15 = three_clients["C-14"], three_clients["C-15"]
    for holder in (c14, c15):
        ops.client.transfer(holder, "10.00", sender=alice)
    ops.client.redeem("2.50", "PAY-C1", sender=c14)
    ops.client.redeem("1.25", "PAY-C2", sender=c15)
    sync(ledger, ops)
    file_id, _, _ = export(ledger, ops, tmp_path)  # exported by ana
    first, second = rows(ledger, Redemption)
    message_id = rows(ledger, PayoutFile)[0].message_id

    def confirm(path: Path, **kwargs):
        with ledger.session() as session:
            return confirm_paid(session, path, ledger_token(session) or ops.client, actor="ana", **kwargs)

    before = counts(ledger)
    nothing = confirmation(tmp_path / "nothing.xml", [{"amount": Decimal("2.50"), "instruction_id": "DTR-999"},
                                                      {"amount": Decimal("1.00"), "uetr": str(uuid.uuid4())}])
    assert one_line_error(confirm, nothing).startswith(
        f"{nothing}: 2 entries refused, nothing marked paid: entry 1: matches no instructed payout (InstrId DTR-999); "
        "entry 2: matches no instructed payout (UETR ")
    wrong = confirmation(tmp_path / "wrong.xml", [{"amount": Decimal("2.50"), "instruction_id": f"DTR-{first.id}"},
                                                  {"amount": Decimal("1.52"), "uetr": uetr(second.tx_hash, second.log_index)}])
    assert one_line_error(confirm, wrong) == (
        f"{wrong}: 1 entry refused, nothing marked paid: entry 2: DTR-{second.id} pays 1.52 USD, instructed 1.25 USD")
    other = confirmation(tmp_path / "other.xml", [{"amount": Decimal("2.50"), "instruction_id": f"DTR-{first.id}",
                                                   "message_id": "DTP-OTHER"}])
    assert one_line_error(confirm, other) == (
        f"{other}: 1 entry refused, nothing marked paid: entry 1: DTR-{first.id} was instructed in {message_id}, not DTP-OTHER")
    assert counts(ledger) == before

    good = confirmation(tmp_path / "good.xml", [
        {"amount": Decimal("2.50"), "instruction_id": f"DTR-{first.id}", "message_id": message_id,
         "end_to_end_id": first.end_to_end_id},
        {"amount": Decimal("1.25"), "uetr": uetr(second.tx_hash, second.log_index)}])
    result = confirm(good, file_id=file_id)  # ana exported the file: the payment system confirms, not she
    assert (result.message_id, result.paid, result.already, result.files) == ("CONF-good", 2, 0, [file_id])
    assert rows(ledger, Redemption, lambda r: (r.status, r.paid_reference, r.paid_at.date())) == [
        ("paid", "RTGS-1", date(2026, 11, 26)), ("paid", "RTGS-2", date(2026, 11, 26))]
    entry = rows(ledger, AuditEntry)[-1]
    assert (entry.actor, entry.action, entry.subject, entry.details["count"]) == ("ana", "payouts.paid", "CONF-good", 2)
    again = confirm(good)  # the same confirmation again: nothing new
    assert (again.paid, again.already) == (0, 2)
    resent = confirmation(tmp_path / "resent.xml", [{"reference": "RTGS-X", "amount": Decimal("2.50"), "instruction_id": f"DTR-{first.id}"}])
    assert one_line_error(confirm, resent) == (
        f"{resent}: 1 entry refused, nothing marked paid: entry 1: DTR-{first.id} is paid (RTGS-1)")


# ---------------------------------------------------------------------------- issue 10: camt.053 (defect 16)


def test_camt053_ids_are_a_ledger_sequence_and_written_only_when_reconciled(clean_ops, ledger, chain, tmp_path):
    """Issue 10 #16: two statements of one day get different message and statement ids (the ledger's
    sequence, also the electronic sequence number); after a mismatch none is written or recorded."""
    from deptoken.ops.models import Statement
    from deptoken.ops.reconcile import issue_camt053

    ops = clean_ops
    chain.mine(1)
    sync(ledger, ops)
    report = run_reconcile(ledger, ops)
    assert report.ok
    day = chain_today(chain)
    first, second = tmp_path / "first.xml", tmp_path / "second.xml"
    for path in (first, second):
        with ledger.new_session() as session:
            issue_camt053(session, ops, day, report, path)
    ids = [(xml_texts(p.read_bytes(), "GrpHdr/MsgId"), xml_texts(p.read_bytes(), "Stmt/Id"), xml_texts(p.read_bytes(), "Stmt/ElctrncSeqNb"))
           for p in (first, second)]
    assert ids == [([f"DTS-{day:%Y%m%d}-1"], [f"DTS-{day:%Y%m%d}-1"], ["1"]), ([f"DTS-{day:%Y%m%d}-2"], [f"DTS-{day:%Y%m%d}-2"], ["2"])]
    validate(second.read_bytes(), "camt.053.001.08")
    assert rows(ledger, Statement, lambda s: (s.message_id, s.reconciled)) == [(f"DTS-{day:%Y%m%d}-1", True), (f"DTS-{day:%Y%m%d}-2", True)]

    from deptoken.ops.reconcile import Finding

    report.findings.append(Finding("mismatch", "SUPPLY", "total supply", "as reconcile reports it"))  # a failed reconciliation
    before = counts(ledger)
    with ledger.new_session() as session:
        message = one_line_error(issue_camt053, session, ops, day, report, tmp_path / "third.xml")
    assert message == (f"camt.053 statement not written: the reconciliation at block {report.block_number} found "
                       "1 mismatch(es) (see `deptoken reconcile`)")
    assert not (tmp_path / "third.xml").exists() and counts(ledger) == before and len(rows(ledger, Statement)) == 2


# ---------------------------------------------------------------------------- issue 10: onboarding controls (defect 17)


def test_onboarding_refuses_the_banks_own_addresses_and_contracts(ops, ledger, team, compliance, minter, newcomers, review, tmp_path, chain):
    """Issue 10 #17: the token itself, a minter, an operator, another role holder and a contract are
    refused as clients (every such row named, nothing recorded) unless the policy names the address."""
    from dataclasses import replace
    from types import SimpleNamespace

    from deptoken.ops.context import IssuerContext

    ana = team[0]
    contract = newcomers[3]
    chain.provider.make_request("anvil_setCode", [contract.address, "0x6000"])
    rows_ = [(SimpleNamespace(address=ops.token), "C-TOKEN", "Token"), (minter, "C-MINTER", "Minter"),
             (ana, "C-ANA", "Ana"), (compliance, "C-COMPL", "Compliance"), (contract, "C-CODE", "Code"),
             (newcomers[0], "C-14", "Fourteen AG")]
    path = kyc_file(tmp_path / "kyc.csv", rows_, review)
    today = review - timedelta(days=365)
    before = counts(ledger)
    message = one_line_error(in_session, ledger, onboarding.import_clients, path, today=today, actor="ana", ops=ops)
    assert message == (
        f"{path}: 5 bad rows: line 2: address {ops.token} is the token contract itself: the bank's own, not a client; "
        f"line 3: address {minter.address} holds the token's minter role: the bank's own, not a client; "
        f"line 4: address {ana.address} is operator ana: the bank's own, not a client; "
        f"line 5: address {compliance.address} holds the token's compliance role: the bank's own, not a client; "
        f"line 6: address {contract.address} is a contract, not a client's account; nothing recorded")
    assert counts(ledger) == before

    allowed = IssuerContext(ledger, ops.client, ops.chain_id, replace(TEST_POLICY, client_addresses_allowed=(minter.address,)))
    path = kyc_file(tmp_path / "kyc2.csv", [(minter, "C-TREASURY", "Treasury"), (newcomers[0], "C-14", "Fourteen AG")], review)
    assert in_session(ledger, onboarding.import_clients, path, today=today, actor="ana", ops=allowed).added == 2


def test_allowlist_jobs_wait_for_a_second_operator_when_the_policy_says_so(ops, ledger, team, compliance, newcomers, review, tmp_path):
    """Issue 10 #17: each job records who imported it; with ``clients_second_approver`` nothing is sent
    before another operator approves (the importer cannot)."""
    from dataclasses import replace

    from deptoken.ops.context import IssuerContext
    from deptoken.ops.models import Operator

    strict = IssuerContext(ledger, ops.client, ops.chain_id, replace(TEST_POLICY, clients_second_approver=True))
    path = kyc_file(tmp_path / "kyc.csv", [(newcomers[0], "C-14", "Fourteen AG")], review)
    with ledger.session() as session:
        ana_op = session.scalars(select(Operator).where(Operator.name == "ana")).one()
        onboarding.import_clients(session, path, today=review - timedelta(days=365), actor="ana", ops=strict, maker=ana_op)
    with ledger.new_session() as session:
        assert onboarding.apply_jobs(session, strict, compliance, actor="executor") == onboarding.ApplyResult(0, 0, 0)
    with ledger.session() as session:
        ana_op, ben_op = (session.scalars(select(Operator).where(Operator.name == n)).one() for n in ("ana", "ben"))
        assert one_line_error(onboarding.approve_jobs, session, ana_op).startswith("allowlist job #1 (run onboard:")
    with ledger.session() as session:
        ben_op = session.scalars(select(Operator).where(Operator.name == "ben")).one()
        assert onboarding.approve_jobs(session, ben_op) == 1
    with ledger.new_session() as session:
        assert onboarding.apply_jobs(session, strict, compliance, actor="executor").done == 1
    assert rows(ledger, AllowlistJob, lambda j: (j.status, j.maker_id, j.approved_by_id)) == [("done", ana_op.id, ben_op.id)]


def test_deposit_errors_name_the_file_not_the_ledger_source_id(ops, ledger, team, three_clients, tmp_path):
    """Issue 10 #9: a refused file names its path (and the entry or line), not the internal source id
    (``camt.054:<name>:<hash>``) the ledger stores."""
    xml = camt054_file(tmp_path / "eur.xml", [("CAMT-9", "5.00", "USD", "C-14"), ("CAMT-10", "6.00", "EUR", "C-15")])
    inputs, source = from_camt054(xml)
    with ledger.session() as session:
        message = one_line_error(record_deposits, session, ops, inputs, team[0], source=source, label=str(xml))
    assert message == f"{xml}: 1 bad deposit(s), nothing recorded: entry 2: currency EUR is not the token's USD"
    assert source not in message


def test_sync_says_when_the_newest_blocks_are_unconfirmed(ops, ledger, chain, alice):
    """Issue 10 #18: on an idle devnet (no block follows a redemption) with 2 confirmations, `sync` and
    then `payouts export` found nothing and did not say why: the result names the unconfirmed blocks,
    the token's events in them and how many more blocks confirm the first."""
    chain.mine(3)
    assert sync(ledger, ops, confirmations=2).waiting is not None  # the last 2 blocks, no events of the token
    sync(ledger, ops, confirmations=0)
    receipt = ops.client.redeem("1.00", "PAY-IDLE", sender=alice)
    block = receipt.block_number
    result = sync(ledger, ops, confirmations=2)
    assert (result.to_block, result.head, result.events) == (block - 1, block, 0)
    assert result.waiting == (f"blocks {block}..{block} are not yet confirmed (2 confirmations) and hold 2 event(s) "
                              f"of the token: block {block} is indexed once 2 more block(s) are mined")
    with ledger.new_session() as session:
        assert export_payouts(session, ops, "unused", "pacs.008", actor="ana").file is None
        assert indexer.unconfirmed(session, ops, confirmations=2) == result.waiting  # what `payouts export` adds
    chain.mine(2)
    assert sync(ledger, ops, confirmations=2).events == 2  # Redeemed and the burn's Transfer
