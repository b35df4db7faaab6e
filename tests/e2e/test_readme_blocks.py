"""The README's command blocks run as written (issue 11 §1), on a devnet built as `make devnet` builds
it (tools/devnet.sh: the token, the demo clients, `ape run deploy_settlement`); and what that devnet
and its settlement record promise: three banks, every party a client of one bank only, a CNH escrow
order between two clients of Bank C released with its fee, each contract's deploy block and the
parties by role and bank in the record, used by the CLIs.

The blocks are taken from README.md as they are; only the node's address differs (the README's
`ethereum:local:node` is 127.0.0.1:8545, this devnet listens on a port of its own) and `tools/env.sh`
is sourced by its absolute path (the settlement block runs in a scratch directory: it writes files).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from eth_utils import keccak

from ops_support import BIN, ROOT, Devnet, account_address

README = ROOT / "README.md"
FEE_BPS = 150


def readme_block(marker: str) -> str:
    """The ```sh block of README.md that contains ``marker``."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", README.read_text(), re.S | re.M)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"{len(found)} README blocks contain {marker!r}"
    return found[0]


def run_block(net: Devnet, block: str, cwd) -> subprocess.CompletedProcess:
    script = block.replace("ethereum:local:node", net.network).replace(". tools/env.sh", f". {ROOT}/tools/env.sh")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=net.env(), capture_output=True, text=True,
                          timeout=1200, stdin=subprocess.DEVNULL)


def call(net: Devnet, to: str, signature: str, *args: str) -> int:
    data = "0x" + keccak(text=signature)[:4].hex() + "".join(a[2:].lower().rjust(64, "0") for a in args)
    return int(str(net.rpc("eth_call", {"to": to, "data": data}, "latest")), 16)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory) -> Iterator[Devnet]:
    """`make devnet` (tools/devnet.sh) on a port of its own."""
    net = Devnet(tmp_path_factory.mktemp("readme-devnet"))
    net.start()
    try:
        net.deploy()
        for args in (["allowlist", "--file", "config/devnet-clients.csv"], ["deploy_settlement"]):
            result = subprocess.run([str(BIN / "ape"), "run", *args, "--network", net.network], cwd=ROOT, env=net.env(),
                                    capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            assert result.returncode == 0, result.stdout + result.stderr
        yield net
    finally:
        net.stop()


def record(net: Devnet) -> dict:
    return json.loads(net.record_path("-settlement").read_text())


# Issue 13: each cross-border party is a client of one bank (PREAMBLE's devnet; ape-config.yaml)
BANK_OF = {27: "EXUSD", 30: "EXUSD", 31: "EXUSD", 40: "EXUSD", 28: "EXUSB", 29: "EXCNH", 41: "EXCNH", 42: "EXCNH"}
NAMES = {27: "buyer", 28: "supplier", 29: "fx_desk", 30: "marketplace", 31: "marketplace_fees", 40: "fx_desk_usd",
         41: "manufacturer", 42: "marketplace_fees_cnh"}


def test_devnet_onboards_every_party_at_one_bank_only(devnet):
    rec = record(devnet)
    assert set(rec["banks"]) == {"EXUSD", "EXUSB", "EXCNH"}
    assert (rec["banks"]["EXUSD"], rec["banks"]["EXCNH"]) == (rec["tokens"]["USD"], rec["tokens"]["CNH"])
    for index, bank in BANK_OF.items():
        listed = {symbol for symbol, token in rec["banks"].items()
                  if call(devnet, token, "isAllowlisted(address)", account_address(index)) == 1}
        assert listed == {bank}, (index, listed)
    for symbol, token in rec["banks"].items():  # the spare account is nobody's client
        assert call(devnet, token, "isAllowlisted(address)", account_address(43)) == 0, symbol
    # the record names each party's bank, and lists it under that bank only
    assert rec["parties"]["clients"] == {NAMES[i]: bank for i, bank in BANK_OF.items()}
    by_bank = {"EXUSD": "USD", "EXUSB": "EXUSB", "EXCNH": "CNH"}
    for index, bank in BANK_OF.items():
        holders = [key for key, roles in rec["parties"].items() if roles.get(NAMES[index]) == account_address(index)]
        assert holders == [by_bank[bank]], (index, holders)


def test_settlement_record_carries_what_a_client_needs(devnet):
    rec = record(devnet)
    assert rec["chain_id"] == 31337
    blocks = rec["deploy_blocks"]
    contracts = [(rec["pvp"], blocks["pvp"]), (rec["htlc"], blocks["htlc"])]
    contracts += [(rec["escrows"][c], blocks["escrows"][c]) for c in ("USD", "CNH")]
    contracts += [(rec["tokens"][c], blocks["tokens"][c]) for c in ("USD", "CNH")]
    token_record = json.loads(devnet.record_path().read_text())
    assert blocks["tokens"]["USD"] == token_record["deploy_block"] and token_record["chain_id"] == 31337
    for address, block in contracts:  # deployed exactly in that block
        assert devnet.rpc("eth_getCode", address, hex(block - 1)) == "0x", address
        assert devnet.rpc("eth_getCode", address, hex(block)) != "0x", address
    parties = rec["parties"]
    for currency, bank in (("USD", "devnet.yaml"), ("CNH", "devnet-cnh.yaml")):
        roles = parties[currency]
        config = (ROOT / "config" / bank).read_text()
        for role in ("admin", "minter_admin", "compliance", "legal"):
            assert re.search(rf'^\s+{role}: "{roles[role]}"', config, re.M), (currency, role)
    assert {n: parties["USD"][n] for n in ("buyer", "marketplace", "marketplace_fees", "fx_desk_usd")} == {
        "buyer": account_address(27), "marketplace": account_address(30), "marketplace_fees": account_address(31),
        "fx_desk_usd": account_address(40)}
    assert parties["EXUSB"]["supplier"] == account_address(28)
    assert {n: parties["CNH"][n] for n in ("fx_desk", "manufacturer", "marketplace_fees_cnh")} == {
        "fx_desk": account_address(29), "manufacturer": account_address(41), "marketplace_fees_cnh": account_address(42)}
    assert parties["escrow.USD"] == {"admin": account_address(30), "arbiter": account_address(31), "fee_recipient": account_address(31)}
    assert parties["escrow.CNH"] == {"admin": account_address(30), "arbiter": account_address(42), "fee_recipient": account_address(42)}


def test_readme_cross_border_block_runs_as_written(devnet, tmp_path):
    usd, cnh = record(devnet)["tokens"]["USD"], record(devnet)["tokens"]["CNH"]
    market, desk_usd, treasury, fees = account_address(30), account_address(40), account_address(2), account_address(31)
    desk, manufacturer = account_address(29), account_address(41)

    def balances() -> list[int]:
        return [*(call(devnet, usd, "balanceOf(address)", a) for a in (market, desk_usd, treasury, fees)),
                *(call(devnet, cnh, "balanceOf(address)", a) for a in (desk, manufacturer))]

    before = balances()
    result = run_block(devnet, readme_block("deptoken auth sign-transfer"), tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # the marketplace: 125.50 paid, 500.00 for the order less the 1.50 % fee (to the fee account); the desk's USD
    # account: 100.00 for its CNH and a 250.00 lock claimed; the legal role's seizures: an order (500.00) and a
    # lock (250.00); the desk's 712.34 CNH to the manufacturer
    assert [a - b for a, b in zip(balances(), before, strict=True)] == [
        125_50 + 500_00 - 7_50, 100_00 + 250_00, 500_00 + 250_00, 7_50, -712_34, 712_34]


def test_cnh_escrow_order_released_with_fee(devnet, tmp_path):
    """A CNH order between two clients of Bank C (the FX desk buys from the manufacturer): funded with one
    signature, relayed by the marketplace, shipped, confirmed; the CNH fee account (42, at Bank C) is paid its fee."""
    cnh = record(devnet)["tokens"]["CNH"]
    desk, maker, fees = account_address(29), account_address(41), account_address(42)
    before = [call(devnet, cnh, "balanceOf(address)", a) for a in (desk, maker, fees)]
    out = tmp_path / "cnh-order.json"
    signed = json.loads(devnet.ok("--json", "escrow", "sign-funding", "--escrow", "CNH", "--order", "CNH-ORDER-1", "--seller", maker,
                                  "--amount", "1000.00", "--ship-by", "+7d", "--confirm-window", "3d", "--out", str(out), "--as", "29").stdout)
    key = signed["order_key"]
    devnet.ok("escrow", "fund", "--escrow", "CNH", "--authorization", str(out), "--as", "30")
    devnet.ok("escrow", "ship", key, "--escrow", "CNH", "--shipment", "BL-CNH-1", "--as", "41")
    devnet.ok("escrow", "confirm", key, "--escrow", "CNH", "--as", "29")
    after = [call(devnet, cnh, "balanceOf(address)", a) for a in (desk, maker, fees)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [-1000_00, 985_00, 15_00]


def send_as(net: Devnet, sender: str, to: str, signature: str, *args: str) -> None:
    """A transaction from an Anvil test account (unlocked on the node), mined; the test's own set-up."""
    data = "0x" + keccak(text=signature)[:4].hex() + "".join(a[2:].lower().rjust(64, "0") for a in args)
    tx = net.rpc("eth_sendTransaction", {"from": sender, "to": to, "data": data})
    for _ in range(100):
        if (receipt := net.rpc("eth_getTransactionReceipt", tx)) is not None:
            break
        time.sleep(0.05)
    assert receipt is not None and int(str(receipt["status"]), 16) == 1, signature


def test_settlement_clis_search_events_from_the_records_deploy_blocks(devnet, tmp_path):
    """The CLIs build their clients from the record: a record whose deploy blocks lie after an
    order's, proposal's or lock's events finds none of them; the true record finds them."""
    path = devnet.record_path("-settlement")
    true_record = path.read_text()
    # a PvP proposal needs both parties at both banks: the test makes two of Bank A's demo clients (7, 8) clients
    # of Bank C as well, for itself (the devnet onboards every party at one bank only)
    buyer, other = account_address(7), account_address(8)
    cnh, cnh_compliance = record(devnet)["tokens"]["CNH"], account_address(23)
    for who in (buyer, other):
        send_as(devnet, cnh_compliance, cnh, "allowlist(address,uint64)", who, hex(2**32 - 1))
    send_as(devnet, account_address(27), record(devnet)["tokens"]["USD"], "transfer(address,uint256)", buyer, hex(10_00))
    devnet.ok("pvp", "propose", "--to", other, "--give-token", "USD", "--give-amount", "1.00", "--want-token", "CNH",
              "--want-amount", "7.12", "--expires-in", "3600", "--approve", "--as", "7")
    devnet.ok("--json", "escrow", "sign-funding", "--escrow", "USD", "--order", "BLOCKS-1", "--seller", account_address(30),
              "--amount", "1.00", "--ship-by", "+7d", "--confirm-window", "3d", "--out", str(tmp_path / "o.json"), "--as", "7")
    devnet.ok("escrow", "fund", "--escrow", "USD", "--authorization", str(tmp_path / "o.json"), "--as", "30")
    secret = json.loads(devnet.ok("--json", "htlc", "secret").stdout)
    devnet.ok("htlc", "lock", "--token", "USD", "--to", account_address(40), "--amount", "1.00", "--hashlock", secret["hashlock"],
              "--deadline", "+2h", "--approve", "--as", "7")

    def found() -> tuple[int, int, int, bool]:
        pvp = len(json.loads(devnet.ok("--json", "pvp", "positions", buyer).stdout))
        htlc = len(json.loads(devnet.ok("--json", "htlc", "positions", buyer).stdout))
        legal = len(json.loads(devnet.ok("--json", "legal", "positions", buyer).stdout))
        escrow = devnet.cli("escrow", "show", "BLOCKS-1", "--escrow", "USD").returncode == 0
        return pvp, htlc, legal, escrow

    assert found()[:2] >= (1, 1) and found()[3]
    head = int(str(devnet.rpc("eth_blockNumber")), 16)
    devnet.rpc("anvil_mine", "0x2")
    late = json.loads(true_record)
    late["deploy_blocks"] = {"pvp": head + 1, "htlc": head + 1, "escrows": {c: head + 1 for c in late["escrows"]}}
    try:
        path.write_text(json.dumps(late))
        assert found() == (0, 0, 0, False)
        legacy = {k: v for k, v in json.loads(true_record).items() if k not in ("deploy_blocks", "parties")}
        path.write_text(json.dumps(legacy))  # a record written before these fields: searched from genesis
        assert found()[3] and found()[0] >= 1
    finally:
        path.write_text(true_record)


def test_readme_operating_block_runs_as_written(devnet):
    result = run_block(devnet, readme_block("ape run status"), ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_readme_interbank_block_runs_as_written(devnet, tmp_path):
    """Issue 13: the README's interbank block on the devnet: the buyer, a client of Bank A, pays the supplier,
    a client of Bank B, through the network the record names, and the settlement operator closes the cycle."""
    exusb, supplier = record(devnet)["banks"]["EXUSB"], account_address(28)
    before = call(devnet, exusb, "balanceOf(address)", supplier)
    run = run_block(devnet, readme_block("deptoken interbank positions"), tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "EXUSD: flat, collateral 1,000,000.00 rUSD" in run.stdout  # before the payment
    assert "from EXUSD to EXUSB" in run.stdout
    assert call(devnet, exusb, "balanceOf(address)", supplier) == before + 100_00
    banks = {b["symbol"]: b for b in json.loads(devnet.ok("--json", "interbank", "positions").stdout)}
    cycles = json.loads(devnet.ok("--json", "interbank", "cycles").stdout)
    assert [(c["cycle"], c["positions"]) for c in cycles] == [(1, {banks["EXUSD"]["token"]: -100_00, banks["EXUSB"]["token"]: 100_00})]
    assert (banks["EXUSD"]["collateral"], banks["EXUSB"]["collateral"]) == (1_000_000_00 - 100_00, 1_000_000_00 + 100_00)


def test_readme_deptoken_walkthrough_runs_as_written(tmp_path):
    """The README's `deptoken` walkthrough (issue 10, defect 18) as written, from `make devnet &` on: the
    devnet comes up, the ledger adopts its token, mints, a redemption is paid out, reconciliation passes.
    Only the port differs (a free one for 8545) and the ledger and records go to this test's directory."""
    from ops_support import free_port

    port = str(free_port())
    block = readme_block("deptoken reconcile --camt053")
    script = block.replace("8545", port).replace(". tools/env.sh", f". {ROOT}/tools/env.sh")
    log = tmp_path / "walkthrough.log"
    env = {**os.environ, "DEPTOKEN_DB_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
           "DEPTOKEN_DEPLOYMENTS_DIR": str(tmp_path / "deployments"), "APE_DISABLE_TELEMETRY": "1"}
    env.pop("DEPTOKEN_NETWORK", None)
    env.pop("DEPTOKEN_OPS_CONFIG", None)
    with log.open("w") as out:  # a file, not a pipe: the devnet started with `&` outlives the script
        process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = process.wait(timeout=900)
        finally:
            os.killpg(process.pid, signal.SIGTERM)  # the devnet (make, devnet.sh, anvil) is in the script's session
    text = log.read_text()
    assert code == 0, text[-6000:]
    assert f"devnet: up at http://127.0.0.1:{port}" in text
    assert "3 request(s) to approve, total 121,250.50 EXUSD" in text
    assert "request #3: executed (deposit reference already minted by" in text  # the devnet's own mint, found with its terms
    assert "payout file #1: 1 payout(s) marked paid" in text
    assert "reconciliation at block" in text and ": OK" in text.split("reconciliation at block", 1)[1].splitlines()[0]
    assert "0 mismatch(es)" in text and "audit log intact" in text
    assert "supply      on-chain 121,000.50 EXUSD" in text  # 1,250.50 + 100,000.00 + 20,000.00 minted, 250.00 redeemed
    # the cross-chain devnet: the attester service relayed the client's 100.00 to chain 31338; nothing in flight
    assert "on chain 31338; chain 31338: Received" in text
    assert "cross-chain reconciliation: OK: liability 121,000.50 USD = supplies 121,000.50 USD + in flight 0.00 USD" in text
    # and 40.00 back; this chain's own reconciliation explains both (the devnet's policy names its messenger;
    # without it the messenger's mint is a mint without a deposit)
    last = text.rsplit("reconciliation at block", 1)[1]
    assert ": OK" in last.splitlines()[0] and "cross-chain in 40.00 EXUSD, out 100.00 EXUSD" in last, last
    assert "on chain 31337; chain 31337: Received" in text
