"""ERC-7802 on the token (issue 15): `crosschainMint`/`crosschainBurn` for a bridge the bank made a minter,
with the standard events and ERC-165 interface id. A mint spends the bridge's minter allowance and rate
limit like `mint` and obeys the token's rules (recipient active, not paused); a burn takes only what the
holder approved to the bridge (or the bridge's own tokens), under the holder's rules. Neither records a
reference: the bank's own messenger keeps minting and burning with the message id."""

from __future__ import annotations

from eth_utils import keccak

from helpers import ev, events, ref, reverts, role_id

ERC7802_ID = bytes.fromhex("33331994")


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def test_the_interface_id_is_erc7802s_and_the_token_supports_it(token):
    computed = int.from_bytes(selector("crosschainMint(address,uint256)"), "big") ^ int.from_bytes(
        selector("crosschainBurn(address,uint256)"), "big")
    assert computed.to_bytes(4, "big") == ERC7802_ID
    assert token.supportsInterface(ERC7802_ID)
    assert not token.supportsInterface(bytes.fromhex("33331995"))


def test_crosschain_mint_spends_the_allowance_and_emits_the_standard_events(token, minter, alice):
    supply, allowance, balance = token.totalSupply(), token.minterAllowance(minter), token.balanceOf(alice)
    receipt = token.crosschainMint(alice, 1_234, sender=minter)
    assert events(receipt) == [ev("Transfer", **{"from": "0x" + "00" * 20, "to": alice, "value": 1_234}),
                                ev("CrosschainMint", to=alice, amount=1_234, sender=minter)]
    assert (token.totalSupply(), token.minterAllowance(minter), token.balanceOf(alice)) == (
        supply + 1_234, allowance - 1_234, balance + 1_234)


def test_crosschain_mint_is_refused_as_mint_is(chain, token, minter, minter_admin, alice, outsider, pauser, compliance, carol):
    role = role_id("MINTER_ROLE")
    with reverts(token.AccessControlUnauthorizedAccount, account=carol, neededRole=role):
        token.crosschainMint(alice, 1, sender=carol)
    with reverts(token.ERC7943CannotReceive, account=outsider):
        token.crosschainMint(outsider, 1, sender=minter)
    token.freezeAccount(alice, sender=compliance)
    with reverts(token.ERC7943CannotReceive, account=alice):
        token.crosschainMint(alice, 1, sender=minter)
    token.unfreezeAccount(alice, sender=compliance)
    with reverts(token.InvalidAmount):
        token.crosschainMint(alice, 0, sender=minter)
    allowance = token.minterAllowance(minter)
    with reverts(token.MinterAllowanceExceeded, minter=minter, allowance=allowance, amount=allowance + 1):
        token.crosschainMint(alice, allowance + 1, sender=minter)
    token.setMinterRateLimit(minter, 1_000, 86_400, sender=minter_admin)
    with reverts(token.MinterRateLimitExceeded, minter=minter, available=1_000, amount=1_001):
        token.crosschainMint(alice, 1_001, sender=minter)
    token.pause(sender=pauser)
    with reverts(token.EnforcedPause):
        token.crosschainMint(alice, 1, sender=minter)


def test_crosschain_burn_takes_only_what_the_holder_approved(token, minter, alice):
    token.mint(alice, 5_000, ref("erc7802 burn"), sender=minter)
    with reverts(token.ERC20InsufficientAllowance, spender=minter, allowance=0, needed=2_000):
        token.crosschainBurn(alice, 2_000, sender=minter)
    token.approve(minter, 2_000, sender=alice)
    supply, balance = token.totalSupply(), token.balanceOf(alice)
    receipt = token.crosschainBurn(alice, 2_000, sender=minter)
    assert events(receipt)[-1] == ev("CrosschainBurn", **{"from": alice, "amount": 2_000, "sender": minter})
    assert (token.totalSupply(), token.balanceOf(alice), token.allowance(alice, minter)) == (supply - 2_000, balance - 2_000, 0)


def test_crosschain_burn_is_refused_under_the_holders_rules(token, minter, minter_admin, alice, carol, compliance, pauser, legal):
    token.mint(alice, 5_000, ref("erc7802 rules"), sender=minter)
    token.approve(minter, 5_000, sender=alice)
    with reverts(token.AccessControlUnauthorizedAccount, account=carol, neededRole=role_id("MINTER_ROLE")):
        token.crosschainBurn(alice, 1, sender=carol)
    token.setFrozenTokens(alice, token.balanceOf(alice) - 500, sender=legal)
    with reverts(token.ERC7943InsufficientUnfrozenBalance, account=alice, amount=1_000, unfrozen=500):
        token.crosschainBurn(alice, 1_000, sender=minter)
    token.setFrozenTokens(alice, 0, sender=legal)
    token.freezeAccount(alice, sender=compliance)
    with reverts(token.ERC7943CannotSend, account=alice):
        token.crosschainBurn(alice, 1, sender=minter)
    token.unfreezeAccount(alice, sender=compliance)
    token.pause(sender=pauser)
    with reverts(token.EnforcedPause):
        token.crosschainBurn(alice, 1, sender=minter)
    token.unpause(sender=pauser)
    assert token.balanceOf(alice) >= 5_000 and token.allowance(alice, minter) == 5_000
