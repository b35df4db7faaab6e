"""``deptoken xchain`` (deptoken.crosschain.relay) on two real chains: ape's Anvil (A, 31337) and a second
Anvil (B, 31338), a messenger on each, attesters 2 of 3 (devnet test accounts 40 to 42), each attester
with its own ledger (SQLite, and the second on PostgreSQL when the suite has one; the table comes from
migration 0008).

A -> B through the command line with two attesters in two ledgers (one attestation imported from the other
ledger's ``--json`` output); attesting again is the same row; a second relay sends nothing; a recipient not
active on B: refused there, then refund-attested and refunded on A; a message with too few confirmations
is not attested; a malformed id, a wrong destination chain and an unreachable node are one-line errors
with nothing written.

The cross-chain reconciliation (``xchain reconcile``): in flight, refused then refunded, past the
deadline, a mint for a message never sent, the books, the camt.053 statements. The attester service
(``xchain run``, deptoken.crosschain.service): A -> B and back with two attester processes; killed between
signing and broadcast, and after broadcast, then restarted; a reorg on the source before confirmation;
the destination node restarted with a message in flight: each message minted once, the reconciliation OK."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import ExitStack
from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest
from ape import networks
from eth_account import Account
from sqlalchemy import select

from constants import BIN, DAY, ROOT, SECOND_CHAIN_ID, YEAR
from deptoken.crosschain.messenger import Message, attest, deploy_messenger, transfer_typed_data
from deptoken.crosschain.relay import message_status, open_node
from deptoken.ops.db import Ledger, upgrade
from deptoken.ops.faults import FAULT_EXIT
from deptoken.ops.models import CrossChainAttestation, Transaction
from deptoken.token.deployer import deploy_token
from helpers import set_time
from ops_support import POSTGRES_URL, Devnet, pg_database, pg_url

B = SECOND_CHAIN_ID
MAX = 500_000
ALLOWANCE = 10**12
ATTESTERS = (40, 41, 42)  # devnet test accounts: they only sign
RELAYER = 43
PASSPHRASE = "relayer passphrase"


@pytest.fixture(scope="module")
def xc(tmp_path_factory, chain, accounts, token, devnet_config, admin, minter_admin, minter, compliance, pauser, alice,
       bob, carol, outsider):
    """Messengers ``a`` (on A, the fixture token) and ``b`` (on B, the same bank's token), routes both
    ways, attesters 2 of 3; alice, bob, carol allowlisted on B; two ledgers; the relayer's keystore (B
    takes no ``--as``: it is not the devnet's chain id)."""
    work = tmp_path_factory.mktemp("xchain")
    (work / "chain-b").mkdir()
    net = Devnet(work / "chain-b", chain_id=B)
    net.start()
    context = networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": f"http://127.0.0.1:{net.port}"})
    attesters = sorted((accounts[i] for i in ATTESTERS), key=lambda k: int(k.address, 16))
    stack = ExitStack()
    try:
        now = chain.pending_timestamp
        a = deploy_messenger(admin, token, admin=admin, pauser=pauser, message_lifetime=DAY)
        token.configureMinter(a, ALLOWANCE, sender=minter_admin)
        token.allowlist(a, now + 10 * YEAR, sender=compliance)
        a.setAttesters([k.address for k in attesters], 2, sender=admin)
        with context:
            set_time(chain, max(now, chain.pending_timestamp))
            token_b, _ = deploy_token(replace(devnet_config, chain_id=B), admin, record=False)
            b = deploy_messenger(admin, token_b, admin=admin, pauser=pauser, message_lifetime=DAY)
            token_b.configureMinter(b, ALLOWANCE, sender=minter_admin)
            token_b.allowlistBatch([alice, bob, carol, b], [now + 10 * YEAR] * 4, sender=compliance)
            b.setAttesters([k.address for k in attesters], 2, sender=admin)
            b.setRoute(chain.chain_id, a, MAX, sender=admin)
        a.setRoute(B, b, MAX, sender=admin)
        ledgers = [f"sqlite:///{work / 'attester-1'}.sqlite"]
        if POSTGRES_URL:  # the second attester's ledger on PostgreSQL when the suite has one (.ci/run)
            ledgers.append(pg_url(stack.enter_context(pg_database())))
        else:
            ledgers.append(f"sqlite:///{work / 'attester-2'}.sqlite")
        for url in ledgers:
            engine = Ledger(url, check=False, create=True).engine
            upgrade(engine)
            engine.dispose()
        keystore = work / "relayer.json"  # test account 43's key: funded on B too (the same mnemonic)
        keystore.write_text(json.dumps(Account.encrypt(accounts[RELAYER].private_key, PASSPHRASE, kdf="pbkdf2", iterations=2)))
        yield SimpleNamespace(net=net, a=a, b=b, token_b=token_b, ledgers=ledgers, attesters=attesters, keystore=keystore,
                              work=work, network_a=f"ethereum:local:{chain.provider.uri}", network_b=net.network)
    finally:
        stack.close()
        net.stop()


@pytest.fixture
def x(xc):
    snapshot = xc.net.rpc("evm_snapshot")
    yield xc
    xc.net.rpc("evm_revert", snapshot)
    # both chains are back where they were (ape reverts A): the ledgers' transactions went with them (the
    # same nonces will be signed again, some with the same bytes)
    from sqlalchemy import delete

    for url in xc.ledgers:
        ledger = Ledger(url)
        with ledger.session() as session:
            session.execute(delete(Transaction))
        ledger.dispose()


def run(chain, x, *args: str, db: int = 0, code: int = 0, to: str | None = None, stdin: str | None = None):
    """``deptoken --json --network A --db LEDGER xchain ARGS --messenger a [--to-network B]`` in-process:
    the parsed JSON, or the one-line error (after checking the exit status and that it is one line)."""
    from click.testing import CliRunner

    from deptoken.cli.main import main

    command, *rest = args
    extra = ["--messenger", x.a.address] + ([] if command in ("send", "routes") else ["--to-network", to or x.network_b])
    snapshots = {k: list(v) for k, v in chain._snapshots.items()}  # see helpers.deptoken_cli
    try:
        result = CliRunner(mix_stderr=False).invoke(
            main, ["--json", "--network", x.network_a, "--db", x.ledgers[db], "xchain", command, *rest, *extra],
            input=stdin, catch_exceptions=False)
    finally:
        chain._snapshots.update(snapshots)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    if code:
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
        return json.loads(result.stderr)["error"]
    return json.loads(result.stdout)


def rows(x, db: int = 0) -> list[tuple[str, str, str]]:
    ledger = Ledger(x.ledgers[db])
    with ledger.session() as session:
        found = [(r.message_id, r.kind, r.signer) for r in session.scalars(select(CrossChainAttestation))]
    ledger.dispose()
    return found


def balance_b(x, who) -> int:
    with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": f"http://127.0.0.1:{x.net.port}"}):
        return int(x.token_b.balanceOf(who))


def relay_b(chain, x, mid: str, *files: str, db: int = 0, code: int = 0):
    """Relays to B with the relayer's keystore (its passphrase on stdin)."""
    attachments = [arg for f in files for arg in ("--attestations", f)]
    return run(chain, x, "relay", mid, *attachments, "--keystore", str(x.keystore), "--yes", db=db, code=code,
               stdin=PASSPHRASE + "\n")


def test_a_to_b_two_of_three_attesters_in_two_ledgers(chain, x, accounts, alice, bob, token):
    routes = run(chain, x, "routes")
    assert routes == [{"chain_id": B, "remote_messenger": x.b.address, "max_amount": MAX, "paused": False}]
    before_a, before_b = int(token.balanceOf(alice)), balance_b(x, bob)
    sent = run(chain, x, "send", "--to-chain", str(B), "--to", bob.address, "--amount", "12.34", "--as", alice.address)
    mid = sent["message_id"]
    assert sent["amount"] == 1234 and int(token.balanceOf(alice)) == before_a - 1234
    status = run(chain, x, "status", sent["tx"])  # by the transaction's hash
    assert (status["message_id"], status["source_status"], status["destination_status"]) == (mid, "Sent", "None")
    assert (status["sender"], status["recipient"], status["amount"]) == (alice.address, bob.address, 1234)

    first = run(chain, x, "attest", sent["tx"], "--as", str(ATTESTERS[0]), db=0)
    second = run(chain, x, "attest", mid, "--as", str(ATTESTERS[1]), db=1)
    assert first["created"] and second["created"] and first["kind"] == second["kind"] == "transfer"
    again = run(chain, x, "attest", mid, "--as", str(ATTESTERS[0]), db=0)
    assert not again["created"] and again["signature"] == first["signature"]
    assert rows(x, 0) == [(mid, "transfer", first["signer"])] and rows(x, 1) == [(mid, "transfer", second["signer"])]

    # one attestation is below the threshold: nothing is sent
    assert run(chain, x, "relay", mid, "--as", str(RELAYER), code=1) == f"message {mid}: 1 valid transfer attestation(s) of the 2 needed"
    assert run(chain, x, "attest", mid, "--as", str(RELAYER), code=1) == (
        f"{accounts[RELAYER].address} is not an attester of the messenger {x.b.address} on chain {B}")
    third = next(a.address for a in x.attesters if a.address not in (first["signer"], second["signer"]))
    forged = x.work / "forged.json"  # the second attester's signature claimed for the third: not counted
    forged.write_text(json.dumps({**second, "signer": third}))
    assert relay_b(chain, x, mid, str(forged), code=1) == f"message {mid}: 1 valid transfer attestation(s) of the 2 needed"
    assert rows(x, 0) == [(mid, "transfer", first["signer"])]
    exported = x.work / "attester-2.json"
    exported.write_text(json.dumps(second))
    relayed = relay_b(chain, x, mid, str(exported))
    assert relayed["action"] == "receiveMessage" and relayed["status"] == "Received"
    assert relayed["signers"] == sorted([first["signer"], second["signer"]], key=lambda a: int(a, 16))
    assert balance_b(x, bob) == before_b + 1234
    assert run(chain, x, "status", mid)["destination_status"] == "Received"

    block_b = int(x.net.rpc("eth_blockNumber"), 16)
    repeat = relay_b(chain, x, mid, str(exported))
    assert (repeat["action"], repeat["tx_hash"], repeat["status"]) == ("none", None, "Received")
    assert int(x.net.rpc("eth_blockNumber"), 16) == block_b and balance_b(x, bob) == before_b + 1234


def test_refusal_then_refund_of_a_recipient_not_active_on_b(chain, x, alice, outsider, token):
    before = int(token.balanceOf(alice))
    mid = run(chain, x, "send", "--to-chain", str(B), "--to", outsider.address, "--amount", "5.00", "--as", alice.address)["message_id"]
    for attester in ATTESTERS[:2]:
        assert run(chain, x, "attest", mid, "--as", str(attester))["kind"] == "transfer"
    refused = relay_b(chain, x, mid)
    assert (refused["action"], refused["status"]) == ("refuse", "Refused")
    assert balance_b(x, outsider) == 0
    status = run(chain, x, "status", mid)
    assert (status["source_status"], status["destination_status"]) == ("Sent", "Refused")

    chain.mine(1)  # the send has 2 confirmations on A, the refusal 1 on B
    early = run(chain, x, "attest", mid, "--confirmations", "2", "--as", str(ATTESTERS[1]), code=1)
    assert early == f"the refusal of message {mid} has 1 of 2 confirmations: not attested yet"
    for attester in ATTESTERS[1:]:
        assert run(chain, x, "attest", mid, "--as", str(attester))["kind"] == "refund"
    assert sorted(kind for m, kind, _ in rows(x) if m == mid) == ["refund", "refund", "transfer", "transfer"]
    refunded = run(chain, x, "relay", mid, "--as", str(RELAYER))
    assert (refunded["action"], refunded["status"]) == ("refund", "Refunded")
    assert int(token.balanceOf(alice)) == before
    assert run(chain, x, "relay", mid, "--as", str(RELAYER))["action"] == "none"
    assert int(token.balanceOf(alice)) == before
    assert run(chain, x, "attest", mid, "--as", str(ATTESTERS[0]), code=1) == f"message {mid} is Refunded on its source: nothing to refund"


def test_unconfirmed_message_is_not_attested(chain, x, alice, bob):
    sent = run(chain, x, "send", "--to-chain", str(B), "--to", bob.address, "--amount", "1.00", "--as", alice.address)
    before = rows(x)
    error = run(chain, x, "attest", sent["tx"], "--confirmations", "3", "--as", str(ATTESTERS[0]), code=1)
    assert error == f"message {sent['message_id']} has 1 of 3 confirmations: not attested yet"
    assert rows(x) == before
    chain.mine(2)
    assert run(chain, x, "attest", sent["tx"], "--confirmations", "3", "--as", str(ATTESTERS[0]))["created"]


def test_bad_input_is_one_line_and_writes_nothing(chain, x, alice, bob):
    mid = run(chain, x, "send", "--to-chain", str(B), "--to", bob.address, "--amount", "1.00", "--as", alice.address)["message_id"]
    before = rows(x)
    assert run(chain, x, "attest", "0x1234", "--as", str(ATTESTERS[0]), code=1).startswith("not a message id or transaction hash")
    assert run(chain, x, "attest", "0x" + "ab" * 32, "--as", str(ATTESTERS[0]), code=1).startswith("no message 0xabab")
    wrong = run(chain, x, "attest", mid, "--as", str(ATTESTERS[0]), to=x.network_a, code=1)
    assert wrong == f"the message goes to chain {B}, the destination node is chain {chain.chain_id}"
    down = run(chain, x, "attest", mid, "--as", str(ATTESTERS[0]), to="ethereum:local:http://127.0.0.1:9", code=1)
    assert down.startswith("cannot reach the node (ethereum:local:http://127.0.0.1:9)")
    assert run(chain, x, "relay", mid, "--as", str(RELAYER), to=x.network_a, code=1).startswith("the message goes to chain")
    assert rows(x) == before
    with pytest.raises(Exception, match="goes to chain"):
        message_status(open_node(x.network_a), open_node(x.network_a), x.a.address, mid)


def reconcile_cli(x, *args: str, code: int = 0, books: str | None = None):
    """``deptoken --json xchain reconcile --chain A=a --chain B=b ARGS``: the parsed JSON (on stdout, also
    with exit status 3), or the one-line error."""
    from click.testing import CliRunner

    from deptoken.cli.main import main

    chains = ["--chain", f"{x.network_a}={x.a.address}", "--chain", f"{x.network_b}={x.b.address}"]
    result = CliRunner(mix_stderr=False).invoke(
        main, ["--json", "xchain", "reconcile", *(args or chains), *(["--books", books] if books else [])], catch_exceptions=False)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    if code == 1:
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
        return json.loads(result.stderr)["error"]
    return json.loads(result.stdout)


def codes(report: dict) -> list[tuple[str, str, list[str]]]:
    return [(f["severity"], f["code"], f["message_ids"]) for f in report["findings"]]


def test_cross_chain_reconciliation_counts_in_flight_and_names_what_differs(chain, x, accounts, alice, bob, outsider, tmp_path):
    """Issue 15: the liability = supplies + in flight, against the bank's issuance and its books, after a
    send (in flight), its mint, a refused-then-refunded message, a message past its deadline, and a mint
    for a message never sent (forged with the attesters' keys: the only mismatch, named by its id)."""
    from lxml import etree

    start = reconcile_cli(x)
    assert start["ok"] and start["in_flight"] == [] and start["liability"] == start["issued"] == start["supply"]
    supply_a = start["chains"][0]["supply"]

    mid = run(chain, x, "send", "--to-chain", str(B), "--to", bob.address, "--amount", "12.34", "--as", alice.address)["message_id"]
    flight = reconcile_cli(x)
    assert flight["ok"] and [(m["message_id"], m["amount"]) for m in flight["in_flight"]] == [(mid, 1234)]
    assert (flight["chains"][0]["supply"], flight["chains"][0]["sent"]) == (supply_a - 1234, 1234)
    assert flight["liability"] == start["liability"] and codes(flight) == []
    for attester in ATTESTERS[:2]:
        run(chain, x, "attest", mid, "--as", str(attester))
    relay_b(chain, x, mid)
    landed = reconcile_cli(x, books=str(Decimal(start["liability"]) / 100))
    assert landed["ok"] and landed["in_flight"] == [] and landed["chains"][1]["received"] == 1234
    assert landed["liability"] == start["liability"] == landed["books"]

    refused = run(chain, x, "send", "--to-chain", str(B), "--to", outsider.address, "--amount", "5.00", "--as", alice.address)["message_id"]
    for attester in ATTESTERS[:2]:
        run(chain, x, "attest", refused, "--as", str(attester))
    relay_b(chain, x, refused)
    waiting = reconcile_cli(x)
    assert waiting["ok"] and codes(waiting) == [("info", "awaiting-refund", [refused])]
    for attester in ATTESTERS[:2]:
        run(chain, x, "attest", refused, "--as", str(attester))
    run(chain, x, "relay", refused, "--as", str(RELAYER))
    refunded = reconcile_cli(x)
    assert refunded["ok"] and refunded["chains"][0]["refunded"] == 500 and refunded["liability"] == start["liability"]

    late = run(chain, x, "send", "--to-chain", str(B), "--to", bob.address, "--amount", "1.00", "--as", alice.address)["message_id"]
    chain.mine(1, deltatime=2 * DAY)
    expired = reconcile_cli(x)
    assert expired["ok"] and codes(expired) == [("info", "past-deadline", [late])] and expired["in_flight_total"] == 100

    # The attesters sign a message A never sent: B mints it; the reconciliation names it, and its books
    forged = Message(1, chain.chain_id, B, x.a.address, x.b.address, 10**9, alice.address, bob.address, 777, 2**40)
    with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": f"http://127.0.0.1:{x.net.port}"}):
        x.b.receiveMessage(forged.encode(), attest(transfer_typed_data(forged), x.attesters[:2]), sender=accounts[RELAYER])
    forged_id = "0x" + forged.id.hex()
    found = reconcile_cli(x, code=3, books=str(Decimal(start["liability"]) / 100))
    assert not found["ok"]
    assert {(s, c) for s, c, ids in codes(found) if forged_id in ids} == {("mismatch", "minted-without-send")}
    assert ("mismatch", "liability-unexplained", []) in codes(found) and ("mismatch", "books-differ", []) in codes(found)
    assert found["liability"] == start["liability"] + 777

    # camt.053: one per chain; none for the whole while it does not reconcile
    out = tmp_path / "statements"
    written = reconcile_cli(x, "--chain", f"{x.network_a}={x.a.address}", "--chain", f"{x.network_b}={x.b.address}",
                            "--camt053-dir", str(out), code=3)["camt053"]
    assert sorted(p.split("/")[-1].rsplit("-", 1)[0] for p in written) == sorted([f"camt053-chain-{B}", f"camt053-chain-{chain.chain_id}"])
    ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
    statement_b = etree.parse(next(p for p in written if f"chain-{B}" in p))
    entries = statement_b.findall(".//c:Ntry/c:AddtlNtryInf", ns)
    assert any(forged_id in e.text and "Cross-chain in" in e.text for e in entries)
    assert any(mid in e.text and "Cross-chain in" in e.text for e in entries)


def test_whole_camt053_balances_supplies_and_in_flight(chain, x, alice, bob, tmp_path):
    run(chain, x, "send", "--to-chain", str(B), "--to", bob.address, "--amount", "2.50", "--as", alice.address)
    out = tmp_path / "statements"
    report = reconcile_cli(x, "--chain", f"{x.network_a}={x.a.address}", "--chain", f"{x.network_b}={x.b.address}",
                           "--camt053-dir", str(out))
    assert report["ok"] and report["in_flight_total"] == 250 and len(report["camt053"]) == 3
    from lxml import etree

    ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
    whole = etree.parse(next(p for p in report["camt053"] if "camt053-all-" in p))
    [closing] = whole.xpath(".//c:Bal[c:Tp/c:CdOrPrtry/c:Cd='CLBD']/c:Amt", namespaces=ns)
    assert Decimal(closing.text) == Decimal(report["liability"]) / 100 == Decimal(report["supply"] + 250) / 100
    # the cross-chain burn is not an entry of the whole: the liability only moved
    assert not any("Cross-chain" in e.text for e in whole.findall(".//c:Ntry/c:AddtlNtryInf", ns))


def test_reconcile_bad_input_is_one_line(chain, x, token):
    assert reconcile_cli(x, "--chain", "nonsense", code=1) == "--chain 'nonsense': expected NETWORK=MESSENGER"
    assert reconcile_cli(x, "--chain", f"{x.network_a}=0x1234", code=1).startswith("--chain messenger")
    assert reconcile_cli(x, "--chain", f"ethereum:local:http://127.0.0.1:9={x.a.address}", code=1).startswith("cannot reach the node")
    twice = reconcile_cli(x, "--chain", f"{x.network_a}={x.a.address}", "--chain", f"{x.network_a}={x.a.address}", code=1)
    assert twice.startswith("a chain is given twice")
    assert reconcile_cli(x, "--chain", f"{x.network_a}={token.address}", code=1) == (
        f"{token.address} on chain {chain.chain_id} is not a DepositTokenMessenger (its token() failed)")


# ---------------------------------------------------------------------- the attester service (xchain run)


def ledger_at(tmp_path, name: str) -> Ledger:
    """A new SQLite ledger, migrated: one attester's."""
    url = f"sqlite:///{tmp_path / name}.sqlite"
    engine = Ledger(url, check=False, create=True).engine
    upgrade(engine)
    engine.dispose()
    return Ledger(url)


def keys(accounts, *indexes: int) -> list:
    return [accounts[i] for i in indexes]


def steps(outcomes, mid: str) -> list[str]:
    return [o.step for o in outcomes if o.message_id == mid]


def test_service_moves_a_to_b_and_back_with_two_attester_processes(chain, x, accounts, alice, bob, token, tmp_path):
    """Issue 15: two attester services, each with its own key and ledger, sharing one directory; each pass
    attests what is confirmed and relays through its ledger's outbox once the threshold is there."""
    from deptoken.crosschain.reconcile import reconcile_chains
    from deptoken.crosschain.relay import send_message
    from deptoken.crosschain.service import follow_once

    src, dst = open_node(x.network_a), open_node(x.network_b)
    first, second = (ledger_at(tmp_path, "one"), ledger_at(tmp_path, "two"))
    one, two, relayer = keys(accounts, ATTESTERS[0], ATTESTERS[1], RELAYER)
    share, start_a, start_b = tmp_path / "share", chain.blocks.height + 1, int(x.net.rpc("eth_blockNumber"), 16) + 1
    liability = reconcile_chains([(src, x.a.address), (dst, x.b.address)]).liability
    before_a, before_b = int(token.balanceOf(alice)), balance_b(x, bob)

    mid = send_message(src, x.a.address, B, bob.address, 1234, sender=alice).id
    options = {"relayer": relayer, "confirmations": 1, "share": share}
    assert steps(follow_once(first, src, dst, x.a.address, signer=one, from_block=start_a, **options), mid) == ["attested", "waiting"]
    assert steps(follow_once(second, src, dst, x.a.address, signer=two, from_block=start_a, **options), mid) == ["attested", "relayed"]
    assert balance_b(x, bob) == before_b + 1234
    block_b = int(x.net.rpc("eth_blockNumber"), 16)
    # the first attester's next pass: the message is done, not looked at again, nothing sent
    assert follow_once(first, src, dst, x.a.address, signer=one, from_block=start_a, **options) == []
    assert int(x.net.rpc("eth_blockNumber"), 16) == block_b

    assert int(token.balanceOf(alice)) == before_a - 1234
    back = send_message(dst, x.b.address, chain.chain_id, alice.address, 1234, sender=bob).id
    back_share = tmp_path / "share-back"
    opts = {**options, "share": back_share}
    follow_once(first, dst, src, x.b.address, signer=one, from_block=start_b, **opts)
    assert steps(follow_once(second, dst, src, x.b.address, signer=two, from_block=start_b, **opts), back) == ["attested", "relayed"]
    assert balance_b(x, bob) == before_b
    report = reconcile_chains([(src, x.a.address), (dst, x.b.address)])
    assert report.ok and report.in_flight == [] and report.liability == liability
    assert int(token.balanceOf(alice)) == before_a


def service_cli(x, ledger: Ledger, keystore, share, fault: str | None = None):
    """``deptoken --json xchain run --once`` in a process of its own (a fault kills it like ``kill -9``),
    signing and relaying with ``keystore`` (its passphrase on stdin)."""
    env = {k: v for k, v in os.environ.items() if k != "DEPTOKEN_FAULT"} | ({"DEPTOKEN_FAULT": fault} if fault else {})
    command = [str(BIN / "deptoken"), "--json", "--network", x.network_a, "--db", str(ledger.engine.url), "xchain", "run",
               "--once", "--messenger", x.a.address, "--to-network", x.network_b, "--share", str(share),
               "--keystore", str(keystore), "--yes"]
    return subprocess.run(command, input=PASSPHRASE + "\n", capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def attester_keystore(accounts, index: int, folder) -> str:
    path = folder / f"attester-{index}.json"
    path.write_text(json.dumps(Account.encrypt(accounts[index].private_key, PASSPHRASE, kdf="pbkdf2", iterations=2)))
    return str(path)


def relays(ledger: Ledger) -> list[tuple[str, str, str]]:
    with ledger.session() as session:
        return [(t.purpose, t.status, t.tx_hash) for t in session.scalars(select(Transaction).order_by(Transaction.id))]


@pytest.mark.parametrize(("point", "left", "minted"), [
    ("after_sign", "signed", False),  # stored, never broadcast
    ("before_receipt_stored", "broadcast", True),  # mined; the ledger does not know yet: the attester restarted
])
def test_service_killed_while_relaying_then_restarted_mints_once(chain, x, accounts, alice, bob, tmp_path, point, left, minted):
    from deptoken.crosschain.reconcile import reconcile_chains
    from deptoken.crosschain.relay import send_message
    from deptoken.crosschain.service import follow_once

    src, dst = open_node(x.network_a), open_node(x.network_b)
    share, ledger = tmp_path / "share", ledger_at(tmp_path, "one")
    keystore = attester_keystore(accounts, ATTESTERS[0], tmp_path)
    start = chain.blocks.height + 1
    mid = send_message(src, x.a.address, B, bob.address, 300, sender=alice).id
    follow_once(ledger_at(tmp_path, "two"), src, dst, x.a.address, signer=accounts[ATTESTERS[1]], share=share, from_block=start)
    before, nonce = balance_b(x, bob), int(x.net.rpc("eth_getTransactionCount", accounts[ATTESTERS[0]].address, "latest"), 16)

    killed = service_cli(x, ledger, keystore, share, fault=point)
    assert killed.returncode == FAULT_EXIT, killed.stdout + killed.stderr
    [(purpose, status, tx_hash)] = relays(ledger)
    assert (purpose, status) == ("xchain.receiveMessage", left)
    assert message_status(src, dst, x.a.address, mid).destination_status == ("Received" if minted else "None")

    again = service_cli(x, ledger, keystore, share)
    assert again.returncode == 0, again.stdout + again.stderr
    assert relays(ledger) == [("xchain.receiveMessage", "mined", tx_hash)]  # the very transaction signed before the kill
    assert balance_b(x, bob) == before + 300
    assert int(x.net.rpc("eth_getTransactionCount", accounts[ATTESTERS[0]].address, "latest"), 16) == nonce + 1
    assert reconcile_chains([(src, x.a.address), (dst, x.b.address)]).ok


def test_service_attests_nothing_a_reorg_took_away_before_confirmation(chain, x, accounts, alice, bob, tmp_path):
    from deptoken.crosschain.relay import send_message
    from deptoken.crosschain.service import follow_once

    src, dst = open_node(x.network_a), open_node(x.network_b)
    ledger, watcher = ledger_at(tmp_path, "one"), ledger_at(tmp_path, "watch")
    start = chain.blocks.height + 1
    follow_once(watcher, src, dst, x.a.address, signer=accounts[ATTESTERS[0]], confirmations=1, from_block=start)
    snapshot = chain.snapshot()
    gone = send_message(src, x.a.address, B, bob.address, 700, sender=alice).id
    chain.mine(1)
    options = {"signer": accounts[ATTESTERS[0]], "confirmations": 3, "from_block": start}
    assert steps(follow_once(ledger, src, dst, x.a.address, **options), gone) == []  # 2 of 3 confirmations
    assert [o.step for o in follow_once(watcher, src, dst, x.a.address, signer=accounts[ATTESTERS[0]], confirmations=3,
                                        from_block=start)] == []
    chain.restore(snapshot)  # the reorg: the send's blocks replaced
    chain.mine(4)
    assert steps(follow_once(ledger, src, dst, x.a.address, **options), gone) == []
    assert rows_of(ledger) == []
    # the watcher's cursor had passed a block the reorg replaced: it sees it and reads again
    assert [o.step for o in follow_once(watcher, src, dst, x.a.address, **options)][:1] == ["reorg"]
    again = send_message(src, x.a.address, B, bob.address, 700, sender=alice).id
    chain.mine(2)
    assert steps(follow_once(ledger, src, dst, x.a.address, **options), again) == ["attested"]
    assert [m for m, _, _ in rows_of(ledger)] == [again]


def rows_of(ledger: Ledger) -> list[tuple[str, str, str]]:
    with ledger.session() as session:
        return [(r.message_id, r.kind, r.signer) for r in session.scalars(select(CrossChainAttestation))]


def test_service_with_the_destination_node_restarted_mints_the_message_in_flight(chain, x, accounts, alice, bob, tmp_path):
    """Last in the module: it restarts chain B (its state kept), which ends the ``x`` fixture's snapshots."""
    from deptoken.crosschain.reconcile import reconcile_chains
    from deptoken.crosschain.relay import send_message
    from deptoken.crosschain.service import follow_once

    src, dst = open_node(x.network_a), open_node(x.network_b)
    share, ledger = tmp_path / "share", ledger_at(tmp_path, "one")
    start = chain.blocks.height + 1
    mid = send_message(src, x.a.address, B, bob.address, 900, sender=alice).id
    follow_once(ledger_at(tmp_path, "two"), src, dst, x.a.address, signer=accounts[ATTESTERS[1]], share=share, from_block=start)
    before = balance_b(x, bob)
    options = {"signer": accounts[ATTESTERS[0]], "relayer": accounts[RELAYER], "share": share, "from_block": start}
    x.net.stop()
    try:
        [waiting] = follow_once(ledger, src, dst, x.a.address, **options)
        assert (waiting.message_id, waiting.step) == (mid, "waiting") and waiting.detail.startswith("cannot reach the node")
        assert rows_of(ledger) == [] and relays(ledger) == []
    finally:
        x.net.start()
    assert steps(follow_once(ledger, open_node(x.network_a), open_node(x.network_b), x.a.address, **options), mid) == [
        "attested", "relayed"]
    assert balance_b(x, bob) == before + 900
    assert reconcile_chains([(src, x.a.address), (open_node(x.network_b), x.b.address)]).ok
