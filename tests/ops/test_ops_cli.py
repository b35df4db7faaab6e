"""The ``deptoken`` operations CLI as an operator runs it: subprocesses against a standalone Anvil
with the devnet token (``ops_support.Devnet``: no confirmations, allowlist batches of 2; the tests that
mint raise the two-approval threshold to 10000.00 so that of config/devnet-deposits.csv only the
100000.00 deposit needs two checkers), holders acting through raw JSON-RPC (Anvil's accounts are unlocked).
Operators: ana, ben, chen on test accounts 10, 11, 12; account 13 is no operator.

Every ``deptoken`` run imports ape (~2-3 s), so each test makes few, meaningful runs; what a refused
command must not have written is checked from the ledger file directly (row counts), not by more runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from lxml import etree
from ops_support import Devnet, Run, assert_one_line_error

from deptoken.iso20022 import validate

from constants import A7, A8, ROOT

KYC_FILE = ROOT / "config" / "devnet-kyc.csv"
DEPOSITS_FILE = ROOT / "config" / "devnet-deposits.csv"
A9 = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"  # DEV-0009
MINTER_ADMIN, MINTER, COMPLIANCE = 1, 2, 3  # devnet roles (config/devnet.yaml)
TABLES = ("operators", "clients", "allowlist_jobs", "deposits", "requests", "approvals", "transactions",
          "chain_events", "redemptions", "payout_files", "reconciliations", "audit_log")


# ---------------------------------------------------------------------------- helpers


def address(index: int) -> str:
    """Ape's (= the devnet Anvil's) public test account ``index``."""
    from ape import accounts

    return str(accounts.test_accounts[index].address)


def cli_json(net: Devnet, *args: str, code: int = 0, **env: str) -> Any:
    """``deptoken --json ARGS``: exit status ``code`` and stdout that is JSON and nothing else."""
    run = net.cli("--json", *args, **env)
    assert run.returncode == code, (args, run.returncode, run.stdout, run.stderr)
    return json.loads(run.stdout)


def row_counts(net: Devnet) -> dict[str, int]:
    engine = sa.create_engine(net.db_url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608
    finally:
        engine.dispose()


def ledger_rows(net: Devnet, sql: str) -> list[tuple]:
    engine = sa.create_engine(net.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def refused(net: Devnet, run: Run, fragment: str, before: dict[str, int]) -> str:
    """A one-line error (exit 1) containing ``fragment``, and not a row written anywhere."""
    assert_one_line_error(run, fragment)
    assert row_counts(net) == before
    return run.stderr.strip()


class Token:
    """The devnet token over raw JSON-RPC (ABI and address from the deployment record)."""

    def __init__(self, net: Devnet) -> None:
        from web3 import Web3

        record = json.loads(net.record_path().read_text())
        self.net, self.address = net, record["token"]
        self.contract = Web3().eth.contract(address=record["token"], abi=record["abi"])

    def send(self, sender: str, function: str, *args: Any) -> str:
        """``sender`` (an unlocked Anvil account) calls ``function``; the mined transaction's hash."""
        tx_hash = str(self.net.rpc("eth_sendTransaction", {"from": sender, "to": self.address,
                                                           "data": self.contract.encode_abi(function, list(args))}))
        receipt: Any = None
        for _ in range(100):  # Anvil mines at once, but may answer the receipt query a moment later
            receipt = self.net.rpc("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                break
            time.sleep(0.05)
        assert receipt is not None and receipt["status"] == "0x1", (function, receipt)
        return tx_hash

    def call(self, function: str, *args: Any) -> Any:
        """A view ``function`` at the latest block, decoded (one return value)."""
        data = str(self.net.rpc("eth_call", {"to": self.address, "data": self.contract.encode_abi(function, list(args))}, "latest"))
        outputs = [o["type"] for o in self.contract.get_function_by_name(function).abi["outputs"]]
        (value,) = self.contract.w3.codec.decode(outputs, bytes.fromhex(data[2:]))
        return value

    def chain_day(self) -> date:
        """The UTC day of the latest block (what the index and the statements go by)."""
        block: Any = self.net.rpc("eth_getBlockByNumber", "latest", False)
        return datetime.fromtimestamp(int(block["timestamp"], 16), UTC).date()


def bytes32(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def set_policy(net: Devnet, two_approvals_above: str) -> None:
    """The devnet's test policy with another approval threshold (read by every run)."""
    (net.dir / "ops.yaml").write_text(
        f"two_approvals_above: '{two_approvals_above}'\nconfirmations: 0\nchunk_blocks: 50\nbatch_size: 2\n")


def register_team(net: Devnet, *names: str) -> None:
    """Operators ana, ben, chen, ... on test accounts 10, 11, 12, ..., the first team (`operators
    bootstrap`: no approval, no node needed: fast)."""
    net.ok("operators", "bootstrap", *(arg for offset, name in enumerate(names)
                                       for arg in ("--operator", name, address(10 + offset), f"P-{name.upper()}")))


# ---------------------------------------------------------------------------- end to end


def test_issuer_day_end_to_end(devnet, tmp_path):
    """Onboarding, deposits through maker-checker, a client transfer and redemption, the index,
    a pacs.008 payout file paid, reconciliation with a camt.053, statements, supply and the audit log."""
    token = Token(devnet)
    set_policy(devnet, "10000.00")
    register_team(devnet, "ana", "ben", "chen")
    team = cli_json(devnet, "operators", "list")
    assert [(o["name"], o["address"], o["active"]) for o in team] == [
        ("ana", address(10), True), ("ben", address(11), True), ("chen", address(12), True)]

    # Onboarding: recorded by ana, sent by the compliance role holder (the devnet default) in batches of 2.
    imported = devnet.ok("clients", "import", str(KYC_FILE), "--as", "10")
    assert "3 new onboard job(s), 0 unchanged" in imported.stdout
    assert cli_json(devnet, "clients", "apply") == {"transactions": 2, "done": 3, "already": 0, "expired": 0}
    assert [(c["client_id"], c["address"], c["status"]) for c in cli_json(devnet, "clients", "list")] == [
        ("DEV-0007", A7, "active"), ("DEV-0008", A8, "active"), ("DEV-0009", A9, "active")]
    assert all(token.call("allowlistExpiry", a) > 0 for a in (A7, A8, A9))

    # Deposits: the 100000.00 one is above the 10000.00 threshold and needs two checkers besides its maker.
    recorded = cli_json(devnet, "deposits", "import", str(DEPOSITS_FILE), "--as", "10")
    assert [(r["deposit"], r["amount"], r["approvals_needed"]) for r in recorded] == [
        ("DEP-2026-000001", 125050, 1), ("DEP-2026-000002", 10000000, 2)]
    first, second = (r["request"] for r in recorded)
    assert cli_json(devnet, "requests", "approve", str(first), "--as", "11") == {"id": first, "status": "approved"}
    assert cli_json(devnet, "requests", "approve", str(second), "--as", "11") == {"id": second, "status": "pending"}
    assert cli_json(devnet, "requests", "approve", str(second), "--as", "12") == {"id": second, "status": "approved"}
    listed = cli_json(devnet, "requests", "list")
    assert [(r["id"], r["kind"], r["status"], r["approvals"], r["maker"], r["params"]) for r in listed] == [
        (first, "mint", "approved", "1/1", "ana", {"to": A7, "amount": 125050, "deposit_reference": "DEP-2026-000001"}),
        (second, "mint", "approved", "2/2", "ana", {"to": A8, "amount": 10000000, "deposit_reference": "DEP-2026-000002"}),
    ]

    executed = cli_json(devnet, "requests", "execute")
    assert [(o["request_id"], o["status"]) for o in executed] == [(first, "executed"), (second, "executed")]
    mint_txs = [o["tx_hash"] for o in executed]
    for tx in mint_txs:
        assert devnet.rpc("eth_getTransactionByHash", tx)["from"].lower() == address(MINTER).lower()  # type: ignore[index]
    assert (token.call("balanceOf", A7), token.call("balanceOf", A8)) == (125050, 10000000)

    # The clients act on their own: DEV-0007 pays DEV-0008 250.50, DEV-0008 redeems 1000.00.
    token.send(A7, "transfer", A8, 25050)
    redeem_tx = token.send(A8, "redeem", 100000, bytes32("PAYOUT-2026-0001"))
    head = int(str(devnet.rpc("eth_blockNumber")), 16)

    synced = cli_json(devnet, "sync")
    assert (synced["to_block"], synced["head"], synced["reorg_from"]) == (head, head, None)
    assert synced["events"] > 0

    # Payouts: one pacs.008 file with the redemption, valid against the schema, then marked paid.
    out = tmp_path / "payouts"
    export = cli_json(devnet, "payouts", "export", "--format", "pacs.008", "--out", str(out), "--as", "10")
    assert (export["count"], export["total"], export["skipped"]) == (1, 100000, [])
    payout = Path(export["path"])
    assert payout.parent == out.resolve() and payout.is_file()
    xml = payout.read_bytes()
    validate(xml, "pacs.008.001.08", source=str(payout))
    assert hashlib.sha256(xml).hexdigest() == export["sha256"]
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"}
    doc = etree.fromstring(xml)
    assert doc.xpath("//p:IntrBkSttlmAmt/text()", namespaces=ns) == ["1000.00"]
    assert doc.xpath("//p:Cdtr/p:Nm/text()", namespaces=ns) == ["Devnet Client Eight Pte. Ltd."]
    # issue 10 §4: the client's payout account (an IBAN at another bank, from the KYC file) and that bank as creditor agent
    assert doc.xpath("//p:CdtrAcct/p:Id/p:IBAN/text()", namespaces=ns) == ["GB33BUKB20201555555555"]
    assert doc.xpath("//p:CdtrAgt/p:FinInstnId/p:BICFI/text()", namespaces=ns) == ["BUKBGB22"]
    instruction = doc.xpath("//p:PmtId/p:InstrId/text()", namespaces=ns)[0]

    def confirmation(name: str, amount: str) -> Path:  # the payment system's camt.054 debit notification
        from decimal import Decimal

        from deptoken.iso20022 import DebitEntry, Party, build_camt054_debits

        path = tmp_path / name
        path.write_bytes(build_camt054_debits(
            message_id=f"CONF-{path.stem}", created=datetime.now(UTC).replace(microsecond=0),
            account=Party("Devnet bank", account="NOSTRO-1"), servicer_bic="DEVBDEFF",
            debits=[DebitEntry(1, "RTGS-2026-11-0042", Decimal(amount), "USD", date.today(), instruction, None, None, None)]))
        return path

    wrong = confirmation("wrong.xml", "999.99")
    assert_one_line_error(devnet.cli("payouts", "paid", "--confirmation", str(wrong), "--as", "10"),
                          f"entry 1: {instruction} pays 999.99 USD, instructed 1000.00 USD")
    # the exporter (10) loads the payment system's confirmation: its four eyes
    assert cli_json(devnet, "payouts", "paid", str(export["file"]), "--confirmation", str(confirmation("conf.xml", "1000.00")),
                    "--as", "10") == {"message_id": "CONF-conf", "paid": 1, "already": 0, "files": [export["file"]]}

    # Reconciliation: chain and ledger agree; the day's camt.053 statement closes at the total supply.
    day = token.chain_day()
    camt = tmp_path / "camt053.xml"
    rec = devnet.ok("reconcile", "--camt053", str(camt), "--date", day.isoformat())
    assert rec.stdout.splitlines()[0] == f"reconciliation at block {head}: OK"
    assert "MISMATCH" not in rec.stdout and f"camt.053 statement written to {camt}" in rec.stdout
    validate(camt.read_bytes(), "camt.053.001.08", source=str(camt))
    ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
    balances = {b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=ns): b.findtext("c:Amt", namespaces=ns)
                for b in etree.fromstring(camt.read_bytes()).iterfind(".//c:Bal", namespaces=ns)}
    assert balances == {"OPBD": "0.00", "CLBD": "100250.50"}

    report = cli_json(devnet, "reconcile", "--no-sync")
    assert report["ok"] is True and report["findings"] == []
    assert (report["block_number"], report["total_supply"], report["ledger_minted"], report["redemptions_paid"],
            report["redemptions_unpaid"], report["burned"], report["ledger_liability"]) == (
        head, 10025050, 10125050, 100000, 0, 0, 10025050)
    assert token.call("totalSupply") == report["total_supply"]
    assert {p["client_id"]: (p["minted"], p["redeemed"], p["transfers"], p["chain_balance"]) for p in report["clients"]} == {
        "DEV-0007": (125050, 0, -25050, 100000), "DEV-0008": (10000000, 100000, 25050, 9925050), "DEV-0009": (0, 0, 0, 0)}

    # Statement and supply, from the index.
    statement = devnet.ok("statement", "DEV-0008", "--from", (day - timedelta(days=1)).isoformat(), "--to", day.isoformat())
    lines = statement.stdout.splitlines()
    assert lines[0].startswith(A8) and "opening balance 0.00 EXUSD" in lines[1]
    assert lines[-1] == "closing balance 99,250.50 EXUSD"
    assert token.call("balanceOf", A8) == 9925050
    supply = cli_json(devnet, "supply")
    assert sum(d["issued"] for d in supply) == 10125050 and sum(d["retired"] for d in supply) == 100000
    assert supply[-1]["supply"] == 10025050

    # The audit log: intact, and every transaction the tool sent is in it.
    assert devnet.ok("audit", "verify").stdout.strip() == "audit log intact"
    assert cli_json(devnet, "audit", "verify") == {"ok": True, "problems": []}
    entries = cli_json(devnet, "audit", "list", "--limit", "200")
    actions = [e["action"] for e in reversed(entries)]
    for action in ("operator.add", "clients.import", "allowlist.add", "request.create", "request.approve",
                   "request.executed", "payouts.export", "payouts.paid", "reconcile"):
        assert action in actions, (action, actions)
    assert actions.count("request.approve") == 3 and actions.count("allowlist.add") == 2
    for entry in (e for e in entries if e["action"] == "allowlist.add"):  # sent by the compliance role holder
        assert devnet.rpc("eth_getTransactionByHash", entry["tx"])["from"].lower() == address(COMPLIANCE).lower()  # type: ignore[index]
    executed_entries = {e["subject"]: (e["tx"], e["block"]) for e in entries if e["action"] == "request.executed"}
    assert {s: tx for s, (tx, _) in executed_entries.items()} == {f"request {first}": mint_txs[0], f"request {second}": mint_txs[1]}
    assert all(isinstance(block, int) and block > 0 for _, block in executed_entries.values())
    paid = next(e for e in entries if e["action"] == "payouts.paid")
    assert (paid["subject"], paid["details"]["confirmation"], paid["details"]["count"]) == ("CONF-conf", "camt.054", 1)
    assert ledger_rows(devnet, "SELECT tx_hash, status, paid_reference FROM redemptions") == [
        (redeem_tx, "paid", "RTGS-2026-11-0042")]


# ---------------------------------------------------------------------------- bad inputs


BAD_KYC = f"""# KYC batch 2026-11 (line 1)
address,client_id,legal_name,country,lei,kyc_review_date
{A7},DEV-0007,Devnet Client Seven GmbH,DE,DEVNET00CLIENT000708,2027-06-30

{A8},DEV-0008,Devnet Client Eight Pte. Ltd.,SG,DEVNET00CLIENT000899,2027-03-31
0xabc,DEV-0010,Bad Address Ltd,DE,,2027-03-31
{A7},DEV-0011,Same Key AG,DE,,2027-03-31
{A9},DEV-0009,"Devnet Client Nine Co., Ltd.",XX,,2027-01-31
{A9},DEV-0012,Short Row Ltd
"""


def test_bad_inputs_are_refused_whole_with_one_line_errors(devnet, tmp_path):
    token = Token(devnet)
    set_policy(devnet, "10000.00")  # DEP-2026-000001 (1250.50) then needs one approval
    register_team(devnet, "ana", "ben")
    before = row_counts(devnet)

    # A KYC file with bad rows: every bad row named by its line, not one client recorded.
    bad_kyc = tmp_path / "kyc.csv"
    bad_kyc.write_text(BAD_KYC)
    message = refused(devnet, devnet.cli("clients", "import", str(bad_kyc), "--as", "10"), "5 bad rows", before)
    for line, reason in ((5, "wrong check digits"), (6, "'0xabc' is not an address"), (7, "is already on line 3"),
                         (8, "unknown country code 'XX'"), (9, "expected 6 cells")):
        assert f"line {line}: " in message and reason in message.split(f"line {line}: ")[1], (line, message)
    assert "line 3:" not in message and message.endswith("nothing recorded")
    assert cli_json(devnet, "clients", "list") == []

    # The real file, two mint requests awaiting approval.
    devnet.ok("clients", "import", str(KYC_FILE), "--as", "10")
    devnet.ok("clients", "apply")
    requests = [r["request"] for r in cli_json(devnet, "deposits", "import", str(DEPOSITS_FILE), "--as", "10")]
    before = row_counts(devnet)
    assert (before["deposits"], before["requests"], before["approvals"]) == (2, 2, 0)

    # The same deposit file again: a replay, refused whole.
    message = refused(devnet, devnet.cli("deposits", "import", str(DEPOSITS_FILE), "--as", "10"),
                      "2 bad deposit(s), nothing recorded", before)
    assert "line 3: deposit 'DEP-2026-000001' was already recorded (a replayed deposit)" in message
    assert "line 4: deposit 'DEP-2026-000002' was already recorded" in message

    # Maker-checker: the maker cannot approve, a key that is no operator cannot either.
    refused(devnet, devnet.cli("requests", "approve", str(requests[0]), "--as", "10"),
            f"operator ana made request #{requests[0]} and cannot approve or reject it", before)
    refused(devnet, devnet.cli("requests", "approve", str(requests[0]), "--as", "13"),
            f"{address(13)} is not a registered operator", before)

    # Hand-entered deposits: an unknown client, an amount finer than the currency's cents.
    refused(devnet, devnet.cli("deposits", "add", "--reference", "DEP-X-1", "--client", "NOPE-1", "--amount", "10.00", "--as", "10"),
            "command line: unknown client 'NOPE-1'", before)
    refused(devnet, devnet.cli("deposits", "add", "--reference", "DEP-X-2", "--client", "DEV-0007", "--amount", "1.234", "--as", "10"),
            "amount '1.234' has more than 2 decimal places", before)

    # A legal order against a malformed address.
    refused(devnet, devnet.cli("legal", "freeze", "0xabc", "--as", "10"), "account '0xabc' is not an address", before)

    # Nothing approved: nothing to execute, and nothing sent.
    run = devnet.ok("requests", "execute")
    assert run.stdout.strip() == "nothing to execute"
    assert row_counts(devnet) == before
    assert ledger_rows(devnet, "SELECT status FROM requests ORDER BY id") == [("pending",), ("pending",)]

    # A mint on-chain that bypasses the ledger: the reconciliation flags it, exit status 3.
    rogue = token.send(address(MINTER), "mint", A9, 777, bytes32("NOT-IN-THE-LEDGER"))
    run = devnet.cli("reconcile")
    assert run.returncode == 3, (run.stdout, run.stderr)
    assert "MISMATCH" in run.stdout.splitlines()[0] and "Traceback" not in run.stderr
    assert f"MINT_WITHOUT_DEPOSIT: mint {rogue}: 7.77 EXUSD minted to {A9}" in run.stdout
    assert "SUPPLY: total supply" in run.stdout and "CLIENT_BALANCE: DEV-0009" in run.stdout
    assert ledger_rows(devnet, "SELECT ok FROM reconciliations") == [(0,)]
    before = row_counts(devnet)

    # The wrong chain: a node with chain id 31338 and the deployment record / ledger made on 31337.
    other = Devnet(tmp_path / "other", chain_id=31338)
    other.dir.mkdir()
    other.start()
    try:
        assert int(str(other.rpc("eth_chainId")), 16) == 31338
        refused(devnet, devnet.cli("legal", "freeze", A9, "--as", "10", DEPTOKEN_NETWORK=other.network),
                "no deployment on 'local' for this node's chain (31338-0)", before)  # records are named after their chain
        # A deployment record claiming 31338 does not get round it: that node has no token there.
        forged = tmp_path / "forged-deployments"
        forged.mkdir()
        record = json.loads(devnet.record_path().read_text())
        (forged / other.record_path().name).write_text(json.dumps({**record, "chain_id": 31338}))  # named for that node
        refused(devnet, devnet.cli("requests", "execute", DEPTOKEN_NETWORK=other.network, DEPTOKEN_DEPLOYMENTS_DIR=str(forged)),
                "is stale (was the node restarted?", before)
    finally:
        other.stop()

    # A mint approved that the minter may no longer mint (issue 10, defect 1): not run, nothing sent, set
    # aside as failed with the reason; exit status 1 for this run only: the next nightly run has nothing
    # to do (exit 0), and the request can be cancelled under maker-checker with a reason.
    assert cli_json(devnet, "requests", "approve", str(requests[0]), "--as", "11") == {"id": requests[0], "status": "approved"}
    token.send(address(MINTER_ADMIN), "configureMinter", address(MINTER), 0)
    before = row_counts(devnet)
    run = devnet.cli("requests", "execute")
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert run.stdout.strip() == (f"request #{requests[0]}: failed (not run: minter {address(MINTER)} may mint "
                                  "0.00 EXUSD more, less than 1,250.50 EXUSD)")
    assert row_counts(devnet) == before | {"audit_log": before["audit_log"] + 1} and token.call("balanceOf", A7) == 0  # request.failed
    assert devnet.ok("requests", "execute").stdout.strip() == "nothing to execute"
    before = row_counts(devnet)
    refused(devnet, devnet.cli("requests", "reject", str(requests[0]), "--reason", "x", "--as", "11"),
            f"request #{requests[0]} is failed, not pending", before)
    cancel = cli_json(devnet, "requests", "cancel", str(requests[0]), "--reason", "minter allowance withdrawn", "--as", "10")
    assert cli_json(devnet, "requests", "approve", str(cancel["request"]), "--as", "11") == {"id": cancel["request"], "status": "executed"}
    assert ledger_rows(devnet, f"SELECT status, reason FROM requests WHERE id = {requests[0]}") == [
        ("cancelled", f"cancelled by request #{cancel['request']}: minter allowance withdrawn")]
    before = row_counts(devnet)

    # Then the node goes away: execute refuses, nothing changes.
    devnet.stop()
    refused(devnet, devnet.cli("requests", "execute"), "cannot reach the node", before)
    assert ledger_rows(devnet, f"SELECT id, status, tx_id FROM requests WHERE id IN ({requests[0]}, {requests[1]}) ORDER BY id") == [
        (requests[0], "cancelled", None), (requests[1], "pending", None)]


def test_unmigrated_ledger_is_refused(tmp_path):
    """No node needed: a mistyped path is no new empty ledger, and an empty database is no ledger until
    `deptoken db upgrade`."""
    net = Devnet(tmp_path)  # never started: its ledger file was never migrated
    elsewhere = tmp_path / "elsewhere.sqlite"
    assert_one_line_error(net.cli("--db", f"sqlite:///{elsewhere}", "db", "status"), f"no ledger database at {elsewhere}")
    assert not elsewhere.exists()
    (tmp_path / "ledger.sqlite").touch()  # an empty SQLite database
    run = net.cli("db", "status")
    assert run.returncode == 1 and run.stdout.strip() == "revision none (newest 0010)", run
    status = cli_json(net, "db", "status", code=1)
    assert status == {"revision": None, "head": "0010"}
    assert_one_line_error(net.cli("requests", "list"), "has no ledger schema: run `deptoken db upgrade`")
    assert net.ok("db", "upgrade").stdout.strip() == "ledger schema at revision 0010"
    assert cli_json(net, "db", "status") == {"revision": "0010", "head": "0010"}


def test_signer_options_do_not_clobber_command_parameters():
    """``--account ALIAS`` (who signs) and a command's own ACCOUNT argument (legal freeze/unfreeze/lien)
    once shared one click parameter name: the address went to the signer and the command crashed."""
    from deptoken.cli.main import main

    def commands(group: click.Group, path: tuple[str, ...] = ()):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from commands(command, (*path, name))
            else:
                yield (*path, name), command

    checked = 0
    for path, command in commands(main):
        names = [p.name for p in command.params]
        assert len(names) == len(set(names)), (path, names)
        checked += "--as" in {o for p in command.params for o in p.opts}
    assert checked >= 15
    freeze = main.commands["legal"].commands["freeze"]  # type: ignore[attr-defined]
    params = freeze.make_context("freeze", [A9, "--account", "treasury-ops"]).params
    assert (params["account"], params["signer_account"]) == (A9, "treasury-ops")


def test_local_file_errors_are_not_blamed_on_the_node(tmp_path):
    """An output path that cannot be written (``--out``, ``--camt053``) is named as such, in one line."""
    from click.testing import CliRunner

    from deptoken.cli.boundary import RootGroup

    @click.group(cls=RootGroup)
    def group() -> None: ...

    @group.command()
    def write() -> None:
        (tmp_path / "a-file").write_text("")
        (tmp_path / "a-file" / "camt053.xml").write_bytes(b"")

    result = CliRunner().invoke(group, ["write"])
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.output.strip() == f"error: cannot use {tmp_path / 'a-file' / 'camt053.xml'}: Not a directory"


# ---------------------------------------------------------------------------- legal orders


def test_freeze_order_through_maker_checker(devnet):
    """ana proposes a freeze, ben approves, the compliance role holder sends it; all in the audit log."""
    token = Token(devnet)
    register_team(devnet, "ana", "ben")
    assert token.call("isFrozen", A9) is False

    proposed = cli_json(devnet, "legal", "freeze", A9, "--as", "10")
    assert (proposed["kind"], proposed["approvals_needed"]) == ("freeze", 1)
    request = proposed["request"]
    assert cli_json(devnet, "requests", "approve", str(request), "--as", "11") == {"id": request, "status": "approved"}
    (outcome,) = cli_json(devnet, "requests", "execute", "--kind", "freeze")  # the compliance role holder signs
    assert (outcome["request_id"], outcome["status"]) == (request, "executed")

    assert token.call("isFrozen", A9) is True
    tx: Any = devnet.rpc("eth_getTransactionByHash", outcome["tx_hash"])
    assert tx["from"].lower() == address(COMPLIANCE).lower() and tx["to"].lower() == token.address.lower()

    entries = {e["action"]: e for e in cli_json(devnet, "audit", "list") if e["subject"] == f"request {request}"}
    assert set(entries) == {"request.create", "request.approve", "request.executed"}
    assert (entries["request.create"]["actor"], entries["request.approve"]["actor"]) == ("ana", "ben")
    assert entries["request.create"]["details"]["params"] == {"account": A9}
    assert (entries["request.executed"]["tx"], entries["request.executed"]["block"]) == (outcome["tx_hash"], outcome["block_number"])
    assert devnet.ok("audit", "verify").stdout.strip() == "audit log intact"
