"""The library's errors by type (``deptoken.errors``): a caller branches on the kind of refusal, not
on its English, and the one-line messages stay what they were. Also the token client's public checks
(one parties-active check for the settlement clients) and its injected transport."""

from __future__ import annotations

import pytest
from ape import chain

from deptoken.amounts import parse_amount, units_of
from deptoken.chain import require_chain_id
from deptoken.config import parse_config
from deptoken.currencies import minor_units
from deptoken.errors import (
    AccountInactive,
    AllowanceTooLow,
    DepositTokenError,
    InsufficientBalance,
    InvalidInput,
    LimitExceeded,
    NodeUnreachable,
    ReferenceUsed,
    Refused,
    RoleMissing,
    TokenPaused,
    TransactionReverted,
    WrongChain,
)
from deptoken.times import parse_deadline, parse_duration, parse_expiry
from deptoken.token import TokenClient, send_checked
from deptoken.validation import parse_address

USED_DEPOSIT_REF = "0x" + "01" * 32  # conftest mints alice's INITIAL against it


@pytest.fixture
def client(token) -> TokenClient:
    return TokenClient.from_contract(token)


def test_one_base_and_the_refusals_under_refused():
    for kind in (InvalidInput, NodeUnreachable, WrongChain, TransactionReverted, Refused):
        assert issubclass(kind, DepositTokenError) and kind is not DepositTokenError
    for kind in (AccountInactive, TokenPaused, RoleMissing, ReferenceUsed, InsufficientBalance, AllowanceTooLow, LimitExceeded):
        assert issubclass(kind, Refused)
    assert not issubclass(InvalidInput, Refused) and not issubclass(TransactionReverted, Refused)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: parse_address("0xabc"), "address '0xabc' is not an address (0x followed by 40 hex digits)"),
        (lambda: parse_amount("1.001", 2), "amount '1.001' has more than 2 decimal places"),
        (lambda: units_of("ten", 2, "allowance"), "allowance 'ten' is not a plain decimal number such as 125.50"),
        (lambda: parse_expiry("2027-02-30"), "kyc expiry '2027-02-30' is not a calendar date"),
        (lambda: parse_duration("soon", "confirm window"), "confirm window 'soon' is not a duration such as 3600, 48h or 7d"),
        (lambda: parse_deadline("2030-01-01T00:00:00", 0), "deadline '2030-01-01T00:00:00' has no time zone (add Z for UTC)"),
        (lambda: minor_units("XYZ"), "unknown currency code 'XYZ': expected an ISO 4217 code such as USD"),
    ],
)
def test_bad_input_is_invalid_input(call, message):
    with pytest.raises(InvalidInput) as info:
        call()
    assert str(info.value) == message


def test_a_deploy_config_with_a_bad_lei_is_invalid_input(devnet_config):
    data = {
        "network": "local", "chain_id": 31337, "token": {"name": "T", "symbol": "T", "currency": "USD"},
        "issuer": {"name": "Bank", "lei": "5493001KJTIIGC8Y1R13"}, "roles": {"admin": devnet_config.roles["admin"]},
    }
    with pytest.raises(InvalidInput, match="not a valid ISO 17442 LEI"):
        parse_config(data)
    data["issuer"] = {"name": "Bank", "bic": "1234GB22"}  # ISO 9362:2014: the party prefix may hold digits
    assert parse_config(data).issuer_bic == "1234GB22"


def test_refusals_by_type(client, alice, bob, outsider, minter, pauser):
    with pytest.raises(ReferenceUsed) as info:
        client.mint(alice, "1", USED_DEPOSIT_REF, sender=minter)
    assert str(info.value) == f"deposit reference {USED_DEPOSIT_REF!r} was already used for a mint"
    with pytest.raises(AccountInactive) as info:
        client.transfer(bob, "1", sender=outsider)
    assert str(info.value) == f"sender {outsider.address} is not allowlisted"
    with pytest.raises(RoleMissing) as info:
        client.pause(sender=alice)
    assert str(info.value) == f"{alice.address} lacks the pauser role needed to pause"
    with pytest.raises(InsufficientBalance) as info:
        client.transfer(bob, "10000.01", sender=alice)
    assert str(info.value) == f"sender {alice.address} holds 10,000.00 EXUSD, less than 10,000.01 EXUSD"
    with pytest.raises(LimitExceeded, match=f"^minter {minter.address} may mint "):
        client.mint(alice, str(10**14), "DEP-TOO-MUCH", sender=minter)
    with pytest.raises(WrongChain, match="^wrong chain: the node reports chain id"):
        require_chain_id(1)
    client.pause(sender=pauser)
    with pytest.raises(TokenPaused) as info:
        client.transfer(bob, "1", sender=alice)
    assert str(info.value) == "the token is paused: cannot transfer"


def test_a_revert_past_the_checks_is_transaction_reverted(token, alice, outsider, capfd):
    with pytest.raises(TransactionReverted) as info:
        send_checked(token, "transfer", outsider.address, 1, sender=alice)  # no checks made: the token refuses
    assert str(info.value) == f"transfer reverted: ERC7943CannotReceive(account={outsider.address})"
    assert capfd.readouterr().out == ""  # no call trace on standard output (a --json reader's)


def test_parties_active_is_one_check(client, alice, bob, outsider):
    client.require_parties_active([("buyer", alice.address), ("seller", bob.address), ("arbiter", None)])
    with pytest.raises(AccountInactive) as info:
        client.require_parties_active([("buyer", alice.address), ("seller", outsider.address)], where=" on EXUSD")
    assert str(info.value) == f"seller {outsider.address} is not allowlisted on EXUSD"
    with pytest.raises(AccountInactive) as info:  # the settlement contract is checked first
        client.require_parties_active([("seller", outsider.address)], contract=("the escrow", outsider.address, ": allowlist it"))
    assert str(info.value) == f"the escrow {outsider.address} is not allowlisted: allowlist it"
    assert client.now() == chain.pending_timestamp
    assert client.inactive_reason(alice.address) is None and client.inactive_reason(outsider.address) == "is not allowlisted"


def test_the_transport_is_injected(client, alice, bob, outsider):
    sent = []

    def transport(contract, method, args, sender):
        sent.append((method, args))
        return getattr(contract, method)(*args, sender=sender)

    through = client.with_transport(transport)
    assert through.transport is transport and client.transport is None and through.contract is client.contract
    through.transfer(bob, "1", sender=alice)
    assert sent == [("transfer", (bob.address, 100))]
    client.transfer(bob, "1", sender=alice)  # the client it came from still sends straight
    with pytest.raises(AccountInactive):  # a refused operation never reaches the transport
        through.transfer(outsider, "1", sender=alice)
    assert len(sent) == 1
    assert client.balance(bob) == through.balance(bob) == 10_002
    assert TokenClient(client.contract, transport=transport).transport is transport
