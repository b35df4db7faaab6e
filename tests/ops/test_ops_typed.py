"""Typed values in the issuer ledger (issue 12 §2): ``Money`` (minor units parsed once at the edge),
``Reference`` (text and bytes32), one typed dataclass per request kind with its stored JSON form,
and statuses as ``StrEnum``s the database checks (migration 0006).

The migration tests run on SQLite and, with ``DEPTOKEN_TEST_POSTGRES_URL`` set, on PostgreSQL too.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from eth_utils import keccak
from helpers import one_line_error

from deptoken.amounts import Money, format_amount, units_of
from deptoken.ops import params as P
from deptoken.ops.db import Ledger, make_engine, schema_revision, upgrade
from deptoken.ops.models import AllowlistJob, Approval, Client, Deposit, PayoutFile, Redemption, Request, Transaction
from deptoken.ops.statuses import (
    ClientStatus,
    Decision,
    DepositStatus,
    JobAction,
    JobStatus,
    PayoutFormat,
    RedemptionStatus,
    RequestKind,
    RequestStatus,
    TransactionStatus,
)
from deptoken.references import Reference
from deptoken.validation import reference_to_bytes32

A = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
B = "0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2"


# ---------------------------------------------------------------------------- Money


def test_money_is_minor_units_parsed_once_and_taken_as_they_are():
    money = Money.parse("1250.50", "USD")
    assert (money.units, money.currency, money.decimals) == (125050, "USD", 2)
    assert (str(money), money.plain(), money.to_decimal()) == ("1,250.50 USD", "1250.50", Decimal("1250.50"))
    assert Money.parse("7", "JPY") == Money(7, "JPY", 0) and Money(1234, "KWD").decimals == 3
    assert Money.of(Decimal("0.1"), "USD") == Money(10, "USD") == Money.parse("0.10", "USD")
    huge = 2**255 + 1  # beyond Decimal's 28 digits of context: still exact
    assert units_of(Money(huge, "USD"), 2) == huge and Money.of(Money(huge, "USD").to_decimal(), "USD").units == huge
    assert units_of(Money(5, "EUR", 6), 6) == 5  # the token's own decimals
    assert units_of(Money(0, "USD"), 2, "allowance", allow_zero=True) == 0
    # the same messages as for the Decimal of the same value
    assert one_line_error(units_of, Money(0, "USD"), 2) == "amount Decimal('0.00') must be positive"
    assert one_line_error(units_of, Money(1234, "KWD"), 2) == "amount Decimal('1.234') has more than 2 decimal places"
    assert units_of(Money(1230, "KWD"), 2) == 123  # exact in 2 places: converted, not refused
    assert one_line_error(Money.parse, "1.001", "USD") == "amount '1.001' has more than 2 decimal places"
    assert one_line_error(Money.parse, "1e3", "USD") == "amount '1e3' is not a plain decimal number such as 125.50"
    assert one_line_error(Money.parse, "1", "XYZ").startswith("unknown currency code 'XYZ'")
    with pytest.raises(TypeError):
        Money(Decimal("1.5"), "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")  # type: ignore[arg-type]
    assert format_amount(-150, 2) == "-1.50" and str(Money(-150, "USD")) == "-1.50 USD"


# ---------------------------------------------------------------------------- Reference


def test_reference_carries_its_text_and_bytes32():
    ref = Reference.parse("  DEP-2026-000123 ", "deposit reference")
    assert ref.text == str(ref) == "DEP-2026-000123"
    assert ref.bytes32 == keccak(text="DEP-2026-000123") == reference_to_bytes32("DEP-2026-000123")
    assert ref.hex == "0x" + keccak(text="DEP-2026-000123").hex()
    assert ref.key == "dep-2026-000123" == Reference("dep-2026-000123").key  # one deposit, whatever the case
    assert ref != Reference("dep-2026-000123") and ref.bytes32 != Reference("dep-2026-000123").bytes32  # not on-chain
    raw = "0x" + "ab" * 32
    assert Reference(raw).bytes32 == bytes.fromhex("ab" * 32)  # a bytes32 given as such
    assert one_line_error(Reference.parse, "  ", "deposit reference") == "deposit reference must not be empty"
    assert one_line_error(Reference.parse, "0x" + "00" * 32, "order reference") == "order reference must not be zero"
    assert Reference.parse(ref) is ref


# ---------------------------------------------------------------------------- request parameters


# What ledgers have stored for each kind since revision 0001 (params as signed, with the nonce).
STORED = {
    "mint": {"to": A, "amount": "125050", "deposit_reference": "DEP-1", "nonce": "deposit:DEP-1"},
    "freeze": {"account": A, "nonce": "0" * 32},
    "unfreeze": {"account": A, "nonce": "1" * 32},
    "lien": {"account": A, "amount": "0", "nonce": "2" * 32},
    "seize": {"from": A, "to": B, "amount": "100001", "order_reference": "ORDER-7", "nonce": "3" * 32},
    "recover": {"lost": A, "replacement": B, "order_reference": "ORDER-8", "nonce": "4" * 32},
    "pause": {"nonce": "5" * 32},
    "unpause": {"nonce": "6" * 32},
    "cancel": {"request": 3, "reason": "wrong amount", "nonce": "7" * 32},
    "return": {"deposit_reference": "DEP-9", "reason": "no such client", "nonce": "8" * 32},
    "operator": {"change": "duties", "name": "chen", "request": True, "approve": False, "permissions": ["mint"],
                 "max_amount": "500000", "nonce": "9" * 32},
}
TYPED = {
    "mint": P.MintParams(A, 125050, Reference("DEP-1")),
    "freeze": P.FreezeParams(A),
    "unfreeze": P.UnfreezeParams(A),
    "lien": P.LienParams(A, 0),
    "seize": P.SeizeParams(A, B, 100001, Reference("ORDER-7")),
    "recover": P.RecoverParams(A, B, Reference("ORDER-8")),
    "pause": P.PauseParams(),
    "unpause": P.UnpauseParams(),
    "cancel": P.CancelParams(3, "wrong amount"),
    "return": P.ReturnParams(Reference("DEP-9"), "no such client"),
    "operator": P.OperatorChange("duties", "chen", request=True, approve=False, permissions=("mint",), max_amount=500000),
}


@pytest.mark.parametrize("kind", list(STORED))
def test_stored_params_load_typed_and_serialise_back_unchanged(kind):
    typed = P.from_json(kind, STORED[kind])
    assert typed == TYPED[kind] and typed.kind == kind
    assert P.to_json(typed) == {k: v for k, v in STORED[kind].items() if k != "nonce"}  # the signed digest still holds
    if kind != "operator":
        assert P.parse(kind, typed) == typed  # a typed value is checked too
    assert Request(kind=kind, params=STORED[kind]).parameters == typed


def test_operator_changes_of_each_shape_round_trip():
    for stored in ({"change": "deactivate", "name": "ben"},
                   {"change": "add", "name": "dan", "address": A, "person_id": "P-DAN", "request": True, "approve": True,
                    "permissions": None, "max_amount": None}):
        assert P.to_json(P.from_json("operator", stored | {"nonce": "x"})) == stored


@pytest.mark.parametrize("kind, stored, message", [
    ("mint", {"to": A, "amount": 125050, "deposit_reference": "DEP-1"}, "a stored mint amount must be minor units as decimal text, not 125050"),
    ("mint", {"to": A, "amount": "0125050", "deposit_reference": "DEP-1"}, "the stored mint parameters are not in their canonical form"),
    ("mint", {"to": A.lower(), "amount": "1", "deposit_reference": "DEP-1"}, "to " + A.lower() + " has no EIP-55 checksum"),
    ("mint", {"to": A, "amount": "1", "deposit_reference": " DEP-1"}, "the stored mint parameters are not in their canonical form"),
    ("mint", {"to": A, "amount": "1"}, "a mint request takes to, amount, deposit_reference"),
    ("lien", {"account": A, "amount": "-1"}, "a stored lien amount must be minor units as decimal text, not '-1'"),
    ("cancel", {"request": "3", "reason": "x"}, "a cancel names a request by its number"),
    ("operator", {"change": "deactivate", "name": "ben", "request": True}, "the stored operator change is not in its canonical form"),
    ("burn", {}, "unknown request kind 'burn' (one of mint, freeze, unfreeze, lien, seize, recover, pause, unpause, cancel, return)"),
])
def test_stored_params_not_in_their_written_form_are_refused(kind, stored, message):
    assert one_line_error(P.from_json, kind, stored).startswith(message)


def test_parse_checks_as_the_workflow_always_did():
    assert P.parse("mint", {"to": A, "amount": 5, "deposit_reference": " DEP-1 "}) == P.MintParams(A, 5, Reference("DEP-1"))
    assert one_line_error(P.parse, "mint", {"to": A, "amount": 0, "deposit_reference": "D"}) == (
        "mint amount must be a positive number of minor units")
    assert one_line_error(P.parse, "mint", {"to": A, "amount": "5", "deposit_reference": "D"}) == (
        "mint amount must be a positive number of minor units")
    assert one_line_error(P.parse, "seize", {"from": A, "to": B, "amount": 1, "order_reference": ""}) == (
        "order reference must not be empty")
    assert one_line_error(P.parse, "freeze", P.UnfreezeParams(A)) == "a freeze request takes account"
    assert one_line_error(P.parse, "cancel", {"request": 1, "reason": " "}) == "a cancel needs a reason"


# ---------------------------------------------------------------------------- statuses and migration 0006

NOW = "2026-11-01 00:00:00"
CHECKED = [  # (table, column, a row's key column) for each CHECK constraint of migration 0006
    ("clients", "status", "id"), ("allowlist_jobs", "action", "id"), ("allowlist_jobs", "status", "id"),
    ("deposits", "status", "id"), ("requests", "kind", "id"), ("requests", "status", "id"),
    ("approvals", "decision", "id"), ("transactions", "status", "id"), ("redemptions", "status", "id"),
    ("payout_files", "format", "id"),
]


def _fill_at_0005(engine: sa.Engine) -> None:
    """One row in every table with a status or kind column, as the code at 0005 wrote them."""
    rows = [
        ("operators", {"id": 1, "name": "ana", "address": A, "can_request": True, "can_approve": True, "active": True, "created_at": NOW}),
        ("operators", {"id": 2, "name": "ben", "address": B, "can_request": True, "can_approve": True, "active": True, "created_at": NOW}),
        ("clients", {"id": 1, "client_id": "C-1", "address": A, "legal_name": "One", "country": "DE", "review_date": "2027-01-01",
                     "status": "offboarding", "created_at": NOW, "updated_at": NOW}),
        ("transactions", {"id": 1, "purpose": "request 1 mint", "chain_id": 1337, "sender": A, "nonce": 0, "tx_hash": "0x" + "11" * 32,
                          "raw": "0x", "status": "mined", "block_number": 7, "gas_used": 50000, "created_at": NOW, "updated_at": NOW}),
        ("allowlist_jobs", {"id": 1, "run": "r1", "action": "offboard", "client_pk": 1, "address": A, "status": "sent", "tx_id": 1,
                            "created_at": NOW}),
        ("deposits", {"id": 1, "bank_reference": "DEP-1", "client_pk": 1, "amount": "125050", "currency": "USD", "value_date": "2026-11-01",
                      "source": "manual", "status": "recorded", "created_at": NOW}),
        ("deposits", {"id": 2, "bank_reference": "DEP-2", "client_pk": None, "client_ref": "C-9", "amount": "5", "currency": "USD",
                      "value_date": "2026-11-01", "source": "manual", "status": "suspense", "created_at": NOW}),
        ("requests", {"id": 1, "kind": "mint", "params": '{"to": "%s", "amount": "125050", "deposit_reference": "DEP-1", '
                                                           '"nonce": "deposit:DEP-1"}' % A,
                      "digest": "0x" + "22" * 32, "amount": "125050", "deposit_id": 1, "required_approvals": 1, "status": "executed",
                      "maker_id": 1, "maker_signature": "0x", "tx_id": 1, "created_at": NOW, "updated_at": NOW}),
        ("requests", {"id": 2, "kind": "operator", "params": '{"change": "deactivate", "name": "ben", "nonce": "ab"}',
                      "digest": "0x" + "33" * 32, "required_approvals": 1, "status": "pending", "maker_id": 1, "maker_signature": "0x",
                      "created_at": NOW, "updated_at": NOW}),
        ("approvals", {"id": 1, "request_id": 1, "operator_id": 2, "decision": "approve", "signature": "0x", "created_at": NOW}),
        ("payout_files", {"id": 1, "message_id": "DTP-1", "format": "pacs.008", "path": "/tmp/DTP-1.xml", "sha256": "0" * 64,
                          "count": 1, "total": "300", "created_at": NOW}),
        ("redemptions", {"id": 1, "tx_hash": "0x" + "44" * 32, "log_index": 0, "block_number": 8, "holder": A, "client_pk": 1,
                         "amount": "300", "payout_ref": "0x" + "55" * 32, "status": "instructed", "payout_file_id": 1, "created_at": NOW}),
    ]
    with engine.begin() as conn:
        for table, row in rows:
            conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)


def _reference_index_exists(conn: sa.Connection) -> bool:
    if conn.dialect.name == "sqlite":
        query = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_deposits_reference_lower'"
    else:
        query = "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_deposits_reference_lower'"
    return conn.execute(sa.text(query)).scalar_one() == 1


def test_migration_0006_keeps_a_0005_ledgers_rows_and_the_database_refuses_unknown_states(ledger_url):
    engine = make_engine(ledger_url)
    try:
        upgrade(engine, "0005")
        _fill_at_0005(engine)
        upgrade(engine)
        assert schema_revision(engine)[0] == schema_revision(engine)[1] == "0010"  # the head
        ledger = Ledger(ledger_url)
        with ledger.session() as s:
            client = s.get(Client, 1)
            assert client is not None and client.status is ClientStatus.OFFBOARDING
            job = s.get(AllowlistJob, 1)
            assert job is not None and (job.action, job.status) == (JobAction.OFFBOARD, JobStatus.SENT)
            deposits = s.scalars(sa.select(Deposit).order_by(Deposit.id)).all()
            assert [(d.bank_reference, d.amount, d.status) for d in deposits] == [
                ("DEP-1", 125050, DepositStatus.RECORDED), ("DEP-2", 5, DepositStatus.SUSPENSE)]
            mint, change = s.scalars(sa.select(Request).order_by(Request.id)).all()
            assert (mint.kind, mint.status, mint.amount) == (RequestKind.MINT, RequestStatus.EXECUTED, 125050)
            assert mint.parameters == P.MintParams(A, 125050, Reference("DEP-1"))
            assert (change.kind, change.status) == (RequestKind.OPERATOR, RequestStatus.PENDING)
            assert change.parameters == P.OperatorChange("deactivate", "ben")
            approval = s.get(Approval, 1)
            assert approval is not None and approval.decision is Decision.APPROVE
            tx = s.get(Transaction, 1)
            assert tx is not None and (tx.status, tx.block_number) == (TransactionStatus.MINED, 7)
            redemption = s.get(Redemption, 1)
            assert redemption is not None and (redemption.status, redemption.amount) == (RedemptionStatus.INSTRUCTED, 300)
            payout_file = s.get(PayoutFile, 1)
            assert payout_file is not None and payout_file.format is PayoutFormat.PACS008
            # the members are their text: comparisons, formatting and JSON as before
            assert mint.status == "executed" and f"{mint.status}" == "executed" and str(mint.kind) == "mint"
            mint.status = RequestStatus.CONFLICT  # an enum member is written as its text
        with ledger.session() as s:
            assert s.execute(sa.text("SELECT status FROM requests WHERE id = 1")).scalar_one() == "conflict"
        ledger.dispose()
        with engine.connect() as conn:
            assert _reference_index_exists(conn)  # rebuilt around the SQLite batch
        for table, column, key in CHECKED:
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.execute(sa.text(f"UPDATE {table} SET {column} = 'bogus' WHERE {key} = 1"))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # and on insert
            conn.execute(sa.text("INSERT INTO transactions (purpose, chain_id, sender, nonce, tx_hash, raw, status, created_at, "
                                 "updated_at) VALUES ('x', 1, :a, 1, :h, '0x', 'Mined', :now, :now)"), {"a": A, "h": "0x" + "66" * 32, "now": NOW})
        with engine.connect() as conn:  # nothing of the refused writes stayed
            assert conn.execute(sa.text("SELECT count(*) FROM transactions")).scalar_one() == 1
            assert conn.execute(sa.text("SELECT status FROM clients")).scalar_one() == "offboarding"
    finally:
        engine.dispose()


def test_migration_0006_refuses_a_ledger_holding_an_unknown_state_and_changes_nothing(ledger_url):
    engine = make_engine(ledger_url)
    try:
        upgrade(engine, "0005")
        _fill_at_0005(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE requests SET status = 'on hold' WHERE id = 2"))
        assert one_line_error(upgrade, engine) == (
            "cannot migrate the ledger database: requests.status holds 'on hold', not one of pending, approved, rejected, "
            "executing, executed, failed, conflict, cancelled, expired: correct the rows, then migrate")
        assert schema_revision(engine)[0] == "0005"
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE requests SET status = 'pending' WHERE id = 2"))
        upgrade(engine)
        assert schema_revision(engine)[0] == "0010"  # the head
    finally:
        engine.dispose()


def test_the_enums_are_the_sets_the_migration_checks():
    from importlib import import_module

    from deptoken.ops.db import MIGRATIONS
    from deptoken.ops.models import Base

    import importlib.util

    def revision(number: str):
        spec = importlib.util.spec_from_file_location(f"m{number}", next((MIGRATIONS / "versions").glob(f"{number}_*.py")))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    module = revision("0006")
    declared = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.Enum):
                declared[(table.name, column.name)] = tuple(column.type.enums)
    # 0006 checks the tables before it; 0007 created interbank_payments with its check
    assert declared == {**module.CHECKS, ("interbank_payments", "status"): revision("0007").STATUSES}
    assert import_module("deptoken.ops.statuses").RequestStatus("approved") is RequestStatus.APPROVED
