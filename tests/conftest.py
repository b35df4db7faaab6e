"""Shared fixtures: one DepositToken deployed through the library, on the real Anvil ape starts.

ape isolates each test (chain snapshot and revert), so a module-scoped token is deployed once per
module and every test starts from the same state. Contracts are module-scoped, not session-scoped:
a session fixture first requested in the middle of a module would be deployed inside that module's
snapshot and vanish when ape reverts it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from deptoken.config import load_config
from deptoken.token_deployer import deploy_token

ROOT = Path(__file__).resolve().parents[1]
YEAR = 365 * 24 * 3600
MINTER_ALLOWANCE = 10**15  # minor units
INITIAL = 1_000_000  # minor units minted to alice and bob


@pytest.fixture(scope="session")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def minter_admin(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def minter(accounts):
    """Also the bank's treasury account: allowlisted, receives seized funds, burns them."""
    return accounts[2]


@pytest.fixture(scope="session")
def compliance(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def legal(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def pauser(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def upgrader(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[8]


@pytest.fixture(scope="session")
def carol(accounts):
    """Allowlisted, holds nothing."""
    return accounts[9]


@pytest.fixture(scope="session")
def outsider(accounts):
    """Never allowlisted, holds no role."""
    return accounts.generate_test_account()


@pytest.fixture(scope="session")
def devnet_config(admin, minter_admin, compliance, legal, pauser, upgrader):
    config = load_config(ROOT / "config" / "devnet.yaml")
    roles = {
        "admin": admin.address,
        "minter_admin": minter_admin.address,
        "compliance": compliance.address,
        "legal": legal.address,
        "pauser": pauser.address,
        "upgrader": upgrader.address,
    }
    assert roles == config.roles, "config/devnet.yaml names Anvil accounts 0,1,3,4,5,6 as role holders"
    return replace(config, roles=roles)


@pytest.fixture(scope="module")
def bare_token(devnet_config, admin):
    """A freshly deployed token: roles granted, nothing else (no minter, empty allowlist)."""
    token, _ = deploy_token(devnet_config, admin, record=False)
    return token


@pytest.fixture(scope="module")
def token(bare_token, chain, minter_admin, minter, compliance, alice, bob, carol):
    """The token in use: a minter with an allowance, alice, bob, carol and the treasury (minter)
    allowlisted for a year, alice and bob holding INITIAL each."""
    t = bare_token
    t.configureMinter(minter, MINTER_ALLOWANCE, sender=minter_admin)
    expiry = chain.pending_timestamp + YEAR
    t.allowlistBatch([alice, bob, carol, minter], [expiry] * 4, sender=compliance)
    t.mint(alice, INITIAL, b"\x01" * 32, sender=minter)
    t.mint(bob, INITIAL, b"\x02" * 32, sender=minter)
    return t


@pytest.fixture(scope="session")
def cnh_bank(accounts):
    """The second bank (config/devnet-cnh.yaml): its role holders, test accounts 20-26."""
    return {"admin": accounts[20], "minter_admin": accounts[21], "minter": accounts[22], "compliance": accounts[23],
            "legal": accounts[24], "pauser": accounts[25], "upgrader": accounts[26]}


@pytest.fixture(scope="module")
def cnh_token(chain, cnh_bank, alice, bob, carol):
    """A second bank's CNH deposit token: alice, bob, carol and its treasury allowlisted for a year,
    alice and bob holding INITIAL each (minor units)."""
    config = load_config(ROOT / "config" / "devnet-cnh.yaml")
    assert config.roles["admin"] == cnh_bank["admin"].address
    t, _ = deploy_token(config, cnh_bank["admin"], record=False)
    t.configureMinter(cnh_bank["minter"], MINTER_ALLOWANCE, sender=cnh_bank["minter_admin"])
    expiry = chain.pending_timestamp + YEAR
    t.allowlistBatch([alice, bob, carol, cnh_bank["minter"]], [expiry] * 4, sender=cnh_bank["compliance"])
    t.mint(alice, INITIAL, b"\x01" * 32, sender=cnh_bank["minter"])
    t.mint(bob, INITIAL, b"\x02" * 32, sender=cnh_bank["minter"])
    return t


# Issuer operations (deptoken.ops): ledgers on SQLite and PostgreSQL, operators, a standalone devnet.
from ops_support import ana, ben, chen, devnet, ledger, ledger_url, migrated_templates, ops, stranger, team  # noqa: E402, F401
