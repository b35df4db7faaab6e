"""EIP-2612 permits and EIP-3009 transfer authorizations on the token, signed with eth-account
(deptoken.token.authorizations), for key holders and ERC-1271 contract wallets, under the token's rules."""

from __future__ import annotations

import json

import pytest
from ape import project
from eth_account.messages import encode_typed_data

from deptoken.token import authorizations as auth
from deptoken import eip712
from deptoken.token import TokenClient
from helpers import INITIAL, YEAR, deptoken_cli, ev, events, one_line_error, reverts, set_time


@pytest.fixture(scope="module")
def client(token, cnh_token, wallet):  # module fixtures first used mid-module would cost a rebase
    return TokenClient.from_contract(token)


@pytest.fixture(scope="session")
def relayer(accounts):
    """Pays the gas of submitting others' signatures; holds no tokens and is not allowlisted."""
    return accounts[29]


@pytest.fixture(scope="module")
def wallet(token, alice, bob, compliance, minter, chain):
    """A 2-of-2 contract wallet of alice and bob, allowlisted, holding 5,000.00."""
    w = alice.deploy(project.ERC1271MultisigMock, [alice.address, bob.address])
    token.allowlist(w, chain.pending_timestamp + YEAR, sender=compliance)
    token.mint(w, 500_000, b"\x77" * 32, sender=minter)
    return w


def _wallet_signature(data, *owners) -> bytes:
    return b"".join(eip712.sign(o, data) for o in owners)


def _nonce_of(account) -> int:
    from ape import chain

    return chain.provider.get_nonce(account.address)


# ------------------------------------------------------------------ EIP-2612 permit


def test_permit_sets_allowance_and_uses_nonce(token, client, alice, bob, carol, chain, relayer):
    deadline = chain.pending_timestamp + 3600
    signed = auth.sign(alice, auth.permit(client, alice, bob, "100.00", deadline=deadline))
    assert token.nonces(alice) == 0
    receipt = auth.submit(client, signed, sender=relayer)  # anyone pays the gas
    assert events(receipt) == [ev("Approval", owner=alice, spender=bob, value=10_000)]
    assert token.allowance(alice, bob) == 10_000 and token.nonces(alice) == 1
    token.transferFrom(alice, carol, 10_000, sender=bob)
    assert token.balanceOf(carol) == 10_000
    with reverts(token.ERC2612InvalidSignature, owner=alice):  # replay: the nonce moved on
        token.permit(alice, bob, 10_000, deadline, *eip712.split(signed.signature), sender=relayer)


def test_permit_refusals(token, client, alice, bob, chain, relayer):
    deadline = chain.pending_timestamp + 100
    data = auth.permit(client, alice, bob, "1.00", deadline=deadline)
    signed = auth.sign(alice, data)
    by_bob = auth.sign(bob, data)
    with reverts(token.ERC2612InvalidSignature, owner=alice):
        token.permit(alice, bob, 100, deadline, *eip712.split(by_bob.signature), sender=relayer)
    with reverts(token.ERC2612InvalidSignature, owner=alice):  # altered value
        token.permit(alice, bob, 101, deadline, *eip712.split(signed.signature), sender=relayer)
    assert "not 0x" in one_line_error(auth.submit, client, by_bob, sender=relayer)
    set_time(chain, deadline + 1)
    with reverts(token.ERC2612ExpiredSignature, deadline=deadline):
        token.permit(alice, bob, 100, deadline, *eip712.split(signed.signature), sender=relayer)
    nonce = _nonce_of(relayer)
    assert "expired" in one_line_error(auth.submit, client, signed, sender=relayer)
    assert _nonce_of(relayer) == nonce and token.allowance(alice, bob) == 0


def test_permit_by_contract_wallet(token, client, wallet, alice, bob, carol, chain):
    data = auth.permit(client, wallet, carol, "20.00", deadline=chain.pending_timestamp + 600)
    signature = _wallet_signature(data, alice, bob)  # 130 bytes: the bytes overload
    auth.submit(client, auth.SignedMessage(data, signature), sender=carol)
    assert token.allowance(wallet, carol) == 2_000 and token.nonces(wallet) == 1
    token.transferFrom(wallet, carol, 2_000, sender=carol)
    assert token.balanceOf(wallet) == 500_000 - 2_000
    data = auth.permit(client, wallet, carol, "1.00", deadline=chain.pending_timestamp + 600)
    half = eip712.sign(alice, data) + eip712.sign(carol, data)  # bob did not sign
    with reverts(token.ERC2612InvalidSignature, owner=wallet):
        token.permit(wallet, carol, 100, data["message"]["deadline"], half, sender=carol)


# ------------------------------------------------------------------ EIP-3009


def test_transfer_with_authorization_by_any_relayer(token, client, alice, bob, relayer):
    data = auth.transfer_authorization(client, alice, bob, "125.50", valid_for=3600)
    signed = auth.sign(alice, data)
    nonce = data["message"]["nonce"]
    assert not token.authorizationState(alice, nonce)
    receipt = auth.submit(client, signed, sender=relayer)  # not allowlisted: it moves nothing of its own
    assert events(receipt) == [
        ev("AuthorizationUsed", authorizer=alice, nonce=nonce),
        ev("Transfer", **{"from": alice, "to": bob, "value": 12_550}),
    ]
    assert token.balanceOf(bob) == INITIAL + 12_550 and token.authorizationState(alice, nonce)
    m = data["message"]
    with reverts(token.ERC3009UsedAuthorization, authorizer=alice, nonce=nonce):
        token.transferWithAuthorization(alice, bob, 12_550, m["validAfter"], m["validBefore"], nonce,
                                        *eip712.split(signed.signature), sender=relayer)
    assert "already used" in one_line_error(auth.submit, client, signed, sender=relayer)


def test_authorization_window_and_alterations(token, client, alice, bob, carol, chain, relayer):
    now = chain.pending_timestamp
    data = auth.transfer_authorization(client, alice, bob, "1.00", valid_after=now + 100, valid_before=now + 200)
    m, sig = data["message"], eip712.split(auth.sign(alice, data).signature)
    args = (alice, bob, 100, m["validAfter"], m["validBefore"], m["nonce"])
    with reverts(token.ERC3009InvalidAuthorizationTime, validAfter=now + 100, validBefore=now + 200):
        token.transferWithAuthorization(*args, *sig, sender=relayer)
    set_time(chain, now + 150)
    for altered in ((alice, carol, *args[2:]), (alice, bob, 101, *args[3:]), (*args[:5], b"\x01" * 32)):
        with reverts(token.ERC3009InvalidSignature, authorizer=alice):
            token.transferWithAuthorization(*altered, *sig, sender=relayer)
    token.transferWithAuthorization(*args, *sig, sender=relayer)
    assert token.balanceOf(bob) == INITIAL + 100
    late = auth.transfer_authorization(client, alice, bob, "1.00", valid_before=now + 200)
    set_time(chain, now + 200)  # validBefore is exclusive
    lm, late_sig = late["message"], eip712.split(auth.sign(alice, late).signature)
    with reverts(token.ERC3009InvalidAuthorizationTime, validAfter=0, validBefore=now + 200):
        token.transferWithAuthorization(alice, bob, 100, 0, now + 200, lm["nonce"], *late_sig, sender=relayer)


def test_receive_with_authorization_only_by_payee(token, client, alice, bob, carol):
    data = auth.transfer_authorization(client, alice, bob, "3.00", valid_for=600, receive=True)
    signed = auth.sign(alice, data)
    m = data["message"]
    args = (alice, bob, 300, m["validAfter"], m["validBefore"], m["nonce"], *eip712.split(signed.signature))
    with reverts(token.ERC3009CallerNotPayee, caller=carol, payee=bob):
        token.receiveWithAuthorization(*args, sender=carol)
    assert "only the payee" in one_line_error(auth.submit, client, signed, sender=carol)
    # the same signature is not a TransferWithAuthorization: the type is part of what was signed
    with reverts(token.ERC3009InvalidSignature, authorizer=alice):
        token.transferWithAuthorization(*args, sender=carol)
    auth.submit(client, signed, sender=bob)
    assert token.balanceOf(bob) == INITIAL + 300


def test_cancel_authorization(token, client, alice, bob, relayer):
    data = auth.transfer_authorization(client, alice, bob, "5.00", valid_for=600)
    signed = auth.sign(alice, data)
    nonce = data["message"]["nonce"]
    cancel = auth.sign(alice, auth.cancel_authorization(client, alice, nonce))
    forged = auth.sign(bob, auth.cancel_authorization(client, alice, nonce))
    with reverts(token.ERC3009InvalidSignature, authorizer=alice):
        token.cancelAuthorization(alice, nonce, *eip712.split(forged.signature), sender=relayer)
    receipt = auth.submit(client, cancel, sender=relayer)
    assert events(receipt) == [ev("AuthorizationCanceled", authorizer=alice, nonce=nonce)]
    assert "already used or cancelled" in one_line_error(auth.submit, client, signed, sender=relayer)
    m = data["message"]
    with reverts(token.ERC3009UsedAuthorization, authorizer=alice, nonce=nonce):
        token.transferWithAuthorization(alice, bob, 500, m["validAfter"], m["validBefore"], nonce,
                                        *eip712.split(signed.signature), sender=relayer)
    with reverts(token.ERC3009UsedAuthorization, authorizer=alice, nonce=nonce):
        token.cancelAuthorization(alice, nonce, *eip712.split(cancel.signature), sender=relayer)
    assert token.balanceOf(bob) == INITIAL


@pytest.mark.parametrize("rule", ["payee not allowlisted", "payer frozen", "lien", "paused"])
def test_token_rules_apply_to_authorizations(token, client, rule, alice, bob, compliance, legal, pauser, outsider):
    payee = outsider if rule == "payee not allowlisted" else bob
    data = auth.transfer_authorization(client, alice, payee, "10.00", valid_for=600)
    signed = auth.sign(alice, data)
    m = data["message"]
    args = (alice, payee, 1_000, m["validAfter"], m["validBefore"], m["nonce"], *eip712.split(signed.signature))
    if rule == "payer frozen":
        token.freezeAccount(alice, sender=compliance)
        expected, inputs, message = token.ERC7943CannotSend, {"account": alice}, "payer"
    elif rule == "lien":
        token.setFrozenTokens(alice, INITIAL - 999, sender=legal)
        expected, inputs, message = token.ERC7943InsufficientUnfrozenBalance, {"account": alice, "amount": 1_000, "unfrozen": 999}, "unfrozen"
    elif rule == "paused":
        token.pause(sender=pauser)
        expected, inputs, message = token.EnforcedPause, {}, "paused"
    else:
        expected, inputs, message = token.ERC7943CannotReceive, {"account": outsider}, "not allowlisted"
    assert message in one_line_error(auth.submit, client, signed, sender=bob)
    with reverts(expected, **inputs):
        token.transferWithAuthorization(*args, sender=bob)
    assert not token.authorizationState(alice, m["nonce"])  # the refusal used nothing up


def test_contract_wallet_pays_by_authorization(token, client, wallet, alice, bob, carol):
    data = auth.transfer_authorization(client, wallet, carol, "7.00", valid_for=600)
    auth.submit(client, auth.SignedMessage(data, _wallet_signature(data, alice, bob)), sender=carol)
    assert token.balanceOf(carol) == 700
    data = auth.transfer_authorization(client, wallet, carol, "7.00", valid_for=600)
    only_alice = auth.SignedMessage(data, eip712.sign(alice, data) + eip712.sign(alice, data))
    assert "signature is not" in one_line_error(auth.submit, client, only_alice, sender=carol)
    m = data["message"]
    with reverts(token.ERC3009InvalidSignature, authorizer=wallet):
        token.transferWithAuthorization(wallet, carol, 700, m["validAfter"], m["validBefore"], m["nonce"],
                                        only_alice.signature, sender=carol)


# ------------------------------------------------------------------ the Python side


def test_signed_file_round_trip_and_checks(token, cnh_token, client, alice, bob, tmp_path):
    data = auth.transfer_authorization(client, alice, bob, "2.50", valid_for=600)
    signed = auth.sign(alice, data)
    path = signed.save(tmp_path / "auth.json")
    loaded = auth.SignedMessage.load(path)
    assert loaded == signed and loaded.signer == alice.address
    assert eip712.recover(loaded.data, loaded.signature) == alice.address
    assert encode_typed_data(full_message=loaded.data).header == token.DOMAIN_SEPARATOR()

    raw = json.loads(path.read_text())
    raw["typedData"]["message"]["value"] = 2_000_000
    tampered = auth.SignedMessage.from_json(json.dumps(raw))
    assert "signature is not" in one_line_error(auth.verify, client, tampered)
    raw["typedData"]["primaryType"] = "Mint"
    assert "unknown authorization kind" in one_line_error(auth.SignedMessage.from_json, json.dumps(raw))
    assert "not a signed authorization" in one_line_error(auth.SignedMessage.from_json, "{}")
    assert "not found" in one_line_error(auth.SignedMessage.load, tmp_path / "missing.json")

    other = TokenClient.from_contract(cnh_token)  # signed for the USD token, shown to the CNH token
    assert "not this token" in one_line_error(auth.verify, other, signed)
    assert "valid_for" in one_line_error(auth.transfer_authorization, client, alice, bob, "1", valid_for=0)
    assert "decimal" in one_line_error(auth.transfer_authorization, client, alice, bob, "1.001", valid_for=60)
    assert "address" in one_line_error(auth.transfer_authorization, client, alice, "0x1234", "1", valid_for=60)


def test_domain_is_per_token_and_chain(token, cnh_token, chain):
    usd, cnh = eip712.contract_domain(token), eip712.contract_domain(cnh_token)
    assert usd == {"name": "Example Bank USD Deposit", "version": "1", "chainId": chain.chain_id,
                   "verifyingContract": token.address}
    assert cnh["name"] == "Example Bank Hong Kong CNH Deposit" and cnh["verifyingContract"] == cnh_token.address
    assert token.DOMAIN_SEPARATOR() != cnh_token.DOMAIN_SEPARATOR()


def test_cli_sign_verify_submit(token, alice, bob, chain, tmp_path):
    """`deptoken auth`: the payer signs into a file, anyone verifies and submits it; refusals are one line."""
    run = deptoken_cli(chain, "auth")
    path = tmp_path / "pay.json"
    signed = run("sign-transfer", "--token", token.address, "--to", bob.address, "--amount", "12.34", "--out", str(path), "--as", "7")
    assert (signed["kind"], signed["signer"], signed["value"]) == ("TransferWithAuthorization", alice.address, 1234)
    assert run("verify", str(path))["signer"] == alice.address  # the token comes from the file's domain
    assert run("submit", str(path), "--as", "29")["tx"].startswith("0x")
    assert token.balanceOf(bob) == INITIAL + 1234
    assert "already used or cancelled" in run("submit", str(path), "--as", "29", code=1)
    assert "exists" in run("sign-transfer", "--token", token.address, "--to", bob.address, "--amount", "1",
                           "--out", str(path), "--as", "7", code=2)
    assert "more than 2 decimal places" in run("sign-permit", "--token", token.address, "--spender", bob.address, "--amount", "1.001",
                                      "--out", str(tmp_path / "p.json"), "--as", "7", code=1)
