"""Interbank payments exactly once under crashes: the paying bank's tooling (``deptoken interbank submit --ledger``,
``queue run``) killed (``DEPTOKEN_FAULT``, exit 137) between signing and broadcast, after broadcast before the
receipt is recorded, and the node restarted with the payment in flight (its mempool lost); then run again.

Afterwards the payment was made exactly once (one ``InterbankPayment`` event, the payee paid once, by the very
transaction stored before the crash), the ledger records it paid with nothing left in flight, and both banks
reconcile with the network declared (``interbank_networks``): bank A's supply = minted - interbank out, bank B's
= interbank in.

One devnet is prepared once per module and copied for each test (``clone_devnet``): bank A's token and ledger (the
payer, client DEV-0007, minted 1,000.00 through the ledger), bank B's token and ledger in ``b/`` (the payee, client
B-0021, onboarded through it), the network both joined with 500.00 of collateral each and no haircut (bank A may
pay out 500.00).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deptoken.identifiers import lei_checksum_ok
from deptoken.ops.faults import FAULT_EXIT
from deptoken.validation import reference_to_bytes32
from ops_support import ROOT, Devnet, account_address, clone_devnet, ledger_rows, prepare_mints

PAYER, RELAYER, PAYEE = 7, 12, 21  # bank A's client, bank A's relaying account, bank B's client
A_OPERATOR, B_COMPLIANCE = 2, 35
B_TEAM = (22, 23)


def lei_for(number: int) -> str:
    base = f"IBFAULT0CLIENT{number:04d}"
    return next(base + f"{d:02d}" for d in range(100) if lei_checksum_ok(base + f"{d:02d}"))


def b_env(net: Devnet) -> dict[str, str]:
    """Bank B's tooling: its ledger, deployment record and policy (in the devnet's ``b/``)."""
    b = net.dir / "b"
    return {"DEPTOKEN_DB_URL": f"sqlite:///{b / 'ledger.sqlite'}", "DEPTOKEN_DEPLOYMENTS_DIR": str(b / "deployments"),
            "DEPTOKEN_OPS_CONFIG": str(b / "ops.yaml")}


def addresses(net: Devnet) -> dict[str, str]:
    return json.loads((net.dir / "interbank.json").read_text())


@pytest.fixture(scope="module")
def prepared(deployed_devnet, tmp_path_factory) -> Devnet:
    net = clone_devnet(deployed_devnet, tmp_path_factory.mktemp("interbank-faults") / "net")  # the token deployed
    net.start()
    try:
        prepare_mints(net, net.dir, [("IBF-0001", "DEV-0007", "1000.00")])
        net.ok("requests", "execute")
        b = net.dir / "b"
        (b / "deployments").mkdir(parents=True)
        out = net.dir / "interbank.json"
        setup = subprocess.run([sys.executable, str(Path(__file__).with_name("interbank_devnet.py")), net.network,
                                str(b / "deployments"), str(out)], cwd=ROOT, env=net.env(), capture_output=True, text=True,
                               timeout=300, stdin=subprocess.DEVNULL)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        declared = f"interbank_networks: ['{addresses(net)['interbank']}']\n"
        with (net.dir / "ops.yaml").open("a") as f:
            f.write(declared)
        (b / "ops.yaml").write_text((net.dir / "ops.yaml").read_text())
        env = b_env(net)
        net.ok("db", "upgrade", **env)
        net.ok("operators", "bootstrap", "--operator", "bea", account_address(B_TEAM[0]), "P-BEA",
               "--operator", "bob", account_address(B_TEAM[1]), "P-BOB", **env)
        review = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()
        kyc = b / "kyc.csv"
        kyc.write_text("address,client_id,legal_name,country,lei,kyc_review_date\n"
                       f"{account_address(PAYEE)},B-0021,Payee Twenty-One LLC,US,{lei_for(PAYEE)},{review}\n")
        net.ok("clients", "import", str(kyc), "--as", str(B_TEAM[0]), **env)
        net.ok("clients", "apply", "--as", str(B_COMPLIANCE), **env)
        net.ok("reconcile")
        net.ok("reconcile", **env)
    finally:
        net.stop()
    return net


@pytest.fixture
def net(prepared, tmp_path) -> Iterator[Devnet]:
    clone = clone_devnet(prepared, tmp_path / "net")
    clone.start()
    try:
        yield clone
    finally:
        clone.stop()


def interbank(net: Devnet, *args: str, fault: str | None = None):
    return net.cli("--json", "interbank", *args, "--interbank", addresses(net)["interbank"], fault=fault)


def sign(net: Devnet, pid: str, amount: str) -> Path:
    path = net.dir / f"{pid}.json"
    result = interbank(net, "sign", "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", account_address(PAYEE),
                       "--amount", amount, "--id", pid, "--out", str(path), "--as", str(PAYER))
    assert result.returncode == 0, result.stderr
    return path


def submit(net: Devnet, path: Path, fault: str | None = None):
    return interbank(net, "submit", str(path), "--ledger", "--queue", "--as", str(RELAYER), fault=fault)


def assert_killed(result, point: str) -> None:
    assert result.returncode == FAULT_EXIT, (result.returncode, result.stdout, result.stderr)
    assert f"fault injected at {point}" in result.stderr


def tx_rows(net: Devnet) -> list[dict]:
    return ledger_rows(net, "SELECT id, tx_hash, raw, status FROM transactions WHERE purpose LIKE 'interbank payment%' ORDER BY id")


def payee_balance(net: Devnet) -> int:
    data = "0x70a08231" + account_address(PAYEE)[2:].lower().rjust(64, "0")
    return int(str(net.rpc("eth_call", {"to": addresses(net)["bank_b"], "data": data}, "latest")), 16)


def assert_paid_once(net: Devnet, paid: dict[str, int]) -> None:
    """Each payment id paid once, by the transaction the ledger holds as mined; nothing in flight; both banks reconcile."""
    for pid, amount in paid.items():
        found = json.loads(interbank(net, "payments", "--id", pid).stdout)
        assert [(p["amount"], p["payee"]) for p in found] == [(amount, account_address(PAYEE))], (pid, found)
        [row] = ledger_rows(net, "SELECT status, tx_hash FROM interbank_payments WHERE payment_id = :p",
                            p="0x" + reference_to_bytes32(pid).hex())
        assert row == {"status": "paid", "tx_hash": found[0]["tx"]}
        assert found[0]["tx"] in {r["tx_hash"] for r in tx_rows(net) if r["status"] == "mined"}
    assert payee_balance(net) == sum(paid.values())
    assert ledger_rows(net, "SELECT id FROM transactions WHERE status IN ('signed', 'broadcast')") == []
    a, b = json.loads(net.ok("--json", "reconcile").stdout), json.loads(net.ok("--json", "reconcile", **b_env(net)).stdout)
    assert (a["ok"], a["interbank_out"], a["total_supply"]) == (True, sum(paid.values()), 100_000 - sum(paid.values())), a
    assert (b["ok"], b["interbank_in"], b["total_supply"]) == (True, sum(paid.values()), sum(paid.values())), b


@pytest.mark.parametrize(("point", "left", "on_chain"), [
    ("after_sign", "signed", False),  # stored, never broadcast
    ("before_receipt_stored", "broadcast", True),  # mined, the ledger does not know yet
])
def test_submit_killed_then_rerun_pays_once(net, point, left, on_chain):
    path = sign(net, "IBF-PAY-1", "250.00")
    assert_killed(submit(net, path, fault=point), point)
    [stored] = tx_rows(net)
    assert stored["status"] == left
    assert ledger_rows(net, "SELECT status FROM interbank_payments") == [{"status": "sending"}]
    assert payee_balance(net) == (25_000 if on_chain else 0)

    again = submit(net, path)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert (result["already"], result["tx"]) == (True, stored["tx_hash"])  # the very bytes stored before the crash
    assert [(r["tx_hash"], r["raw"], r["status"]) for r in tx_rows(net)] == [(stored["tx_hash"], stored["raw"], "mined")]
    assert_paid_once(net, {"IBF-PAY-1": 25_000})
    # once more: recognised as done, nothing sent
    blocks = net.rpc("eth_blockNumber")
    assert json.loads(submit(net, path).stdout)["already"] is True and net.rpc("eth_blockNumber") == blocks


def test_node_restart_loses_the_payment_in_flight_and_the_rerun_sends_the_same_bytes(net):
    path = sign(net, "IBF-PAY-2", "100.00")
    net.rpc("evm_setAutomine", False)
    assert_killed(submit(net, path, fault="after_broadcast"), "after_broadcast")
    [stored] = tx_rows(net)
    assert stored["status"] == "broadcast" and net.rpc("eth_getTransactionByHash", stored["tx_hash"])["blockNumber"] is None
    net.stop()  # state written, mempool lost
    net.start()
    assert net.rpc("eth_getTransactionByHash", stored["tx_hash"]) is None and payee_balance(net) == 0

    result = json.loads(submit(net, path).stdout)
    assert (result["already"], result["tx"]) == (True, stored["tx_hash"])
    assert_paid_once(net, {"IBF-PAY-2": 10_000})


def test_queue_run_killed_between_signing_and_broadcast_then_rerun_pays_once(net):
    first, second = sign(net, "IBF-Q-1", "400.00"), sign(net, "IBF-Q-2", "300.00")
    assert json.loads(submit(net, first).stdout)["already"] is False
    queued = json.loads(submit(net, second).stdout)  # bank A may pay out 100.00 more
    assert queued["status"] == "queued" and "may pay out 100.00 EXUSD more now" in queued["reason"]
    posted = interbank(net, "collateral", "post", "--bank", "EXUSD", "--amount", "500.00", "--as", str(A_OPERATOR))
    assert posted.returncode == 0, posted.stderr

    assert_killed(interbank(net, "queue", "run", "--as", str(RELAYER), fault="after_sign"), "after_sign")
    assert ledger_rows(net, "SELECT status FROM interbank_payments ORDER BY id") == [{"status": "paid"}, {"status": "sending"}]
    stored = tx_rows(net)[-1]
    assert stored["status"] == "signed" and payee_balance(net) == 40_000

    ran = json.loads(interbank(net, "queue", "run", "--as", str(RELAYER)).stdout)
    assert [(o["record"], o["status"], o["tx"]) for o in ran] == [(queued["record"], "paid", stored["tx_hash"])]
    assert json.loads(interbank(net, "queue", "run", "--as", str(RELAYER)).stdout) == []
    assert_paid_once(net, {"IBF-Q-1": 40_000, "IBF-Q-2": 30_000})


def test_pay_killed_after_its_approval_with_the_payment_signed_then_rerun_pays_once(net):
    """``pay --ledger``: two transactions through the outbox (the approval, then the payment); killed with the
    approval mined and the payment signed but not broadcast, the next run sends the stored payment and says so."""
    args = ["pay", "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", account_address(PAYEE), "--amount", "75.00",
            "--id", "IBF-PAY-3", "--ledger", "--as", str(PAYER)]
    assert_killed(interbank(net, *args, fault="after_sign:2"), "after_sign")
    approval, payment = ledger_rows(net, "SELECT tx_hash, status FROM transactions WHERE sender = :s ORDER BY id",
                                    s=account_address(PAYER))
    assert (approval["status"], payment["status"]) == ("mined", "signed") and payee_balance(net) == 0

    again = interbank(net, *args)
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["already"], json.loads(again.stdout)["tx"]) == (True, payment["tx_hash"])
    assert_paid_once(net, {"IBF-PAY-3": 7_500})
