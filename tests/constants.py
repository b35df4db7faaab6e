"""Constants the tests share: paths, time, the fixture token's amounts, storage slots and the test
accounts' roles (Anvil's public test accounts, mnemonic "test test ... junk", as config/devnet*.yaml
name them). Import them from here (``helpers`` re-exports the contract tests' ones) rather than
redefining them in a test module."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the project checkout
TESTS = ROOT / "tests"
TEST_DATA = TESTS / "data"
TEST_JS = TESTS / "js"
CONFIG = ROOT / "config"
BIN = Path(sys.executable).parent  # the project's virtualenv: deptoken, ape

# ------------------------------------------------------------------------------------------ time
HOUR = 3600
DAY = 24 * HOUR
YEAR = 365 * DAY

# ------------------------------------------------------------------------- the fixture token (conftest)
INITIAL = 1_000_000  # minor units minted to alice and bob
MINTER_ALLOWANCE = 10**15  # minor units: the minter's allowance before the two initial mints
USE_CURRENCY_DECIMALS = 255  # InitParams.decimals: take the currency's ISO 4217 minor units

# ------------------------------------------------------------------------------------- EVM values
ZERO_ADDRESS = "0x" + "00" * 20
ZERO_REF = b"\x00" * 32
MAX_UINT128 = 2**128 - 1
MAX_UINT256 = 2**256 - 1
TX_GAS = 1_000_000  # gas limit of the raw JSON-RPC transactions of the state machines
ERC7943_INTERFACE_ID = "0x3edbb4c4"
# EIP-1967 implementation slot of the token's UUPS proxy
IMPLEMENTATION_SLOT = 0x360894A13BA1A3210667C828492DB98DCA3E2076CC3735A920A3CA505D382BBC
# OpenZeppelin's Initializable storage (ERC-7201 "openzeppelin.storage.Initializable"): uint64 version, bool initializing
INITIALIZABLE_STORAGE = 0xF0C57E16840DF040F15088DC2F81FE391C3923BEC73E23A9662EFC9C229C6A00
ROLE_NAMES = ["DEFAULT_ADMIN_ROLE", "MINTER_ADMIN_ROLE", "MINTER_ROLE", "COMPLIANCE_ROLE", "LEGAL_ROLE",
              "PAUSER_ROLE", "UPGRADER_ROLE"]

# ------------------------------------------------------------------------------------------ chains
CHAIN_ID = 31337  # ape's Anvil, the devnet, a Hardhat node
SECOND_CHAIN_ID = 31338  # the second Anvil of the two-node tests

# --------------------------------------------------------------------- test accounts (by index)
# USD bank (config/devnet.yaml) and its clients
ADMIN, MINTER_ADMIN, MINTER, COMPLIANCE, LEGAL, PAUSER, UPGRADER = range(7)  # the minter is also the treasury
ALICE, BOB, CAROL = 7, 8, 9
# its operations team (ops fixtures): ana, ben, chen are operators, the stranger is none
ANA, BEN, CHEN, STRANGER = 10, 11, 12, 13
# CNH bank (config/devnet-cnh.yaml): admin, minter_admin, minter, compliance, legal, pauser, upgrader
CNH_BANK = range(20, 27)
# the demo clients DEV-0007 and DEV-0008 (config/devnet-kyc.csv): Anvil accounts 7 and 8
A7 = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"  # DEV-0007
A8 = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"  # DEV-0008

ACTOR = "pytest"  # the actor the ops tests record in the audit log
