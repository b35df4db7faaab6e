"""`ape run deploy_settlement` on a devnet (what `make devnet` runs): the cross-border devnet built on
the USD token of the deployment record, recorded, and usable by the `deptoken` settlement commands."""

from __future__ import annotations

import json
import subprocess

from eth_utils import keccak

from ops_support import BIN, ROOT, Devnet, account_address, assert_one_line_error, devnet_token



def _call_uint(net: Devnet, to: str, signature: str, *addresses: str) -> int:
    data = "0x" + keccak(text=signature)[:4].hex() + "".join(a[2:].lower().rjust(64, "0") for a in addresses)
    return int(str(net.rpc("eth_call", {"to": to, "data": data}, "latest")), 16)


def _run_script(net: Devnet, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ape"), "run", "deploy_settlement", "--network", net.network, *args], cwd=ROOT,
                          env=net.env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_deploy_settlement_builds_the_cross_border_devnet(tmp_path):
    net = Devnet(tmp_path)
    net.start()
    try:
        net.deploy()
        result = _run_script(net)
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads(net.record_path("-settlement").read_text())
        usd, cnh = record["tokens"]["USD"], record["tokens"]["CNH"]
        assert usd == devnet_token(net) and record["chain_id"] == 31337
        assert f"PvP settlement   {record['pvp']}" in result.stdout
        assert f"trade escrow     {record['escrows']['USD']} (USD; fee 150 bps)" in result.stdout
        # each bank allowlisted every contract that holds or moves its token
        for currency, token in (("USD", usd), ("CNH", cnh)):
            for contract in (record["pvp"], record["htlc"], record["escrows"][currency]):
                assert _call_uint(net, token, "isAllowlisted(address)", contract) == 1, (currency, contract)
        buyer, supplier, desk = (account_address(i) for i in (27, 28, 29))
        assert _call_uint(net, usd, "balanceOf(address)", buyer) == 20_000_00
        assert _call_uint(net, cnh, "balanceOf(address)", desk) == 1_000_000_00

        # a second USD bank and the interbank network both USD banks joined, collateral posted: the buyer
        # (a client of the first bank) pays the second bank's treasury through it, found through the record
        assert record["interbank"] and record["settlement_asset"] and record["deploy_blocks"]["interbank"] > 0
        bank_b = record["parties"]["EXUSB"]
        paid = json.loads(net.ok("--json", "interbank", "pay", "--from-token", "EXUSD", "--to-token", "EXUSB",
                                 "--to", bank_b["minter"], "--amount", "100.00", "--id", "PAY-DEVNET-1", "--as", "27").stdout)
        assert (paid["kind"], paid["amount"]) == ("interbank", 100_00)
        assert _call_uint(net, usd, "balanceOf(address)", buyer) == 19_900_00
        banks = {b["symbol"]: b for b in json.loads(net.ok("--json", "interbank", "positions").stdout)}
        assert (banks["EXUSD"]["position"], banks["EXUSB"]["position"]) == (-100_00, 100_00)
        assert banks["EXUSD"]["collateral"] == banks["EXUSB"]["collateral"] == 1_000_000_00

        # the settlement commands name contracts by currency through the record
        quote = tmp_path / "quote.json"
        net.ok("pvp", "quote", "--to", supplier, "--maker-token", "CNH", "--taker-token", "USD", "--taker-amount", "10.00",
               "--rate", "7.1234", "--out", str(quote), "--as", "29")
        assert json.loads(quote.read_text())["typedData"]["message"]["makerAmount"] == "7123"
        assert_one_line_error(net.cli("pvp", "quote", "--to", supplier, "--maker-token", "EUR", "--taker-token", "USD",
                                      "--taker-amount", "10.00", "--rate", "1", "--out", str(tmp_path / "q2.json"), "--as", "29"),
                              "no token for currency 'EUR'")
        # before a lost-key recovery the bank sees the client's open settlement positions, and the recovery is
        # refused while any is open (a payout to the lost address would fail once it is delisted)
        assert json.loads(net.ok("--json", "legal", "positions", buyer).stdout) == []
        net.ok("pvp", "propose", "--to", desk, "--give-token", "USD", "--give-amount", "100.00", "--want-token", "CNH",
               "--want-amount", "712.34", "--expires-in", "3600", "--approve", "--as", "27")
        positions = json.loads(net.ok("--json", "legal", "positions", buyer).stdout)
        assert [(p["kind"], p["id"], p["role"], p["amount"], p["token"]) for p in positions] == [
            ("pvp-proposal", "1", "proposer", 100_00, usd)]
        replacement = account_address(26)
        refused = net.cli("legal", "recover", buyer, replacement, "--order", "RECOVERY-1", "--as", "10")
        assert_one_line_error(refused, f"deptoken pvp replace-party 1 --pvp {record['pvp']} --lost {buyer} --replacement {replacement}")
        # off the devnet's defaults: a token given with the wrong currency is refused before anything is sent
        blocks = net.rpc("eth_blockNumber")
        refused = _run_script(net, "--token", f"EUR={usd}", "--escrow-admin", buyer, "--fee-recipient", buyer)
        assert refused.returncode == 1 and refused.stderr.strip().splitlines()[-1] == f"error: --token EUR={usd}: that token's currency is USD"
        assert net.rpc("eth_blockNumber") == blocks
        # an escrow fee recipient the bank has not allowlisted: refused before anything is sent
        unlisted = account_address(15)
        refused = _run_script(net, "--token", f"USD={usd}", "--escrow-admin", buyer, "--fee-recipient", unlisted, "--as", "30")
        last = refused.stderr.strip().splitlines()[-1]
        assert refused.returncode == 1 and last.startswith(f"error: fee recipient {unlisted} ") and last.endswith(
            "the bank must allowlist it before the escrow is deployed"), refused.stderr
        assert net.rpc("eth_blockNumber") == blocks
    finally:
        net.stop()
