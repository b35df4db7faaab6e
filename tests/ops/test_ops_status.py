"""Issue 10 §2, status at a glance and bulk work: `deptoken status` (and the library function it
shows), bulk approval, dry runs of imports and execution, filtered and paged lists with CSV export,
the daily report, and a reconciliation that prints findings rather than rows of zeros.

In-process on ape's Anvil and a real SQLite ledger (PostgreSQL too with DEPTOKEN_TEST_POSTGRES_URL);
the CLI through click's runner, with the fixture token as the connected one.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from deptoken.errors import DepositTokenError
from deptoken.ops import indexer, workflow
from deptoken.ops.deposits import DepositInput, intake
from deptoken.ops.models import Client, Operator, Request, Transaction
from deptoken.ops.status import NO_CHECKER, status

from constants import ACTOR


# ---------------------------------------------------------------------------- helpers


def add_client(ledger, client_id: str, address: str, review: date = date(2027, 6, 30), state: str = "active") -> None:
    with ledger.session() as session:
        session.add(Client(client_id=client_id, address=address, legal_name=f"{client_id} Ltd", country="DE", lei=None,
                           review_date=review, status=state))


def dep(ref: str, client: str, amount: str, day: date, where: str = "entry 1") -> DepositInput:
    return DepositInput(ref, client, Decimal(amount), "USD", day, where)


def record(ops, inputs, maker, **kwargs) -> list[int]:
    with ops.ledger.session() as session:
        return [r.id for r in intake(session, ops, inputs, maker, source="test.csv", suspense=True, **kwargs).requests]


def decide(ops, rid, checker) -> str:
    with ops.ledger.session() as session:
        return workflow.decide(session, rid, checker, approve=True).status


def counts(ledger) -> dict[str, int]:
    with ledger.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("deposits", "requests", "approvals", "transactions", "audit_log")}


@pytest.fixture
def cli(ops, monkeypatch):
    """``cli(*args, code=0, json_=True)``: ``deptoken --db <the test ledger> [--json] *args`` in-process,
    the fixture token standing in for the deployment's (the node is ape's Anvil)."""
    import deptoken.cli.env as cli_env
    import deptoken.ops.context as context
    from deptoken.cli.main import main

    monkeypatch.setattr(cli_env, "connect", lambda network: None)
    monkeypatch.setattr(context, "open_ops", lambda *a, **k: ops)
    url = ops.ledger.engine.url.render_as_string(hide_password=False)
    runner = CliRunner(mix_stderr=False)

    def run(*args: str, code: int = 0, json_: bool = True, input: str | None = None):
        result = runner.invoke(main, ["--db", url, *(["--json"] if json_ else []), *args], input=input, catch_exceptions=False)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        if code:
            return result.stderr.strip() if json_ else result.stdout + result.stderr
        return json.loads(result.stdout) if json_ else result.stdout

    return run


@pytest.fixture
def day_state(ops, team, alice, bob, carol, minter, accounts, chain):
    """A known ledger: clients (one expiring within 30 days, one offboarded), pending, approved, held,
    executed and suspense deposits, a freeze request, a transaction in flight, the index synced."""
    ana, ben, chen = team
    today = ops.today()
    add_client(ops.ledger, "C-ALICE", alice.address)
    add_client(ops.ledger, "C-BOB", bob.address)
    add_client(ops.ledger, "C-SOON", carol.address, review=today + timedelta(days=10))
    add_client(ops.ledger, "C-GONE", accounts[20].address, state="offboarded")
    with ops.ledger.session() as session:  # chen may approve up to 10.00 only
        session.scalars(sa.select(Operator).where(Operator.name == "chen")).one().max_amount = 1000
    ids = record(ops, [dep("D-1", "C-ALICE", "10.00", today), dep("D-2", "C-BOB", "20.00", today, "entry 2"),
                       dep("D-3", "C-ALICE", "30.00", today, "entry 3"), dep("D-4", "C-ALICE", "40.00", today + timedelta(days=3), "entry 4"),
                       dep("D-5", "C-BOB", "5.00", today, "entry 5"), dep("D-6", "C-NOBODY", "7.00", today, "entry 6")], ana)
    d1, d2, d3, d4, d5 = ids
    for rid in (d3, d4, d5):
        assert decide(ops, rid, ben) == "approved"
    session = ops.ledger.new_session()
    try:
        assert workflow.execute(session, ops, workflow.get_request(session, d5), minter, ACTOR).status == "executed"
    finally:
        session.close()
    with ops.ledger.session() as session:
        freeze = workflow.propose(session, ops, "freeze", {"account": carol.address}, ana).id
        session.get(Request, d1).created_at = datetime.now(UTC) - timedelta(days=2)  # waiting two days
        session.add(Transaction(purpose="test in flight", chain_id=ops.chain_id, sender=minter.address, nonce=999,
                                tx_hash="0x" + "ab" * 32, raw="0x", status="broadcast"))
    with ops.ledger.new_session() as session:
        indexer.sync(session, ops, confirmations=0)
        session.commit()
    chain.mine(2)  # the index two blocks behind the head
    return {"d1": d1, "d2": d2, "d3": d3, "d4": d4, "d5": d5, "freeze": freeze}


# ---------------------------------------------------------------------------- status


def test_status_reports_every_field_against_known_state(ops, day_state, team, minter, chain):
    """`deptoken status`'s library function: every field checked against the state built above."""
    ana, ben, chen = team
    with ops.ledger.session() as session:
        s = status(session, ops.client, today=ops.today())
    p = s.pending
    assert (p.count, p.total, p.by_kind) == (3, 3000, {"mint": 2, "freeze": 1})  # D-1, D-2 and the freeze
    assert (p.oldest_id, p.by_age) == (day_state["d1"], {"under 1 h": 2, "1 h to 1 day": 0, "1 to 7 days": 1, "over 7 days": 0})
    # D-1 (10.00): ben or chen; D-2 (20.00): ben only, above chen's limit; the freeze: ben or chen
    assert p.by_checker == {"ben": 3, "chen": 2}
    a = s.approved
    assert (a.count, a.total, a.by_kind, a.held, a.oldest_id) == (2, 7000, {"mint": 2}, 1, day_state["d3"])
    assert (s.executing, s.unsettled) == (0, 1) and s.oldest_unsettled is not None
    assert s.head == chain.blocks.height and s.index_lag == 2 and s.indexed_block == s.head - 2
    supply = int(ops.client.contract.totalSupply())
    assert (s.total_supply, s.indexed_supply, s.supply_difference, s.ledger_minted) == (supply, supply, 0, 500)
    assert s.minter_allowances == {minter.address: int(ops.client.contract.minterAllowance(minter))}
    assert s.paused is False and s.node_error is None
    assert s.clients == {"active": 3, "offboarded": 1}
    assert s.expiring_count == 1 and [(e.client_id, e.review_date) for e in s.expiring] == [("C-SOON", ops.today() + timedelta(days=10))]
    assert (s.held_deposits, s.suspense_deposits) == (1, 1)
    assert (s.token, s.chain_id) == (ops.token, ops.chain_id)
    assert s.last_reconciliation is None and s.interbank == {}


def test_status_shows_the_last_reconciliation_and_the_interbank_payments(ops, day_state, team):
    """What the console's dashboard shows besides `deptoken status`'s queues: the last reconciliation (its
    interbank and cross-chain totals) and the interbank payments the bank sends, by status."""
    from deptoken.ops.models import InterbankPaymentRecord, Reconciliation
    from deptoken.ops.reconcile import reconcile

    with ops.ledger.session() as session:
        report = reconcile(session, ops, actor="test")
        for n, state in enumerate(("queued", "queued", "paid", "failed")):
            session.add(InterbankPaymentRecord(payment_id=f"0x{n:064x}", network=ops.token, from_token=ops.token, to_token=ops.token,
                                               payer=ops.token, payee=ops.token, amount=100 * (n + 1), status=state))
        session.add(Reconciliation(block_number=report.block_number + 1, ok=False, report=report.as_dict() | {
            "interbank_in": 700, "interbank_out": 300, "crosschain_out": 5000,
            "findings": [{"severity": "mismatch"}, {"severity": "info"}, {"severity": "mismatch"}]}))
    with ops.ledger.session() as session:
        s = status(session, ops.client, today=ops.today())
    last = s.last_reconciliation
    assert (last.block_number, last.ok, last.mismatches) == (report.block_number + 1, False, 2)
    assert (last.interbank_in, last.interbank_out, last.crosschain_in, last.crosschain_out) == (700, 300, 0, 5000)
    assert s.interbank == {"queued": 2, "paid": 1, "failed": 1}


def test_status_names_requests_no_operator_may_approve(ops, day_state, team):
    with ops.ledger.session() as session:  # ben leaves: D-2 (20.00) is above chen's limit, nobody may approve it
        session.scalars(sa.select(Operator).where(Operator.name == "ben")).one().active = False
        s = status(session, ops.client, today=ops.today())
    assert s.pending.by_checker == {"chen": 2, NO_CHECKER: 1}


def test_status_cli_json_and_text_and_without_a_node(ops, day_state, cli, monkeypatch, minter):
    data = cli("status")
    assert data["pending"]["count"] == 3 and data["pending"]["by_checker"] == {"ben": 3, "chen": 2}
    assert data["approved"]["total"] == 7000 and data["minter_allowances"][minter.address] > 0 and data["paused"] is False
    text = cli("status", json_=False)
    for line in ("pending     3 request(s), 30.00 ", "  may approve ben 3, chen 2", "approved    2 request(s), 70.00 ",
                 "1 held for their value date", "1 transaction(s) sent and not settled", "(2 behind)",
                 "allowlist   1 active client(s) whose entry ends within 30 days: C-SOON", "paused      no",
                 "deposits    1 held until their value date, 1 in suspense", "reconciled  never"):
        assert line in text, (line, text)

    import deptoken.cli.env as cli_env

    def down(network):
        raise DepositTokenError("cannot reach the node (x): connection refused")

    monkeypatch.setattr(cli_env, "connect", down)
    data = cli("status")  # the ledger's part still shows: the approval queue in an outage
    assert data["node_error"].startswith("cannot reach the node") and data["head"] is None and data["paused"] is None
    assert data["pending"]["count"] == 3 and data["approved"]["held"] == 1
    assert "node        UNREACHABLE" in cli("status", json_=False)


# ---------------------------------------------------------------------------- bulk approval and dry runs


def test_bulk_approve_shows_totals_asks_then_signs_each(ops, day_state, cli, team):
    before = counts(ops.ledger)
    out = cli("requests", "approve", "--all-pending", "--kind", "mint", "--as", "11", input="n\n", code=1, json_=False)
    assert "Aborted" in out and counts(ops.ledger) == before  # declined: nothing recorded
    data = cli("requests", "approve", "--all-pending", "--kind", "mint", "--as", "11", "--yes")
    assert data["approved"] == [{"id": day_state["d1"], "status": "approved"}, {"id": day_state["d2"], "status": "approved"}]
    assert data["total"] == 3000 and data["failed"] == []
    with ops.ledger.session() as session:  # one signed approval each, by ben
        for rid in (day_state["d1"], day_state["d2"]):
            approvals = workflow.get_request(session, rid).approvals
            assert [(a.operator.name, a.decision) for a in approvals] == [("ben", "approve")]
            workflow.verify_signatures(workflow.get_request(session, rid))
        assert session.get(Request, day_state["freeze"]).status == "pending"
    # a list of ids: the one ana made herself is skipped and named
    data = cli("requests", "approve", str(day_state["freeze"]), str(day_state["d3"]), "--as", "12", "--yes")
    assert data["approved"] == [{"id": day_state["freeze"], "status": "approved"}]
    assert data["skipped"] == [f"#{day_state['d3']}: approved, not pending"]
    assert "error: name the requests" not in cli("requests", "approve", "--as", "12", code=2, json_=False)


def test_execute_dry_run_sends_nothing_and_checks_the_allowance(ops, day_state, cli, minter, minter_admin):
    before = counts(ops.ledger)
    data = cli("requests", "execute", "--dry-run", "--as", "2")
    assert [(s["request_id"], s["action"]) for s in data["steps"]] == [(day_state["d3"], "send"), (day_state["d4"], "held")]
    assert (data["minting"], data["allowance_ok"], data["send"], data["held"]) == (3000, True, 1, 1)
    assert data["allowance"] == int(ops.client.contract.minterAllowance(minter))
    assert counts(ops.ledger) == before
    allowance = int(ops.client.contract.minterAllowance(minter))
    ops.client.contract.configureMinter(minter, 2000, sender=minter_admin)
    try:
        text = cli("requests", "execute", "--dry-run", "--as", "2", code=1, json_=False)
    finally:
        ops.client.contract.configureMinter(minter, allowance, sender=minter_admin)
    assert "would send: mint to=" in text and "mints 30.00 " in text and "NOT ENOUGH" in text
    assert counts(ops.ledger) == before


def test_import_dry_run_records_nothing(ops, day_state, cli, tmp_path):
    path = tmp_path / "deposits.csv"
    later = ops.today() + timedelta(days=1)
    path.write_text("bank_reference,client_id,amount,currency,value_date\n"
                    f"D-1,C-ALICE,10.00,USD,{ops.today()}\nD-10,C-ALICE,1.50,USD,{ops.today()}\n"
                    f"D-11,C-BOB,2.50,USD,{later}\nD-12,C-WHO,3.00,USD,{ops.today()}\n")
    before = counts(ops.ledger)
    data = cli("deposits", "import", str(path), "--dry-run", "--skip-known", "--as", "10")
    assert [(d["bank_reference"], d["amount"]) for d in data["deposits"]] == [("D-10", 150), ("D-11", 250), ("D-12", 300)]
    assert (data["total"], data["minting"], data["held"]) == (700, 400, 1)
    assert data["duplicates"] == ["line 2: D-1"] and len(data["suspense"]) == 1
    assert data["allowance"]["ok"] and data["allowance"]["adding"] == 400 and data["allowance"]["waiting"] == 1000 + 2000 + 3000 + 4000  # pending and approved mints
    assert counts(ops.ledger) == before
    bad = tmp_path / "bad.csv"
    bad.write_text("bank_reference,client_id,amount,currency,value_date\nD-1,C-ALICE,99.00,USD,2026-01-01\n")
    assert "already recorded" in cli("deposits", "import", str(bad), "--dry-run", "--as", "10", code=1)
    assert counts(ops.ledger) == before


# ---------------------------------------------------------------------------- lists, the daily report, reconciliation


def test_lists_filter_page_and_export_csv(ops, day_state, cli, tmp_path):
    assert [c["client_id"] for c in cli("clients", "list", "--status", "active")] == ["C-ALICE", "C-BOB", "C-SOON"]
    assert [c["client_id"] for c in cli("clients", "list", "--page", "2", "--per-page", "2")] == ["C-SOON", "C-GONE"]
    out = tmp_path / "clients.csv"
    text = cli("clients", "list", "--page", "1", "--per-page", "3", "--csv", str(out), json_=False)
    assert "rows 1-3 of 4" in text and f"written to {out}" in text
    assert [r["client_id"] for r in csv.DictReader(out.open())] == ["C-ALICE", "C-BOB", "C-SOON"]

    mints = cli("requests", "list", "--kind", "mint", "--client", "C-ALICE")
    assert [r["id"] for r in mints] == [day_state["d1"], day_state["d3"], day_state["d4"]]
    assert [r["id"] for r in cli("requests", "list", "--status", "pending", "--kind", "freeze")] == [day_state["freeze"]]
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    assert [r["id"] for r in cli("requests", "list", "--to", two_days_ago)] == [day_state["d1"]]
    out = tmp_path / "requests.csv"
    cli("requests", "list", "--status", "approved", "--csv", str(out))
    exported = list(csv.DictReader(out.open()))
    assert [int(r["id"]) for r in exported] == [day_state["d3"], day_state["d4"]] and "amount=30.00 " in exported[0]["params"]
    assert "unknown client 'C-NOPE'" in cli("requests", "list", "--client", "C-NOPE", code=1)

    deposits = cli("deposits", "list", "--client", "C-BOB")
    assert [d["reference"] for d in deposits] == ["D-2", "D-5"]
    assert [d["reference"] for d in cli("deposits", "list", "--status", "suspense")] == ["D-6"]
    later = (ops.today() + timedelta(days=1)).isoformat()
    assert [d["reference"] for d in cli("deposits", "list", "--from", later)] == ["D-4"]
    out = tmp_path / "deposits.csv"
    cli("deposits", "list", "--page", "1", "--per-page", "2", "--csv", str(out))
    assert [(r["reference"], r["amount"]) for r in csv.DictReader(out.open())] == [("D-1", "10.00"), ("D-2", "20.00")]

    approvals = cli("audit", "list", "--action", "request.approve", "--actor", "ben")
    assert len(approvals) == 3 and {a["actor"] for a in approvals} == {"ben"}
    assert len(cli("audit", "list", "--action", "request.", "--per-page", "2")) == 2
    out = tmp_path / "audit.csv"
    cli("audit", "list", "--subject", f"request {day_state['d5']}", "--csv", str(out))
    assert [r["action"] for r in csv.DictReader(out.open())] == ["request.create", "request.approve", "request.executed"]


def test_daily_report_of_mints_redemptions_payouts_and_supply(ops, day_state, cli, alice, tmp_path, chain):
    day = datetime.fromtimestamp(chain.blocks.head.timestamp, UTC).date()
    ops.client.redeem(Decimal("1.25"), "PAY-1", sender=alice)
    with ops.ledger.new_session() as session:
        indexer.sync(session, ops, confirmations=0)
        session.commit()
    supply = int(ops.client.contract.totalSupply())
    data = cli("report", "daily", "--date", day.isoformat())
    minted = [int(e.args["amount"]) for e in ops.client.events(["Minted"])]  # the fixture's mints and D-5, all on this chain day
    assert data["mints"] == {"count": len(minted), "total": sum(minted)} and data["redemptions"] == {"count": 1, "total": 125}
    assert (data["supply_open"], data["supply_close"]) == (supply - sum(minted) + 125, supply) == (0, supply)
    out = tmp_path / "daily.csv"
    text = cli("report", "daily", "--date", day.isoformat(), "--csv", str(out), json_=False)
    assert "mints" in text and "5.00 " in text
    rows = {r["item"]: r for r in csv.DictReader(out.open())}
    assert rows["redemptions"]["amount"] == "1.25" and rows["supply close"]["amount_minor_units"] == str(supply)
    empty = cli("report", "daily", "--date", "2001-01-01")
    assert empty["mints"] == {"count": 0, "total": 0} and empty["supply_close"] == 0



def test_reconcile_prints_a_summary_and_only_the_rows_that_differ(ops, day_state, cli):
    text = cli("reconcile", code=3, json_=False)  # the fixture's mints have no deposits: alice and bob differ
    assert "4 client(s), 2 differing;" in text and "clients that differ" in text
    assert "C-ALICE" in text and "C-BOB" in text and "C-SOON" not in text and "C-GONE" not in text
    every = cli("reconcile", "--all", code=3, json_=False)
    assert "C-SOON" in every and "C-GONE" in every
