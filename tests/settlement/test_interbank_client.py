"""The interbank network's library client and CLI (deptoken.settlement.interbank, deptoken interbank) on
ape's Anvil: bank A's client alice pays bank B's client ana (cross-bank) or bob (same bank: a plain
transfer); every refusal comes before anything is sent, one line and typed; a payer's one signature
submitted by a relayer; collateral, early settlement, cycles and the reads."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ape import project
from eth_utils import keccak

from constants import INITIAL, YEAR
from deptoken.errors import (
    AccountInactive, AllowanceTooLow, InsufficientBalance, InvalidInput, LimitExceeded, ReferenceUsed, Refused, RoleMissing,
    TokenPaused,
)
from deptoken.settlement.interbank import (
    payment_reference,
    InterbankClient, SignedPayment, deploy_network, deploy_settlement_asset, payment_id_bytes, payment_nonce,
)
from deptoken.token import TokenClient
from helpers import deptoken_cli, one_line_error, set_time

COLLATERAL = 1_000_000  # 10,000.00 of the settlement asset, each bank
HEADROOM = COLLATERAL * 9 // 10  # a 10 % haircut
NETWORK_ALLOWANCE = 10**12


@pytest.fixture(scope="module")
def asset(interbank_people):
    central = interbank_people["central"]
    a = deploy_settlement_asset(central, "Tokenised USD reserves", "rUSD", 2, central)
    for who in ("operator_a", "operator_b"):
        a.setHolder(interbank_people[who], True, sender=central)
        a.mint(interbank_people[who], 10 * COLLATERAL, sender=central)
    return a


def _network(mode, token, bank_b, asset, interbank_people, chain, minter_admin, compliance) -> InterbankClient:
    """A network deployed and filled through the library: both banks joined, granted and collateralised."""
    admin = interbank_people["network_admin"]
    usd, usb = TokenClient.from_contract(token), TokenClient.from_contract(bank_b)
    ib = deploy_network(admin, asset, "USD", mode, 1_000, admin, interbank_people["settler"], tokens=[usd, usb])
    asset.setHolder(ib.address, True, sender=interbank_people["central"])
    for t, operator in ((token, interbank_people["operator_a"]), (bank_b, interbank_people["operator_b"])):
        ib.join(t.address, operator, sender=admin)
        t.configureMinter(ib.address, NETWORK_ALLOWANCE, sender=minter_admin)  # the bank's grant
        t.allowlist(ib.address, chain.pending_timestamp + YEAR, sender=compliance)
        ib.post_collateral(t.address, "10000.00", sender=operator)  # approves the asset first
    return ib


@pytest.fixture(scope="module")
def ib(token, bank_b, asset, interbank_people, chain, minter_admin, compliance, cnh_token):  # cnh_token: set up before any test
    return _network("net", token, bank_b, asset, interbank_people, chain, minter_admin, compliance)


@pytest.fixture(scope="module")
def usd(ib, token):
    return ib.token(token.address)


@pytest.fixture(scope="module")
def usb(ib, bank_b):
    return ib.token(bank_b.address)


def _state(chain, token, bank_b, *senders):
    """What a refused operation must leave as it was: the chain's height, the senders' nonces, balances."""
    return (chain.blocks.height, [chain.provider.get_nonce(s.address) for s in senders],
            [int(t.balanceOf(s)) for t in (token, bank_b) for s in senders])


# ------------------------------------------------------------------ paying


def test_pay_picks_the_network_across_banks_and_the_transfer_within_one(ib, usd, usb, token, bank_b, alice, bob, interbank_people):
    ana = interbank_people["ana"]
    assert ib.mode == "net" and ib.currency == "USD" and ib.members() == [token.address, bank_b.address]
    assert token.allowance(alice, ib.address) == 0
    result = ib.pay(alice, usd, usb, ana, "250.00", "PAY-1", sender=alice)  # approves the network first
    assert result.approve_receipt is not None and not result.same_bank and result.payment_id == keccak(text="PAY-1")
    assert token.balanceOf(alice) == INITIAL - 25_000 and bank_b.balanceOf(ana) == INITIAL + 25_000
    assert token.allowance(alice, ib.address) == 0  # approved exactly the amount
    a, b = ib.bank(usd), ib.bank(usb)
    assert (a.position, a.collateral, a.headroom, a.free_collateral) == (-25_000, COLLATERAL, HEADROOM - 25_000, COLLATERAL - 27_778)
    assert (b.position, b.headroom, b.operator, b.active, b.symbol) == (25_000, HEADROOM + 25_000, interbank_people["operator_b"].address, True, "EXUSB")
    [paid] = ib.payments()
    assert (paid.payment_id, paid.from_token, paid.to_token, paid.payer, paid.payee, paid.amount, paid.cycle, paid.tx) == (
        keccak(text="PAY-1"), token.address, bank_b.address, alice.address, ana.address, 25_000, 1, result.receipt.txn_hash)
    payref = payment_reference(alice.address, keccak(text="PAY-1"))  # the payer's id scoped by the payer, on both tokens
    assert token.isBurnRefUsed(payref) and bank_b.isDepositRefUsed(payref)
    assert ib.payments(payment_id="PAY-1") == [paid] and ib.payments(payment_id="PAY-2") == []

    # a 0x id is taken as it is; the payer's allowance is used without a second approval when it suffices
    token.approve(ib.address, 10_000, sender=alice)
    pid = "0x" + "ab" * 32
    result = ib.pay(alice, usd, usb, ana, "100.00", pid, sender=alice)
    assert result.approve_receipt is None and result.payment_id == bytes.fromhex("ab" * 32)
    assert ib.bank(usd).position == -35_000

    # the same bank: a plain transfer, nothing through the network
    before = token.balanceOf(bob)
    result = ib.pay(alice, usd, usd, bob, "10.00", "PAY-SAME", sender=alice)
    assert result.same_bank and result.approve_receipt is None
    assert token.balanceOf(bob) == before + 1_000 and ib.bank(usd).position == -35_000
    assert [e.event_name for e in result.receipt.events] == ["Transfer"] and len(ib.payments()) == 2


def test_every_refusal_comes_before_anything_is_sent(ib, usd, usb, token, bank_b, cnh_token, alice, bob, interbank_people, chain,
                                                     compliance, legal, pauser, minter_admin, minter):
    ana, admin = interbank_people["ana"], interbank_people["network_admin"]
    token.approve(ib.address, 10**9, sender=alice)
    ib.pay(alice, usd, usb, ana, "1.00", "USED-A", sender=alice)
    # the payment's reference (alice's id scoped by alice) used as a deposit reference at B, and as a burn
    # reference at A, outside the network
    bank_b.mint(interbank_people["ben"], 1, payment_reference(alice.address, keccak(text="USED-B")), sender=minter)
    token.mint(minter, 1, keccak(text="TREASURY-1"), sender=minter)
    token.burn(1, payment_reference(alice.address, keccak(text="USED-BURN")), sender=minter)

    def pay(amount="250.00", payment_id="PAY-X", payer=alice, to=None, payee=None, **kw):
        return ib.pay(payer, usd, to or usb, payee or ana, amount, payment_id, sender=kw.pop("sender", payer), **kw)

    plain = [  # refused on the inputs or the state as it is
        (lambda: pay(sender=bob), InvalidInput, f"the payer {alice.address} must send its payment"),
        (lambda: pay(payment_id="0x" + "00" * 32), InvalidInput, "payment id must not be zero"),
        (lambda: pay(amount="0"), InvalidInput, "amount '0' must be positive"),
        (lambda: pay(amount="1.001"), InvalidInput, "more than 2 decimal places"),
        (lambda: pay(to=ib.token(cnh_token.address)), Refused, f"EXCNH {cnh_token.address} is not a member of the interbank network"),
        (lambda: pay(payee=bob), AccountInactive, f"payee {bob.address} is not allowlisted on EXUSB"),
        (lambda: pay(payment_id="USED-A"), ReferenceUsed, f"was already used by {alice.address} in the network"),
        (lambda: pay(payment_id="USED-BURN"), ReferenceUsed, "was already used at EXUSD (as a burn reference)"),
        (lambda: pay(payment_id="USED-B"), ReferenceUsed, "was already used at EXUSB (as a deposit reference)"),
        (lambda: pay(amount="9000.00"), LimitExceeded, "bank EXUSD may pay out 8,999.00 EXUSD more now"),
        (lambda: pay(amount="10000.01"), InsufficientBalance, "holds 9,999.00 EXUSD, less than 10,000.01"),
    ]
    state = _state(chain, token, bank_b, alice, bob)
    for call, kind, message in plain:
        assert message in one_line_error(call), message
        with pytest.raises(kind):
            call()
    assert _state(chain, token, bank_b, alice, bob) == state

    setups = [  # each set up, refused with nothing sent, undone
        (lambda: ib.contract.setBankActive.transact(bank_b.address, False, sender=admin), Refused,
         "bank EXUSB is suspended from the interbank network", {}),
        (lambda: token.pause(sender=pauser), TokenPaused, "EXUSD is paused: cannot pay", {}),
        (lambda: bank_b.pause(sender=pauser), TokenPaused, "EXUSB is paused: cannot pay", {}),
        (lambda: token.freezeAccount(alice, sender=compliance), AccountInactive, f"payer {alice.address} is frozen on EXUSD", {}),
        (lambda: token.removeFromAllowlist(ib.address, sender=compliance), AccountInactive,
         f"the network {ib.address} is not allowlisted on EXUSD (its bank must allowlist the network", {}),
        (lambda: bank_b.freezeAccount(ana, sender=compliance), AccountInactive, f"payee {ana.address} is frozen on EXUSB", {}),
        (lambda: token.setFrozenTokens(alice, INITIAL, sender=legal), InsufficientBalance, "has 0.00 EXUSD unfrozen", {}),
        (lambda: bank_b.configureMinter(ib.address, 24_999, sender=minter_admin), LimitExceeded,
         "bank EXUSB lets the network mint 249.99 EXUSB more, less than 250.00 EXUSB", {}),
        (lambda: bank_b.setMinterRateLimit(ib.address, 10_000, 3_600, sender=minter_admin), LimitExceeded,
         "bank EXUSB's rate limit lets the network mint 100.00 EXUSB now, less than 250.00", {}),
        (lambda: token.removeMinter(ib.address, sender=minter_admin), RoleMissing,
         "the network lacks the minter role on EXUSD: it cannot burn", {}),
        (lambda: token.approve(ib.address, 24_999, sender=alice), AllowanceTooLow,
         "has approved the network for 249.99 EXUSD, less than 250.00 EXUSD: approve it first", {"approve": False}),
        (lambda: ib.withdraw_collateral(usd, "9998.88", interbank_people["operator_a"], sender=interbank_people["operator_a"]), LimitExceeded,
         "bank EXUSD may pay out 0.00 EXUSD more now", {}),
    ]
    for setup, kind, message, kw in setups:
        snapshot = chain.snapshot()
        setup()
        state = _state(chain, token, bank_b, alice, bob)
        with pytest.raises(kind) as info:
            pay(**kw)
        assert message in str(info.value) and "\n" not in str(info.value), (message, str(info.value))
        assert _state(chain, token, bank_b, alice, bob) == state
        chain.restore(snapshot)
    pay()  # every control lifted: it pays
    assert bank_b.balanceOf(ana) == INITIAL + 100 + 25_000


def test_a_signed_payment_is_submitted_by_a_relayer(ib, usd, usb, token, bank_b, alice, bob, interbank_people, chain, tmp_path):
    ana, ben, relayer = interbank_people["ana"], interbank_people["ben"], interbank_people["relayer"]
    signed = ib.sign_payment(alice, usd, usb, ana, "300.00", "PAY-SIG", 3600)
    m = signed.authorization.message
    nonce = payment_nonce(ib.address, bank_b.address, ana.address, keccak(text="PAY-SIG"))
    assert nonce == ib.contract.paymentNonce(bank_b.address, ana.address, keccak(text="PAY-SIG"))  # as the contract computes it
    assert (m["to"], m["value"], m["nonce"], signed.payer, signed.amount) == (ib.address, 30_000, nonce, alice.address, 30_000)
    loaded = SignedPayment.load(signed.save(tmp_path / "pay.json"))
    assert loaded == signed

    # altered terms: refused before sending, whatever the relayer tries
    state = _state(chain, token, bank_b, alice, relayer)
    assert "its nonce differs" in one_line_error(ib.submit_signed_payment, replace(signed, payee=ben.address), sender=relayer)
    assert "its nonce differs" in one_line_error(ib.submit_signed_payment, replace(signed, payment_id=keccak(text="other")), sender=relayer)
    assert "was signed for the network" in one_line_error(ib.submit_signed_payment, replace(signed, network=bob.address), sender=relayer)
    assert _state(chain, token, bank_b, alice, relayer) == state

    receipt = ib.submit_signed_payment(loaded, sender=relayer)
    assert [e.event_name for e in receipt.decode_logs(ib.contract.InterbankPayment)] == ["InterbankPayment"]
    assert token.balanceOf(alice) == INITIAL - 30_000 and bank_b.balanceOf(ana) == INITIAL + 30_000
    assert token.authorizationState(alice, nonce) and ib.bank(usd).position == -30_000
    with pytest.raises(ReferenceUsed):
        ib.submit_signed_payment(loaded, sender=relayer)  # the id is used at both banks now
    assert "plain transfer" in one_line_error(ib.sign_payment, alice, usd, usd, bob, "1.00", "SAME", 60)
    late = ib.sign_payment(alice, usd, usb, ana, "1.00", "PAY-LATE", 60)
    set_time(chain, late.authorization.message["validBefore"] + 1)
    state = _state(chain, token, bank_b, alice, relayer)
    assert "the authorization expired at" in one_line_error(ib.submit_signed_payment, late, sender=relayer)
    assert _state(chain, token, bank_b, alice, relayer) == state


# ------------------------------------------------------------------ collateral and settlement


def test_collateral_post_withdraw_and_early_settlement(ib, usd, usb, token, alice, interbank_people, asset, chain):
    op_a, op_b, ana = interbank_people["operator_a"], interbank_people["operator_b"], interbank_people["ana"]
    before = asset.balanceOf(op_a)
    ib.post_collateral(usd, "500.00", sender=op_a)  # the asset approved first (allowance 0)
    assert asset.balanceOf(op_a) == before - 50_000 and ib.bank(usd).collateral == COLLATERAL + 50_000
    assert "approve it first" in one_line_error(ib.post_collateral, usd, "1.00", sender=op_a, approve=False)
    with pytest.raises(Refused, match="is not an admitted holder of rUSD"):
        ib.post_collateral(usd, "1.00", sender=alice)

    ib.pay(alice, usd, usb, ana, "4500.00", "PAY-C1", sender=alice)  # A owes 4,500.00: 5,000.00 of collateral needed
    free = COLLATERAL + 50_000 - 500_000
    assert ib.bank(usd).free_collateral == free
    state = (chain.blocks.height, asset.balanceOf(op_a), chain.provider.get_nonce(op_a.address))
    with pytest.raises(InsufficientBalance, match=r"only 5,500.00 rUSD of bank EXUSD's collateral is free"):
        ib.withdraw_collateral(usd, "5500.01", op_a, sender=op_a)
    with pytest.raises(RoleMissing, match="only bank EXUSD's operator"):
        ib.withdraw_collateral(usd, "1.00", op_b, sender=op_b)
    with pytest.raises(Refused, match="is not an admitted holder of rUSD"):
        ib.withdraw_collateral(usd, "1.00", alice, sender=op_a)
    with pytest.raises(Refused, match="bank EXUSD owes 4,500.00 EXUSD, less than the 4,500.01 EXUSD to settle early"):
        ib.settle_early(usd, "4500.01", sender=op_a)
    with pytest.raises(RoleMissing):
        ib.settle_early(usd, "1.00", sender=op_b)
    assert (chain.blocks.height, asset.balanceOf(op_a), chain.provider.get_nonce(op_a.address)) == state

    ib.withdraw_collateral(usd, "5500.00", op_a, sender=op_a)
    assert asset.balanceOf(op_a) == before - 50_000 + free and ib.bank(usd).free_collateral == 0
    ib.settle_early(usd, "1000.00", sender=op_a)
    a = ib.bank(usd)
    assert (a.position, a.collateral) == (-350_000, 400_000) and int(ib.contract.settledEarly()) == 100_000


def test_settle_cycle_and_the_reads(ib, usd, usb, token, bank_b, alice, interbank_people, chain):
    ana, settler = interbank_people["ana"], interbank_people["settler"]
    bank_b.approve(ib.address, 10**9, sender=ana)
    ib.pay(alice, usd, usb, ana, "700.00", "C-1", sender=alice)
    ib.pay(ana, usb, usd, alice, "200.00", "C-2", sender=ana)
    positions = ib.positions()
    assert [(p.symbol, p.position, p.headroom) for p in positions] == [
        ("EXUSD", -50_000, HEADROOM - 50_000), ("EXUSB", 50_000, HEADROOM + 50_000)]
    assert [p.payment_id for p in ib.payments()] == [keccak(text="C-1"), keccak(text="C-2")]
    with pytest.raises(RoleMissing, match="lacks the settlement operator role"):
        ib.settle_cycle(sender=alice)
    receipt = ib.settle_cycle(sender=settler)
    [c] = ib.cycles()
    assert (c.cycle, c.positions, c.tx) == (1, {token.address: -50_000, bank_b.address: 50_000}, receipt.txn_hash)
    assert [(p.position, p.collateral) for p in ib.positions()] == [(0, COLLATERAL - 50_000), (0, COLLATERAL + 50_000)]
    assert ib.cycle() == 2 and ib.cycles(from_block=receipt.block_number) == [c]


def test_admin_operations(ib, usd, usb, token, bank_b, cnh_token, alice, interbank_people):
    admin = interbank_people["network_admin"]
    with pytest.raises(InvalidInput, match="EXCNH is in CNH, not the network's USD"):
        ib.join(cnh_token.address, interbank_people["operator_a"], sender=admin)
    with pytest.raises(Refused, match="already a member"):
        ib.join(usd, interbank_people["operator_a"], sender=admin)
    with pytest.raises(RoleMissing, match="lacks the network's admin role needed to admit banks"):
        ib.join(cnh_token.address, interbank_people["operator_a"], sender=alice)
    ib.set_bank_active(usb, False, sender=admin)
    assert not ib.bank(usb).active
    with pytest.raises(Refused, match="already suspended"):
        ib.set_bank_active(usb, False, sender=admin)
    ib.set_bank_active(usb, True, sender=admin)
    with pytest.raises(InvalidInput, match="from 0 to 5000"):
        ib.set_haircut(5001, sender=admin)
    ib.set_haircut(2_000, sender=admin)
    assert ib.haircut_bps() == 2_000 and ib.bank(usd).headroom == COLLATERAL * 8 // 10
    assert ib.member("exusb").address == bank_b.address and "no member bank" in one_line_error(ib.member, "EXCNH")
    assert InterbankClient.at(ib.address).members() == ib.members()
    assert "no InterbankNetwork" in one_line_error(InterbankClient.at, token.address)
    assert payment_id_bytes("PAY-1") == keccak(text="PAY-1") and "32 non-zero bytes" in one_line_error(payment_id_bytes, bytes(32))


def test_gross_mode_has_no_cycles(token, bank_b, asset, interbank_people, chain, minter_admin, compliance, alice):
    gross = _network("gross", token, bank_b, asset, interbank_people, chain, minter_admin, compliance)
    usd, usb = gross.token(token.address), gross.token(bank_b.address)
    assert gross.mode == "gross" and gross.bank(usd).headroom == COLLATERAL  # no haircut on real settlement money
    gross.withdraw_collateral(usd, "9000.00", interbank_people["operator_a"], sender=interbank_people["operator_a"])  # nothing owed: all free
    with pytest.raises(LimitExceeded, match=r"bank EXUSD may pay out 1,000.00 EXUSD more now \(its collateral\)"):
        gross.pay(alice, usd, usb, interbank_people["ana"], "1000.01", "G-1", sender=alice)
    gross.pay(alice, usd, usb, interbank_people["ana"], "250.00", "G-1", sender=alice)
    assert (gross.bank(usd).collateral, gross.bank(usb).collateral) == (COLLATERAL // 10 - 25_000, COLLATERAL + 25_000)
    with pytest.raises(Refused, match="the network settles gross: cannot settle a cycle"):
        gross.settle_cycle(sender=interbank_people["settler"])


# ------------------------------------------------------------------ the CLI (in-process)


def test_cli(ib, token, bank_b, alice, bob, interbank_people, asset, chain, tmp_path):
    run = deptoken_cli(chain, "interbank")
    net = ["--interbank", ib.address]
    ana = interbank_people["ana"]

    shown = run("show", *net)
    assert (shown["currency"], shown["mode"], shown["haircut_bps"], shown["cycle"], shown["members"]) == (
        "USD", "net", 1_000, 1, [token.address, bank_b.address])
    paid = run("pay", *net, "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", ana.address, "--amount", "250.00",
               "--id", "CLI-1", "--as", "7")
    assert (paid["kind"], paid["amount"], paid["payment_id"], paid["payer"]) == ("interbank", 25_000, "0x" + keccak(text="CLI-1").hex(), alice.address)
    assert paid["approve_tx"].startswith("0x") and bank_b.balanceOf(ana) == INITIAL + 25_000
    same = run("pay", *net, "--from-token", token.address, "--to-token", token.address, "--to", bob.address, "--amount", "1.00",
               "--id", "CLI-SAME", "--as", "7")
    assert same["kind"] == "transfer" and token.balanceOf(bob) == INITIAL + 100
    # a refusal: one line, exit 1, nothing sent
    height = chain.blocks.height
    error = run("pay", *net, "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", ana.address, "--amount", "250.00",
                "--id", "CLI-1", "--as", "7", code=1)
    assert error == f"error: payment id 0x{keccak(text='CLI-1').hex()} was already used by {alice.address} in the network"
    assert chain.blocks.height == height
    assert "is not allowlisted on EXUSB" in run("pay", *net, "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", bob.address,
                                                "--amount", "1.00", "--id", "CLI-2", "--as", "7", code=1, as_json=False)

    out = tmp_path / "pay.json"
    signed = run("sign", *net, "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", ana.address, "--amount", "50.00",
                 "--id", "CLI-SIG", "--valid-for", "1h", "--out", str(out), "--as", "7")
    assert (signed["amount"], signed["payer"], signed["file"]) == (5_000, alice.address, str(out))
    submitted = run("submit", str(out), "--as", "27")  # the file names the network
    assert submitted["tx"].startswith("0x") and bank_b.balanceOf(ana) == INITIAL + 30_000

    positions = run("positions", *net)
    assert [(p["symbol"], p["position"]) for p in positions] == [("EXUSD", -30_000), ("EXUSB", 30_000)]
    assert run("show", "EXUSB", *net)["position"] == 30_000
    assert [p["payment_id"] for p in run("payments", *net)] == ["0x" + keccak(text=i).hex() for i in ("CLI-1", "CLI-SIG")]
    text = run("positions", *net, as_json=False)
    assert "EXUSD: owes 300.00 EXUSD, collateral 10,000.00 rUSD" in text

    posted = run("collateral", "post", *net, "--bank", "EXUSD", "--amount", "100.00", "--as", "17")
    assert posted["collateral"] == COLLATERAL + 10_000
    withdrawn = run("collateral", "withdraw", *net, "--bank", "EXUSD", "--amount", "50.00", "--to", interbank_people["operator_a"].address,
                    "--as", "17")
    assert withdrawn["collateral"] == COLLATERAL + 5_000
    assert "only bank EXUSD's operator" in run("collateral", "withdraw", *net, "--bank", "EXUSD", "--amount", "1.00",
                                               "--to", interbank_people["operator_a"].address, "--as", "18", code=1)
    early = run("settle-early", *net, "--bank", "EXUSD", "--amount", "100.00", "--as", "17")
    assert (early["position"], early["collateral"]) == (-20_000, COLLATERAL + 5_000 - 10_000)
    assert "lacks the settlement operator role" in run("settle", *net, "--as", "7", code=1)
    settled = run("settle", *net, "--as", "16")
    assert settled["cycle"] == 1 and settled["positions"] == {token.address: -20_000, bank_b.address: 30_000}
    assert run("cycles", *net) == [settled]
    assert "cycle 1 settled: EXUSD -200.00 rUSD, EXUSB +300.00 rUSD" in run("cycles", *net, as_json=False)
    assert run("show", *net)["cycle"] == 2
    assert "give the interbank network with --interbank" in run("show", code=1)

    # the network's admin (account 15)
    assert run("suspend", "EXUSB", *net, "--as", "15")["active"] is False
    assert "bank EXUSB is suspended" in run("pay", *net, "--from-token", "EXUSD", "--to-token", "EXUSB", "--to", ana.address,
                                            "--amount", "1.00", "--id", "CLI-3", "--as", "7", code=1)
    assert "lacks the network's admin role" in run("readmit", "EXUSB", *net, "--as", "7", code=1)
    assert run("readmit", "EXUSB", *net, "--as", "15")["active"] is True
    assert run("haircut", "2000", *net, "--as", "15")["haircut_bps"] == 2_000
    assert "from 0 to 5000" in run("haircut", "5001", *net, "--as", "15", code=1)
    assert project.InterbankNetwork.at(ib.address).cycle() == 2
