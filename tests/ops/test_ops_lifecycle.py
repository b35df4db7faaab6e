"""Issue 10 §1, the mint request's lifecycle and deposit intake (defects 1, 2, 3, 4, 8, 10, 13, 15):
cancelling and expiring approved requests, a request that cannot run set aside, "already minted"
checked against the Minted event, value-date holds, intake limits, partly replayed files,
case-variant references, amending/returning deposits and the suspense queue, execution leases.

In-process on ape's Anvil and a real SQLite ledger (PostgreSQL too with DEPTOKEN_TEST_POSTGRES_URL).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from eth_utils import to_checksum_address
from helpers import one_line_error
from hexbytes import HexBytes

from deptoken.ops import workflow
from deptoken.ops.db import make_engine, upgrade
from deptoken.ops.deposits import DepositInput, amend_deposit, intake, list_deposits, propose_return, record_deposits
from deptoken.ops.models import AuditEntry, Client, Deposit, Request, Transaction
from deptoken.ops.policy import Policy, load_policy
from deptoken.validation import reference_to_bytes32

from constants import ACTOR
COUNTED = ("deposits", "requests", "approvals", "transactions", "audit_log")


# ---------------------------------------------------------------------------- helpers


def counts(ledger) -> dict[str, int]:
    with ledger.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}


def add_client(ledger, client_id: str, address: str) -> None:
    with ledger.session() as session:
        session.add(Client(client_id=client_id, address=address, legal_name=f"{client_id} Ltd", country="DE", lei=None,
                           review_date=date(2027, 6, 30), status="active"))


def today(ops) -> date:
    return ops.today()


def dep(ref: str, client: str, amount: str, day: date, where: str = "entry 1") -> DepositInput:
    return DepositInput(ref, client, Decimal(amount), "USD", day, where)


def record(ops, inputs, maker, source="test.csv", **kwargs) -> list[int]:
    with ops.ledger.session() as session:
        return [r.id for r in record_deposits(session, ops, inputs, maker, source=source, **kwargs)]


def propose(ops, kind, params, maker) -> int:
    with ops.ledger.session() as session:
        return workflow.propose(session, ops, kind, params, maker).id


def decide(ops, rid, checker, *, approve=True, reason=None) -> str:
    with ops.ledger.session() as session:
        return workflow.decide(session, rid, checker, approve=approve, reason=reason).status


def execute(ops, rid, sender, **kwargs) -> workflow.Outcome:
    session = ops.ledger.new_session()
    try:
        return workflow.execute(session, ops, workflow.get_request(session, rid), sender, ACTOR, **kwargs)
    finally:
        session.close()


def load(ops, rid) -> Request:
    with ops.ledger.session() as session:
        return workflow.get_request(session, rid)


def audit_actions(ledger) -> list[str]:
    with ledger.session() as session:
        return [e.action for e in session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


@pytest.fixture
def clients(ops, alice, bob):
    add_client(ops.ledger, "C-ALICE", alice.address)
    add_client(ops.ledger, "C-BOB", bob.address)


# ---------------------------------------------------------------------------- defect 1


def test_approved_request_that_cannot_run_is_set_aside_cancelled_and_expired(ops, team, clients, alice, bob, minter, minter_admin):
    """Defect 1: a mint above the minter's allowance failed the run once (status failed, reason), did
    not block the mint behind it and is not retried by later runs; it can be cancelled by a maker and a
    second operator (reason recorded), and approved requests expire after the policy's time."""
    ana, ben, chen = team
    big, small = record(ops, [dep("D-BIG", "C-ALICE", "900.00", today(ops)), dep("D-SMALL", "C-BOB", "1.00", today(ops), "entry 2")], ana)
    for rid in (big, small):
        assert decide(ops, rid, ben) == "approved"
    allowance = int(ops.client.contract.minterAllowance(minter))
    ops.client.contract.configureMinter(minter, 50_000, sender=minter_admin)  # 500.00: the big one cannot run
    try:
        session = ops.ledger.new_session()
        try:
            todo = workflow.pending_requests(session, "approved")
            outcomes = workflow.execute_all(session, ops, todo, minter, ACTOR)
        finally:
            session.close()
        assert [(o.request_id, o.status) for o in outcomes] == [(big, "failed"), (small, "executed")]
        assert outcomes[0].message.startswith("not run: minter ")
        assert (load(ops, big).status, load(ops, big).reason.startswith("not run: minter")) == ("failed", True)
        with ops.ledger.session() as session:  # the next run finds nothing to do: no alarm forever
            assert workflow.pending_requests(session, "approved") == []

        # a plain reject is for pending requests; a cancel is its own maker-checker request, with a reason
        assert one_line_error(decide, ops, big, chen, approve=False, reason="x") == f"request #{big} is failed, not pending"
        assert one_line_error(propose, ops, "cancel", {"request": big, "reason": " "}, ana) == "a cancel needs a reason"
        assert one_line_error(propose, ops, "cancel", {"request": small, "reason": "no"}, ana) == (
            f"request #{small} is executed: only an approved or failed request can be cancelled")
        cancel = propose(ops, "cancel", {"request": big, "reason": "above the allowance; client refunded"}, ana)
        assert load(ops, big).status == "failed"  # nothing happens before the second operator approves
        assert one_line_error(decide, ops, cancel, ana) == f"operator ana made request #{cancel} and cannot approve or reject it"
        assert decide(ops, cancel, ben) == "executed"
        request = load(ops, big)
        assert (request.status, request.reason) == ("cancelled", f"cancelled by request #{cancel}: above the allowance; client refunded")
        assert audit_actions(ops.ledger)[-2:] == ["request.approve", "request.cancelled"]
        assert one_line_error(execute, ops, big, minter) == f"request #{big} is cancelled, not approved"

        # reject --reason records the reason
        (late,) = record(ops, [dep("D-LATE", "C-BOB", "2.00", today(ops))], ana)
        assert decide(ops, late, ben, approve=False, reason="wrong client") == "rejected"
        assert load(ops, late).reason == "rejected by ben: wrong client"

        # expiry: an approved request older than the policy's time expires at the next run, not a failure
        (old,) = record(ops, [dep("D-OLD", "C-BOB", "3.00", today(ops))], ana)
        decide(ops, old, ben)
        with ops.ledger.session() as session:
            later = datetime.now(UTC) + timedelta(hours=ops.policy.approved_expire_hours + 1)
            outcomes = workflow.expire_approved(session, ops, ACTOR, now=later)
        assert [(o.request_id, o.status) for o in outcomes] == [(old, "expired")]
        assert load(ops, old).status == "expired"
        assert one_line_error(execute, ops, old, minter) == f"request #{old} is expired, not approved"
    finally:
        ops.client.contract.configureMinter(minter, allowance, sender=minter_admin)


# ---------------------------------------------------------------------------- defect 2


def test_already_minted_with_different_terms_is_a_conflict_not_success(ops, team, alice, bob, minter):
    """Defect 2: the reference was minted on-chain to someone else / for another amount: flagged, not executed."""
    ops.client.mint(bob, "12.34", "DEP-OTHER", sender=minter)  # another ledger's mint of the same reference
    ana, ben, _ = team
    rid = propose(ops, "mint", {"to": alice.address, "amount": 1_234, "deposit_reference": "DEP-OTHER"}, ana)
    decide(ops, rid, ben)
    supply = ops.client.contract.totalSupply()
    outcome = execute(ops, rid, minter)
    assert outcome.status == "conflict", outcome
    assert "already minted" in outcome.message and "different terms" in outcome.message and bob.address in outcome.message
    request = load(ops, rid)
    assert (request.status, request.tx_id) == ("conflict", None) and "different terms" in request.reason
    assert audit_actions(ops.ledger)[-1] == "request.conflict"
    assert ops.client.contract.totalSupply() == supply
    # matching terms still count as done
    receipt = ops.client.mint(alice, "5.00", "DEP-SAME", sender=minter)
    rid = propose(ops, "mint", {"to": alice.address, "amount": 500, "deposit_reference": "DEP-SAME"}, ana)
    decide(ops, rid, ben)
    assert execute(ops, rid, minter).status == "executed"
    assert load(ops, rid).reason == f"deposit reference already minted by {HexBytes(receipt.txn_hash).to_0x_hex()}"


# ---------------------------------------------------------------------------- defect 3


def test_future_value_date_is_held_until_that_day(ops, team, clients, alice, chain, minter):
    """Defect 3: held (not minted, not failed) until the value date; same_day_only refuses it at intake."""
    ana, ben, _ = team
    tomorrow = today(ops) + timedelta(days=1)
    (rid,) = record(ops, [dep("D-FWD", "C-ALICE", "10.00", tomorrow)], ana)
    decide(ops, rid, ben)
    balance = ops.client.contract.balanceOf(alice)
    outcome = execute(ops, rid, minter)
    assert (outcome.status, outcome.message) == ("held", f"held until its value date {tomorrow}")
    assert load(ops, rid).status == "approved" and ops.client.contract.balanceOf(alice) == balance
    with ops.ledger.session() as session:
        held = list_deposits(session, ops, held=True)
        assert [(d.bank_reference, d.state, d.request_id) for d in held] == [("D-FWD", f"held until {tomorrow}", rid)]
    with ops.ledger.session() as session:  # held is not expired: the policy's time counts from the value date
        just_before = datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC) + timedelta(hours=ops.policy.approved_expire_hours - 1)
        assert workflow.expire_approved(session, ops, ACTOR, now=just_before) == []
    chain.pending_timestamp = int(datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC).timestamp()) + 60
    assert execute(ops, rid, minter).status == "executed"

    strict = replace(ops, policy=replace(ops.policy, value_date="same_day_only"))
    before = counts(ops.ledger)
    later = today(strict) + timedelta(days=2)
    assert one_line_error(record, strict, [dep("D-FWD2", "C-ALICE", "1.00", later)], ana) == (
        f"test.csv: 1 bad deposit(s), nothing recorded: entry 1: value date {later} is after today "
        f"({today(strict)}): the policy takes same-day deposits only")
    assert counts(ops.ledger) == before


# ---------------------------------------------------------------------------- defect 4


def test_intake_refuses_amounts_above_the_policy_limits(ops, team, clients):
    """Defect 4: per deposit and per client per value date, one line, nothing recorded."""
    ana = team[0]
    limited = replace(ops, policy=replace(ops.policy, max_deposit=Decimal("5000.00"), max_client_daily=Decimal("8000.00")))
    day = today(ops)
    before = counts(ops.ledger)
    assert one_line_error(record, limited, [dep("D-HUGE", "C-ALICE", "1" + "0" * 40, day)], ana) == (
        "test.csv: 1 bad deposit(s), nothing recorded: entry 1: amount 10,000,000,000,000,000,000,000,000,000,000,000,000,000.00 EXUSD "
        "is above the policy's limit per deposit (5,000.00 EXUSD)")
    assert counts(ops.ledger) == before
    record(limited, [dep("D-1", "C-ALICE", "5000.00", day)], ana)
    message = one_line_error(record, limited, [dep("D-2", "C-BOB", "10.00", day), dep("D-3", "C-ALICE", "3000.00", day, "entry 2"),
                                               dep("D-4", "C-ALICE", "0.01", day, "entry 3")], ana)
    assert message == (f"test.csv: 1 bad deposit(s), nothing recorded: entry 3: client C-ALICE would receive 8,000.01 EXUSD "
                       f"for {day}, above the policy's limit per client per day (8,000.00 EXUSD)")
    assert counts(ops.ledger)["deposits"] == before["deposits"] + 1


def test_limit_policy_settings(tmp_path):
    path = tmp_path / "ops.yaml"
    path.write_text("max_deposit: '250000.00'\nmax_client_daily: null\nvalue_date: same_day_only\n"
                    "approved_expire_hours: 24\nexecution_lease_seconds: 90\n")
    policy = load_policy(path)
    assert (policy.max_deposit, policy.max_client_daily, policy.value_date, policy.approved_expire_hours,
            policy.execution_lease_seconds) == (Decimal("250000.00"), None, "same_day_only", 24, 90)
    path.write_text("value_date: later\n")
    assert "value_date must be hold or same_day_only" in one_line_error(load_policy, path)
    assert Policy().value_date == "hold" and Policy().max_deposit is not None
    path.write_text("max_in_flight: 8\n")  # issue 10 §3
    assert load_policy(path).max_in_flight == 8 and Policy().max_in_flight == 256
    path.write_text("max_in_flight: 0\n")
    assert "max_in_flight must be 1 or more" in one_line_error(load_policy, path)


# ---------------------------------------------------------------------------- defects 8 and 10


def test_partly_replayed_file_with_skip_known_records_only_the_new_entries(ops, team, clients):
    """Defect 8: known entries with the same terms are reported as duplicates; a changed one still refuses the file."""
    ana = team[0]
    day = today(ops)
    first = [dep("N-1", "C-ALICE", "10.00", day, "entry 1")]
    record(ops, first, ana)
    replay = [*first, dep("N-2", "C-BOB", "20.00", day, "entry 2")]
    before = counts(ops.ledger)
    assert "deposit 'N-1' was already recorded" in one_line_error(record, ops, replay, ana)  # default: whole file refused
    assert counts(ops.ledger) == before
    with ops.ledger.session() as session:
        result = intake(session, ops, replay, ana, source="ntf.xml", skip_known=True)
        assert ([r.params["deposit_reference"] for r in result.requests], result.duplicates) == (["N-2"], ["entry 1: N-1"])
    changed = [dep("N-1", "C-ALICE", "10.01", day, "entry 1"), dep("N-3", "C-BOB", "1.00", day, "entry 2")]
    before = counts(ops.ledger)
    message = one_line_error(record, ops, changed, ana, skip_known=True)
    assert message == ("test.csv: 1 bad deposit(s), nothing recorded: entry 1: deposit 'N-1' was already recorded "
                       "with different terms (10.00 EXUSD to C-ALICE value "
                       f"{day}, now 10.01 EXUSD to C-ALICE value {day})")
    assert counts(ops.ledger) == before


def test_references_differing_only_in_case_are_one_deposit(ops, team, clients, alice):
    """Defect 10: `d-bom-1` after `D-BOM-1` is refused (in the ledger, within one input and as a mint request)."""
    ana = team[0]
    day = today(ops)
    record(ops, [dep("D-BOM-1", "C-ALICE", "1.00", day)], ana)
    before = counts(ops.ledger)
    assert one_line_error(record, ops, [dep("d-bom-1", "C-ALICE", "1.00", day)], ana) == (
        "test.csv: 1 bad deposit(s), nothing recorded: entry 1: deposit 'd-bom-1' was already recorded as 'D-BOM-1' "
        "(references that differ only in case are the same deposit)")
    message = one_line_error(record, ops, [dep("X-1", "C-ALICE", "1.00", day), dep("x-1", "C-BOB", "1.00", day, "entry 2")], ana)
    assert "entry 1: deposit 'X-1' appears twice (ignoring case); entry 2: deposit 'x-1' appears twice (ignoring case)" in message
    assert one_line_error(propose, ops, "mint", {"to": alice.address, "amount": 100, "deposit_reference": "d-Bom-1"}, ana).startswith(
        "deposit reference 'd-Bom-1' has a mint request already")
    assert counts(ops.ledger) == before


# ---------------------------------------------------------------------------- defect 13


def test_rejected_deposit_is_amended_or_returned_and_unknown_clients_go_to_suspense(ops, team, clients, alice, bob, minter):
    ana, ben, chen = team
    day = today(ops)
    (rid,) = record(ops, [dep("D-FIX", "C-ALICE", "100.00", day)], ana)
    decide(ops, rid, ben, approve=False, reason="should be 10.00")
    assert "already recorded" in one_line_error(record, ops, [dep("D-FIX", "C-ALICE", "10.00", day)], ana)

    with ops.ledger.session() as session:  # amended: a new version and a new mint request, the old one kept
        assert one_line_error(amend_deposit, session, ops, "D-FIX", ana, reason=" ") == "an amendment needs a reason"
        fixed = amend_deposit(session, ops, "d-fix", ana, amount=Decimal("10.00"), reason="amount typo").id
    assert one_line_error(decide, ops, fixed, ana) == f"operator ana made request #{fixed} and cannot approve or reject it"
    assert decide(ops, fixed, ben) == "approved"
    assert execute(ops, fixed, minter).status == "executed"
    with ops.ledger.session() as session:
        versions = list(session.scalars(sa.select(Deposit).where(Deposit.bank_reference == "D-FIX").order_by(Deposit.id)))
        assert [(d.amount, d.status, d.reason) for d in versions] == [(10_000, "superseded", None), (1_000, "recorded", "amount typo")]
        assert versions[1].supersedes_id == versions[0].id
        with pytest.raises(Exception) as info:
            amend_deposit(session, ops, "D-FIX", ana, amount=Decimal("11.00"), reason="again")
        assert "minted" in str(info.value) or "executed" in str(info.value)
    assert load(ops, rid).status == "rejected"  # history kept

    # an unknown client in a file parks the credit; the rest is recorded
    with ops.ledger.session() as session:
        result = intake(session, ops, [dep("S-1", "C-NOBODY", "7.00", day), dep("S-2", "C-BOB", "8.00", day, "entry 2")], ana,
                        source="ntf.xml", suspense=True)
        assert [r.params["deposit_reference"] for r in result.requests] == ["S-2"]
        assert result.suspended == ["entry 1: S-1 (unknown client 'C-NOBODY')"]
    with ops.ledger.session() as session:
        assert [(d.bank_reference, d.client_id, d.state) for d in list_deposits(session, ops, suspense=True)] == [
            ("S-1", "C-NOBODY", "suspense")]
        assigned = amend_deposit(session, ops, "S-1", ana, client_id="C-BOB", reason="client found: C-BOB").id
    decide(ops, assigned, chen)
    assert execute(ops, assigned, minter).status == "executed"

    # returning a deposit is maker-checker too, and only for one not minted
    (rid2,) = record(ops, [dep("D-RET", "C-ALICE", "3.00", day)], ana)
    decide(ops, rid2, ben, approve=False, reason="sender asked for it back")
    with ops.ledger.session() as session:
        ret = propose_return(session, ops, "D-RET", ana, "returned to the payer").id
        assert one_line_error(propose_return, session, ops, "D-FIX", ana, "no") == "deposit 'D-FIX' is minted: it cannot be returned"
    assert decide(ops, ret, ben) == "executed"
    with ops.ledger.session() as session:
        (returned,) = session.scalars(sa.select(Deposit).where(Deposit.bank_reference == "D-RET")).all()
        assert (returned.status, returned.reason) == ("returned", "returned to the payer")
    assert "deposit.returned" in audit_actions(ops.ledger)


# ---------------------------------------------------------------------------- defect 15


def test_a_live_execution_lease_is_skipped_not_reset_and_an_expired_one_taken_over(ops, team, alice, compliance):
    ana, ben, _ = team
    rid = propose(ops, "freeze", {"account": alice.address}, ana)
    decide(ops, rid, ben)
    first = ops.ledger.new_session()
    try:  # executor A claimed it and waits (e.g. at the keystore prompt)
        workflow.claim(first, workflow.get_request(first, rid), owner="executor-A", lease_seconds=600)
    finally:
        first.close()
    with ops.ledger.new_session() as session:  # executor B: recovery skips it, execution leaves it alone
        outcomes = workflow.recover(session, ops, ACTOR)
        assert [(o.request_id, o.status) for o in outcomes] == [(rid, "skipped")]
        assert "executor-A" in outcomes[0].message
        outcome = workflow.execute(session, ops, workflow.get_request(session, rid), compliance, ACTOR, owner="executor-B")
        assert outcome.status == "skipped"
    request = load(ops, rid)
    assert (request.status, request.lease_owner) == ("executing", "executor-A")

    with ops.ledger.new_session() as session:  # A died: once its lease expired, B takes over
        later = datetime.now(UTC) + timedelta(seconds=601)
        outcomes = workflow.recover(session, ops, ACTOR, now=later)
        assert [(o.request_id, o.status) for o in outcomes] == [(rid, "approved")]
        assert workflow.execute(session, ops, workflow.get_request(session, rid), compliance, ACTOR, owner="executor-B").status == "executed"
    assert ops.client.contract.isFrozen(alice)


def test_an_executor_that_lost_its_lease_sends_nothing(ops, team, alice, compliance, monkeypatch):
    """A takes so long at the prompt that B took the request over: A's signed transaction is never stored or sent."""
    ana, ben, _ = team
    rid = propose(ops, "freeze", {"account": alice.address}, ana)
    decide(ops, rid, ben)
    real_claim = workflow.claim

    def claim_then_lose(session, request, *, owner, lease_seconds):
        real_claim(session, request, owner=owner, lease_seconds=lease_seconds)
        with ops.ledger.engine.begin() as conn:  # meanwhile B took over the expired lease
            conn.execute(sa.text("UPDATE requests SET lease_owner = 'executor-B' WHERE id = :id"), {"id": rid})

    monkeypatch.setattr(workflow, "claim", claim_then_lose)
    nonce = compliance.nonce
    outcome = execute(ops, rid, compliance, owner="executor-A")
    assert outcome.status == "skipped" and "lease" in outcome.message
    assert compliance.nonce == nonce and counts(ops.ledger)["transactions"] == 0
    assert not ops.client.contract.isFrozen(alice)


# ---------------------------------------------------------------------------- issue 10 §3: pipelined execution


def approved_mints(ops, team, count: int, prefix: str, clients=("C-ALICE", "C-BOB")) -> list[int]:
    ana, ben, _ = team
    ids = record(ops, [dep(f"{prefix}-{i}", clients[i % len(clients)], f"{i + 1}.00", today(ops), f"entry {i + 1}")
                       for i in range(count)], ana)
    for rid in ids:
        assert decide(ops, rid, ben) == "approved"
    return ids


def run_approved(ops, sender) -> list[workflow.Outcome]:
    session = ops.ledger.new_session()
    try:
        return workflow.execute_all(session, ops, workflow.pending_requests(session, "approved"), sender, ACTOR)
    finally:
        session.close()


def test_approved_mints_run_pipelined_each_once_and_one_that_cannot_run_does_not_stop_the_rest(
        ops, team, clients, alice, bob, minter):
    """§3: seven mints, at most three in flight: every transaction stored before it was broadcast, with
    consecutive nonces, each deposit minted once; a mint already on-chain with its terms is executed
    without a transaction, one to an address that cannot receive is set aside (no nonce used)."""
    outsider = to_checksum_address("0x" + "5a" * 20)
    add_client(ops.ledger, "C-OUT", outsider)  # recorded in the ledger, never allowlisted
    ids = approved_mints(ops, team, 6, "PIPE")
    (stray,) = approved_mints(ops, team, 1, "PIPE-OUT", clients=("C-OUT",))
    ops.client.mint(bob, "2.00", "PIPE-1", sender=minter)  # another ledger minted request #2's deposit, same terms
    ops = replace(ops, policy=replace(ops.policy, max_in_flight=3))
    nonce, supply = minter.nonce, int(ops.client.contract.totalSupply())
    outcomes = run_approved(ops, minter)
    assert [o.request_id for o in outcomes] == [*ids, stray]
    assert [o.status for o in outcomes] == ["executed"] * 6 + ["failed"]
    assert outcomes[1].message.startswith("deposit reference already minted by") and outcomes[1].tx_hash != outcomes[0].tx_hash
    assert outcomes[-1].message == f"not run: recipient {outsider} is not allowlisted"
    with ops.ledger.session() as session:
        txs = session.scalars(sa.select(Transaction).order_by(Transaction.id)).all()
        assert [(t.nonce, t.status) for t in txs] == [(nonce + i, "mined") for i in range(5)]
        assert [load(ops, rid).tx_id for rid in ids] == [txs[0].id, None, *(t.id for t in txs[1:])]
    assert minter.nonce == nonce + 5
    assert int(ops.client.contract.totalSupply()) == supply + sum(100 * (i + 1) for i in range(6) if i != 1)
    for i in range(6):
        assert ops.client.contract.isDepositRefUsed(reference_to_bytes32(f"PIPE-{i}"))
    assert audit_actions(ops.ledger).count("request.executed") == 6
    assert run_approved(ops, minter) == []  # nothing left


def test_with_one_second_blocks_several_mints_are_mined_in_the_same_block(ops, team, clients, minter, chain):
    """§3: mints no longer go one per block: on an Anvil mining every second, six approved mints land
    in one or two blocks (before: six blocks, one receipt awaited per mint)."""
    ids = approved_mints(ops, team, 6, "FAST")
    chain.provider.make_request("evm_setIntervalMining", [1])
    try:
        outcomes = run_approved(ops, minter)
    finally:
        chain.provider.make_request("evm_setIntervalMining", [0])
        chain.provider.make_request("evm_setAutomine", [True])
    assert [(o.request_id, o.status) for o in outcomes] == [(rid, "executed") for rid in ids]
    blocks = [o.block_number for o in outcomes]
    assert len(set(blocks)) <= 2 and max(blocks) - min(blocks) <= 1, blocks


# ---------------------------------------------------------------------------- migration


def test_migration_0002_upgrades_a_0001_ledger_keeping_its_data(ledger_url, alice):
    engine = make_engine(ledger_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO operators (id, name, address, can_request, can_approve, active, created_at) "
                                 "VALUES (1, 'ana', :a, true, true, true, '2026-11-01 00:00:00')"), {"a": alice.address})
            conn.execute(sa.text("INSERT INTO clients (id, client_id, address, legal_name, country, review_date, status, created_at, updated_at) "
                                 "VALUES (1, 'C-1', :a, 'One', 'DE', '2027-01-01', 'active', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"),
                         {"a": alice.address})
            conn.execute(sa.text("INSERT INTO deposits (id, bank_reference, client_pk, amount, currency, value_date, source, created_at) "
                                 "VALUES (1, 'D-1', 1, '100', 'USD', '2026-11-01', 'manual', '2026-11-01 00:00:00')"))
            conn.execute(sa.text("INSERT INTO requests (id, kind, params, digest, amount, deposit_id, required_approvals, status, "
                                 "maker_id, maker_signature, created_at, updated_at) VALUES (1, 'mint', '{}', '0x1', '100', 1, 1, "
                                 "'approved', 1, '0x', '2026-11-01 00:00:00', '2026-11-02 00:00:00')"))
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT bank_reference, status, client_pk FROM deposits")).all() == [("D-1", "recorded", 1)]
            assert conn.execute(sa.text("SELECT status, approved_at IS NOT NULL, lease_owner FROM requests")).all() == [
                ("approved", True, None)]
    finally:
        engine.dispose()
