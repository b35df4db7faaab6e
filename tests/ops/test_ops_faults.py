"""Exactly-once under crashes: the ``deptoken`` CLI killed (``DEPTOKEN_FAULT``, exit 137) at every
point of the outbox (before signing, signed and stored but not broadcast, broadcast, mined but the
receipt not stored), the node restarted with its mempool lost, the node down; then run again.

Every approved deposit must end up minted exactly once, every allowlist job applied exactly once,
and the ledger and the chain must reconcile. Mints run pipelined (issue 10 §3: the three approved
mints signed, stored and broadcast as one batch); the one-at-a-time path (``max_in_flight: 1``, and
every other kind) is crashed at each point too.

One devnet (Anvil with a state file, token deployed, operators ana and ben, the demo clients
onboarded, three deposits recorded and approved) is prepared once per module and copied for each
test (``clone_devnet``): each test gets its own Anvil and ledger in that state.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deptoken.identifiers import lei_checksum_ok
from deptoken.ops.faults import FAULT_EXIT
from deptoken.ops.outbox import RECEIPT_TIMEOUT
from deptoken.validation import reference_to_bytes32
from ops_support import (
    ALLOWLIST_UPDATED_TOPIC,
    BIN,
    MINTED_TOPIC,
    Devnet,
    Run,
    account_address,
    assert_one_line_error,
    clone_devnet,
    ledger_rows,
    prepare_mints,
    token_balance,
    token_logs,
    token_total_supply,
    topic_of,
)

# (bank reference, client, amount): one approval each (not above 1000.00); clients = test accounts 7-9
DEPOSITS = [("FLT-0001", "DEV-0007", "100.00"), ("FLT-0002", "DEV-0008", "250.50"), ("FLT-0003", "DEV-0009", "999.99")]
CLIENT_ACCOUNTS = {"DEV-0007": 7, "DEV-0008": 8, "DEV-0009": 9}
NEW_CLIENTS = range(14, 19)  # onboarding scenarios: five new clients, test accounts 14-18


def units(amount: str) -> int:
    return int(round(float(amount) * 100))


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def prepared(deployed_devnet, tmp_path_factory) -> tuple[Devnet, list[int]]:
    """A stopped devnet: token deployed (a copy of the worker's ``deployed_devnet``), team registered,
    the demo clients allowlisted, three mints approved, five more clients recorded for onboarding."""
    net = clone_devnet(deployed_devnet, tmp_path_factory.mktemp("faults-template") / "net")
    net.start()
    try:
        ids = prepare_mints(net, net.dir, DEPOSITS)
        # the onboarding scenarios' five new clients: recorded (jobs pending), not applied; the mint
        # scenarios leave them alone
        net.ok("clients", "import", str(write_kyc_file(net.dir)), "--as", "10")
    finally:
        net.stop()
    assert len(ids) == len(DEPOSITS)
    return net, ids


@pytest.fixture
def net(prepared, tmp_path) -> Iterator[Devnet]:
    """A running copy of the prepared devnet (own Anvil, own ledger)."""
    clone = clone_devnet(prepared[0], tmp_path / "net")
    clone.start()
    try:
        yield clone
    finally:
        clone.stop()


@pytest.fixture
def request_ids(prepared) -> list[int]:
    return prepared[1]


# ---------------------------------------------------------------------------- checks


def tx_rows(net: Devnet, purpose_like: str = "%") -> list[dict]:
    return ledger_rows(net, "SELECT id, purpose, nonce, tx_hash, raw, status, block_number FROM transactions "
                            "WHERE purpose LIKE :p ORDER BY id", p=purpose_like)


def request_row(net: Devnet, request_id: int) -> dict:
    return ledger_rows(net, "SELECT id, status, tx_id FROM requests WHERE id = :i", i=request_id)[0]


def minted_logs(net: Devnet, reference: str) -> list[dict]:
    return token_logs(net, MINTED_TOPIC, None, None, topic_of(reference_to_bytes32(reference)))


def assert_each_deposit_minted_once(net: Devnet) -> None:
    """Chain and ledger after recovery: one mint per deposit, nothing left unsettled, reconciled."""
    mined = {row["tx_hash"]: row for row in tx_rows(net) if row["status"] == "mined"}
    for reference, client, amount in DEPOSITS:
        assert token_balance(net, account_address(CLIENT_ACCOUNTS[client])) == units(amount), (reference, client)
        logs = minted_logs(net, reference)
        assert len(logs) == 1, (reference, logs)
        assert logs[0]["transactionHash"] in mined, f"{reference}: minted by a transaction the ledger does not hold as mined"
    assert token_total_supply(net) == sum(units(a) for _, _, a in DEPOSITS)
    assert len(token_logs(net, MINTED_TOPIC)) == len(DEPOSITS)

    requests = ledger_rows(net, "SELECT id, status FROM requests ORDER BY id")
    assert [r["status"] for r in requests] == ["executed"] * len(DEPOSITS), requests
    left = [row for row in tx_rows(net) if row["status"] in ("signed", "broadcast")]
    assert left == [], left
    assert {row["status"] for row in tx_rows(net, "request %")} <= {"mined", "void"}
    assert len([row for row in tx_rows(net, "request %") if row["status"] == "mined"]) == len(DEPOSITS)
    # the audit log tells each execution once, with the transaction that minted
    executed = ledger_rows(net, "SELECT subject, tx_hash FROM audit_log WHERE action = 'request.executed' ORDER BY id")
    by_request = {r["id"]: r for r in ledger_rows(net, "SELECT r.id, t.tx_hash FROM requests r JOIN transactions t ON t.id = r.tx_id")}
    assert sorted(e["subject"] for e in executed) == sorted(f"request {i}" for i in by_request), executed
    assert all(e["tx_hash"] == by_request[int(e["subject"].split()[1])]["tx_hash"] for e in executed), executed
    net.ok("reconcile")


def assert_settled_as_stored(net: Devnet, before: dict, reference: str) -> None:
    """The transaction stored before the crash either ran as itself (same hash, same bytes) or was
    proven void before anything else was signed for the deposit."""
    after = next(row for row in tx_rows(net) if row["id"] == before["id"])
    assert (after["tx_hash"], after["raw"], after["nonce"]) == (before["tx_hash"], before["raw"], before["nonce"])
    minted_by = minted_logs(net, reference)[0]["transactionHash"]
    if after["status"] == "mined":
        assert minted_by == before["tx_hash"]
    else:
        assert after["status"] == "void", after
        assert minted_by != before["tx_hash"]
        # void means the nonce was used by another transaction: the replacement, mined
        replacement = next(row for row in tx_rows(net) if row["tx_hash"] == minted_by)
        assert replacement["id"] > before["id"] and replacement["status"] == "mined"


def one_at_a_time(net: Devnet) -> None:
    """The policy runs mints one after the other (the path every other kind takes)."""
    with (net.dir / "ops.yaml").open("a") as f:
        f.write("max_in_flight: 1\n")


def assert_killed(result, point: str) -> None:
    assert result.returncode == FAULT_EXIT, (result.returncode, result.stdout, result.stderr)
    assert f"fault injected at {point}" in result.stderr


# ---------------------------------------------------------------------------- 1. a crash at each point


@pytest.mark.parametrize("point", ["before_sign", "after_sign", "after_broadcast", "before_receipt_stored"])
def test_execute_killed_during_second_mint_then_rerun_mints_each_deposit_once(net, request_ids, point):
    one_at_a_time(net)
    first, second, third = request_ids
    assert_killed(net.cli("requests", "execute", fault=f"{point}:2"), point)

    # what the crash left: the first mint done, the second in flight, the third untouched
    assert request_row(net, first)["status"] == "executed"
    assert request_row(net, third)["status"] == "approved"
    in_flight = request_row(net, second)
    assert in_flight["status"] == "executing"
    stored = None
    if point == "before_sign":
        assert in_flight["tx_id"] is None
        assert len(minted_logs(net, DEPOSITS[1][0])) == 0
    else:
        stored = next(row for row in tx_rows(net) if row["id"] == in_flight["tx_id"])
        expected = {"after_sign": "signed"}.get(point, "broadcast")
        assert stored["status"] == expected
        # signed only: not on the chain; broadcast (automine): already mined, the ledger does not know yet
        assert len(minted_logs(net, DEPOSITS[1][0])) == (0 if point == "after_sign" else 1)

    net.ok("requests", "execute")
    assert_each_deposit_minted_once(net)
    if stored is not None:
        assert_settled_as_stored(net, stored, DEPOSITS[1][0])
    if point != "after_sign":  # nothing was re-signed: exactly one transaction per mint
        assert [row["status"] for row in tx_rows(net, "request %")] == ["mined"] * len(DEPOSITS)


# ---------------------------------------------------------------------------- 1b. a crash in the middle of a pipelined batch


def batch_rows(net: Devnet, request_ids: list[int]) -> list[dict]:
    """The stored transactions of the batch, in request order."""
    ids = [request_row(net, i)["tx_id"] for i in request_ids]
    return [next(row for row in tx_rows(net) if row["id"] == tx_id) for tx_id in ids]


@pytest.mark.parametrize(
    ("point", "left"),
    [
        ("after_broadcast:2", ["signed"] * 3),  # two of three broadcast (and mined): the ledger knows none yet
        ("before_receipt_stored:2", ["broadcast"] * 3),  # all three mined, no receipt stored
    ],
)
def test_execute_killed_in_the_middle_of_a_pipelined_batch_then_rerun_mints_each_deposit_once(net, request_ids, point, left):
    """§3: the three mints are one batch (consecutive nonces, all stored before the first is broadcast);
    killed in its middle, the next run settles the very transactions stored (same hashes and bytes:
    mined, or sent again), signs nothing new and mints each deposit once."""
    name = point.partition(":")[0]
    assert_killed(net.cli("requests", "execute", fault=point), name)
    assert [request_row(net, i)["status"] for i in request_ids] == ["executing"] * 3
    stored = batch_rows(net, request_ids)
    assert [row["status"] for row in stored] == left
    assert [row["nonce"] for row in stored] == [stored[0]["nonce"] + i for i in range(3)]
    on_chain = {"after_broadcast": 2, "before_receipt_stored": 3}[name]
    assert len(token_logs(net, MINTED_TOPIC)) == on_chain

    net.ok("requests", "execute")
    assert_each_deposit_minted_once(net)
    assert [(r["id"], r["tx_hash"], r["raw"], r["status"]) for r in tx_rows(net, "request %")] == [
        (r["id"], r["tx_hash"], r["raw"], "mined") for r in stored]
    for row, (reference, _, _) in zip(stored, DEPOSITS, strict=True):
        assert minted_logs(net, reference)[0]["transactionHash"] == row["tx_hash"]


def test_node_restart_loses_a_whole_batch_in_flight_and_the_rerun_sends_the_same_bytes(net, request_ids):
    """§3: the three mints broadcast, pending in the mempool, the process killed and the node restarted
    (mempool lost): the next run finds all three lost and sends the same signed bytes again, together."""
    net.rpc("evm_setAutomine", False)
    assert_killed(net.cli("requests", "execute", fault="after_broadcast:3"), "after_broadcast")
    stored = batch_rows(net, request_ids)
    assert all(net.rpc("eth_getTransactionByHash", row["tx_hash"])["blockNumber"] is None for row in stored)
    net.stop()
    net.start()
    assert all(net.rpc("eth_getTransactionByHash", row["tx_hash"]) is None for row in stored)

    started = time.time()
    net.ok("requests", "execute")
    assert_each_deposit_minted_once(net)
    assert [(r["tx_hash"], r["status"]) for r in tx_rows(net, "request %")] == [(r["tx_hash"], "mined") for r in stored]
    assert time.time() - started < RECEIPT_TIMEOUT  # settled together, not one receipt timeout (120 s) after another


def test_a_transaction_lost_in_the_middle_of_a_batch_is_sent_again_and_the_rest_follow(net, request_ids):
    """§3, a nonce gap: of three mints in flight the node drops the middle one (the third, queued behind
    it, cannot be mined); the running executor notices, sends the same bytes again, and all three are
    minted once, without a new signature."""
    net.rpc("evm_setAutomine", False)
    process = subprocess.Popen([str(BIN / "deptoken"), "requests", "execute"], cwd=net.dir, env=net.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while [row["status"] for row in tx_rows(net, "request %")] != ["broadcast"] * 3:
            assert process.poll() is None and time.time() < deadline, process.communicate()
            time.sleep(0.1)
        first, middle, last = tx_rows(net, "request %")
        net.rpc("anvil_dropTransaction", middle["tx_hash"])
        net.rpc("evm_mine")
        assert net.rpc("eth_getTransactionReceipt", first["tx_hash"]) is not None
        assert net.rpc("eth_getTransactionByHash", middle["tx_hash"]) is None
        assert net.rpc("eth_getTransactionReceipt", last["tx_hash"]) is None  # queued behind the gap
        while process.poll() is None:  # blocks keep coming
            assert time.time() < deadline, "the executor did not settle the gap"
            net.rpc("evm_mine")
            time.sleep(0.3)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stdout + stderr
    assert_each_deposit_minted_once(net)
    assert [(r["tx_hash"], r["status"]) for r in tx_rows(net, "request %")] == [
        (first["tx_hash"], "mined"), (middle["tx_hash"], "mined"), (last["tx_hash"], "mined")]


# ---------------------------------------------------------------------------- 2. node restart, transaction lost


def test_node_restart_loses_the_broadcast_mint_and_the_rerun_settles_it_once(net, request_ids):
    one_at_a_time(net)
    net.rpc("evm_setAutomine", False)
    assert_killed(net.cli("requests", "execute", fault="after_broadcast:1"), "after_broadcast")
    in_flight = request_row(net, request_ids[0])
    assert in_flight["status"] == "executing"
    stored = next(row for row in tx_rows(net) if row["id"] == in_flight["tx_id"])
    assert stored["status"] == "broadcast"
    pending = net.rpc("eth_getTransactionByHash", stored["tx_hash"])
    assert pending is not None and pending["blockNumber"] is None  # in the mempool only

    net.stop()  # state written, mempool lost
    net.start()  # automine again
    assert net.rpc("eth_getTransactionByHash", stored["tx_hash"]) is None, "the restart was expected to drop the pending tx"
    assert len(token_logs(net, MINTED_TOPIC)) == 0

    net.ok("requests", "execute")
    assert_each_deposit_minted_once(net)
    assert_settled_as_stored(net, stored, DEPOSITS[0][0])


def test_stored_transaction_whose_nonce_was_used_elsewhere_is_voided_and_the_mint_resigned(net, request_ids):
    """The void branch: the minter key sent something else with the stored transaction's nonce."""
    assert_killed(net.cli("requests", "execute", fault="after_sign:1"), "after_sign")
    stored = next(row for row in tx_rows(net) if row["id"] == request_row(net, request_ids[0])["tx_id"])
    assert stored["status"] == "signed"
    minter = account_address(2)
    assert int(str(net.rpc("eth_getTransactionCount", minter, "latest")), 16) == stored["nonce"]
    used = net.rpc("eth_sendTransaction", {"from": minter, "to": minter, "value": "0x0"})  # Anvil's keys are unlocked
    deadline = time.time() + 20  # mined at once by automine; a loaded machine may answer the receipt late
    while net.rpc("eth_getTransactionReceipt", used) is None and time.time() < deadline:
        time.sleep(0.1)
    assert int(str(net.rpc("eth_getTransactionCount", minter, "latest")), 16) == stored["nonce"] + 1

    net.ok("requests", "execute")
    assert_each_deposit_minted_once(net)
    assert_settled_as_stored(net, stored, DEPOSITS[0][0])
    assert next(row for row in tx_rows(net) if row["id"] == stored["id"])["status"] == "void"


def test_node_stopped_while_the_tool_waits_for_the_receipt(net, request_ids):
    """No injected fault: the node goes away (mempool lost) while ``requests execute`` waits for a
    receipt; the run fails with one line, the next run (node back) settles and finishes everything."""
    net.rpc("evm_setAutomine", False)
    process = subprocess.Popen([str(BIN / "deptoken"), "requests", "execute"], cwd=net.dir, env=net.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not [row for row in tx_rows(net) if row["status"] == "broadcast"]:
            assert process.poll() is None and time.time() < deadline, process.communicate()
            time.sleep(0.2)
        net.stop()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    stored = next(row for row in tx_rows(net) if row["id"] == request_row(net, request_ids[0])["tx_id"])
    assert_one_line_error(Run(process.returncode, stdout, stderr), f"lost the node while settling transaction {stored['tx_hash']}")
    assert "checked on the next run" in stderr
    assert request_row(net, request_ids[0])["status"] == "executing" and stored["status"] == "broadcast"

    net.start()
    net.ok("requests", "execute")
    assert_each_deposit_minted_once(net)
    assert_settled_as_stored(net, stored, DEPOSITS[0][0])


# ---------------------------------------------------------------------------- 3. onboarding


def lei_for(number: int) -> str:
    base = f"FAULTS00CLIENT{number:04d}"
    return next(base + f"{d:02d}" for d in range(100) if lei_checksum_ok(base + f"{d:02d}"))


def write_kyc_file(directory: Path) -> Path:
    review = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()
    path = directory / "kyc-new.csv"
    path.write_text("address,client_id,legal_name,country,lei,kyc_review_date\n" + "".join(
        f"{account_address(i)},FLT-C{i:02d},Faults Client {i} GmbH,DE,{lei_for(i)},{review}\n" for i in NEW_CLIENTS))
    return path


def new_jobs(net: Devnet) -> list[dict]:
    """The allowlist jobs of the five new clients, oldest first."""
    addresses = ",".join(f"'{account_address(i)}'" for i in NEW_CLIENTS)
    return ledger_rows(net, f"SELECT id, status, tx_id, address FROM allowlist_jobs WHERE address IN ({addresses}) ORDER BY id")


def allowlist_events(net: Devnet, address: str) -> list[dict]:
    return token_logs(net, ALLOWLIST_UPDATED_TOPIC, topic_of(address))


@pytest.mark.parametrize(
    ("fault", "restart", "automine", "left"),
    [
        # first batch done, then killed; node restarted in between
        ("after_batch:1", True, True, ["done"] * 2 + ["pending"] * 3),
        # first batch in the mempool only, lost by the restart
        ("after_broadcast:1", True, False, ["sent"] * 2 + ["pending"] * 3),
        # second batch mined, receipt not stored
        ("before_receipt_stored:2", False, True, ["done"] * 2 + ["sent"] * 2 + ["pending"]),
    ],
)
def test_clients_apply_killed_then_resumed_applies_each_job_once(net, fault, restart, automine, left):
    baseline = max(row["id"] for row in tx_rows(net))
    assert ledger_rows(net, "SELECT COUNT(*) AS n FROM allowlist_jobs WHERE status = 'pending'")[0]["n"] == len(NEW_CLIENTS)
    if not automine:
        net.rpc("evm_setAutomine", False)
    point = fault.partition(":")[0]
    assert_killed(net.cli("clients", "apply", fault=fault), point)
    assert [j["status"] for j in new_jobs(net)] == left
    in_flight = {j["tx_id"] for j in new_jobs(net) if j["status"] == "sent"}
    if restart:
        net.stop()
        net.start()

    result = json.loads(net.ok("--json", "clients", "apply").stdout)
    assert result["already"] == 0, result  # every batch settled from the ledger, not by re-reading the chain

    new = [account_address(i) for i in NEW_CLIENTS]
    jobs = new_jobs(net)
    assert [j["status"] for j in jobs] == ["done"] * len(new), jobs
    assert ledger_rows(net, "SELECT COUNT(*) AS n FROM allowlist_jobs WHERE status != 'done'")[0]["n"] == 0
    clients = ledger_rows(net, "SELECT address, status FROM clients")
    assert {c["address"]: c["status"] for c in clients if c["address"] in new} == dict.fromkeys(new, "active")

    batches = [row for row in tx_rows(net, "allowlist%") if row["id"] > baseline]
    assert [row["status"] for row in batches if row["status"] != "void"] == ["mined"] * math.ceil(len(new) / 2), batches
    assert {j["tx_id"] for j in jobs} == {row["id"] for row in batches if row["status"] == "mined"}
    assert not [row for row in tx_rows(net) if row["status"] in ("signed", "broadcast")]
    # the batch in flight at the crash ran as itself (same stored bytes), or was proven void and re-signed
    for row in batches:
        assert row["status"] == "mined" or (row["status"] == "void" and row["id"] in in_flight), row
    for address in new:  # applied once on-chain
        assert len(allowlist_events(net, address)) == 1, address
    # and recorded once in the audit log, with the batch transaction that applied it
    tx_of_job = {j["id"]: next(row["tx_hash"] for row in batches if row["id"] == j["tx_id"]) for j in jobs}
    audited: dict[int, list[str]] = {}
    for entry in ledger_rows(net, "SELECT details, tx_hash FROM audit_log WHERE action = 'allowlist.add'"):
        for job in json.loads(entry["details"])["jobs"]:
            audited.setdefault(job, []).append(entry["tx_hash"])
    assert {job: audited.get(job) for job in tx_of_job} == {job: [h] for job, h in tx_of_job.items()}  # once, with its tx


# ---------------------------------------------------------------------------- 4. node down


def test_execute_while_the_node_is_down_fails_cleanly_and_the_next_run_mints_once(net, request_ids):
    # a crash with the second mint mined but unrecorded, then the node goes down
    assert_killed(net.cli("requests", "execute", fault="before_receipt_stored:2"), "before_receipt_stored")
    before = {row["id"]: row["status"] for row in tx_rows(net)}
    net.stop()

    assert_one_line_error(net.cli("requests", "execute"), "cannot reach the node")
    assert {row["id"]: row["status"] for row in tx_rows(net)} == before  # the failed run changed nothing
    assert request_row(net, request_ids[1])["status"] == "executing"

    net.start()
    net.ok("requests", "execute")
    assert_each_deposit_minted_once(net)
