"""The operations library and the ape scripts, on the test Anvil (and once on a Hardhat node).

Most checks call the library in-process (``deptoken.token``), which is what the scripts run.
Each refused operation must raise a one-line ``DepositTokenError`` and send nothing: the sender's
nonce and the block height are compared before and after. A handful of end-to-end checks run the
scripts as ``ape run`` subprocesses, against this test's Anvil (``ethereum:local:<its URI>``, so the
fixture token is there and ape's per-test snapshot reverts whatever they send) or against a Hardhat
node started for the purpose.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ape import chain
from eth_utils import to_checksum_address

from deptoken.times import parse_expiry
from deptoken.config import load_config
from deptoken.deployments import Deployment, deployment_path, read_deployment, write_deployment
from deptoken.errors import DepositTokenError
from deptoken.token.deployer import deploy_from_config
from deptoken.token import TokenClient
from deptoken.signers import select_signer
from deptoken.validation import reference_to_bytes32

from constants import IMPLEMENTATION_SLOT, ROOT

APE = str(Path(sys.executable).with_name("ape"))
USED_DEPOSIT_REF = "0x" + "01" * 32  # conftest mints alice's INITIAL against it


# ------------------------------------------------------------------ helpers


@pytest.fixture
def client(token) -> TokenClient:
    return TokenClient.from_contract(token)


def future(days: int = 365) -> int:
    return chain.pending_timestamp + days * 24 * 3600


@contextmanager
def nothing_sent(*senders: Any):
    """Asserts that no transaction was mined and no sender's nonce moved."""
    height = chain.blocks.height
    nonces = [s.nonce for s in senders]
    yield
    assert chain.blocks.height == height, "a block was mined"
    assert [s.nonce for s in senders] == nonces, "a transaction was sent"


def refused(fragment: str, call: Callable[..., Any], *args: Any, sender: Any = None, **kwargs: Any) -> str:
    """Runs an operation that must be refused: one-line error containing ``fragment``, nothing sent."""
    if sender is not None:
        kwargs["sender"] = sender
    with nothing_sent(*([sender] if sender is not None else [])), pytest.raises(DepositTokenError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and fragment in message, message
    return message


def record_token(
    directory: Path, token, admin, *, chain_id: int = 31337, address: str | None = None, network: str = "local"
) -> Deployment:
    """Writes deployments/<network>.json for the fixture token into ``directory``."""
    slot = chain.provider.get_storage(token.address, IMPLEMENTATION_SLOT)
    deployment = Deployment(
        network=network,
        chain_id=chain_id,
        token=address or token.address,
        implementation="0x" + bytes(slot)[-20:].hex(),
        deploy_block=0,
        deployer=admin.address,
        name=token.name(),
        symbol=token.symbol(),
        currency=token.currency(),
        decimals=token.decimals(),
    )
    write_deployment(deployment, directory=directory, force=True)
    return deployment


def ape_run(*args: str, deployments: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    """``ape run ARGS`` from the project root, with deployment records in ``deployments``."""
    env = {
        **os.environ,
        "DEPTOKEN_DEPLOYMENTS_DIR": str(deployments),
        "APE_DISABLE_TELEMETRY": "1",
        "PATH": os.pathsep.join([str(ROOT / "node_modules" / ".bin"), str(Path(APE).parent), os.environ.get("PATH", "")]),
    }
    return subprocess.run(
        [APE, "run", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    """Exit status 1, exactly one stderr line ``error: ...`` containing ``fragment``, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def anvil_network() -> str:
    """The network choice that reaches this test's Anvil from another process.

    ``ethereum:hardhat`` is the custom network for any local node on chain id 31337 (ape-config.yaml);
    an ad-hoc URI on ``ethereum:local`` would sign for chain id 1337 (see the test below).
    """
    return f"ethereum:hardhat:{chain.provider.uri}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ minting


def test_mint(client, minter, carol):
    receipt = client.mint(carol, "12.34", "DEP-2026-0001", sender=minter)
    assert client.balance(carol) == Decimal("12.34")
    assert client.contract.isDepositRefUsed(reference_to_bytes32("DEP-2026-0001"))
    minted = client.events(["Minted"], from_block=receipt.block_number)
    assert [(e.args["to"], e.args["amount"]) for e in minted] == [(carol.address, 1234)]
    assert "12.34 EXUSD" in client.describe(minted[0])


@pytest.mark.parametrize(
    ("to", "amount", "reference", "fragment"),
    [
        ("0x1234", "1", "DEP-X", "is not an address"),
        ("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"[:-1] + "x", "1", "DEP-X", "is not an address"),
        ("0xa0ee7A142d267C1f36714E4a8F75612F20a79720", "1", "DEP-X", "wrong EIP-55 checksum"),
        ("carol", "1.001", "DEP-X", "more than 2 decimal places"),
        ("carol", "0", "DEP-X", "must be positive"),
        ("carol", "-5", "DEP-X", "must be positive"),
        ("carol", "ten", "DEP-X", "is not a plain decimal number"),
        ("carol", "1", "", "deposit reference must not be empty"),
        ("carol", "1", USED_DEPOSIT_REF, "was already used for a mint"),
        ("outsider", "1", "DEP-X", "is not allowlisted"),
    ],
)
def test_mint_refuses_bad_input(client, minter, carol, outsider, to, amount, reference, fragment):
    recipient = {"carol": carol, "outsider": outsider}.get(to, to)
    refused(fragment, client.mint, recipient, amount, reference, sender=minter)


def test_mint_refuses_float_amounts(client, minter, carol):
    refused("never as a float", client.mint, carol, 1.5, "DEP-X", sender=minter)


def test_mint_refuses_by_chain_state(client, token, minter, compliance, legal, pauser, minter_admin, carol, alice):
    refused("lacks the minter role needed to mint", client.mint, carol, "1", "DEP-X", sender=alice)
    client.configure_minter(minter, "5.00", sender=minter_admin)
    refused("may mint 5.00 EXUSD more, less than 5.01 EXUSD", client.mint, carol, "5.01", "DEP-X", sender=minter)
    client.freeze(carol, sender=compliance)
    refused(f"recipient {carol.address} is frozen", client.mint, carol, "1", "DEP-X", sender=minter)
    client.unfreeze(carol, sender=compliance)
    chain.pending_timestamp = token.allowlistExpiry(carol) + 1
    chain.mine()
    refused("has an allowlist entry that expired", client.mint, carol, "1", "DEP-X", sender=minter)
    client.allowlist(carol, future(), sender=compliance)
    client.pause(sender=pauser)
    refused("the token is paused: cannot mint", client.mint, carol, "1", "DEP-X", sender=minter)
    client.unpause(sender=pauser)
    client.mint(carol, "5", "DEP-X", sender=minter)
    assert client.balance(carol) == 5
    refused("was already used for a mint", client.mint, carol, "1", " DEP-X ", sender=minter)


def test_configure_and_remove_minter(client, minter_admin, alice, minter):
    refused("lacks the minter_admin role", client.configure_minter, alice, "10", sender=minter)
    refused("allowance '1.234' has more than 2 decimal places", client.configure_minter, alice, "1.234", sender=minter_admin)
    client.configure_minter(alice, "10", sender=minter_admin)
    assert client.account(alice).minter_allowance == 10 and "minter" in client.roles_of(alice)
    client.configure_minter(alice, "0", sender=minter_admin)  # zero allowance is allowed
    client.remove_minter(alice, sender=minter_admin)
    assert "minter" not in client.roles_of(alice)
    refused("is not a minter", client.remove_minter, alice, sender=minter_admin)


# ------------------------------------------------------------------ redemption, transfers, burns


def test_redeem(client, alice):
    client.redeem("100.00", "PAY-1", sender=alice)
    assert client.balance(alice) == Decimal("9900.00")
    refused(f"payout reference 'PAY-1' was already used by {alice.address}", client.redeem, "1", "PAY-1", sender=alice)
    refused("holds 9,900.00 EXUSD, less than 9,900.01 EXUSD", client.redeem, "9900.01", "PAY-2", sender=alice)


def test_redeem_payout_reference_is_per_holder(client, alice, bob):
    client.redeem("1", "PAY-1", sender=bob)  # bob uses alice's reference first...
    client.redeem("100.00", "PAY-1", sender=alice)  # ...which does not block alice
    assert client.balance(alice) == Decimal("9900.00") and client.balance(bob) == Decimal("9999.00")
    refused(f"already used by {bob.address}", client.redeem, "1", "PAY-1", sender=bob)


def test_redeem_respects_liens_pause_and_allowlist(client, alice, legal, pauser, compliance, outsider):
    client.set_frozen_amount(alice, "9000", sender=legal)
    refused("has 1,000.00 EXUSD unfrozen (of 10,000.00 EXUSD)", client.redeem, "1000.01", "PAY-3", sender=alice)
    client.redeem("1000", "PAY-3", sender=alice)
    client.set_frozen_amount(alice, "0", sender=legal)  # lifts the lien
    assert client.account(alice).frozen_amount == 0
    client.pause(sender=pauser)
    refused("paused: cannot redeem", client.redeem, "1", "PAY-4", sender=alice)
    client.unpause(sender=pauser)
    refused("holder", client.redeem, "1", "PAY-4", sender=outsider)
    client.remove_from_allowlist(alice, sender=compliance)
    refused(f"holder {alice.address} is not allowlisted", client.redeem, "1", "PAY-4", sender=alice)


def test_transfer_and_burn(client, alice, bob, outsider, minter, legal):
    client.transfer(bob, "0.01", sender=alice)
    assert client.balance(bob) == Decimal("10000.01")
    refused("recipient", client.transfer, outsider, "1", sender=alice)
    refused("less than", client.transfer, bob, "10000", sender=alice)
    client.seize(alice, minter, "50", "ORDER-1", sender=legal)
    client.burn("50", "BURN-1", sender=minter)
    assert client.balance(minter) == 0
    refused("holds 0.00 EXUSD", client.burn, "1", "BURN-2", sender=minter)
    refused("lacks the minter role needed to burn", client.burn, "1", "BURN-2", sender=alice)


def test_burn_refuses_a_lien_and_a_frozen_minter(client, alice, minter, legal, compliance, pauser):
    client.seize(alice, minter, "50", "ORDER-1", sender=legal)
    client.set_frozen_amount(minter, "30", sender=legal)
    refused(f"minter {minter.address} has 20.00 EXUSD unfrozen (of 50.00 EXUSD), less than 20.01 EXUSD",
            client.burn, "20.01", "BURN-1", sender=minter)
    assert client.balance(minter) == 50 and not client.contract.isBurnRefUsed(reference_to_bytes32("BURN-1"))
    client.freeze(minter, sender=compliance)
    refused(f"{minter.address} is frozen: its holdings cannot be burned", client.burn, "1", "BURN-1", sender=minter)
    client.unfreeze(minter, sender=compliance)
    client.pause(sender=pauser)  # a pause does not stop the bank's burn
    client.burn("20", "BURN-1", sender=minter)
    assert client.balance(minter) == 30 == client.account(minter).frozen_amount


# ------------------------------------------------------------------ allowlist


def test_allowlist_single_and_remove(client, compliance, outsider, alice):
    refused("'31/12/2030' is not a date", client.allowlist, outsider, "31/12/2030", sender=compliance)
    refused("is not in the future", client.allowlist, outsider, chain.pending_timestamp - 1, sender=compliance)
    refused("lacks the compliance role", client.allowlist, outsider, future(), sender=alice)
    client.allowlist(outsider, "2099-12-31", sender=compliance)
    assert client.account(outsider).allowlist_expiry == parse_expiry("2099-12-31")
    client.remove_from_allowlist(outsider, sender=compliance)
    assert not client.account(outsider).allowlisted


def test_allowlist_file_in_batches(client, compliance, tmp_path):
    accounts = [to_checksum_address("0x" + f"{i:02x}" * 20) for i in (0xA1, 0xA2, 0xA3)]
    path = tmp_path / "clients.csv"
    path.write_text("address,kyc_expiry_date\n" + "".join(f"{a},2099-06-30\n" for a in accounts))
    receipts = client.allowlist_from_file(path, sender=compliance, batch_size=2)
    assert len(receipts) == 2
    assert all(client.contract.isAllowlisted(a) for a in accounts)
    path.write_text("\n".join(accounts) + "\n")
    assert len(client.remove_from_allowlist_file(path, sender=compliance)) == 1
    assert not any(client.contract.isAllowlisted(a) for a in accounts)


def test_allowlist_file_with_a_broken_row_sends_nothing(client, compliance, tmp_path):
    a1, a2, a4 = (to_checksum_address("0x" + x * 20) for x in ("a1", "a2", "a4"))
    path = tmp_path / "clients.csv"
    path.write_text(
        f"{a1},2099-06-30\n"
        f"{a2}\n"  # line 2: no expiry
        "0xA3a3a3A3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3,2099-06-30\n"  # line 3: wrong checksum
        f"{a4},2001-01-01\n"  # line 4: expired already (chain time)
        "0x" + "a5" * 20 + ",2099-06-30\n"  # line 5: single case, no checksum
    )
    message = refused("4 bad rows, nothing sent", client.allowlist_from_file, path, sender=compliance)
    assert "line 2: expected 2 columns" in message
    assert "line 3: " in message and "wrong EIP-55 checksum" in message
    assert "line 4: kyc expiry 2001-01-01 is not in the future" in message
    assert "line 5: " in message and "has no EIP-55 checksum" in message
    assert not client.contract.isAllowlisted(a1)


def test_allowlist_many_checks_everything_first(client, compliance, carol):
    message = refused(
        "2 bad allowlist entries", client.allowlist_many, [(carol, future()), ("0x12", future()), (carol, "bad")], sender=compliance
    )
    assert "entry 2:" in message and "entry 3:" in message
    refused("2 bad addresses", client.remove_from_allowlist_many, ["0x12", carol, "nope"], sender=compliance)
    client.remove_from_allowlist_many([carol], sender=compliance)
    assert not client.account(carol).allowlisted


# ------------------------------------------------------------------ freezes, liens, seizures, pause


def test_freeze_and_lien(client, compliance, legal, alice, bob):
    client.freeze(alice, sender=compliance)
    assert client.account(alice).frozen
    refused("is already frozen", client.freeze, alice, sender=compliance)
    refused("sender", client.transfer, bob, "1", sender=alice)
    client.unfreeze(alice, sender=compliance)
    refused("is not frozen", client.unfreeze, alice, sender=compliance)
    refused("lacks the legal role", client.set_frozen_amount, alice, "1", sender=compliance)
    refused("frozen amount '-1' must be positive", client.set_frozen_amount, alice, "-1", sender=legal)
    client.set_frozen_amount(alice, "20000", sender=legal)  # may exceed the balance
    status = client.account(alice)
    assert (status.frozen_amount, status.unfrozen_balance) == (Decimal("20000"), 0)


def test_seize(client, legal, compliance, alice, minter, outsider):
    client.freeze(alice, sender=compliance)
    client.seize(alice, minter, "2500.50", "ORDER-2026-7", sender=legal)  # whatever alice's restrictions
    assert client.balance(minter) == Decimal("2500.50")
    seized = client.events(["Seized"])[-1]
    assert seized.args["amount"] == 250050
    refused("less than", client.seize, alice, minter, "7500.00", "ORDER-8", sender=legal)
    refused(f"recipient {outsider.address} is not allowlisted", client.seize, alice, outsider, "1", "ORDER-8", sender=legal)
    refused("same account", client.seize, alice, alice, "1", "ORDER-8", sender=legal)
    refused("legal order reference must not be empty", client.seize, alice, minter, "1", " ", sender=legal)
    refused("lacks the legal role needed to seize", client.seize, alice, minter, "1", "ORDER-8", sender=compliance)


def test_pause(client, pauser, alice):
    refused("lacks the pauser role", client.pause, sender=alice)
    refused("is not paused", client.unpause, sender=pauser)
    client.pause(sender=pauser)
    assert client.summary().paused
    refused("already paused", client.pause, sender=pauser)
    client.unpause(sender=pauser)


# ------------------------------------------------------------------ queries


def test_summary_and_accounts(client, admin, minter_admin, minter, compliance, legal, pauser, upgrader, alice, bob, carol):
    s = client.summary()
    assert (s.symbol, s.currency, s.decimals, s.chain_id, s.network) == ("EXUSD", "USD", 2, 31337, "local")
    assert s.total_supply == Decimal("20000.00") and not s.paused and s.default_admin == admin.address
    expected = {"admin": admin, "minter_admin": minter_admin, "minter": minter, "compliance": compliance, "legal": legal, "pauser": pauser, "upgrader": upgrader}
    assert s.role_holders == {role: (account.address,) for role, account in expected.items()}
    assert s.minter_allowances == {minter.address: client.to_decimal(10**15 - 2_000_000)}
    assert set(client.accounts_seen()) == {alice.address, bob.address, carol.address, minter.address}
    a = client.account(alice)
    assert (a.balance, a.allowlisted, a.can_send, a.frozen, a.roles) == (Decimal("10000.00"), True, True, False, ())
    assert client.format_decimal(Decimal("1234.5")) == "1,234.50 EXUSD"


# ------------------------------------------------------------------ deployment records and signers


def test_from_deployment(token, admin, tmp_path):
    refused("no deployment on 'local'", TokenClient.from_deployment, directory=tmp_path)
    record_token(tmp_path, token, admin, chain_id=1)
    refused("wrong chain: the node reports chain id 31337, expected 1", TokenClient.from_deployment, directory=tmp_path)
    record_token(tmp_path, token, admin, address="0x" + "77" * 20)
    refused("is stale", TokenClient.from_deployment, directory=tmp_path)
    record_token(tmp_path, token, admin)
    assert TokenClient.from_deployment(directory=tmp_path).address == token.address


def test_deploy_from_config(devnet_config, admin, minter_admin, tmp_path):
    client, receipts = deploy_from_config(devnet_config, admin, minter_admin=minter_admin, directory=tmp_path)
    record = read_deployment("local", tmp_path)
    assert record.token == client.address and record.chain_id == 31337 and record.abi
    assert record.deploy_block == chain.blocks.height - len(receipts)
    assert len(receipts) == 1 and client.summary().minter_allowances == {devnet_config.minters[0][0]: Decimal("10000000.00")}
    with nothing_sent(admin), pytest.raises(DepositTokenError, match="exists: a token is already deployed on 'local'"):
        deploy_from_config(devnet_config, admin, directory=tmp_path)


def test_deploy_refuses_before_sending(devnet_config, admin, tmp_path):
    with nothing_sent(admin):
        with pytest.raises(DepositTokenError, match="wrong chain"):
            deploy_from_config(replace(devnet_config, chain_id=1), admin, directory=tmp_path)
        with pytest.raises(DepositTokenError, match="minter allowance '1.234'"):
            deploy_from_config(replace(devnet_config, minters=((admin.address, "1.234"),)), admin, directory=tmp_path)
    assert not (tmp_path / "local.json").exists()


def test_deploy_without_minter_admin_leaves_minters(devnet_config, admin, tmp_path):
    client, receipts = deploy_from_config(devnet_config, admin, directory=tmp_path)  # admin lacks minter_admin
    assert receipts == [] and client.summary().minter_allowances == {}


def test_devnet_signers_by_role(token, minter, compliance, accounts):
    assert select_signer(chain_id=31337, role="minter", token=token).address == minter.address
    assert select_signer(chain_id=31337, as_="compliance", token=token).address == compliance.address
    assert select_signer(chain_id=31337, as_="7", token=token).address == accounts[7].address
    with pytest.raises(DepositTokenError, match="no devnet test account holds the upgrader role"):
        select_signer(chain_id=31337, role="upgrader", token=type("T", (), {"address": "0x", "hasRole": lambda *a: False})())


@pytest.fixture
def keystore_alias(alice, monkeypatch):
    """alice's key as an ape keystore account (passphrase from ape's own variable), removed after."""
    from ape_accounts import import_account_from_private_key

    alias = f"deptoken-test-{os.getpid()}"
    account = import_account_from_private_key(alias, "correct horse 42!", alice.private_key)
    monkeypatch.setenv(f"APE_ACCOUNTS_{alias}_PASSPHRASE", "correct horse 42!")
    try:
        yield alias
    finally:
        account.keyfile_path.unlink(missing_ok=True)


def test_keystore_signer_on_any_chain(client, alice, keystore_alias):
    signer = select_signer(chain_id=1, account=keystore_alias)  # allowed off the devnet
    assert signer.address == alice.address and signer.keyfile.name == f"{keystore_alias}.json" and signer.prompts
    signer = select_signer(chain_id=31337, account=keystore_alias, autosign=True)
    client.redeem("1.00", "PAY-KEYSTORE-1", sender=signer)
    assert client.balance(alice) == Decimal("9999.00")


# ------------------------------------------------------------------ the scripts, end to end


def test_mint_script(token, admin, minter, carol, tmp_path):
    record_token(tmp_path, token, admin, network="hardhat")
    result = ape_run("mint", "--to", carol.address, "--amount", "12.34", "--deposit-ref", "DEP-E2E-1", "--network", anvil_network(), deployments=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"minted 12.34 EXUSD to {carol.address} (deposit DEP-E2E-1)" in result.stdout
    assert token.balanceOf(carol) == 1234

    with nothing_sent(minter):  # the same deposit reference again
        result = ape_run("mint", "--to", carol.address, "--amount", "1", "--deposit-ref", "DEP-E2E-1", "--network", anvil_network(), deployments=tmp_path)
    assert_one_line_error(result, "deposit reference 'DEP-E2E-1' was already used for a mint")


@pytest.mark.slow  # two `ape run` subprocesses
def test_configure_minter_script_with_a_rate_limit(token, admin, minter_admin, carol, tmp_path):
    record_token(tmp_path, token, admin, network="hardhat")
    args = ("configure_minter", "--minter", carol.address, "--allowance", "100", "--network", anvil_network())
    with nothing_sent(minter_admin):  # a period without an amount is refused before anything is sent
        result = ape_run(*args, "--rate-limit", "10", "--period", "0h", deployments=tmp_path)
    assert_one_line_error(result, "rate limit period '0h' must be positive")
    result = ape_run(*args, "--rate-limit", "10", "--period", "1d", deployments=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"minter {carol.address} may mint 100.00 EXUSD, rate limit left 10.00 EXUSD of 10.00 EXUSD per day: tx " in result.stdout
    assert token.minterAllowance(carol) == 10_000 and token.minterRateLimitOf(carol) == (1000, 86_400, 1000)


def test_allowlist_script_rejects_a_broken_file(token, admin, compliance, tmp_path):
    record_token(tmp_path, token, admin, network="hardhat")
    path = tmp_path / "clients.csv"
    path.write_text("address,kyc_expiry_date\n" + to_checksum_address("0x" + "b1" * 20) + ",2099-01-01\n0xB2,2099-01-01\n")
    with nothing_sent(compliance):
        result = ape_run("allowlist", "--file", str(path), "--network", anvil_network(), deployments=tmp_path)
    assert_one_line_error(result, "1 bad row, nothing sent: line 3: address '0xB2' is not an address")


def test_deploy_script_refuses_to_overwrite(token, admin, tmp_path):
    record_token(tmp_path, token, admin, network="hardhat")
    with nothing_sent(admin):
        result = ape_run("deploy", "--network", anvil_network(), deployments=tmp_path)
    assert_one_line_error(result, f"{deployment_path('hardhat', tmp_path)} exists: a token is already deployed on 'hardhat' (use --force")


def test_scripts_refuse_a_network_that_signs_for_another_chain(token, admin, minter, carol, tmp_path):
    """``ethereum:sepolia:<uri>`` makes ape sign for Sepolia (11155111) whatever node the URI names:
    pointed at the devnet node (31337), refused before sending."""
    record_token(tmp_path, token, admin, network="sepolia", chain_id=31337)
    with nothing_sent(minter):
        result = ape_run("mint", "--to", carol.address, "--amount", "1", "--deposit-ref", "DEP-E2E-2", "--network", f"ethereum:sepolia:{chain.provider.uri}", deployments=tmp_path)
    assert_one_line_error(result, "wrong chain: Provider connected to chain ID '31337', which does not match network chain ID '11155111'")


def test_scripts_report_an_unreachable_node(tmp_path):
    result = ape_run("status", "--network", f"ethereum:hardhat:http://127.0.0.1:{free_port()}", deployments=tmp_path)
    assert_one_line_error(result, "cannot reach the node")


@contextmanager
def hardhat_node(port: int):
    """A Hardhat node on 127.0.0.1:``port`` for the duration; stopped (by its process id) after."""
    hardhat = ROOT / "node_modules" / ".bin" / "hardhat"
    assert hardhat.exists() and shutil.which("node"), "hardhat (npm) is not installed: run `make setup`"
    env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
    process = subprocess.Popen(
        [str(hardhat), "node", "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        while True:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}", request, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=2) as response:
                    assert json.load(response)["result"] == "0x7a69"
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hardhat node did not start: {process.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.5)
        yield f"ethereum:hardhat:http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_scripts_on_a_hardhat_node(tmp_path):
    """deploy, allowlist and mint against a Hardhat node: the scripts are not tied to Anvil."""
    client_address = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"  # test account 9
    with hardhat_node(free_port()) as network:
        deployed = ape_run("deploy", "--network", network, deployments=tmp_path)
        assert deployed.returncode == 0, deployed.stderr
        [path] = tmp_path.glob("hardhat-31337-*.json")  # named after the Hardhat node's chain, not this test's Anvil
        record = Deployment(**json.loads(path.read_text()))
        assert record.network == "hardhat" and record.chain_id == 31337 and record.abi and record.deploy_block > 0
        listed = ape_run("allowlist", client_address, "--expiry", "2099-12-31", "--network", network, deployments=tmp_path)
        assert listed.returncode == 0, listed.stderr
        minted = ape_run("mint", "--to", client_address, "--amount", "125.50", "--deposit-ref", "DEP-HH-1", "--network", network, deployments=tmp_path)
        assert minted.returncode == 0, minted.stderr
        # Read back with web3 and nothing but the record: what an integrator would do.
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(network.split(":", 2)[2]))
        token = w3.eth.contract(address=record.token, abi=record.abi)
        assert token.functions.balanceOf(client_address).call() == 12550
        assert token.functions.minterAllowance(load_config(ROOT / "config" / "devnet.yaml").minters[0][0]).call() == 10**9 - 12550


def test_offboarding_an_address_that_is_not_listed_is_refused(client, compliance, outsider, alice):
    """A typo in an offboarding list would otherwise send a transaction that does nothing."""
    refused(f"not on the allowlist, nothing sent: {outsider.address}", client.remove_from_allowlist, outsider, sender=compliance)
    refused("not on the allowlist", client.remove_from_allowlist_many, [alice, outsider], sender=compliance)
    assert client.contract.isAllowlisted(alice)
