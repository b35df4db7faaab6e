"""The issuer operations library (``deptoken.ops``): ledger migrations, the append-only audit log,
exact money columns, operators, maker-checker requests executed on the fixture token, the policy
file and the ledger-token binding.

Every test that uses ``ledger`` runs on SQLite and, with ``DEPTOKEN_TEST_POSTGRES_URL`` set, on
PostgreSQL too (``ops_support.ledger_url``). The chain is reverted by ape after each test.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from eth_utils import keccak
from hexbytes import HexBytes
from ops_support import TEST_POLICY

from helpers import one_line_error
from deptoken.errors import DepositTokenError
from deptoken.ops import audit, operators, workflow
from deptoken.ops.context import chain_anchor, open_ops
from deptoken.ops.db import MIGRATIONS, Ledger, make_engine, schema_revision, upgrade
from deptoken.ops.deposits import DepositInput, record_deposits
from deptoken.ops.models import (
    AuditEntry,
    Base,
    Client,
    Deposit,
    MinorUnits,
    Operator,
    Request,
    SyncState,
    Transaction,
)
from deptoken.ops.policy import Policy, load_policy
from deptoken.token import TokenClient

from constants import ACTOR, INITIAL, ROOT, YEAR

THRESHOLD = 100_000  # TEST_POLICY: two approvals above 1000.00 = 100000 minor units
COUNTED = ("operators", "clients", "deposits", "requests", "approvals", "transactions", "audit_log")


# ---------------------------------------------------------------------------- helpers


def _head_by_alembic() -> str:
    """The newest revision as Alembic finds it (the library reads the files itself, without Alembic)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


HEAD = _head_by_alembic()


def counts(ledger: Ledger) -> dict[str, int]:
    with ledger.engine.connect() as conn:
        return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() for table in COUNTED}


def sql(ledger: Ledger, statement: str, **params) -> None:
    """Raw SQL around the tool, committed."""
    with ledger.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def audit_rows(ledger: Ledger) -> list[tuple]:
    with ledger.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT id, actor, action, subject, prev_hash, hash FROM audit_log ORDER BY id"))]


def drop_audit_triggers(ledger: Ledger) -> None:
    """What someone editing the database around the tool would do first."""
    if ledger.engine.dialect.name == "postgresql":
        sql(ledger, "DROP TRIGGER audit_log_append_only ON audit_log")
    else:
        sql(ledger, "DROP TRIGGER audit_log_no_update")
        sql(ledger, "DROP TRIGGER audit_log_no_delete")



def propose(ops, kind: str, params: dict, maker) -> int:
    with ops.ledger.session() as session:
        return workflow.propose(session, ops, kind, params, maker).id


def decide(ops, request_id: int, checker, *, approve: bool = True) -> str:
    with ops.ledger.session() as session:
        return workflow.decide(session, request_id, checker, approve=approve).status


def execute(ops, request_id: int, sender) -> workflow.Outcome:
    session = ops.ledger.new_session()
    try:
        return workflow.execute(session, ops, workflow.get_request(session, request_id), sender, ACTOR)
    finally:
        session.close()


def load(ops, request_id: int) -> Request:
    with ops.ledger.session() as session:
        request = workflow.get_request(session, request_id)
        _ = request.maker, [approval.operator for approval in request.approvals]  # loaded while the session is open
        return request


def last_audit(ledger: Ledger) -> AuditEntry:
    with ledger.session() as session:
        return session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()


def verify_audit(ledger: Ledger) -> list[str]:
    with ledger.session() as session:
        return audit.verify(session)


def approved(ops, kind: str, params: dict, team) -> int:
    """A request by ana, approved by ben (and chen when two approvals are needed)."""
    ana, ben, chen = team
    request_id = propose(ops, kind, params, ana)
    if decide(ops, request_id, ben) == "pending":
        assert decide(ops, request_id, chen) == "approved"
    return request_id


def add_client(ledger: Ledger, client_id: str, address: str, status: str = "active") -> None:
    with ledger.session() as session:
        session.add(Client(client_id=client_id, address=address, legal_name=f"{client_id} Ltd", country="DE", lei=None,
                           review_date=date(2027, 6, 30), status=status))


# ---------------------------------------------------------------------------- 1. migrations


def test_empty_database_has_no_revision_and_is_refused(ledger_url):
    engine = make_engine(ledger_url)
    try:
        assert schema_revision(engine) == (None, HEAD)
        message = one_line_error(Ledger, ledger_url)
        assert message.endswith("has no ledger schema: run `deptoken db upgrade`"), message
        assert message.startswith("the database ")
        password = sa.make_url(ledger_url).password
        if password:  # PostgreSQL: the URL is shown without its password
            assert password not in message and "***" in message
        assert sa.inspect(engine).get_table_names() == []  # refusing created nothing
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_twice_is_a_no_op(ledger_url):
    engine = make_engine(ledger_url)
    try:
        upgrade(engine)
        assert schema_revision(engine) == (HEAD, HEAD)
        tables = sorted(sa.inspect(engine).get_table_names())
        assert tables == sorted([*Base.metadata.tables, "alembic_version"])
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                triggers = conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars().all()
                assert sorted(triggers) == ["audit_log_append_only"]
            else:
                triggers = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
                assert {"audit_log_no_update", "audit_log_no_delete"} <= set(triggers)

        ledger = Ledger(ledger_url)  # accepted now
        with ledger.session() as session:
            audit.record(session, ACTOR, "test.before", "second upgrade")
        before = audit_rows(ledger)

        upgrade(engine)  # again: nothing to do, nothing lost
        assert schema_revision(engine) == (HEAD, HEAD)
        assert sorted(sa.inspect(engine).get_table_names()) == tables
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
        assert audit_rows(ledger) == before
        ledger.dispose()
    finally:
        engine.dispose()


def test_database_at_another_revision_is_refused(ledger):
    sql(ledger, "UPDATE alembic_version SET version_num = '0000'")
    assert schema_revision(ledger.engine) == ("0000", HEAD)
    message = one_line_error(Ledger, ledger.engine.url.render_as_string(hide_password=False))
    assert message.endswith(f"is at migration 0000, the code needs {HEAD}: run `deptoken db upgrade`"), message


# ---------------------------------------------------------------------------- 2. audit log


def _expected_hash(prev: str, entry: AuditEntry) -> str:
    body = json.dumps([prev, entry.at.isoformat(), entry.actor, entry.action, entry.subject, entry.details,
                       entry.tx_hash, entry.block_number], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def test_audit_record_chains_hashes(ledger):
    with ledger.session() as session:
        first = audit.record(session, "ana", "thing.create", "thing 1", {"amount": Decimal("1.50"), "when": date(2026, 1, 2)})
        second = audit.record(session, "ben", "thing.approve", "thing 1", None, tx_hash="0x" + "ab" * 32, block_number=7)
    with ledger.session() as session:
        entries = list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.id for e in entries] == [first.id, second.id]
    one, two = entries
    assert one.prev_hash == audit.GENESIS == "0" * 64
    assert two.prev_hash == one.hash
    assert one.details == {"amount": "1.50", "when": "2026-01-02"}  # stored as JSON text values
    assert two.details == {} and two.tx_hash == "0x" + "ab" * 32 and two.block_number == 7
    assert one.at.tzinfo is not None and one.at.utcoffset().total_seconds() == 0 and one.at.microsecond == 0
    assert one.hash == _expected_hash(audit.GENESIS, one)
    assert two.hash == _expected_hash(one.hash, two)
    assert one.hash != two.hash and re.fullmatch(r"[0-9a-f]{64}", two.hash)
    assert verify_audit(ledger) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory'",
        "UPDATE audit_log SET actor = 'mallory' WHERE id = 1",
        "UPDATE audit_log SET actor = actor WHERE id = -1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 2",
    ],
)
def test_database_refuses_update_and_delete_on_audit_log(ledger, statement):
    with ledger.session() as session:
        audit.record(session, "ana", "a", "s1")
        audit.record(session, "ana", "b", "s2")
    before = audit_rows(ledger)
    if "id = -1" in statement and ledger.engine.dialect.name == "sqlite":
        pytest.skip("SQLite triggers are per row: an UPDATE of no row changes nothing and fires nothing")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        sql(ledger, statement)
    assert audit_rows(ledger) == before
    assert verify_audit(ledger) == []


def test_database_refuses_replacing_an_audit_entry(ledger):
    """An upsert is an edit too: SQLite's INSERT OR REPLACE deletes the old row (no DELETE trigger
    fires unless recursive triggers are on); PostgreSQL's ON CONFLICT DO UPDATE is an update."""
    with ledger.session() as session:
        audit.record(session, "ana", "a", "s1")
        entry = audit.record(session, "ana", "b", "s2")
        at, prev = entry.at, entry.prev_hash
    before = audit_rows(ledger)
    columns = "(id, at, actor, action, subject, details, tx_hash, block_number, prev_hash, hash)"
    values = "VALUES (2, :at, 'mallory', 'b', 's2', '{}', NULL, NULL, :prev, :hash)"
    if ledger.engine.dialect.name == "postgresql":
        statement = (f"INSERT INTO audit_log {columns} {values} ON CONFLICT (id) DO UPDATE "
                     "SET actor = excluded.actor, hash = excluded.hash")
    else:
        statement = f"INSERT OR REPLACE INTO audit_log {columns} {values}"
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        sql(ledger, statement, at=at, prev=prev, hash="f" * 64)
    assert audit_rows(ledger) == before


def test_verify_detects_an_edited_entry(ledger):
    with ledger.session() as session:
        for n in range(3):
            audit.record(session, "ana", "step", f"s{n}", {"n": n})
    drop_audit_triggers(ledger)
    sql(ledger, "UPDATE audit_log SET subject = 'changed' WHERE id = 2")
    assert verify_audit(ledger) == ["entry 2: content does not match its hash (edited)"]


def test_verify_detects_an_edited_detail(ledger):
    with ledger.session() as session:
        audit.record(session, "ana", "mint", "r1", {"amount": "100"})
        audit.record(session, "ana", "mint", "r2", {"amount": "200"})
    drop_audit_triggers(ledger)
    sql(ledger, "UPDATE audit_log SET details = :d WHERE id = 1", d='{"amount": "999"}')
    assert verify_audit(ledger) == ["entry 1: content does not match its hash (edited)"]


def test_verify_detects_a_removed_entry(ledger):
    with ledger.session() as session:
        for n in range(3):
            audit.record(session, "ana", "step", f"s{n}")
    drop_audit_triggers(ledger)
    sql(ledger, "DELETE FROM audit_log WHERE id = 2")
    assert counts(ledger)["audit_log"] == 2
    assert verify_audit(ledger) == ["entry 3: does not follow the previous entry (one was removed or inserted)"]


def test_audit_entries_verify_under_a_non_utc_session_time_zone(ledger):
    """A PostgreSQL server (or role) whose TimeZone is local time returns timestamps in that zone;
    the hash is over the UTC time, so reading must convert back to UTC."""
    if ledger.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no time zone")
    url = ledger.engine.url.update_query_dict({"options": "-c TimeZone=America/New_York"})
    local = Ledger(url.render_as_string(hide_password=False))
    try:
        with local.session() as session:
            assert session.execute(sa.text("SHOW TimeZone")).scalar_one() == "America/New_York"
            audit.record(session, "ana", "a", "written in New York")
        with ledger.session() as session:
            audit.record(session, "ben", "b", "written in UTC")
        for view in (local, ledger):
            with view.session() as session:
                entries = list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))
                assert [e.at.utcoffset().total_seconds() for e in entries] == [0, 0]
                assert audit.verify(session) == []
    finally:
        local.dispose()


def test_concurrent_audit_records_stay_one_chain(ledger):
    """Two transactions recording at once (two operators approving): the second waits for the
    first and chains to its entry instead of forking the chain."""
    with ledger.session() as session:
        audit.record(session, "ana", "start", "s0")
    first, second = ledger.new_session(), ledger.new_session()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            audit.record(second, "ben", "b", "second")
            second.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        audit.record(first, "ana", "a", "first")  # holds the log until it commits
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.5)  # let the other transaction reach the audit log and wait
        first.commit()
        thread.join(30)
        assert not thread.is_alive()
        assert errors == []
    finally:
        first.close()
        second.close()
    rows = audit_rows(ledger)
    assert [r[3] for r in rows] == ["s0", "first", "second"]
    assert [r[4] for r in rows[1:]] == [r[5] for r in rows[:-1]]  # each follows the previous
    assert verify_audit(ledger) == []


# ---------------------------------------------------------------------------- 3. money


AMOUNTS = [0, 1, 2**63, 2**200, 2**256 - 1]


def test_minor_units_round_trip_exactly(ledger, alice, ana):
    add_client(ledger, "C-1", alice.address)
    with ledger.session() as session:
        client = session.scalars(sa.select(Client)).one()
        maker = Operator(name="ana", address=ana.address, can_request=True, can_approve=True, active=True)
        session.add(maker)
        session.flush()
        for n, amount in enumerate(AMOUNTS):
            session.add(Deposit(bank_reference=f"DEP-{n}", client=client, amount=amount, currency="USD",
                                value_date=date(2026, 11, 25), source="manual"))
            session.add(Request(kind="mint", params={}, digest=f"0x{n:064x}", amount=amount, required_approvals=1,
                                status="pending", maker_id=maker.id, maker_signature="0x"))
    fresh = Ledger(ledger.engine.url.render_as_string(hide_password=False))  # nothing cached
    try:
        with fresh.session() as session:
            deposits = session.scalars(sa.select(Deposit.amount).order_by(Deposit.id)).all()
            requests = session.scalars(sa.select(Request.amount).order_by(Request.id)).all()
            assert session.scalars(sa.select(Deposit.amount).where(Deposit.bank_reference == "DEP-3")).one() == 2**200
        assert deposits == AMOUNTS and requests == AMOUNTS
        assert all(type(v) is int for v in deposits + requests)
        with fresh.engine.connect() as conn:  # stored exactly, not as a float
            cast = "amount::text" if fresh.engine.dialect.name == "postgresql" else "amount"
            stored = conn.execute(sa.text(f"SELECT {cast} FROM deposits ORDER BY id")).scalars().all()
        assert stored == [str(v) for v in AMOUNTS]
    finally:
        fresh.dispose()


@pytest.mark.parametrize("value, type_name", [(1.0, "float"), (True, "bool"), (Decimal("1"), "Decimal"), ("1", "str")])
def test_minor_units_refuse_anything_but_int(value, type_name):
    for dialect in (sa.dialects.sqlite.dialect(), sa.dialects.postgresql.dialect()):
        with pytest.raises(TypeError, match=f"^minor units must be int, got {type_name}$"):
            MinorUnits().process_bind_param(value, dialect)


def test_minor_units_refuse_a_float_amount_on_flush(ledger, alice):
    add_client(ledger, "C-1", alice.address)
    for value, type_name in ((150.0, "float"), (False, "bool"), (Decimal("150"), "Decimal")):
        with pytest.raises(sa.exc.StatementError) as info, ledger.session() as session:
            session.add(Deposit(bank_reference="DEP-1", client=session.scalars(sa.select(Client)).one(), amount=value,
                                currency="USD", value_date=date(2026, 11, 25), source="manual"))
            session.flush()
        assert isinstance(info.value.orig, TypeError)
        assert str(info.value.orig) == f"minor units must be int, got {type_name}"
    assert counts(ledger)["deposits"] == 0


# ---------------------------------------------------------------------------- 4. operators


UNLIMITED = {"person_id": None, "permissions": None, "max_amount": None}  # issue 10 #5: recorded with every operator


def test_add_operator(ledger, ana, ben):
    with ledger.session() as session:
        added = operators.add_operator(session, "  ana ", ana.address, request=True, approve=False, actor="admin")
        operators.add_operator(session, "ben", ben.address, request=False, approve=True, actor="admin")
    with ledger.session() as session:
        op = operators.operator_at(session, ana.address, may="request")
        assert (op.id, op.name, op.address, op.can_request, op.can_approve, op.active) == (
            added.id, "ana", ana.address, True, False, True)
        assert op.address == str(ana.address) and op.address != op.address.lower()  # checksummed
        assert [o.name for o in operators.list_operators(session)] == ["ana", "ben"]
        assert one_line_error(operators.operator_at, session, ana.address, may="approve") == "operator ana may not approve"
        assert one_line_error(operators.operator_at, session, ben.address, may="request") == "operator ben may not request"
        entries = list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.actor, e.action, e.subject, e.details) for e in entries] == [
        ("admin", "operator.add", "ana", {"address": ana.address, "request": True, "approve": False, **UNLIMITED}),
        ("admin", "operator.add", "ben", {"address": ben.address, "request": False, "approve": True, **UNLIMITED}),
    ]


def test_add_operator_refusals_write_nothing(ledger, ana, ben, chen):
    with ledger.session() as session:
        operators.add_operator(session, "ana", ana.address, request=True, approve=True, actor="admin")
    before = counts(ledger)
    lower, upper = chen.address.lower(), "0x" + chen.address[2:].upper()
    wrong = next(chen.address[:i] + chen.address[i].swapcase() + chen.address[i + 1:]
                 for i in range(2, 42) if chen.address[i].isalpha())
    cases = [
        (("ana", ben.address, True, True), f"operator ana ({ana.address}) already exists"),
        (("anna", ana.address, True, True), f"operator ana ({ana.address}) already exists"),
        (("chen", lower, True, True), f"operator address {lower} has no EIP-55 checksum"),
        (("chen", upper, True, True), f"operator address {upper} has no EIP-55 checksum"),
        (("chen", wrong, True, True), f"operator address {wrong} has a wrong EIP-55 checksum (mistyped?)"),
        (("chen", chen.address[:-1], True, True), f"operator address '{chen.address[:-1]}' is not an address"),
        (("chen", "chen.eth", True, True), "operator address 'chen.eth' is not an address"),
        (("chen", "0x" + "0" * 40, True, True), "operator address must not be the zero address"),
        (("chen", chen.address, False, False), "an operator must be allowed to request, approve or both"),
        (("  ", chen.address, True, True), "operator name must be 1 to 64 characters"),
        (("c" * 65, chen.address, True, True), "operator name must be 1 to 64 characters"),
    ]
    for (name, address, may_request, may_approve), expected in cases:
        with pytest.raises(DepositTokenError) as info, ledger.session() as session:
            operators.add_operator(session, name, address, request=may_request, approve=may_approve, actor="admin")
        assert str(info.value).startswith(expected), (name, address, str(info.value))
    assert counts(ledger) == before


def test_unknown_and_deactivated_operators(ledger, team, stranger):
    ana, ben, _ = team
    with ledger.session() as session:
        message = one_line_error(operators.operator_at, session, stranger.address, may="request")
        assert message == f"{stranger.address} is not a registered operator (see `deptoken operators add`)"
        assert one_line_error(operators.operator_named, session, "dora") == "unknown operator 'dora'"
        operators.deactivate_operator(session, "ben", actor="admin")
    with ledger.session() as session:
        assert one_line_error(operators.operator_at, session, ben.address, may="approve") == "operator ben is deactivated"
        assert one_line_error(operators.operator_at, session, ben.address, may="request") == "operator ben is deactivated"
        assert operators.operator_at(session, ana.address, may="approve").name == "ana"
    entry = last_audit(ledger)
    assert (entry.action, entry.subject, entry.details) == ("operator.deactivate", "ben", {"address": ben.address})


# ---------------------------------------------------------------------------- 5. workflow: proposing


def test_propose_refuses_bad_kinds_and_params(ops, team, alice, bob):
    ana = team[0]
    a, b = alice.address, bob.address
    lower = a.lower()
    wrong = next(b[:i] + b[i].swapcase() + b[i + 1:] for i in range(2, 42) if b[i].isalpha())
    mint = {"to": a, "amount": 100, "deposit_reference": "DEP-1"}
    seize = {"from": a, "to": b, "amount": 100, "order_reference": "ORDER-1"}
    kinds = "mint, freeze, unfreeze, lien, seize, recover, pause, unpause, cancel, return"
    cases = [
        ("burn", {}, f"unknown request kind 'burn' (one of {kinds})"),
        ("Mint", mint, f"unknown request kind 'Mint' (one of {kinds})"),
        ("mint", {"to": a, "amount": 100}, "a mint request takes to, amount, deposit_reference"),
        ("mint", mint | {"memo": "x"}, "a mint request takes to, amount, deposit_reference"),
        ("freeze", {}, "a freeze request takes account"),
        ("lien", {"account": a}, "a lien request takes account, amount"),
        ("seize", {k: v for k, v in seize.items() if k != "order_reference"}, "a seize request takes from, to, amount, order_reference"),
        ("recover", {"lost": a}, "a recover request takes lost, replacement, order_reference"),
        ("pause", {"account": a}, "a pause request takes no parameters"),
        ("unpause", {"reason": "x"}, "a unpause request takes no parameters"),
        ("freeze", {"account": "0x1234"}, "account '0x1234' is not an address (0x followed by 40 hex digits)"),
        ("freeze", {"account": lower}, f"account {lower} has no EIP-55 checksum"),
        ("unfreeze", {"account": "0x" + "0" * 40}, "account must not be the zero address"),
        ("mint", mint | {"to": wrong}, f"to {wrong} has a wrong EIP-55 checksum (mistyped?)"),
        ("seize", seize | {"from": "alice"}, "from 'alice' is not an address"),
        ("recover", {"lost": a, "replacement": "", "order_reference": "O-1"}, "replacement '' is not an address"),
        ("mint", mint | {"amount": 0}, "mint amount must be a positive number of minor units"),
        ("mint", mint | {"amount": -5}, "mint amount must be a positive number of minor units"),
        ("mint", mint | {"amount": 100.0}, "mint amount must be a positive number of minor units"),
        ("mint", mint | {"amount": 1.5}, "mint amount must be a positive number of minor units"),
        ("mint", mint | {"amount": Decimal("100")}, "mint amount must be a positive number of minor units"),
        ("mint", mint | {"amount": "100"}, "mint amount must be a positive number of minor units"),
        ("mint", mint | {"amount": True}, "mint amount must be a positive number of minor units"),
        ("seize", seize | {"amount": 0}, "seize amount must be a positive number of minor units"),
        ("lien", {"account": a, "amount": -1}, "lien amount must be a positive number of minor units"),
        ("lien", {"account": a, "amount": 0.5}, "lien amount must be a positive number of minor units"),
        ("mint", mint | {"deposit_reference": ""}, "deposit reference must not be empty"),
        ("mint", mint | {"deposit_reference": "   "}, "deposit reference must not be empty"),
        ("seize", seize | {"order_reference": "0x" + "00" * 32}, "order reference must not be zero"),
    ]
    before = counts(ops.ledger)
    wrong_messages = []
    for kind, params, expected in cases:
        try:
            with ops.ledger.session() as session:
                workflow.propose(session, ops, kind, params, ana)
            wrong_messages.append((kind, params, "accepted"))
        except DepositTokenError as exc:
            if not str(exc).startswith(expected):
                wrong_messages.append((kind, params, str(exc)))
    assert wrong_messages == []
    assert counts(ops.ledger) == before


def test_propose_each_kind(ops, team, alice, bob, carol):
    ana = team[0]
    a, b, c = alice.address, bob.address, carol.address
    valid = {
        "mint": ({"to": a, "amount": 100, "deposit_reference": " DEP-1 "},
                 {"to": a, "amount": "100", "deposit_reference": "DEP-1"}, 1),
        "freeze": ({"account": a}, {"account": a}, 1),
        "unfreeze": ({"account": a}, {"account": a}, 1),
        "lien": ({"account": a, "amount": 0}, {"account": a, "amount": "0"}, 1),
        "seize": ({"from": a, "to": b, "amount": THRESHOLD + 1, "order_reference": "ORDER-7"},
                  {"from": a, "to": b, "amount": str(THRESHOLD + 1), "order_reference": "ORDER-7"}, 2),
        "recover": ({"lost": a, "replacement": c, "order_reference": "ORDER-8"},
                    {"lost": a, "replacement": c, "order_reference": "ORDER-8"}, 1),
        "pause": ({}, {}, 1),
        "unpause": ({}, {}, 1),
    }
    assert set(valid) == set(workflow.KINDS) - set(workflow.LEDGER_KINDS)  # cancel, return: tests/ops/test_ops_lifecycle.py
    ids = {kind: propose(ops, kind, params, ana) for kind, (params, _, _) in valid.items()}
    assert list(ids.values()) == list(range(1, 9))
    with ops.ledger.session() as session:
        for kind, (_, clean, required) in valid.items():
            request = session.get(Request, ids[kind])
            nonce = request.params["nonce"]
            assert request.params == clean | {"nonce": nonce}, kind
            if kind == "mint":
                assert nonce == "deposit:DEP-1"
            else:
                assert re.fullmatch(r"[0-9a-f]{32}", nonce), nonce
            body = json.dumps({"chain_id": ops.chain_id, "token": ops.token, "kind": kind, "params": clean, "nonce": nonce},
                              sort_keys=True, separators=(",", ":"))
            assert request.digest == "0x" + keccak(text=body).hex()
            assert (request.kind, request.status, request.required_approvals, request.maker.name) == (kind, "pending", required, "ana")
            assert request.amount == (int(clean["amount"]) if "amount" in clean else None)
            assert operators.signer_of("request", request.digest, request.maker_signature) == ana.address
            assert request.approvals == [] and request.tx_id is None and request.deposit_id is None
        creates = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "request.create").order_by(AuditEntry.id)).all()
    assert [(e.actor, e.subject, e.details["kind"]) for e in creates] == [("ana", f"request {ids[k]}", k) for k in valid]
    assert counts(ops.ledger)["requests"] == 8


def test_mint_at_the_threshold_needs_one_approval_above_it_two(ops, team, alice):
    ana, ben, chen = team
    at = propose(ops, "mint", {"to": alice.address, "amount": THRESHOLD, "deposit_reference": "DEP-AT"}, ana)
    above = propose(ops, "mint", {"to": alice.address, "amount": THRESHOLD + 1, "deposit_reference": "DEP-ABOVE"}, ana)
    assert (load(ops, at).required_approvals, load(ops, above).required_approvals) == (1, 2)
    assert decide(ops, at, ben) == "approved"
    assert decide(ops, above, ben) == "pending"
    request = load(ops, above)
    assert request.status == "pending" and [(a.operator.name, a.decision) for a in request.approvals] == [("ben", "approve")]
    assert one_line_error(execute, ops, above, None) == f"request #{above} is pending, not approved"
    assert decide(ops, above, chen) == "approved"
    request = load(ops, above)
    assert [(a.operator_id, a.decision) for a in request.approvals] == [(2, "approve"), (3, "approve")]
    for approval in request.approvals:
        assert operators.signer_of("approve", request.digest, approval.signature) == approval.operator.address
    entry = last_audit(ops.ledger)
    assert (entry.actor, entry.action, entry.subject, entry.details["status"]) == ("chen", "request.approve", f"request {above}", "approved")


def test_decisions_that_are_refused(ops, team, stranger, alice):
    ana, ben, chen = team
    rid = propose(ops, "mint", {"to": alice.address, "amount": THRESHOLD + 1, "deposit_reference": "DEP-1"}, ana)
    before = counts(ops.ledger)
    for approve in (True, False):
        assert one_line_error(decide, ops, rid, ana, approve=approve) == (
            f"operator ana made request #{rid} and cannot approve or reject it")
        assert one_line_error(decide, ops, rid, stranger, approve=approve) == (
            f"{stranger.address} is not a registered operator (see `deptoken operators add`)")
    assert counts(ops.ledger) == before
    assert decide(ops, rid, ben) == "pending"
    for approve in (True, False):
        assert one_line_error(decide, ops, rid, ben, approve=approve) == f"operator ben has already decided on request #{rid}"
    assert counts(ops.ledger)["approvals"] == 1
    assert one_line_error(decide, ops, 999, chen) == "no request #999"
    assert load(ops, rid).status == "pending"


def test_reject_is_final(ops, team, alice, minter):
    ana, ben, chen = team
    rid = propose(ops, "mint", {"to": alice.address, "amount": 500, "deposit_reference": "DEP-1"}, ana)
    assert decide(ops, rid, ben, approve=False) == "rejected"
    assert one_line_error(decide, ops, rid, chen) == f"request #{rid} is rejected, not pending"
    assert one_line_error(decide, ops, rid, chen, approve=False) == f"request #{rid} is rejected, not pending"
    nonce, supply = minter.nonce, ops.client.contract.totalSupply()
    assert one_line_error(execute, ops, rid, minter) == f"request #{rid} is rejected, not approved"
    request = load(ops, rid)
    assert request.status == "rejected" and [(a.operator.name, a.decision) for a in request.approvals] == [("ben", "reject")]
    assert operators.signer_of("reject", request.digest, request.approvals[0].signature) == ben.address
    assert (minter.nonce, ops.client.contract.totalSupply(), counts(ops.ledger)["transactions"]) == (nonce, supply, 0)
    assert last_audit(ops.ledger).action == "request.reject"


def test_a_mint_for_the_same_deposit_reference_cannot_be_proposed_twice(ops, team, alice, bob):
    ana, ben, _ = team
    params = {"to": alice.address, "amount": 500, "deposit_reference": "DEP-1"}
    rid = propose(ops, "mint", params, ana)
    before = counts(ops.ledger)
    assert one_line_error(propose, ops, "mint", params, ana) == "this mint request exists already"
    assert one_line_error(propose, ops, "mint", params, ben).startswith("this mint request exists already")  # another maker
    # the same deposit reference with another amount or recipient is still the same deposit
    for changed in ({"amount": 501}, {"to": bob.address}, {"amount": 501, "to": bob.address}):
        message = one_line_error(propose, ops, "mint", params | changed, ben)
        assert message == f"deposit reference 'DEP-1' has a mint request already (#{rid})", (changed, message)
    # a reference given as its bytes32 (in any case) and as the text it hashes are one deposit too
    hex_ref = "0x" + keccak(text="DEP-2").hex()
    rid2 = propose(ops, "mint", params | {"deposit_reference": "0x" + hex_ref[2:].upper()}, ana)
    before = counts(ops.ledger)
    for reference in ("DEP-2", hex_ref):
        message = one_line_error(propose, ops, "mint", params | {"deposit_reference": reference}, ana)
        assert message == f"deposit reference {reference!r} has a mint request already (#{rid2})", message
    assert counts(ops.ledger) == before
    assert decide(ops, rid, ben, approve=False) == "rejected"
    assert one_line_error(propose, ops, "mint", params, ana) == "this mint request exists already"


def test_record_deposits_makes_mint_requests_all_or_nothing(ops, team, alice, bob, accounts):
    ana, ben, chen = team
    outsider = accounts[16]  # never allowlisted
    add_client(ops.ledger, "C-ALICE", alice.address)
    add_client(ops.ledger, "C-BOB", bob.address)
    add_client(ops.ledger, "C-GONE", outsider.address, status="offboarded")
    day = date(2026, 11, 24)
    good = DepositInput("DEP-A", "C-ALICE", Decimal("1500.00"), "USD", day, "line 2")
    before = counts(ops.ledger)
    bad_batches = [
        ([good, DepositInput("DEP-B", "C-NOBODY", Decimal("1"), "USD", day, "line 3")], "line 3: unknown client 'C-NOBODY'"),
        ([good, DepositInput("DEP-B", "C-GONE", Decimal("1"), "USD", day, "line 3")], "line 3: client C-GONE is offboarded, not active"),
        ([good, DepositInput("DEP-B", "C-BOB", Decimal("1"), "EUR", day, "line 3")], "line 3: currency EUR is not the token's USD"),
        ([good, DepositInput("DEP-B", "C-BOB", Decimal("1.001"), "USD", day, "line 3")], "line 3: "),
        ([good, DepositInput("DEP-A", "C-BOB", Decimal("1"), "USD", day, "line 3")], "line 2: deposit 'DEP-A' appears twice"),
    ]
    for batch, fragment in bad_batches:
        with pytest.raises(DepositTokenError) as info, ops.ledger.session() as session:
            record_deposits(session, ops, batch, ana, source="test.csv")
        assert str(info.value).startswith("test.csv: ") and "nothing recorded" in str(info.value), str(info.value)
        assert fragment in str(info.value), (fragment, str(info.value))
    assert counts(ops.ledger) == before

    small = DepositInput("DEP-B", "C-BOB", Decimal("12.34"), "USD", day, "line 3")
    with ops.ledger.session() as session:
        requests = record_deposits(session, ops, [good, small], ana, source="test.csv")
        ids = [r.id for r in requests]
    with ops.ledger.session() as session:
        rows = [session.get(Request, i) for i in ids]
        assert [(r.kind, r.amount, r.required_approvals, r.params["to"], r.deposit.bank_reference, r.deposit.amount)
                for r in rows] == [("mint", 150000, 2, alice.address, "DEP-A", 150000), ("mint", 1234, 1, bob.address, "DEP-B", 1234)]
    after = counts(ops.ledger)
    assert (after["deposits"], after["requests"]) == (before["deposits"] + 2, before["requests"] + 2)
    with ops.ledger.session() as session:
        message = one_line_error(record_deposits, session, ops, [good], ana, source="again.csv")
    assert message == "again.csv: 1 bad deposit(s), nothing recorded: line 2: deposit 'DEP-A' was already recorded (a replayed deposit)"


# ---------------------------------------------------------------------------- 5. workflow: executing


def _setup_recover(ops, compliance, chain, accounts):
    replacement = accounts[15]
    ops.client.allowlist(replacement, int(chain.pending_timestamp) + YEAR, sender=compliance)
    return replacement


@pytest.mark.parametrize("kind", ["mint", "freeze", "unfreeze", "lien", "seize", "recover", "pause", "unpause"])
def test_execution_changes_chain_state_once(kind, ops, team, request, chain, accounts, alice, bob, minter, compliance, legal, pauser):
    contract = ops.client.contract
    a = alice.address
    params: dict = {}
    replacement = None
    if kind == "mint":
        params = {"to": a, "amount": 12_345, "deposit_reference": "DEP-EXEC"}
    elif kind in ("freeze", "unfreeze"):
        params = {"account": a}
        if kind == "unfreeze":
            ops.client.freeze(alice, sender=compliance)
    elif kind == "lien":
        params = {"account": a, "amount": THRESHOLD + 500}
    elif kind == "seize":
        params = {"from": a, "to": minter.address, "amount": 2_500, "order_reference": "ORDER-1"}
    elif kind == "recover":
        replacement = _setup_recover(ops, compliance, chain, accounts)
        params = {"lost": a, "replacement": replacement.address, "order_reference": "ORDER-2"}
    elif kind == "unpause":
        ops.client.pause(sender=pauser)
    sender = request.getfixturevalue(workflow.signer_role(kind))
    rid = approved(ops, kind, params, team)
    supply, nonce = int(contract.totalSupply()), sender.nonce

    outcome = execute(ops, rid, sender)

    assert (outcome.request_id, outcome.status, outcome.message) == (rid, "executed", "done")
    receipt = chain.provider.web3.eth.get_transaction_receipt(outcome.tx_hash)
    assert receipt["status"] == 1 and receipt["blockNumber"] == outcome.block_number
    assert receipt["from"] == sender.address and receipt["to"] == contract.address
    assert sender.nonce == nonce + 1
    expected = {
        "mint": lambda: (contract.balanceOf(a), contract.totalSupply()) == (INITIAL + 12_345, supply + 12_345),
        "freeze": lambda: contract.isFrozen(a) and not contract.canSend(a),
        "unfreeze": lambda: not contract.isFrozen(a) and contract.canSend(a),
        "lien": lambda: (contract.getFrozenTokens(a), contract.unfrozenBalanceOf(a)) == (THRESHOLD + 500, INITIAL - THRESHOLD - 500),
        "seize": lambda: (contract.balanceOf(a), contract.balanceOf(minter), contract.totalSupply()) == (INITIAL - 2_500, 2_500, supply),
        "recover": lambda: (contract.balanceOf(a), contract.balanceOf(replacement), contract.allowlistExpiry(a),
                            contract.isAllowlisted(replacement)) == (0, INITIAL, 0, True),
        "pause": lambda: contract.paused(),
        "unpause": lambda: not contract.paused(),
    }
    assert expected[kind](), kind

    with ops.ledger.session() as session:
        row = session.get(Request, rid)
        tx = session.get(Transaction, row.tx_id)
        assert (row.status, row.reason) == ("executed", None)
        assert (tx.tx_hash, tx.status, tx.block_number, tx.sender, tx.nonce, tx.chain_id, tx.purpose) == (
            outcome.tx_hash, "mined", outcome.block_number, sender.address, nonce, ops.chain_id, f"request {rid} {kind}")
        assert tx.gas_used == receipt["gasUsed"]
        assert session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 1
    entry = last_audit(ops.ledger)
    assert (entry.actor, entry.action, entry.subject, entry.tx_hash, entry.block_number) == (
        ACTOR, "request.executed", f"request {rid}", outcome.tx_hash, outcome.block_number)
    assert entry.details == {"kind": kind, "digest": row.digest}
    assert verify_audit(ops.ledger) == []

    # exactly once: a second execute is refused and sends nothing
    assert one_line_error(execute, ops, rid, sender) == f"request #{rid} is executed, not approved"
    assert sender.nonce == nonce + 1


def test_executing_an_unapproved_request_is_refused(ops, team, alice, compliance):
    ana, _, _ = team
    rid = propose(ops, "freeze", {"account": alice.address}, ana)
    nonce = compliance.nonce
    assert one_line_error(execute, ops, rid, compliance) == f"request #{rid} is pending, not approved"
    assert (compliance.nonce, ops.client.contract.isFrozen(alice), counts(ops.ledger)["transactions"]) == (nonce, False, 0)
    assert load(ops, rid).status == "pending"


def _tamper(ops, rid: int, how: str, others: dict) -> None:
    with ops.ledger.session() as session:
        request = session.get(Request, rid)
        approval = request.approvals[0]
        digest, ids = request.digest, (approval.id, request.id)
    stranger, chen, chen_id = others["stranger"], others["chen"], others["chen_id"]
    if how == "signature: another key":
        sql(ops.ledger, "UPDATE approvals SET signature = :s WHERE id = :id", s=operators.sign(stranger, "approve", digest), id=ids[0])
    elif how == "signature: another operator":
        sql(ops.ledger, "UPDATE approvals SET signature = :s WHERE id = :id", s=operators.sign(chen, "approve", digest), id=ids[0])
    elif how == "signature: garbage":
        sql(ops.ledger, "UPDATE approvals SET signature = :s WHERE id = :id", s="0x" + "11" * 65, id=ids[0])
    elif how == "signature: another request":
        other = keccak(text="another request")
        sql(ops.ledger, "UPDATE approvals SET signature = :s WHERE id = :id", s=operators.sign(others["ben"], "approve", "0x" + other.hex()), id=ids[0])
    elif how == "operator_id":
        sql(ops.ledger, "UPDATE approvals SET operator_id = :o WHERE id = :id", o=chen_id, id=ids[0])
    elif how == "decision: reject made approve":
        sql(ops.ledger, "UPDATE approvals SET decision = 'approve' WHERE id = :id", id=ids[0])
        sql(ops.ledger, "UPDATE requests SET status = 'approved' WHERE id = :id", id=ids[1])
    elif how == "maker_signature":
        sql(ops.ledger, "UPDATE requests SET maker_signature = :s WHERE id = :id", s=operators.sign(stranger, "request", digest), id=ids[1])
    elif how == "maker_id":
        sql(ops.ledger, "UPDATE requests SET maker_id = :o WHERE id = :id", o=chen_id, id=ids[1])
    elif how == "params: recipient":
        with ops.ledger.session() as session:
            request = session.get(Request, rid)
            request.params = request.params | {"to": others["bob"]}
    elif how == "params: amount":
        with ops.ledger.session() as session:
            request = session.get(Request, rid)
            request.params = request.params | {"amount": "99999"}
    elif how == "required_approvals":
        sql(ops.ledger, "UPDATE requests SET required_approvals = 1, status = 'approved' WHERE id = :id", id=ids[1])
    else:
        raise AssertionError(how)


APPROVAL = "approval {approval} does not check out (ledger tampered?)"
MAKER = "the maker's signature does not match (ledger tampered?)"
PARAMS = "its parameters are not the ones signed for token {token} on chain {chain} (ledger tampered?)"
TAMPERING = {
    "signature: another key": APPROVAL,
    "signature: another operator": APPROVAL,
    "signature: garbage": APPROVAL,
    "signature: another request": APPROVAL,
    "operator_id": APPROVAL,
    "decision: reject made approve": APPROVAL,
    "maker_signature": MAKER,
    "maker_id": MAKER,
    "params: recipient": PARAMS,
    "params: amount": PARAMS,
    "required_approvals": "the policy requires 2 approvals, the ledger records 1 (ledger tampered, or the policy changed since it was proposed?)",
}


@pytest.mark.parametrize("how", TAMPERING)
def test_tampered_request_is_not_executed(how, ops, team, stranger, alice, bob, minter):
    ana, ben, chen = team
    amount = THRESHOLD + 1 if how == "required_approvals" else 700
    rid = propose(ops, "mint", {"to": alice.address, "amount": amount, "deposit_reference": "DEP-T"}, ana)
    assert decide(ops, rid, ben, approve=how != "decision: reject made approve") == (
        "pending" if how == "required_approvals" else "rejected" if how.startswith("decision") else "approved")
    with ops.ledger.session() as session:
        chen_id = operators.operator_named(session, "chen").id
    _tamper(ops, rid, how, {"stranger": stranger, "chen": chen, "chen_id": chen_id, "ben": ben, "bob": bob.address})
    before, nonce, supply = counts(ops.ledger), minter.nonce, ops.client.contract.totalSupply()

    message = one_line_error(execute, ops, rid, minter)

    expected = TAMPERING[how].format(approval=load(ops, rid).approvals[0].id, token=ops.token, chain=ops.chain_id)
    assert message == f"request #{rid}: {expected}"
    assert (minter.nonce, ops.client.contract.totalSupply(), ops.client.contract.balanceOf(alice)) == (nonce, supply, INITIAL)
    assert counts(ops.ledger) == before and before["transactions"] == 0
    assert load(ops, rid).status == "approved"


def test_failed_chain_precondition_sets_the_request_aside_as_failed(ops, team, alice, compliance, minter, accounts):
    """Nothing is sent; the request is failed with the reason (later runs do not retry it and fail
    again), and runs when named again (``retry``) once the chain allows it."""
    outsider = accounts[16]  # never allowlisted
    ops.client.freeze(alice, sender=compliance)
    freeze = approved(ops, "freeze", {"account": alice.address}, team)
    mint = approved(ops, "mint", {"to": outsider.address, "amount": 100, "deposit_reference": "DEP-OUT"}, team)
    before, nonces = counts(ops.ledger), (compliance.nonce, minter.nonce)
    supply = ops.client.contract.totalSupply()

    outcome = execute(ops, freeze, compliance)
    assert outcome == workflow.Outcome(freeze, "failed", f"not run: {alice.address} is already frozen")
    outcome = execute(ops, mint, minter)
    assert outcome == workflow.Outcome(mint, "failed", f"not run: recipient {outsider.address} is not allowlisted")

    with ops.ledger.session() as session:
        rows = {r.id: r for r in session.scalars(sa.select(Request))}
    assert (rows[freeze].status, rows[freeze].reason, rows[freeze].tx_id) == ("failed", f"not run: {alice.address} is already frozen", None)
    assert (rows[mint].status, rows[mint].reason, rows[mint].tx_id) == ("failed", f"not run: recipient {outsider.address} is not allowlisted", None)
    after = counts(ops.ledger)
    assert after == before | {"audit_log": before["audit_log"] + 2} and before["transactions"] == 0  # request.failed twice
    assert (compliance.nonce, minter.nonce, ops.client.contract.totalSupply()) == (*nonces, supply)
    assert one_line_error(execute, ops, freeze, compliance) == f"request #{freeze} is failed, not approved"

    # once the chain allows it, the same request runs when named again (and clears the reason)
    ops.client.unfreeze(alice, sender=compliance)
    session = ops.ledger.new_session()
    try:
        outcome = workflow.execute(session, ops, workflow.get_request(session, freeze), compliance, ACTOR, retry=True)
    finally:
        session.close()
    assert outcome.status == "executed" and ops.client.contract.isFrozen(alice)
    assert (load(ops, freeze).status, load(ops, freeze).reason) == ("executed", None)


def test_mint_of_a_deposit_already_minted_on_chain_is_not_minted_again(ops, team, alice, minter):
    receipt = ops.client.mint(alice, "12.34", "DEP-DONE", sender=minter)  # straight through ape, not the ledger
    rid = approved(ops, "mint", {"to": alice.address, "amount": 1_234, "deposit_reference": "DEP-DONE"}, team)
    supply, balance, nonce = ops.client.contract.totalSupply(), ops.client.contract.balanceOf(alice), minter.nonce
    tx_hash = HexBytes(receipt.txn_hash).to_0x_hex()

    outcome = execute(ops, rid, minter)

    assert outcome == workflow.Outcome(rid, "executed", f"deposit reference already minted by {tx_hash}", tx_hash, receipt.block_number)
    assert (ops.client.contract.totalSupply(), ops.client.contract.balanceOf(alice), minter.nonce) == (supply, balance, nonce)
    request = load(ops, rid)
    assert (request.status, request.reason, request.tx_id) == ("executed", f"deposit reference already minted by {tx_hash}", None)
    assert counts(ops.ledger)["transactions"] == 0
    entry = last_audit(ops.ledger)
    assert (entry.action, entry.subject, entry.tx_hash, entry.block_number, entry.details) == (
        "request.executed", f"request {rid}", tx_hash, receipt.block_number, {"note": f"deposit reference already minted by {tx_hash}"})
    assert one_line_error(execute, ops, rid, minter) == f"request #{rid} is executed, not approved"


def test_deposit_to_mint_end_to_end_with_two_checkers(ops, team, alice, minter):
    ana, ben, chen = team
    add_client(ops.ledger, "C-ALICE", alice.address)
    with ops.ledger.session() as session:
        (request,) = record_deposits(session, ops, [DepositInput("DEP-E2E", "C-ALICE", Decimal("2500.01"), "USD",
                                                                 date(2026, 11, 24), "command line")], ana, source="manual")
        rid = request.id
    assert decide(ops, rid, ben) == "pending"
    assert one_line_error(execute, ops, rid, minter) == f"request #{rid} is pending, not approved"
    assert decide(ops, rid, chen) == "approved"
    outcome = execute(ops, rid, minter)
    assert outcome.status == "executed"
    assert ops.client.contract.balanceOf(alice) == INITIAL + 250_001
    assert ops.client.contract.isDepositRefUsed(keccak(text="DEP-E2E"))
    minted = [e for e in ops.client.events(["Minted"]) if bytes(e.args["depositRef"]) == keccak(text="DEP-E2E")]
    assert len(minted) == 1 and minted[0].transaction == outcome.tx_hash
    assert [e.action for e in _audit_entries(ops.ledger)][-5:] == [
        "operator.add", "request.create", "request.approve", "request.approve", "request.executed"]
    assert verify_audit(ops.ledger) == []


def _audit_entries(ledger: Ledger) -> list[AuditEntry]:
    with ledger.session() as session:
        return list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))


# ---------------------------------------------------------------------------- 6. policy


@pytest.fixture
def no_policy_env(monkeypatch):
    monkeypatch.delenv("DEPTOKEN_OPS_CONFIG", raising=False)


def test_policy_defaults(tmp_path, monkeypatch, no_policy_env):
    import deptoken.ops.policy as policy_module

    monkeypatch.setattr(policy_module, "DEFAULT_PATH", tmp_path / "absent.yaml")
    assert load_policy() == Policy() == Policy(Decimal("100000"), 2, 2000, 100, "DEPOSIT-TOKEN-LIABILITY")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing set\n")
    assert load_policy(empty) == Policy()
    partial = tmp_path / "partial.yaml"
    partial.write_text("two_approvals_above: '1000.50'\nconfirmations: 0\n")
    assert load_policy(partial) == Policy(two_approvals_above=Decimal("1000.50"), confirmations=0)
    monkeypatch.setenv("DEPTOKEN_OPS_CONFIG", str(partial))
    assert load_policy() == Policy(two_approvals_above=Decimal("1000.50"), confirmations=0)


def test_policy_project_file():
    path = ROOT / "config" / "ops.yaml"
    assert load_policy(path) == Policy(Decimal("100000.00"), 2, 2000, 100, "DEPOSIT-TOKEN-LIABILITY")


def test_policy_missing_explicit_file(tmp_path, monkeypatch, no_policy_env):
    missing = tmp_path / "nope.yaml"
    assert one_line_error(load_policy, missing) == f"ops config {missing} not found"
    monkeypatch.setenv("DEPTOKEN_OPS_CONFIG", str(missing))
    assert one_line_error(load_policy) == f"ops config {missing} not found"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("confirmations: [1\n", "is not valid YAML ("),
        ("a: b: c\n", "is not valid YAML ("),
        ("bogus: 1\nother: 2\nconfirmations: 1\n", ": unknown setting(s) bogus, other"),
        ("two_approvals_above: -1\n", ": thresholds and counts must be positive"),
        ("confirmations: -1\n", ": thresholds and counts must be positive"),
        ("chunk_blocks: 0\n", ": thresholds and counts must be positive"),
        ("batch_size: -5\n", ": thresholds and counts must be positive"),
        ("batch_size: lots\n", ": bad value (invalid literal for int() with base 10: 'lots')"),
        ("two_approvals_above: much\n", ": bad value (two_approvals_above must be an amount, not 'much')"),
        ("two_approvals_above: .nan\n", ": two_approvals_above must be a finite amount, not NaN"),
        ("two_approvals_above: .inf\n", ": two_approvals_above must be a finite amount, not Infinity"),
        ("two_approvals_above: -.inf\n", ": two_approvals_above must be a finite amount, not -Infinity"),
        ("confirmations: 1.5\n", ": bad value (confirmations must be a whole number, not 1.5)"),
        ("chunk_blocks: 2000.0\n", ": bad value (chunk_blocks must be a whole number, not 2000.0)"),
        ("batch_size: true\n", ": bad value (batch_size must be a whole number, not True)"),
        ("- confirmations\n", ": expected a mapping of settings, not list"),
        ("42\n", ": expected a mapping of settings, not int"),
        ("interbank_networks: 0x1234\n", ": bad value (interbank_networks must be a list of addresses)"),
        ("interbank_networks: [0x1234]\n",
         ": bad value (interbank_networks: quote each address ('0x...'): YAML reads an unquoted 0x... as a number)"),
        ("interbank_networks: ['0x1234']\n", ": bad value (interbank_networks '0x1234' is not an address (0x followed by 40 hex digits))"),
    ],
)
def test_policy_file_errors(tmp_path, no_policy_env, text, fragment):
    path = tmp_path / "ops.yaml"
    path.write_text(text)
    message = one_line_error(load_policy, path)
    assert message.startswith(f"ops config {path}") and fragment in message, message
    if "YAML" not in fragment:
        assert message.endswith(fragment), message
    assert "\n" not in message


# ---------------------------------------------------------------------------- 7. context


def test_open_ops_binds_a_fresh_ledger_to_the_token(ledger, token, chain):
    """Issue 10 #9: the fixture token has history (mints): a new ledger binds to it only when told to adopt it."""
    message = one_line_error(open_ops, ledger, TEST_POLICY, client=TokenClient.from_contract(token))
    assert message.startswith(f"this ledger is new, but token {token.address} on chain {chain.chain_id} already has history (")
    assert message.endswith("is the database URL right? To start this ledger for it anyway, pass --adopt")
    assert counts(ledger)["audit_log"] == 0
    with ledger.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SyncState)) == 0
    ops = open_ops(ledger, TEST_POLICY, client=TokenClient.from_contract(token), adopt=True)
    assert (ops.token, ops.chain_id, ops.policy, ops.ledger) == (token.address, chain.chain_id, TEST_POLICY, ledger)
    with ledger.session() as session:
        states = [(s.token, s.chain_id, s.block_number, s.block_hash) for s in session.scalars(sa.select(SyncState))]
    assert states == [(token.address, chain.chain_id, -1, "")]
    again = open_ops(ledger, TEST_POLICY, client=TokenClient.from_contract(token))  # the same token: fine, no adopting again
    assert again.token == token.address
    assert [(e.actor, e.action, e.subject) for e in rows_of(ledger, AuditEntry)] == [("adopt", "ledger.adopt", token.address)]
    with ledger.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SyncState)) == 1


def test_open_ops_refuses_a_ledger_of_another_token_or_chain(ledger, token, chain, devnet_config, admin):
    open_ops(ledger, TEST_POLICY, client=TokenClient.from_contract(token), adopt=True)
    from deptoken.token.deployer import deploy_token

    other, _ = deploy_token(devnet_config, admin, record=False)
    assert other.address != token.address
    message = one_line_error(open_ops, ledger, TEST_POLICY, client=TokenClient.from_contract(other))
    cid = chain.chain_id
    assert message == f"this ledger belongs to token {token.address} on chain {cid}, not {other.address} on {cid}"
    sql(ledger, "UPDATE sync_state SET chain_id = 1")
    message = one_line_error(open_ops, ledger, TEST_POLICY, client=TokenClient.from_contract(token))
    assert message == f"this ledger belongs to token {token.address} on chain 1, not {token.address} on {cid}"
    with ledger.session() as session:
        assert [(s.token, s.chain_id) for s in session.scalars(sa.select(SyncState))] == [(token.address, 1)]


def test_a_request_made_for_another_token_does_not_run_on_this_one(ledger, token, team, devnet_config, admin, minter, alice):
    """The digest binds the chain and the token: a ledger pointed at another token (here by editing
    the sync state) cannot execute the old requests there."""
    ops = open_ops(ledger, TEST_POLICY, client=TokenClient.from_contract(token), adopt=True)
    rid = approved(ops, "mint", {"to": alice.address, "amount": 100, "deposit_reference": "DEP-X"}, team)
    from deptoken.token.deployer import deploy_token

    other, _ = deploy_token(devnet_config, admin, record=False)
    other_ops = type(ops)(ledger, TokenClient.from_contract(other), ops.chain_id, TEST_POLICY)
    nonce = minter.nonce
    message = one_line_error(execute, other_ops, rid, minter)
    assert message == f"request #{rid}: " + PARAMS.format(token=other.address, chain=ops.chain_id)
    assert minter.nonce == nonce and other.totalSupply() == 0


def test_utc_datetime_refuses_naive_values(ledger):
    with pytest.raises(sa.exc.StatementError) as info, ledger.session() as session:
        session.add(AuditEntry(at=datetime(2026, 1, 1), actor="a", action="b", subject="c", details={},
                               prev_hash=audit.GENESIS, hash="0" * 64))
        session.flush()
    assert isinstance(info.value.orig, ValueError) and str(info.value.orig) == "naive datetime"
    assert counts(ledger)["audit_log"] == 0


def test_two_executors_racing_for_a_request_run_it_once(ops, team, alice, compliance):
    """The second executor read the request while it was still approved; the conditional claim
    (approved -> executing) refuses it before it signs anything."""
    rid = approved(ops, "freeze", {"account": alice.address}, team)
    late = ops.ledger.new_session()
    try:
        stale = workflow.get_request(late, rid)
        _ = stale.maker, [a.operator for a in stale.approvals]
        assert stale.status == "approved"
        assert execute(ops, rid, compliance).status == "executed"
        nonce = compliance.nonce
        message = one_line_error(workflow.execute, late, ops, stale, compliance, ACTOR)
    finally:
        late.close()
    assert message == f"request #{rid} was taken by another executor (now executed)"
    assert compliance.nonce == nonce and counts(ops.ledger)["transactions"] == 1
    assert load(ops, rid).status == "executed" and ops.client.contract.isFrozen(alice)


def test_fault_points_are_checked(monkeypatch):
    """A misspelt DEPTOKEN_FAULT must not let a crash test pass without crashing."""
    from deptoken.ops import faults

    for spec in ("after_brodcast", "after_broadcast:0", "after_broadcast:x"):
        monkeypatch.setenv("DEPTOKEN_FAULT", spec)
        with pytest.raises(RuntimeError, match="expected one of before_sign"):
            faults.checkpoint("after_broadcast")
    monkeypatch.setenv("DEPTOKEN_FAULT", "after_broadcast:2")
    faults.checkpoint("before_sign")  # another point: nothing happens


# ---------------------------------------------------------------------------- issue 10: operator controls (migration 0003)


def test_migration_0003_upgrades_a_0001_ledger_keeping_its_rows_and_matches_the_models(ledger_url):
    """An existing ledger at 0001 (with an operator, a client and audit entries) upgrades to the head:
    its rows are kept, the new columns are empty, and the schema is exactly what the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(ledger_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO operators (name, address, can_request, can_approve, active, created_at) "
                                 "VALUES ('ana', '0x' || :a, :t, :t, :t, :now)"), {"a": "ab" * 20, "t": True, "now": datetime(2026, 1, 1)})
        ledger = Ledger(ledger_url, check=False)
        with ledger.session() as session:
            audit.record(session, ACTOR, "test.before", "0001")
        upgrade(engine)
        assert schema_revision(engine) == (HEAD, HEAD)
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT name, person_id, permissions, max_amount FROM operators")).one()
            assert tuple(row) == ("ana", None, None, None)
            assert conn.execute(sa.text("SELECT count(*) FROM statements")).scalar_one() == 0
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], diff
        assert verify_audit(ledger) == []
        ledger.dispose()
    finally:
        engine.dispose()


def test_operator_team_changes_go_through_maker_checker(ops, ana, ben, chen, stranger):
    """Issue 10 #5: only the first operators are registered without approval (``bootstrap``, at least
    two, refused once any exists); later additions, deactivations and duty changes are requests signed
    by one operator and approved by another; one person cannot hold two operator identities."""
    ledger = ops.ledger  # bound: team changes are signed for its chain and token
    with ledger.session() as session:
        assert one_line_error(operators.bootstrap, session, [("ana", ana.address, "P-ANA")], actor="it") == (
            "bootstrap registers at least two operators (a maker and a checker)")
    with ledger.session() as session:
        operators.bootstrap(session, [("ana", ana.address, "P-ANA"), ("ben", ben.address, "P-BEN")], actor="it")
    with ledger.session() as session:
        assert one_line_error(operators.bootstrap, session, [("x", chen.address, "P-X"), ("y", stranger.address, "P-Y")],
                              actor="it").startswith("the team exists already")

    def change(kind, name, who=ana, **fields):
        with ledger.session() as session:
            return operators.propose_change(session, kind, name, who, **fields).id

    duties = {"request": True, "approve": True}
    # ana's second identity: same key, or same person under another key
    assert one_line_error(change, "add", "ana2", address=ana.address, person_id="P-ANA2", **duties) == (
        f"operator ana ({ana.address}) already exists")
    assert one_line_error(change, "add", "ana2", address=stranger.address, person_id="P-ANA", **duties) == (
        "person P-ANA is already operator ana: one person, one operator identity")
    assert one_line_error(change, "add", "chen", address=chen.address, **duties).startswith("a new operator needs the person id")
    assert one_line_error(change, "add", "chen", address=chen.address, person_id="P-CHEN", who=stranger, **duties) == (
        f"{stranger.address} is not a registered operator (see `deptoken operators add`)")

    request_id = change("add", "chen", address=chen.address, person_id="P-CHEN", **duties)
    with ledger.session() as session:
        assert [o.name for o in operators.list_operators(session)] == ["ana", "ben"]  # not before approval
    assert one_line_error(decide_in, ledger, request_id, ana) == f"operator ana made request #{request_id} and cannot approve or reject it"
    assert decide_in(ledger, request_id, ben) == "executed"
    with ledger.session() as session:
        chen_op = operators.operator_named(session, "chen")
        assert (chen_op.person_id, chen_op.active, chen_op.permissions, chen_op.max_amount) == ("P-CHEN", True, None, None)
        entries = [(e.actor, e.action, e.subject) for e in session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]
    assert entries[1] == ("it", "operators.bootstrap", "2 operators")  # after the adoption (ops)
    assert entries[-3:] == [("ana", "request.create", f"request {request_id}"), ("ben", "request.approve", f"request {request_id}"),
                            (f"ben (request {request_id})", "operator.add", "chen")]

    # duties: chen limited to freezes; then deactivated, and a deactivated operator signs nothing
    assert one_line_error(change, "duties", "chen", request=True, approve=True, permissions=["wire"]).startswith("unknown permission(s) wire")
    assert decide_in(ledger, change("duties", "chen", request=True, approve=False, permissions=["freeze"], max_amount=500), ben) == "executed"
    with ledger.session() as session:
        chen_op = operators.operator_named(session, "chen")
        assert (chen_op.can_approve, chen_op.permissions, chen_op.max_amount) == (False, ["freeze"], 500)
        assert one_line_error(operators.operator_at, session, chen.address, may="request", action="mint") == (
            "operator chen is not permitted mint (permitted: freeze)")
    assert one_line_error(change, "duties", "ben", who=chen, request=True, approve=True) == "operator chen is not permitted operators (permitted: freeze)"
    with ledger.session() as session:  # ben may approve team changes only, and still does
        operators.operator_named(session, "ben").permissions = ["operators"]
    assert decide_in(ledger, change("deactivate", "chen"), ben) == "executed"
    with ledger.session() as session:
        assert one_line_error(operators.operator_at, session, chen.address, may="request") == "operator chen is deactivated"
    assert one_line_error(change, "deactivate", "ana", who=ana) == "operator ana cannot propose a change of their own duties"


def rows_of(ledger: Ledger, model) -> list:
    with ledger.session() as session:
        return list(session.scalars(sa.select(model).order_by(model.id)))


def decide_in(ledger, request_id: int, checker, *, approve: bool = True) -> str:
    with ledger.session() as session:
        return workflow.decide(session, request_id, checker, approve=approve).status


def test_operator_limits_and_no_approving_a_mint_to_oneself(ops, team, alice):
    """Issue 10 #5: an operator's amount limit binds what they request and approve, and no one
    approves a mint to their own address."""
    ana, ben, chen = team
    with ops.ledger.session() as session:
        operators.operator_named(session, "ben").max_amount = 50_000
    big = propose(ops, "mint", {"to": alice.address, "amount": 60_000, "deposit_reference": "D-LIMIT"}, ana)
    assert one_line_error(decide, ops, big, ben) == "operator ben may approve amounts up to 50000 minor units, not 60000"
    with pytest.raises(DepositTokenError, match="may request amounts up to 50000"):
        propose(ops, "mint", {"to": alice.address, "amount": 60_001, "deposit_reference": "D-LIMIT2"}, ben)
    to_ben = propose(ops, "mint", {"to": ben.address, "amount": 100, "deposit_reference": "D-SELF"}, ana)
    assert one_line_error(decide, ops, to_ben, ben) == f"operator ben cannot approve request #{to_ben}: it mints to their own address"
    assert decide(ops, to_ben, chen) == "approved"


# ---------------------------------------------------------------------------- issue 10: the CLI without a node (defect 7)


def ledger_cli(ledger: Ledger, *args: str, code: int = 0, as_json: bool = True):
    """``deptoken --db <ledger> [--json] ARGS`` in-process; (parsed JSON or text, stderr)."""
    from click.testing import CliRunner

    from deptoken.cli.main import main

    url = ledger.engine.url.render_as_string(hide_password=False)
    result = CliRunner(mix_stderr=False).invoke(main, ["--db", url, *(["--json"] if as_json else []), *args], catch_exceptions=False)
    assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
    return (json.loads(result.stdout) if as_json and not code else result.stdout), result.stderr


@pytest.fixture
def node_down(monkeypatch):
    """Any attempt of the CLI to reach the node fails (as with the node down)."""
    from deptoken.cli import env as cli_env

    def refuse(network: str) -> None:
        raise AssertionError(f"a ledger-only read tried to reach the node ({network})")

    monkeypatch.setattr(cli_env, "connect", refuse)


def test_ledger_reads_never_touch_the_node(ops, team, alice, node_down):
    """Issue 10 #7: the approval queue, supply, payouts, clients, operators and the audit log are read
    from the ledger alone (with the node down), amounts in currency units as before."""
    ana, ben, _ = team
    request_id = propose(ops, "mint", {"to": alice.address, "amount": 125_050, "deposit_reference": "D-READ"}, ana)
    add_client(ops.ledger, "C-READ", alice.address)
    started = time.perf_counter()
    listed, _ = ledger_cli(ops.ledger, "requests", "list", "--status", "pending")
    assert [(r["id"], r["kind"], r["status"]) for r in listed] == [(request_id, "mint", "pending")]
    text, _ = ledger_cli(ops.ledger, "requests", "list", as_json=False)
    assert "1,250.50" in text
    assert ledger_cli(ops.ledger, "supply")[0] == []
    assert ledger_cli(ops.ledger, "payouts", "list")[0] == []
    assert [c["client_id"] for c in ledger_cli(ops.ledger, "clients", "list")[0]] == ["C-READ"]
    assert [o["name"] for o in ledger_cli(ops.ledger, "operators", "list")[0]] == ["ana", "ben", "chen"]
    assert ledger_cli(ops.ledger, "audit", "list", "--limit", "1")[0][0]["action"] == "request.create"
    assert ledger_cli(ops.ledger, "audit", "verify")[0] == {"ok": True, "problems": []}
    elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed  # eight commands; each well under a second without the node


def test_operators_cli_bootstrap_then_add_through_approval(ledger, token, ana, ben, chen, chain):
    """Issue 10 #5 at the command line: `operators bootstrap` (the first two, once), then `operators
    add` is a request signed by ana that takes effect when ben approves it."""
    team = ("--operator", "ana", ana.address, "P-ANA", "--operator", "ben", ben.address, "P-BEN")
    assert [o["name"] for o in ledger_cli(ledger, "operators", "bootstrap", *team)[0]] == ["ana", "ben"]
    open_ops(ledger, TEST_POLICY, client=TokenClient.from_contract(token), adopt=True)  # bound: changes are signed for it
    assert json.loads(ledger_cli(ledger, "operators", "bootstrap", *team, code=1)[1])["error"].startswith("the team exists already")
    network = ("--network", f"ethereum:local:{chain.provider.uri}")
    snapshots = {k: list(v) for k, v in chain._snapshots.items()}
    try:
        proposed, _ = ledger_cli(ledger, *network, "operators", "add", "chen", chen.address, "--person-id", "P-CHEN",
                                 "--no-approve", "--permit", "freeze", "--as", ana.address)
        assert (proposed["change"], proposed["approvals_needed"]) == ("add", 1)
        assert [o["name"] for o in ledger_cli(ledger, "operators", "list")[0]] == ["ana", "ben"]
        decided, _ = ledger_cli(ledger, *network, "requests", "approve", str(proposed["request"]), "--as", ben.address)
    finally:
        chain._snapshots.update(snapshots)
    assert decided == {"id": proposed["request"], "status": "executed"}
    chen_row = ledger_cli(ledger, "operators", "list")[0][2]
    assert (chen_row["name"], chen_row["person_id"], chen_row["approve"], chen_row["permissions"]) == ("chen", "P-CHEN", False, "freeze")


def test_cli_consistency_json_errors_json_anywhere_fields_and_mistyped_ledger(ops, team, alice, node_down, tmp_path):
    """Issue 10 #9: with --json an error is {"error": ...} on stderr (stdout empty); --json also after
    the subcommand; request parameters shown as fields in currency units; a mistyped SQLite path is
    an error and creates no file."""
    from click.testing import CliRunner

    from deptoken.cli.main import main

    ana = team[0]
    request_id = propose(ops, "mint", {"to": alice.address, "amount": 125_050, "deposit_reference": "D-FIELDS"}, ana)
    url = ops.ledger.engine.url.render_as_string(hide_password=False)
    runner = CliRunner(mix_stderr=False)

    after = runner.invoke(main, ["--db", url, "requests", "list", "--json"], catch_exceptions=False)
    assert after.exit_code == 0 and [r["id"] for r in json.loads(after.stdout)] == [request_id]

    failed = runner.invoke(main, ["--db", url, "operators", "bootstrap", "--operator", "x", alice.address, "P-X", "--json"])
    assert failed.exit_code == 1 and failed.stdout == ""
    assert json.loads(failed.stderr) == {"error": "the team exists already: add operators with `deptoken operators add` "
                                                  "(approved by another operator)"}

    text = runner.invoke(main, ["--db", url, "requests", "list"], catch_exceptions=False).stdout
    assert f"to={alice.address} amount=1,250.50 {ops.client.symbol} deposit_reference=D-FIELDS" in " ".join(text.split())
    assert "{" not in text

    typo = tmp_path / "ledgr.sqlite"
    missing = runner.invoke(main, ["--db", f"sqlite:///{typo}", "requests", "list"])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == f"error: no ledger database at {typo} (mistyped? `deptoken db upgrade` creates a new one)"
    assert not typo.exists()


def test_what_a_keystore_signer_is_shown_before_the_passphrase_prompt(ops, team, alice, tmp_path, capsys):
    """Issue 10 #9: the keystore's prompt shows only the digest; the operator is shown the request first,
    the amount in currency units and the reference as text."""
    from eth_account import Account

    from deptoken.accounts import load_keystore_file
    from deptoken.cli.env import Env
    from deptoken.cli.request_commands import show_before_signing

    request_id = propose(ops, "mint", {"to": alice.address, "amount": 125_050, "deposit_reference": "D-PROMPT"}, team[0])
    keyfile = tmp_path / "key.json"
    keyfile.write_text(json.dumps(Account.encrypt(Account.create().key, "pw")))
    env = Env(ops.ledger.engine.url.render_as_string(hide_password=False), "unused", None, False)
    show_before_signing(env, load_keystore_file(str(keyfile)), "approve", request_id)
    assert capsys.readouterr().err == (f"signing: approve request #{request_id}: mint to={alice.address} "
                                       f"amount=1,250.50 {ops.client.symbol} deposit_reference=D-PROMPT\n")


# ---------------------------------------------------------------------------- issue 10: chain binding (12), approvers (5)


def test_the_ledger_is_bound_to_its_chain_for_good(ledger, token, chain):
    """Issue 10 #12: the ledger records the hash of the token's deployment block when it binds (block 1
    here: the client has no deployment record); a node where that block differs (a second devnet with
    the same chain id and the token at the same address) is refused in one line; a ledger bound before
    it recorded the anchor records this node's on first use, audited."""
    client = TokenClient.from_contract(token)
    assert client.deployment is None
    anchor = chain.provider.web3.eth.get_block(1)["hash"].hex()
    anchor = (anchor if anchor.startswith("0x") else "0x" + anchor).lower()
    assert chain_anchor(client) == anchor
    open_ops(ledger, TEST_POLICY, client=client, adopt=True)
    with ledger.session() as session:
        assert session.scalars(sa.select(SyncState)).one().anchor_hash == anchor
        session.execute(sa.update(SyncState).values(anchor_hash=None))  # as bound before 0004
    open_ops(ledger, TEST_POLICY, client=client)
    entry = last_audit(ledger)
    assert (entry.actor, entry.action, entry.details) == ("binding", "ledger.anchor", {"chain_id": chain.chain_id, "anchor_hash": anchor})
    with ledger.session() as session:
        assert session.scalars(sa.select(SyncState)).one().anchor_hash == anchor
        session.execute(sa.update(SyncState).values(anchor_hash="0x" + "11" * 32))  # the ledger of another devnet
    before = last_audit(ledger).id
    assert one_line_error(open_ops, ledger, TEST_POLICY, client=client) == (
        f"this ledger belongs to the chain whose token deployment block is 0x{'11' * 32}, not this node's ({anchor}): "
        f"another chain with the same chain id {chain.chain_id} (check --network / DEPTOKEN_NETWORK)")
    assert last_audit(ledger).id == before


def test_a_chain_command_without_a_network_is_refused(ledger, monkeypatch):
    """Issue 10 #12: no silent default network (it was ethereum:local:node, 127.0.0.1:8545): a chain
    command without --network / DEPTOKEN_NETWORK is refused in one line saying how to choose."""
    from click.testing import CliRunner

    from deptoken.cli.main import main

    monkeypatch.delenv("DEPTOKEN_NETWORK", raising=False)
    url = ledger.engine.url.render_as_string(hide_password=False)
    result = CliRunner(mix_stderr=False).invoke(main, ["--db", url, "requests", "execute"])
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.stderr.strip() == ("error: no network chosen: pass --network (e.g. ethereum:local:http://127.0.0.1:8545 "
                                     "for a local node) or set DEPTOKEN_NETWORK; reads of the ledger alone need none")


@pytest.mark.parametrize("change", ["deactivated", "no longer permitted"])
def test_an_approval_whose_operator_lost_the_right_does_not_count_at_execution(change, ops, team, alice, minter):
    """Issue 10 #5: an approval counts at execution only if its operator is still active and permitted
    to approve the request: otherwise the request fails, nothing is sent."""
    ana, ben, chen = team
    request_id = approved(ops, "mint", {"to": alice.address, "amount": 100, "deposit_reference": f"D-LAPSE-{len(change)}"}, team)
    with ops.ledger.session() as session:
        if change == "deactivated":
            operators.deactivate_operator(session, "ben", actor="test")
        else:
            operators.operator_named(session, "ben").permissions = ["freeze"]
    balance = ops.client.contract.balanceOf(alice.address)
    with ops.ledger.new_session() as session:
        (outcome,) = workflow.execute_all(session, ops, [workflow.get_request(session, request_id)], minter, ACTOR)
    reason = "operator ben is deactivated" if change == "deactivated" else "operator ben is not permitted mint (permitted: freeze)"
    assert (outcome.status, outcome.tx_hash) == ("failed", None)
    assert outcome.message == f"request #{request_id}: the approval by ben no longer counts ({reason}): 0 of 1 approvals"
    assert ops.client.contract.balanceOf(alice.address) == balance


def test_an_operator_change_is_signed_for_the_ledgers_chain_and_token(ops, team, stranger):
    """Issue 10 #5: a team change is signed over the ledger's chain id and token, like every request:
    the same signed change on a ledger of another token does not take effect."""
    ana, ben, _ = team
    with ops.ledger.session() as session:
        request = operators.propose_change(session, "add", "dan", ana, address=stranger.address, person_id="P-DAN",
                                           request=True, approve=True)
        request_id, params = request.id, dict(request.params)
    body = json.dumps({"chain_id": ops.chain_id, "token": ops.token, "kind": "operator", "params": params},
                      sort_keys=True, separators=(",", ":"))
    assert load(ops, request_id).digest == "0x" + keccak(text=body).hex()
    with ops.ledger.session() as session:  # the same rows, as on a ledger bound to another token
        session.execute(sa.update(SyncState).values(token="0x" + "22" * 20))
    assert one_line_error(decide_in, ops.ledger, request_id, ben) == (
        f"request #{request_id}: its parameters are not the ones signed for this ledger's chain and token "
        "(ledger tampered, or replayed from another ledger?)")
    with ops.ledger.session() as session:
        assert [o.name for o in operators.list_operators(session)] == ["ana", "ben", "chen"]


def test_long_runs_log_one_line_per_item_when_not_on_a_terminal(ops, team, alice, minter, capsys):
    """Issue 10 #9: off a terminal (a cron log) `requests execute` prints one line per request that
    completed, with its tx hash, not only a count."""
    from deptoken.cli.issuer_support import progress

    request_id = approved(ops, "mint", {"to": alice.address, "amount": 100, "deposit_reference": "D-CRON"}, team)
    with progress("executing", 1) as advance, ops.ledger.new_session() as session:
        (outcome,) = workflow.execute_all(session, ops, [workflow.get_request(session, request_id)], minter, ACTOR, progress=advance)
    assert capsys.readouterr().err == (f"executing: 1/1: request #{request_id}: executed (done) tx {outcome.tx_hash} "
                                       f"block {outcome.block_number}\n")
