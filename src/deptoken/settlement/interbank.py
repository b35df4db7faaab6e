"""Interbank payments (``contracts/settlement/InterbankNetwork.sol``): a client of bank A pays a client of
bank B in one transaction (A-tokens burned, B-tokens minted, A owes B), and the banks settle what they owe
each other in a settlement asset they post as collateral.

Same-bank payments keep using the plain transfer: :meth:`InterbankClient.pay` picks the path from the
two tokens (the same token: ``TokenClient.transfer``; two members: the network's ``pay``). Every
operation checks first and raises a one-line, typed ``deptoken.errors`` error, having sent nothing:
both banks members and active, the payer active at A with the unfrozen balance, the payee active at B,
neither token paused, the payment id unused in the network and at both banks (``ReferenceUsed``), the amount within the
payer bank's headroom and within what bank B lets the network mint (``LimitExceeded``), the payer's
allowance (approved first with ``approve=True``, the default).

Payment ids are text (hashed with keccak-256, as other bank references) or ``0x`` + 64 hex, usable
once in the network; the same id is the burn reference at A and the deposit reference at B. Amounts are
currency units (text, ``int``, ``Decimal``) on the way in; reads give minor units.

Usage::

    asset = deploy_settlement_asset(central, "Tokenised USD reserves", "rUSD", 2, central)
    ib = deploy_network(admin, asset, "USD", "net", 1_000, admin=admin, operator=settler)   # or InterbankClient.at("0x...")
    ib.join(bank_a, operator_a, sender=admin)          # then each bank grants the network the minter role
                                                       # with an allowance and allowlists it on its token
    ib.post_collateral(bank_a, "10000.00", sender=operator_a)          # approves the asset first if needed
    ib.pay(alice, bank_a, bank_b, ana, "250.00", "PAY-1", sender=alice) # PaymentResult
    signed = ib.sign_payment(alice, bank_a, bank_b, ana, "250.00", "PAY-2", valid_for=3600)
    signed.save("pay-2.json"); ib.submit_signed_payment(SignedPayment.load("pay-2.json"), sender=relayer)
    ib.bank(bank_a) -> BankPosition; ib.positions() -> [BankPosition]; ib.payments(); ib.cycles()
    ib.withdraw_collateral(bank_a, "100.00", operator_a, sender=operator_a)   # only the free collateral
    ib.settle_early(bank_a, "50.00", sender=operator_a)                        # net mode: pay down a debit
    ib.settle_cycle(sender=settler)                                            # net mode: close the cycle
    ib.set_bank_active(bank_b, False, sender=admin); ib.set_haircut(2_000, sender=admin)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from .. import eip712
from ..amounts import Amount, format_amount, units_of
from ..chain import code_at
from ..contracts import answers, as_contract, contract_at
from ..errors import (
    AllowanceTooLow, DepositTokenError, HeadroomExceeded, InsufficientBalance, InvalidInput, LimitExceeded, ReferenceUsed,
    Refused, RoleMissing,
)
from ..token import SUPPLY_CAP, TokenClient, send_checked
from ..token.authorizations import RECEIVE, SignedMessage, sign, transfer_authorization, verify
from ..token.rate_limits import read_rate_limit
from ..token.sending import Transport
from ..times import parse_duration
from ..validation import address_of, parse_address, parse_bytes32, reference_to_bytes32
from .tokens import TokenClients

MODES = ("net", "gross")  # IInterbankNetwork.Mode, in order
MAX_HAIRCUT_BPS = 5000  # InterbankNetwork.MAX_HAIRCUT_BPS
BPS = 10_000
ADMIN_ROLE = bytes(32)
SETTLEMENT_OPERATOR_ROLE = keccak(text="SETTLEMENT_OPERATOR_ROLE")
PAYMENT_TYPEHASH = keccak(text="InterbankPayment(address network,address toToken,address payee,bytes32 paymentId)")


def payment_id_bytes(payment_id: str | bytes) -> bytes:
    """The bytes32 of a payment id: 32 non-zero bytes as given, ``0x`` + 64 hex, or text (keccak-256)."""
    if isinstance(payment_id, bytes | bytearray):
        if len(payment_id) != 32 or not any(payment_id):
            raise InvalidInput("payment id must be 32 non-zero bytes")
        return bytes(payment_id)
    return reference_to_bytes32(payment_id, "payment id")


def payment_nonce(network: str, to_token: str, payee: str, payment_id: bytes) -> bytes:
    """The EIP-3009 nonce a payer signs for ``payWithAuthorization`` (the contract's ``paymentNonce``),
    computed locally: it binds the network, the payee's bank, the payee and the payment id."""
    return keccak(abi_encode(["bytes32", "address", "address", "address", "bytes32"],
                             [PAYMENT_TYPEHASH, network, to_token, payee, payment_id]))


def payment_reference(payer: str, payment_id: bytes) -> bytes:
    """The payment's reference on both tokens (the contract's ``paymentReference``): the burn reference at
    the payer's bank and the deposit reference at the payee's bank, ``keccak256(abi.encode(payer, id))``.
    Ids are scoped by the payer: one payer cannot use up another's."""
    return keccak(abi_encode(["address", "bytes32"], [payer, payment_id]))


def parse_mode(mode: str | int) -> int:
    """``"net"``/``"gross"`` (or 0/1) as the contract's ``Mode``."""
    if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode < len(MODES):
        return mode
    if isinstance(mode, str) and mode.strip().lower() in MODES:
        return MODES.index(mode.strip().lower())
    raise InvalidInput(f"mode must be 'net' or 'gross', not {mode!r}")


def parse_haircut(haircut_bps: Any) -> int:
    """A haircut in basis points, 0 to ``MAX_HAIRCUT_BPS`` (an int or decimal text)."""
    text = str(haircut_bps).strip()
    if isinstance(haircut_bps, bool) or not isinstance(haircut_bps, int | str) or not text.isdigit() or int(text) > MAX_HAIRCUT_BPS:
        raise InvalidInput(f"haircut must be an integer from 0 to {MAX_HAIRCUT_BPS} bps (50%), not {haircut_bps!r}")
    return int(text)


# ---------------------------------------------------------------------------- values


@dataclass(frozen=True)
class BankPosition:
    """A member bank as the network records it now (minor units): ``position`` > 0 the network owes
    the bank, < 0 the bank owes it; ``headroom``: what its clients may still pay out now;
    ``free_collateral``: what its operator may withdraw."""

    token: str
    symbol: str
    operator: str
    active: bool
    position: int
    collateral: int
    headroom: int
    free_collateral: int

    def as_dict(self) -> dict[str, Any]:
        return {"token": self.token, "symbol": self.symbol, "operator": self.operator, "active": self.active,
                "position": self.position, "collateral": self.collateral, "headroom": self.headroom,
                "free_collateral": self.free_collateral}


@dataclass(frozen=True)
class InterbankPayment:
    """One payment from its ``InterbankPayment`` event (amount in minor units)."""

    payment_id: bytes
    from_token: str
    to_token: str
    payer: str
    payee: str
    amount: int
    cycle: int
    block: int
    tx: str

    def as_dict(self) -> dict[str, Any]:
        return {"payment_id": "0x" + self.payment_id.hex(), "from_token": self.from_token, "to_token": self.to_token,
                "payer": self.payer, "payee": self.payee, "amount": self.amount, "cycle": self.cycle,
                "block": self.block, "tx": self.tx}


@dataclass(frozen=True)
class CycleSettlement:
    """One closed cycle from its ``CycleSettled`` event: each bank's collateral change (minor units)."""

    cycle: int
    positions: dict[str, int]  # token -> what its collateral changed by
    block: int
    tx: str

    def as_dict(self) -> dict[str, Any]:
        return {"cycle": self.cycle, "positions": dict(self.positions), "block": self.block, "tx": self.tx}


@dataclass(frozen=True)
class PaymentResult:
    """What :meth:`InterbankClient.pay` sent: the payment (or, same bank, the transfer) and the approval
    sent first, if any. ``same_bank``: it was a plain transfer (the id is not recorded on chain)."""

    payment_id: bytes
    receipt: Any
    approve_receipt: Any = None
    same_bank: bool = False


@dataclass(frozen=True)
class SignedPayment(eip712.SignedFile):
    """A payer's one signature for an interbank payment: the payment's terms and the EIP-3009
    ``ReceiveWithAuthorization`` (payee the network, nonce :func:`payment_nonce`). Its JSON file is an
    authorization file (``typedData``, ``signature``) plus ``network``, ``fromToken``, ``toToken``,
    ``payee`` and ``paymentId``."""

    FILE_KIND = "signed payment file"

    network: str
    from_token: str
    to_token: str
    payee: str
    payment_id: bytes
    authorization: SignedMessage

    @property
    def payer(self) -> str:
        return self.authorization.signer

    @property
    def amount(self) -> int:
        return int(self.authorization.message["value"])

    def to_json(self) -> str:
        data = json.loads(self.authorization.to_json())
        return json.dumps({"network": self.network, "fromToken": self.from_token, "toToken": self.to_token,
                           "payee": self.payee, "paymentId": "0x" + self.payment_id.hex(), **data}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SignedPayment:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"not a signed payment file (JSON: {exc})") from None
        fields = ("network", "fromToken", "toToken", "payee", "paymentId")
        if not isinstance(raw, dict) or any(k not in raw for k in fields):
            raise InvalidInput(f"not a signed payment file: it needs {', '.join(fields)}, typedData and signature")
        authorization = SignedMessage.from_json(text)
        if authorization.kind != RECEIVE:
            raise InvalidInput(f"a signed payment is a {RECEIVE}, not a {authorization.kind}")
        return cls(eip712.file_address(raw["network"], "network"), eip712.file_address(raw["fromToken"], "fromToken"),
                   eip712.file_address(raw["toToken"], "toToken"), eip712.file_address(raw["payee"], "payee"),
                   payment_id_bytes(parse_bytes32(str(raw["paymentId"]), "paymentId")), authorization)


# ---------------------------------------------------------------------------- deployment


def deploy_settlement_asset(deployer: Any, name: str, symbol: str, decimals: int, central_bank: Any) -> Any:
    """Deploys a ``SettlementAsset`` (the devnet's tokenised reserves) whose central bank (admin and
    ``CENTRAL_BANK_ROLE``) is ``central_bank``; returns the ape contract instance. The central bank then
    admits the banks and the network as holders and mints against their reserves."""
    from ape import project

    from ..accounts import as_ape_account

    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 18:
        raise InvalidInput(f"decimals must be an integer from 0 to 18, not {decimals!r}")
    if not str(name).strip() or not str(symbol).strip():
        raise InvalidInput("the settlement asset needs a name and a symbol")
    return as_ape_account(deployer).deploy(project.SettlementAsset, name, symbol, decimals, address_of(central_bank, "central bank"))


def deploy_network(
    deployer: Any, asset: Any, currency: str, mode: str | int, haircut_bps: int, admin: Any, operator: Any, *,
    tokens: Iterable[TokenClient] = (),
) -> InterbankClient:
    """Deploys an ``InterbankNetwork`` settling in ``asset`` (its decimals are the members' tokens') for
    ``currency`` (ISO 4217), ``mode`` ``"net"`` or ``"gross"``, ``haircut_bps`` (0..5000) on collateral;
    ``admin`` admits banks and sets the haircut, ``operator`` closes cycles. The central bank must then
    admit the network as a holder of the asset. ``tokens``: member tokens' clients at hand (see :class:`InterbankClient`)."""
    from ape import chain, project

    from ..accounts import as_ape_account

    asset_address = address_of(getattr(asset, "contract", asset), "settlement asset")
    code = str(currency).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput(f"currency must be an ISO 4217 code such as USD, not {currency!r}")
    mode_value, haircut = parse_mode(mode), parse_haircut(haircut_bps)
    admin_address, operator_address = address_of(admin, "admin"), address_of(operator, "settlement operator")
    if not code_at(asset_address):
        raise DepositTokenError(f"no contract at settlement asset address {asset_address}")
    contract = as_ape_account(deployer).deploy(project.InterbankNetwork, asset_address, code, mode_value, haircut,
                                               admin_address, operator_address)
    block = chain.provider.get_receipt(contract.txn_hash).block_number
    return InterbankClient(contract, tokens, deploy_block=block)


# ---------------------------------------------------------------------------- the client


class InterbankClient:
    """A deployed ``InterbankNetwork`` and the operations on it (see the module docstring).

    ``tokens``: the ``TokenClient`` of member tokens at hand; others are opened on first use.
    ``deploy_block``: where event searches (:meth:`payments`, :meth:`cycles`) start."""

    def __init__(self, contract: Any, tokens: Iterable[TokenClient] = (), *, deploy_block: int = 0,
                 transport: Transport | None = None) -> None:
        self.contract = as_contract(contract)
        self.transport = transport
        self.deploy_block = int(deploy_block)
        self._tokens = TokenClients(tokens)
        self.asset = contract_at("SettlementAsset", str(self.contract.settlementAsset()))
        self.currency = str(self.contract.currency())
        self.mode = MODES[int(self.contract.mode())]
        self.decimals = int(self.asset.decimals())
        self.asset_symbol = str(self.asset.symbol())

    @classmethod
    def at(cls, address: str, tokens: Iterable[TokenClient] = (), *, deploy_block: int = 0) -> InterbankClient:
        """The network at ``address``; refuses an address without an InterbankNetwork's code."""
        address = parse_address(address, "interbank network address")
        contract = contract_at("InterbankNetwork", address)
        if not answers(contract, "MAX_HAIRCUT_BPS", MAX_HAIRCUT_BPS):
            raise DepositTokenError(f"no InterbankNetwork at {address}")
        return cls(contract, tokens, deploy_block=deploy_block)

    def with_transport(self, transport: Transport | None) -> InterbankClient:
        """This network (same contract and token clients), sending its transactions (and the approvals
        of :meth:`pay`) through ``transport``, e.g. the bank's exactly-once outbox (``deptoken.ops.outbox.transport``)."""
        other = copy.copy(self)
        other.transport = transport
        return other

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def token(self, token: Any) -> TokenClient:
        """The ``TokenClient`` of a deposit token (a client, a contract or an address)."""
        return self._tokens(token)

    def member(self, ref: Any) -> TokenClient:
        """A member's token named by its address (or client, contract) or its symbol (``EXUSD``)."""
        text = str(getattr(ref, "address", ref)).strip()
        if not text.lower().startswith("0x"):
            for address in self.members():
                candidate = self.token(address)
                if candidate.symbol.upper() == text.upper():
                    return candidate
            raise InvalidInput(f"no member bank's token has the symbol {text!r} (give its address)")
        return self.token(ref)

    # ------------------------------------------------------------------ amounts in the settlement asset

    def asset_units(self, amount: Amount, what: str = "amount") -> int:
        """Currency units of the settlement asset to minor units (positive)."""
        return units_of(amount, self.decimals, what)

    def format_asset(self, units: int) -> str:
        return f"{format_amount(int(units), self.decimals)} {self.asset_symbol}"

    # ------------------------------------------------------------------ reads

    def members(self) -> list[str]:
        """The member banks' tokens, in joining order."""
        return [str(a) for a in self.contract.members()]

    def haircut_bps(self) -> int:
        return int(self.contract.haircutBps())

    def cycle(self) -> int:
        """The open settlement cycle (the first is 1)."""
        return int(self.contract.cycle())

    def bank(self, token: Any) -> BankPosition:
        """What the network records for ``token``'s bank now; refuses a token that is not a member."""
        t = self.token(token)
        raw = self.contract.bank(t.address)
        operator = str(raw.operator)
        if int(operator, 16) == 0:
            raise Refused(f"{t.symbol} {t.address} is not a member of the interbank network {self.address}")
        return BankPosition(
            token=t.address, symbol=t.symbol, operator=operator, active=bool(raw.active), position=int(raw.position),
            collateral=int(raw.collateral), headroom=int(self.contract.headroom(t.address)),
            free_collateral=int(self.contract.freeCollateral(t.address)),
        )

    def positions(self) -> list[BankPosition]:
        """Every member bank, in joining order."""
        return [self.bank(address) for address in self.members()]

    def payments(self, *, from_block: int | None = None, payment_id: str | bytes | None = None) -> list[InterbankPayment]:
        """The payments from the ``InterbankPayment`` events (from ``from_block``, default the deploy block),
        in chain order; only those of ``payment_id`` if given."""
        topics = None if payment_id is None else {"paymentId": payment_id_bytes(payment_id)}
        logs = self.contract.logs(["InterbankPayment"], from_block=self._from(from_block), topics=topics)
        return [InterbankPayment(bytes(a["paymentId"]), str(a["fromToken"]), str(a["toToken"]), str(a["payer"]), str(a["payee"]),
                                 int(a["amount"]), int(a["cycle"]), log.block_number, log.transaction_hash)
                for log in logs for a in (log.event_arguments,)]

    def cycles(self, *, from_block: int | None = None) -> list[CycleSettlement]:
        """The closed cycles from the ``CycleSettled`` events, in chain order."""
        found = []
        for log in self.contract.logs(["CycleSettled"], from_block=self._from(from_block)):
            a = log.event_arguments
            changes = {str(t): int(p) for t, p in zip(a["tokens"], a["positions"], strict=True)}
            found.append(CycleSettlement(int(a["cycle"]), changes, log.block_number, log.transaction_hash))
        return found

    def _from(self, from_block: int | None) -> int:
        return self.deploy_block if from_block is None else int(from_block)

    # ------------------------------------------------------------------ payments

    def pay(self, payer: Any, from_token: Any, to_token: Any, payee: Any, amount: Amount, payment_id: str | bytes, *,
            sender: Any, approve: bool = True) -> PaymentResult:
        """``payer`` (the ``sender``), a client of ``from_token``'s bank, pays ``amount`` to ``payee``, a
        client of ``to_token``'s bank, under ``payment_id``. The same token: a plain transfer (the id is
        checked but not recorded on chain). Two banks: every check first, the network approved for the
        amount if it is not (``approve``; else ``AllowanceTooLow``), then the network's ``pay``."""
        frm, to = self.token(from_token), self.token(to_token)
        payer_address, payee_address = address_of(payer, "payer"), address_of(payee, "payee")
        pid = payment_id_bytes(payment_id)
        if address_of(sender, "sender") != payer_address:
            raise InvalidInput(f"the payer {payer_address} must send its payment (sender {address_of(sender, 'sender')}); "
                               "a third party submits a signed payment instead")
        frm_sent = frm.with_transport(self.transport) if self.transport is not None else frm
        if frm.address == to.address:
            return PaymentResult(pid, frm_sent.transfer(payee_address, amount, sender=sender), same_bank=True)
        units = frm.units(amount)
        self._check_payment(frm, to, payer_address, payee_address, units, pid)
        allowance = int(frm.contract.allowance(payer_address, self.address))
        if allowance < units and not approve:
            raise AllowanceTooLow(f"payer {payer_address} has approved the network for {frm.format(allowance)}, "
                                  f"less than {frm.format(units)}: approve it first")
        approve_receipt = frm_sent.send("approve", self.address, units, sender=sender) if allowance < units else None
        receipt = self._send("pay", frm.address, to.address, payee_address, units, pid, sender=sender)
        return PaymentResult(pid, receipt, approve_receipt)

    def sign_payment(self, payer_signer: Any, from_token: Any, to_token: Any, payee: Any, amount: Amount,
                     payment_id: str | bytes, valid_for: int | str, *, payer: Any = None) -> SignedPayment:
        """The payer's one signature for a payment (nothing is sent): an EIP-3009 ``ReceiveWithAuthorization``
        of ``amount`` to the network, nonce :func:`payment_nonce` (so it pays only ``payee`` at
        ``to_token``'s bank under ``payment_id``), valid ``valid_for`` (seconds or ``1h``) from the chain's
        time. ``payer``: the payer if not the signer (an ERC-1271 wallet the signer's key signs for).
        Checked as :meth:`submit_signed_payment` will check it, but for the paying bank's headroom: it moves
        (collateral, cycles), and the bank's tooling may queue a payment over it (``deptoken.ops.interbank_payments``)."""
        frm, to = self.token(from_token), self.token(to_token)
        payer_address = address_of(payer if payer is not None else payer_signer, "payer")
        payee_address, pid = address_of(payee, "payee"), payment_id_bytes(payment_id)
        if frm.address == to.address:
            raise InvalidInput("a payment within one bank is a plain transfer: sign a transfer authorization instead")
        units = frm.units(amount)
        seconds = parse_duration(valid_for, "validity")
        self._check_payment(frm, to, payer_address, payee_address, units, pid, headroom=False)
        nonce = payment_nonce(self.address, to.address, payee_address, pid)
        data = transfer_authorization(frm, payer_address, self.address, frm.to_decimal(units), valid_for=seconds, nonce=nonce, receive=True)
        signed = sign(payer_signer, data)
        if not eip712.is_valid_signature(payer_address, signed.data, signed.signature):
            raise DepositTokenError(f"{address_of(payer_signer, 'signer')} cannot sign for the payer {payer_address}")
        return SignedPayment(self.address, frm.address, to.address, payee_address, pid, signed)

    def submit_signed_payment(self, signed: SignedPayment, *, sender: Any) -> Any:
        """Submits a payer's signed payment (``sender``: anyone, e.g. a relayer), after the checks of
        :meth:`pay` and of the signature (domain, signer, nonce unused, validity)."""
        address_of(sender, "sender")
        auth, message = signed.authorization, signed.authorization.message
        if signed.network != self.address or message["to"] != self.address:
            raise InvalidInput(f"the payment was signed for the network {message['to']}, not {self.address}")
        if auth.kind != RECEIVE:
            raise InvalidInput(f"a signed payment is a {RECEIVE}, not a {auth.kind}")
        frm, to = self.token(signed.from_token), self.token(signed.to_token)
        if frm.address == to.address:
            raise InvalidInput("a payment within one bank is a plain transfer, not a network payment")
        nonce = payment_nonce(self.address, to.address, signed.payee, signed.payment_id)
        if message["nonce"] != nonce:
            raise InvalidInput("the signature was not given for this payee, bank and payment id (its nonce differs)")
        self._check_payment(frm, to, signed.payer, signed.payee, signed.amount, signed.payment_id)
        verify(frm, auth, sender=self.address)  # domain, signature, nonce unused, validity window
        return self._send("payWithAuthorization", frm.address, to.address, signed.payer, signed.payee, signed.amount,
                          signed.payment_id, message["validAfter"], message["validBefore"], auth.signature, sender=sender)

    def check_payment(self, from_token: Any, to_token: Any, payer: Any, payee: Any, units: int, payment_id: str | bytes, *,
                      payer_holds: bool = True) -> None:
        """Everything the network and both tokens will check for a payment of ``units`` (minor units), nothing
        sent. ``payer_holds`` False: the payer is a contract that takes what it pays in the same transaction
        (PvP): its balance is not checked."""
        self._check_payment(self.token(from_token), self.token(to_token), address_of(payer, "payer"), address_of(payee, "payee"),
                            int(units), payment_id_bytes(payment_id), payer_holds=payer_holds)

    def _check_payment(self, frm: TokenClient, to: TokenClient, payer: str, payee: str, units: int, pid: bytes, *,
                       headroom: bool = True, payer_holds: bool = True) -> None:
        """Everything the network and both tokens will check for a payment, in that order (``headroom``: the
        paying bank's too; ``HeadroomExceeded``)."""
        for t in (frm, to):
            b = self.bank(t)
            if not b.active:
                raise Refused(f"bank {t.symbol} is suspended from the interbank network: it neither pays nor is paid")
        for t in (frm, to):
            t.require_not_paused("pay", subject=t.symbol)
        remedy = " (its bank must allowlist the network to receive what payers pay)"
        frm.require_parties_active([("payer", payer)], contract=("the network", self.address, f" on {frm.symbol}{remedy}"),
                                   where=f" on {frm.symbol}")
        to.require_active(payee, "payee", where=f" on {to.symbol}")
        if payer_holds:
            frm.require_unfrozen_balance(payer, units, "payer")
        label, ref = f"payment id 0x{pid.hex()}", payment_reference(payer, pid)
        if self.contract.isPaymentIdUsed(payer, pid):
            raise ReferenceUsed(f"{label} was already used by {payer} in the network")
        if frm.contract.isBurnRefUsed(ref):
            raise ReferenceUsed(f"{label}'s reference 0x{ref.hex()} was already used at {frm.symbol} (as a burn reference)")
        if to.contract.isDepositRefUsed(ref):
            raise ReferenceUsed(f"{label}'s reference 0x{ref.hex()} was already used at {to.symbol} (as a deposit reference)")
        room = int(self.contract.headroom(frm.address)) if headroom else units
        if units > room:
            why = "its collateral" if self.mode == "gross" else "its collateral less the haircut and its debit"
            raise HeadroomExceeded(f"bank {frm.symbol} may pay out {frm.format(room)} more now ({why}), less than {frm.format(units)}")
        for t, what in ((frm, "burn what its clients pay"), (to, "mint what its clients are paid")):
            if not t.has_role(self.address, "minter"):
                raise RoleMissing(f"the network lacks the minter role on {t.symbol}: it cannot {what}")
        allowance = int(to.contract.minterAllowance(self.address))
        if allowance < units:
            raise LimitExceeded(f"bank {to.symbol} lets the network mint {to.format(allowance)} more, less than {to.format(units)}")
        left = read_rate_limit(to.contract, self.address).left
        if left < units:
            raise LimitExceeded(f"bank {to.symbol}'s rate limit lets the network mint {to.format(left)} now, less than {to.format(units)}")
        if int(to.contract.totalSupply()) + units > SUPPLY_CAP:
            raise LimitExceeded(f"minting {to.format(units)} would take {to.symbol} past its supply cap")

    # ------------------------------------------------------------------ collateral (the banks' operators)

    def post_collateral(self, token: Any, amount: Amount, *, sender: Any, approve: bool = True) -> Any:
        """Posts ``amount`` of the settlement asset from ``sender`` as collateral of ``token``'s bank (anyone
        holding the asset may), approving the network for it first if needed (``approve``)."""
        t = self.token(token)
        units = self.asset_units(amount)
        poster = address_of(sender, "sender")
        self.bank(t)
        for who, address in (("the network", self.address), ("sender", poster)):
            if not self.asset.isHolder(address):
                raise Refused(f"{who} {address} is not an admitted holder of {self.asset_symbol} (the central bank admits it)")
        balance = int(self.asset.balanceOf(poster))
        if balance < units:
            raise InsufficientBalance(f"sender {poster} holds {self.format_asset(balance)}, less than {self.format_asset(units)}")
        allowance = int(self.asset.allowance(poster, self.address))
        if allowance < units:
            if not approve:
                raise AllowanceTooLow(f"sender {poster} has approved the network for {self.format_asset(allowance)} of "
                                      f"{self.asset_symbol}, less than {self.format_asset(units)}: approve it first")
            send_checked(self.asset, "approve", self.address, units, sender=sender, transport=self.transport)
        return self._send("postCollateral", t.address, units, sender=sender)

    def withdraw_collateral(self, token: Any, amount: Amount, to: Any, *, sender: Any) -> Any:
        """``token``'s bank operator sends ``amount`` of its collateral to ``to`` (an admitted holder of the
        asset): at most its free collateral, above what its debit needs."""
        t = self.token(token)
        units = self.asset_units(amount)
        recipient = address_of(to, "recipient")
        b = self._operated(t, sender, "withdraw its collateral")
        if not self.asset.isHolder(recipient):
            raise Refused(f"recipient {recipient} is not an admitted holder of {self.asset_symbol}")
        if units > b.free_collateral:
            raise InsufficientBalance(f"only {self.format_asset(b.free_collateral)} of bank {t.symbol}'s collateral is free "
                                      f"(above what its debit needs), less than {self.format_asset(units)}")
        return self._send("withdrawCollateral", t.address, units, recipient, sender=sender)

    def settle_early(self, token: Any, amount: Amount, *, sender: Any) -> Any:
        """Net mode: ``token``'s bank operator settles ``amount`` of its debit now, out of its collateral."""
        t = self.token(token)
        units = self.asset_units(amount)
        self._require_mode("net", "settle early")
        b = self._operated(t, sender, "settle early")
        debit = max(-b.position, 0)
        if units > debit:
            raise Refused(f"bank {t.symbol} owes {t.format(debit)}, less than the {t.format(units)} to settle early")
        return self._send("settleEarly", t.address, units, sender=sender)

    def _operated(self, t: TokenClient, sender: Any, action: str) -> BankPosition:
        b = self.bank(t)
        caller = address_of(sender, "sender")
        if caller != b.operator:
            raise RoleMissing(f"only bank {t.symbol}'s operator {b.operator} may {action} (sender {caller})")
        return b

    # ------------------------------------------------------------------ the settlement operator and the admin

    def settle_cycle(self, *, sender: Any) -> Any:
        """Net mode: closes the open cycle (every bank's collateral changes by its position)."""
        self._require_mode("net", "settle a cycle")
        self._require_role(sender, SETTLEMENT_OPERATOR_ROLE, "the settlement operator role", "settle a cycle")
        return self._send("settleCycle", sender=sender)

    def join(self, token: Any, operator: Any, *, sender: Any) -> Any:
        """The admin admits ``token``'s bank, run by ``operator``: same currency and decimals as the network.
        The bank then grants the network the minter role with an allowance on its token and allowlists it."""
        t = self.token(token)
        op = address_of(operator, "operator")
        self._require_role(sender, ADMIN_ROLE, "the network's admin role", "admit banks")
        if int(str(self.contract.bank(t.address).operator), 16) != 0:
            raise Refused(f"{t.symbol} {t.address} is already a member of the network")
        if t.currency != self.currency:
            raise InvalidInput(f"{t.symbol} is in {t.currency}, not the network's {self.currency}")
        if t.decimals != self.decimals:
            raise InvalidInput(f"{t.symbol} has {t.decimals} decimals, not the network's {self.decimals}")
        return self._send("join", t.address, op, sender=sender)

    def set_bank_active(self, token: Any, active: bool, *, sender: Any) -> Any:
        """The admin suspends (``active`` False) or readmits ``token``'s bank."""
        t = self.token(token)
        self._require_role(sender, ADMIN_ROLE, "the network's admin role", "suspend or readmit banks")
        if self.bank(t).active == bool(active):
            raise Refused(f"bank {t.symbol} is already {'active' if active else 'suspended'}")
        return self._send("setBankActive", t.address, bool(active), sender=sender)

    def set_bank_operator(self, token: Any, operator: Any, *, sender: Any) -> Any:
        """The admin hands ``token``'s bank to ``operator``."""
        t = self.token(token)
        op = address_of(operator, "operator")
        self._require_role(sender, ADMIN_ROLE, "the network's admin role", "set bank operators")
        self.bank(t)
        return self._send("setBankOperator", t.address, op, sender=sender)

    def set_haircut(self, haircut_bps: int, *, sender: Any) -> Any:
        """The admin sets the haircut on collateral (0..5000 bps) for payments and withdrawals from now on."""
        bps = parse_haircut(haircut_bps)
        self._require_role(sender, ADMIN_ROLE, "the network's admin role", "set the haircut")
        return self._send("setHaircut", bps, sender=sender)

    # ------------------------------------------------------------------ checks and sending

    def _require_mode(self, mode: str, action: str) -> None:
        if self.mode != mode:
            raise Refused(f"the network settles {self.mode}: cannot {action}")

    def _require_role(self, sender: Any, role: bytes, name: str, action: str) -> None:
        caller = address_of(sender, "sender")
        if not self.contract.hasRole(role, caller):
            raise RoleMissing(f"{caller} lacks {name} needed to {action}")

    def _send(self, method: str, *args: Any, sender: Any) -> Any:
        return send_checked(self.contract, method, *args, sender=sender, transport=self.transport)


__all__ = [
    "MAX_HAIRCUT_BPS", "MODES", "PAYMENT_TYPEHASH", "SETTLEMENT_OPERATOR_ROLE", "BankPosition", "CycleSettlement",
    "InterbankClient", "InterbankPayment", "PaymentResult", "SignedPayment", "deploy_network", "deploy_settlement_asset",
    "parse_haircut", "parse_mode", "payment_id_bytes", "payment_nonce",
]
