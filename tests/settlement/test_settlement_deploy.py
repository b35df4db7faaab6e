"""`ape run deploy_settlement` on a devnet (what `make devnet` runs): the cross-border devnet built on
the USD token of the deployment record, recorded, and usable by the `deptoken` settlement commands."""

from __future__ import annotations

import json
import subprocess

from eth_utils import keccak

from ops_support import BIN, ROOT, Devnet, account_address, assert_one_line_error, clone_devnet, devnet_token



def _call_uint(net: Devnet, to: str, signature: str, *addresses: str) -> int:
    data = "0x" + keccak(text=signature)[:4].hex() + "".join(a[2:].lower().rjust(64, "0") for a in addresses)
    return int(str(net.rpc("eth_call", {"to": to, "data": data}, "latest")), 16)


def _run_script(net: Devnet, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ape"), "run", "deploy_settlement", "--network", net.network, *args], cwd=ROOT,
                          env=net.env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_deploy_settlement_builds_the_cross_border_devnet(deployed_devnet, tmp_path):
    net = clone_devnet(deployed_devnet, tmp_path / "net")  # the token deployed (`ape run deploy`)
    net.start()
    try:
        result = _run_script(net)
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads(net.record_path("-settlement").read_text())
        usd, cnh = record["tokens"]["USD"], record["tokens"]["CNH"]
        assert usd == devnet_token(net) and record["chain_id"] == 31337
        assert f"PvP settlement   {record['pvp']}" in result.stdout
        assert f"trade escrow     {record['escrows']['USD']} (USD; fee 150 bps)" in result.stdout
        usd_b = record["banks"]["EXUSB"]
        assert record["banks"] == {"EXUSD": usd, "EXUSB": usd_b, "EXCNH": cnh}
        # each bank allowlisted every contract that holds or moves its token (Bank B has no escrow of its own)
        for currency, token in (("USD", usd), ("CNH", cnh), ("EXUSB", usd_b)):
            for contract in (record["pvp"], record["htlc"], *([record["escrows"][currency]] if currency in record["escrows"] else [])):
                assert _call_uint(net, token, "isAllowlisted(address)", contract) == 1, (currency, contract)
        buyer, supplier, desk = (account_address(i) for i in (27, 28, 29))
        assert _call_uint(net, usd, "balanceOf(address)", buyer) == 20_000_00
        assert _call_uint(net, cnh, "balanceOf(address)", desk) == 1_000_000_00
        # every party a client of one bank only, printed with it
        for index, bank in ((27, usd), (28, usd_b), (29, cnh), (30, usd), (31, usd), (40, usd), (41, cnh), (42, cnh)):
            listed = [t for t in (usd, usd_b, cnh) if _call_uint(net, t, "isAllowlisted(address)", account_address(index))]
            assert listed == [bank], index
        assert f"supplier             {supplier}  client of EXUSB" in result.stdout

        # a second USD bank and the interbank network both USD banks joined, collateral posted: the buyer
        # (a client of Bank A) pays the supplier (a client of Bank B) through it, found through the record
        assert record["interbank"] and record["settlement_asset"] and record["deploy_blocks"]["interbank"] > 0
        assert record["parties"]["EXUSB"]["supplier"] == supplier
        # the USD escrow pays sellers at other banks of the network (the supplier banks at B)
        assert _call_uint(net, record["escrows"]["USD"], "network()") == int(record["interbank"], 16)
        paid = json.loads(net.ok("--json", "interbank", "pay", "--from-token", "EXUSD", "--to-token", "EXUSB",
                                 "--to", supplier, "--amount", "100.00", "--id", "PAY-DEVNET-1", "--as", "27").stdout)
        assert (paid["kind"], paid["amount"]) == ("interbank", 100_00)
        assert _call_uint(net, usd, "balanceOf(address)", buyer) == 19_900_00
        assert _call_uint(net, usd_b, "balanceOf(address)", supplier) == 100_00
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
        hashlock = json.loads(net.ok("--json", "htlc", "secret").stdout)["hashlock"]  # a lock to the desk's USD account (40, Bank A)
        lock = json.loads(net.ok("--json", "htlc", "lock", "--token", "USD", "--to", account_address(40), "--amount", "100.00",
                                 "--hashlock", hashlock, "--deadline", "+2h", "--approve", "--as", "27").stdout)["lock_id"]
        positions = json.loads(net.ok("--json", "legal", "positions", buyer).stdout)
        assert [(p["kind"], p["id"], p["role"], p["amount"], p["token"]) for p in positions] == [
            ("htlc-lock", lock, "sender", 100_00, usd)]
        replacement = account_address(26)
        refused = net.cli("legal", "recover", buyer, replacement, "--order", "RECOVERY-1", "--as", "10")
        assert_one_line_error(refused, f"deptoken htlc replace-party {lock} --htlc {record['htlc']} --lost {buyer} --replacement {replacement}")
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
