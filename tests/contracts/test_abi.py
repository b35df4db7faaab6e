"""The committed ABIs (abi/) and the npm package's generated TypeScript (js/src/generated/) are those
of the contracts as they compile now, the settlement contracts' carry the token's errors, and the
exported ERC-7943 interface has the ERC-165 id the standard gives it."""

from __future__ import annotations

import json
from functools import reduce

import pytest
from eth_utils import function_signature_to_4byte_selector, keccak

from deptoken.abi import (
    CALLS_THE_TOKEN,
    EXPORTS,
    JS_EXPORTS,
    abi_dir,
    compiled_abis,
    differences,
    generated_sources,
    js_differences,
    js_dir,
    normalize,
    render,
    signature,
)

ABI_DIR, JS_DIR = abi_dir(), js_dir()  # the project's (pytest runs in it)

ERC7943_FUNGIBLE_INTERFACE_ID = 0x3EDBB4C4
IERC165_FUNCTIONS = {"supportsInterface(bytes4)"}  # inherited: not part of type(IERC7943Fungible).interfaceId


def _load(name: str) -> list[dict]:
    return json.loads((ABI_DIR / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def compiled():
    return compiled_abis()


def test_committed_abis_equal_the_compiled_contracts(compiled):
    assert set(compiled) == set(EXPORTS)
    assert differences(compiled) == [], "run `python -m deptoken.abi --write` and commit abi/"
    for name, abi in compiled.items():
        assert _load(name) == normalize(abi)


def test_generated_typescript_equals_the_compiled_contracts(compiled):
    assert js_differences(compiled) == [], "run `python -m deptoken.abi --write` and commit js/src/generated/"
    sources = generated_sources(compiled)
    assert sorted(p.name for p in JS_DIR.glob("*.ts")) == sorted(sources)
    assert set(sources) == {f"{name}.ts" for name in JS_EXPORTS} | {"eip712.ts", "index.ts"}
    for name in JS_EXPORTS:  # the TypeScript holds exactly the JSON ABI of abi/
        text = (JS_DIR / f"{name}.ts").read_text()
        body = text[text.index(" = ") + 3:text.rindex(" as const;")]
        assert json.loads(body) == _load(name)
    constants = (JS_DIR / "eip712.ts").read_text()
    for expected in ('"DepositToken PvP Settlement"', '"ReceiveWithAuthorization"', '"OrderTerms"', '"confirmWindow"',
                     '"0x' + keccak(text="OrderTerms(address escrow,bytes32 orderId,address buyer,address seller,"
                                         "uint256 amount,uint64 shipBy,uint64 confirmWindow)").hex() + '"'):
        assert expected in constants


def test_settlement_abis_carry_every_token_error():
    token_errors = {signature(e) for e in _load("DepositToken") if e["type"] == "error"}
    for name in CALLS_THE_TOKEN:
        errors = {signature(e) for e in _load(name) if e["type"] == "error"}
        assert token_errors <= errors, (name, sorted(token_errors - errors))
        assert "ERC7943CannotReceive(address)" in errors and "ERC20InsufficientBalance(address,uint256,uint256)" in errors
    assert "InvalidQuoteSignature(address)" in {signature(e) for e in _load("PvPSettlement") if e["type"] == "error"}


def test_abi_files_are_in_normal_form():
    for name in EXPORTS:
        text = (ABI_DIR / f"{name}.json").read_text()
        assert text == render(json.loads(text)), f"abi/{name}.json is not sorted/pretty-printed deterministically"


def erc165_interface_id(abi: list[dict], exclude: set[str] = frozenset()) -> int:
    selectors = [
        int.from_bytes(function_signature_to_4byte_selector(signature(e)), "big")
        for e in abi
        if e["type"] == "function" and signature(e) not in exclude
    ]
    return reduce(lambda a, b: a ^ b, selectors, 0)


def test_erc7943_fungible_interface_id():
    abi = _load("IERC7943Fungible")
    functions = sorted(signature(e) for e in abi if e["type"] == "function")
    assert functions == [
        "canReceive(address)",
        "canSend(address)",
        "canTransfer(address,address,uint256)",
        "forcedTransfer(address,address,uint256)",
        "getFrozenTokens(address)",
        "setFrozenTokens(address,uint256)",
        "supportsInterface(bytes4)",
    ]
    assert erc165_interface_id(abi, exclude=IERC165_FUNCTIONS) == ERC7943_FUNGIBLE_INTERFACE_ID


def test_deposit_token_abi_contains_the_erc7943_interface():
    token = {(e["type"], signature(e)) for e in _load("DepositToken")}
    interface = {(e["type"], signature(e)) for e in _load("IERC7943Fungible")}
    assert interface <= token


def test_deployed_token_reports_the_interface_id(bare_token):
    assert bare_token.supportsInterface(ERC7943_FUNGIBLE_INTERFACE_ID.to_bytes(4, "big"))
    assert bare_token.supportsInterface(bytes.fromhex("36372b07"))  # ERC-20
    assert not bare_token.supportsInterface(bytes.fromhex("ffffffff"))


# What the token has from OpenZeppelin contracts that come without an interface to build on (pause,
# UUPS, initializers, library errors): everything else of its ABI is declared in IDepositToken.
NOT_IN_IDEPOSITTOKEN = {
    ("function", "DEFAULT_ADMIN_ROLE()"), ("function", "paused()"), ("function", "UPGRADE_INTERFACE_VERSION()"),
    ("function", "proxiableUUID()"), ("function", "upgradeToAndCall(address,bytes)"),
    ("function", "initializeAuthorizations()"),
    ("function", "initialize((string,string,string,uint8,string,string,string,uint48,address,address,address,address,address,address))"),
    ("event", "Initialized(uint64)"), ("event", "Paused(address)"), ("event", "Unpaused(address)"), ("event", "Upgraded(address)"),
    ("error", "AddressEmptyCode(address)"), ("error", "ERC1967InvalidImplementation(address)"), ("error", "ERC1967NonPayable()"),
    ("error", "EnforcedPause()"), ("error", "ExpectedPause()"), ("error", "FailedCall()"),
    ("error", "InvalidAccountNonce(address,uint256)"), ("error", "InvalidInitialization()"), ("error", "NotInitializing()"),
    ("error", "SafeCastOverflowedUintDowncast(uint8,uint256)"), ("error", "UUPSUnauthorizedCallContext()"),
    ("error", "UUPSUnsupportedProxiableUUID(bytes32)"),
}


def test_the_token_interface_declares_the_tokens_abi(project):
    """IDepositToken (with the module interfaces it builds on) is the token as others call it: every
    function, event and error of the token but OpenZeppelin's few listed above, and nothing else."""
    from deptoken.abi import abi_of

    def entries(name: str) -> set[tuple[str, str]]:
        abi = abi_of(getattr(project, name).contract_type)
        return {(e["type"], signature(e)) for e in abi if e["type"] in ("function", "event", "error")}

    token, interface = entries("DepositToken"), entries("IDepositToken")
    assert interface == token - NOT_IN_IDEPOSITTOKEN
    assert NOT_IN_IDEPOSITTOKEN <= token  # the list names nothing the token does not have
    for new in (("error", "AllowlistExpiryZero(address)"), ("error", "InvalidLegalOrderRef()"),
                ("error", "AllowlistExpiryInPast(address,uint64)"), ("error", "InvalidReference()")):
        assert new in interface
    # the escrow's EIP-3009 call goes through the one interface (IERC3009Bytes), not a copy of its own
    assert ("function", "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)") in entries("IERC3009Bytes")
    assert not hasattr(project, "IERC3009ReceiveBytes")
