"""Input validation of the operations library, without a chain: amounts, addresses, references,
KYC expiries, allowlist files, deploy configs, roles and the signer rules.

Every bad input raises ``DepositTokenError`` with a message of one line.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from eth_utils import keccak, to_checksum_address

from helpers import one_line_error
from deptoken.allowlist_file import read_allowlist_file
from deptoken.times import format_expiry, parse_expiry
from deptoken.amounts import format_amount, parse_amount, to_decimal
from deptoken.config import load_config, parse_config
from deptoken.deployments import deployment_path, read_deployment
from deptoken.roles import ROLES, role_id, role_name
from deptoken.signers import select_signer
from deptoken.validation import parse_address, reference_to_bytes32

from constants import ROOT
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"



# ------------------------------------------------------------------ amounts


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("125.50", 2, 12550),
        ("125.5", 2, 12550),
        ("0.01", 2, 1),
        (" 7 ", 0, 7),
        (Decimal("1.234"), 3, 1234),
        (5, 2, 500),
        ("1.000", 2, 100),  # trailing zeros are not extra precision
        ("123456789012345678901234567890.12", 2, 12345678901234567890123456789012),
    ],
)
def test_parse_amount_exact(text, decimals, units):
    assert parse_amount(text, decimals) == units


@pytest.mark.parametrize(
    ("text", "decimals", "fragment"),
    [
        ("1.001", 2, "more than 2 decimal places"),
        ("0.5", 0, "more than 0 decimal places"),
        ("0", 2, "must be positive"),
        ("0.00", 2, "must be positive"),
        ("-5", 2, "must be positive"),
        ("abc", 2, "is not a plain decimal number"),
        ("", 2, "is not a plain decimal number"),
        ("1e2", 2, "is not a plain decimal number"),  # reads too much like 102
        ("1_000_000", 2, "is not a plain decimal number"),
        ("1,000.00", 2, "is not a plain decimal number"),
        ("1e400000000000000000000", 2, "is not a plain decimal number"),
        ("1" + "0" * 78, 0, "is too large"),
        ("NaN", 2, "is not a plain decimal number"),
        ("Infinity", 2, "is not a plain decimal number"),
        (Decimal("NaN"), 2, "not a finite number"),
        (1.5, 2, "never as a float"),
        (True, 2, "never as a float"),
    ],
)
def test_parse_amount_rejects(text, decimals, fragment):
    assert fragment in one_line_error(parse_amount, text, decimals)


def test_amounts_round_trip_without_floats():
    assert to_decimal(12550, 2) == Decimal("125.50")
    assert format_amount(123456789, 2) == "1,234,567.89"
    assert format_amount(5, 0) == "5"
    assert format_amount(-1, 3) == "-0.001"
    assert parse_amount(str(to_decimal(98765, 3)), 3) == 98765
    big = 2**128 - 1  # the supply cap: 39 digits, beyond Decimal's default 28-digit precision
    assert to_decimal(big, 2) == Decimal(f"{big // 100}.{big % 100:02d}")
    assert parse_amount(str(to_decimal(big, 2)), 2) == big
    assert parse_amount(Decimal("1E+3"), 2) == 100000


# ------------------------------------------------------------------ addresses and references


def test_parse_address_accepts_checksummed():
    assert parse_address(ALICE) == ALICE
    assert parse_address(f"  {ALICE} ") == ALICE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0x1234", "is not an address"),
        (ALICE[:-1], "is not an address"),
        (ALICE + "0", "is not an address"),
        ("70997970C51812dc3A010C7d01b50e0d17dc79C8", "is not an address"),
        ("0x70997970C51812dc3A010C7d01b50e0d17dc79CG", "is not an address"),
        ("alice.eth", "is not an address"),
        ("0x70997970C51812dc3a010c7d01b50e0d17dc79C8", "wrong EIP-55 checksum"),
        # single case carries no checksum: a one-digit typo of a real address would pass unnoticed
        ("0x70997970c51812dc3a010c7d01b50e0d17dc79c9", "has no EIP-55 checksum"),
        ("0x70997970C51812DC3A010C7D01B50E0D17DC79C8", "has no EIP-55 checksum"),
        ("0x" + "00" * 20, "zero address"),
    ],
)
def test_parse_address_rejects(text, fragment):
    assert fragment in one_line_error(parse_address, text, "recipient")


def test_parse_address_accepts_an_eip55_form_that_is_single_case():
    """EIP-55 leaves every letter lower case for some addresses (found by the 10,000-client benchmark):
    that is their checksummed form, not a missing checksum."""
    address = "0x44a5dd6759607da602265c94125177e2b0196d17"
    assert to_checksum_address(address) == address
    assert parse_address(address) == address
    assert "has no EIP-55 checksum" in one_line_error(parse_address, address.replace("7", "8", 1))


def test_references_hash_text_and_take_hex_as_is():
    assert reference_to_bytes32("DEP-2026-0001") == keccak(text="DEP-2026-0001")
    assert reference_to_bytes32(" DEP-2026-0001 ") == keccak(text="DEP-2026-0001")
    assert reference_to_bytes32("0x" + "ab" * 32) == bytes.fromhex("ab" * 32)
    assert reference_to_bytes32("DEP-1") != reference_to_bytes32("DEP-2")


@pytest.mark.parametrize(("text", "fragment"), [("", "must not be empty"), ("   ", "must not be empty"), ("0x" + "00" * 32, "must not be zero")])
def test_references_reject(text, fragment):
    assert fragment in one_line_error(reference_to_bytes32, text, "deposit reference")


# ------------------------------------------------------------------ KYC expiries and allowlist files


def test_parse_expiry_forms():
    end_of_2030 = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    assert parse_expiry("2030-12-31") == end_of_2030  # allowlisted through that whole day
    assert parse_expiry(date(2030, 12, 31)) == end_of_2030
    assert parse_expiry(str(end_of_2030)) == end_of_2030
    assert parse_expiry(end_of_2030) == end_of_2030
    cet = timezone(timedelta(hours=1))
    assert parse_expiry(datetime(2031, 1, 1, 1, tzinfo=cet)) == end_of_2030
    assert format_expiry(end_of_2030) == "2031-01-01T00:00:00Z"
    assert format_expiry(0) == "-"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2030-02-30", "not a calendar date"),
        ("31/12/2030", "not a date"),
        ("tomorrow", "not a date"),
        ("", "not a date"),
        (0, "out of range"),
        (2**64, "out of range"),
        (datetime(2030, 1, 1), "no time zone"),
        (True, "not a date"),
    ],
)
def test_parse_expiry_rejects(value, fragment):
    assert fragment in one_line_error(parse_expiry, value)


def write(tmp_path: Path, text: str, name: str = "clients.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_allowlist_file_good(tmp_path):
    path = write(
        tmp_path,
        "address,kyc_expiry_date\n"
        "# onboarding batch 7\n"
        f"{ALICE},2030-12-31\n"
        "\n"
        f" {BOB} , 1924992000 \n",
    )
    entries = read_allowlist_file(path)
    assert [(e.line, e.account, e.expiry) for e in entries] == [
        (3, ALICE, parse_expiry("2030-12-31")),
        (5, BOB, 1924992000),
    ]


def test_allowlist_file_reports_every_bad_row_with_its_line(tmp_path):
    path = write(
        tmp_path,
        f"{ALICE},2030-12-31\n"
        "0x1234,2030-12-31\n"  # line 2: malformed address
        f"{BOB},31/12/2030\n"  # line 3: bad date
        f"{ALICE},2031-01-01\n"  # line 4: duplicate of line 1
        "0x70997970C51812dc3a010c7d01b50e0d17dc79C8,2030-12-31\n"  # line 5: wrong checksum
        f"{BOB}\n"  # line 6: missing expiry
        f"{BOB},2030-01-01,extra\n",  # line 7: too many columns
    )
    message = one_line_error(read_allowlist_file, path)
    assert "6 bad rows, nothing sent" in message
    for line, fragment in [
        (2, "is not an address"),
        (3, "not a date"),
        (4, "already on line 1"),
        (5, "wrong EIP-55 checksum"),
        (6, "expected 2 columns"),
        (7, "expected 2 columns"),
    ]:
        assert f"line {line}: " in message and fragment in message
    assert "line 1:" not in message


def test_allowlist_file_past_expiry_with_chain_time(tmp_path):
    path = write(tmp_path, f"{ALICE},2020-01-01\n{BOB},2030-01-01\n")
    now = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    message = one_line_error(read_allowlist_file, path, now=now)
    assert "1 bad row, nothing sent: line 1: kyc expiry 2020-01-01 is not in the future" in message


def test_allowlist_file_for_removal_needs_only_addresses(tmp_path):
    path = write(tmp_path, f"address\n{ALICE}\n{BOB},2030-01-01\n")
    assert [e.account for e in read_allowlist_file(path, with_expiry=False)] == [ALICE, BOB]


@pytest.mark.parametrize(
    ("text", "fragment"), [("", "has no rows"), ("address,kyc_expiry_date\n# nothing\n", "has no rows")]
)
def test_allowlist_file_empty(tmp_path, text, fragment):
    assert fragment in one_line_error(read_allowlist_file, write(tmp_path, text))


def test_allowlist_file_missing(tmp_path):
    assert "not found" in one_line_error(read_allowlist_file, tmp_path / "nope.csv")


# ------------------------------------------------------------------ deploy config and records


def devnet_data() -> dict:
    return yaml.safe_load((ROOT / "config" / "devnet.yaml").read_text())


def test_devnet_config_is_valid():
    config = load_config(ROOT / "config" / "devnet.yaml")
    assert config.chain_id == 31337 and config.currency == "USD" and config.decimals == 2
    assert config.minters and config.roles["admin"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["token"].update(currency="XYZ"), "unknown currency code"),
        (lambda d: d["roles"].update(admin="0x1234"), "is not an address"),
        (lambda d: d["roles"].update(compliance="0x90f79bf6eb2c4f870365e785982e1f101e93B906"), "wrong EIP-55 checksum"),
        (lambda d: d["roles"].update(auditor=ALICE), "unknown role"),
        (lambda d: d["roles"].pop("admin"), "roles.admin is required"),
        (lambda d: d["issuer"].update(lei="5493001KJTIIGC8Y1R13"), "not a valid ISO 17442 LEI"),
        (lambda d: d["issuer"].update(bic="EXBK"), "not a valid ISO 9362 BIC"),
        (lambda d: d.update(chain_id="31337"), "chain_id must be a positive integer"),
        (lambda d: d.pop("token"), "missing token"),
        (lambda d: d["token"].update(decimals=99), "token.decimals"),
    ],
)
def test_bad_configs(change, fragment):
    data = devnet_data()
    change(data)
    assert fragment in one_line_error(parse_config, data)


def test_config_file_errors(tmp_path):
    assert "not found" in one_line_error(load_config, tmp_path / "missing.yaml")
    assert "not valid YAML" in one_line_error(load_config, write(tmp_path, "token: [unclosed\n", "bad.yaml"))


def test_unknown_deployment(tmp_path):
    assert "no deployment on 'hardhat'" in one_line_error(read_deployment, "hardhat", tmp_path)
    write(tmp_path, "{not json", deployment_path("hardhat", tmp_path).name)  # hardhat-<chain tag>.json
    assert "not a valid deployment record" in one_line_error(read_deployment, "hardhat", tmp_path)


# ------------------------------------------------------------------ roles and signers


def test_roles():
    assert role_id("minter") == keccak(text="MINTER_ROLE")
    assert role_id("Minter-Admin") == keccak(text="MINTER_ADMIN_ROLE")
    assert role_id("admin") == bytes(32)
    assert all(role_name(rid) == name for name, rid in ROLES.items())
    assert role_name("0x" + keccak(text="LEGAL_ROLE").hex()) == "legal"
    assert "unknown role" in one_line_error(role_id, "auditor")


def test_test_accounts_only_on_the_devnet():
    message = one_line_error(select_signer, chain_id=1, as_="minter")
    assert "works only on the local devnet" in message and "--account ALIAS" in message
    assert "sign with --account ALIAS" in one_line_error(select_signer, chain_id=11155111, role="minter")


def test_signer_choice_conflicts_and_unknowns():
    assert "not both" in one_line_error(select_signer, chain_id=31337, account="treasury", as_="1")
    assert "choose who signs" in one_line_error(select_signer, chain_id=31337)
    assert "expected a role" in one_line_error(select_signer, chain_id=31337, as_="auditor")
    assert "no ape account named 'no-such-alias'" in one_line_error(select_signer, chain_id=1, account="no-such-alias")


def test_signer_from_config_on_the_devnet():
    config = load_config(ROOT / "config" / "devnet.yaml")
    assert select_signer(chain_id=31337, role="admin", config=config).address == config.roles["admin"]
    assert select_signer(chain_id=31337, as_="minter", config=config).address == config.minters[0][0]
    assert select_signer(chain_id=31337, as_="2").address == BOB
    assert select_signer(chain_id=31337, as_=BOB).address == BOB
    assert "only 44 test accounts (0..43)" in one_line_error(select_signer, chain_id=31337, as_="44")
    stranger = replace(config, roles={**config.roles, "legal": "0x" + "11" * 20})
    assert "not one of the devnet's public test accounts" in one_line_error(
        select_signer, chain_id=31337, as_="legal", config=stranger
    )
