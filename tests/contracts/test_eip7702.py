"""Holders whose account is delegated under EIP-7702 (the token's EVM is Prague): OpenZeppelin's
SignatureChecker sends any account with code, a delegated one included, to ERC-1271. A delegate without
`isValidSignature` makes the holder's own key's permits and EIP-3009 authorizations invalid; a delegate
that accepts the account's own signature (as wallets built for EIP-7702 do) keeps them working; clearing
the delegation restores plain ECDSA. The library verifies as the token does, and says why."""

from __future__ import annotations

import pytest
from ape import project
from eth_account import Account

from deptoken.token import authorizations as auth
from deptoken import eip712
from deptoken.token import TokenClient
from helpers import YEAR, ev, events, one_line_error, reverts

ZERO = "0x" + "00" * 20
DEAD = "0x000000000000000000000000000000000000dEaD"  # the transaction's own call does nothing


@pytest.fixture(scope="module")
def holder(token, compliance, minter, chain):
    """A fresh externally owned account (a random key made for this run), allowlisted, holding 1,000.00
    and enough ether to send its own EIP-7702 transactions."""
    account = Account.create()
    chain.provider.make_request("anvil_setBalance", [account.address, hex(10**18)])
    token.allowlist(account.address, chain.pending_timestamp + YEAR, sender=compliance)
    token.mint(account.address, 100_000, b"\x7a" * 32, sender=minter)
    return account


def delegate(chain, account, target: str) -> None:
    """A real type-4 (EIP-7702) transaction by `account` setting its code to delegate to `target`
    (the zero address clears it)."""
    w3 = chain.provider.web3
    nonce = w3.eth.get_transaction_count(account.address)
    authorization = account.sign_authorization({"chainId": chain.chain_id, "address": target, "nonce": nonce + 1})
    tx = {
        "chainId": chain.chain_id, "nonce": nonce, "to": DEAD, "value": 0, "data": b"", "gas": 100_000,
        "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "authorizationList": [authorization],
    }
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1


def test_delegated_holder_signatures_follow_its_delegate(token, holder, alice, bob, accounts, chain):
    client = TokenClient.from_contract(token)
    relayer = accounts[29]
    plain_code = alice.deploy(project.BaselineERC20)  # any contract without isValidSignature
    self_signer = alice.deploy(project.EIP7702SelfSignerMock)

    # 1. delegated to code without ERC-1271: the holder's own signature no longer counts, on-chain or here
    delegate(chain, holder, plain_code.address)
    assert eip712.eip7702_delegate(holder.address) == plain_code.address
    signed = auth.sign(holder, auth.transfer_authorization(client, holder.address, bob, "10.00", valid_for=3600))
    m = signed.message
    with reverts(token.ERC3009InvalidSignature, authorizer=holder.address):
        token.transferWithAuthorization(holder.address, bob, 1_000, m["validAfter"], m["validBefore"], m["nonce"],
                                        *eip712.split(signed.signature), sender=relayer)
    message = one_line_error(auth.submit, client, signed, sender=relayer)
    assert "EIP-7702" in message and plain_code.address in message
    permit = auth.sign(holder, auth.permit(client, holder.address, bob, "5.00", deadline=chain.pending_timestamp + 600))
    assert "EIP-7702" in one_line_error(auth.submit, client, permit, sender=relayer)
    assert token.balanceOf(holder.address) == 100_000 and token.allowance(holder.address, bob) == 0

    # 2. delegated to code that accepts the account's own signature (ERC-1271): both work again
    delegate(chain, holder, self_signer.address)
    receipt = auth.submit(client, signed, sender=relayer)
    assert ev("Transfer", **{"from": holder.address, "to": bob.address, "value": 1_000}) in events(receipt)
    auth.submit(client, permit, sender=relayer)
    assert token.allowance(holder.address, bob) == 500

    # 3. delegation cleared: a plain account again, plain ECDSA
    delegate(chain, holder, ZERO)
    assert eip712.eip7702_delegate(holder.address) is None
    again = auth.sign(holder, auth.transfer_authorization(client, holder.address, bob, "1.00", valid_for=3600))
    auth.submit(client, again, sender=relayer)
    assert token.balanceOf(holder.address) == 100_000 - 1_100


def test_verify_refuses_what_ecdsa_in_the_token_refuses(token, alice, bob, accounts):
    """v = 0 or 1 (which eth-account alone would accept) and a high-s twin: the token's ECDSA refuses
    both, and so does the library's verification, before anything is sent."""
    client = TokenClient.from_contract(token)
    signed = auth.sign(alice, auth.transfer_authorization(client, alice, bob, "1.00", valid_for=3600))
    sig = signed.signature
    v_low = sig[:64] + bytes([sig[64] - 27])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = sig[:32] + (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big") + bytes([55 - sig[64]])
    for bad in (v_low, high_s):
        assert eip712.recover(signed.data, bad) == alice.address  # eth-account alone accepts it
        assert eip712.ecdsa_signer(signed.data, bad) is None
        forged = auth.SignedMessage(signed.data, bad)
        assert "not " + alice.address in one_line_error(auth.verify, client, forged)
    auth.verify(client, signed)  # the canonical form passes
