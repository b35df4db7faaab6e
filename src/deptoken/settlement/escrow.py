"""The trade escrow (``contracts/settlement/TradeEscrow.sol``): order protection for marketplace payments.

The buyer funds an order (after an approval, or with one EIP-3009 signature the marketplace submits),
the seller ships by the ship-by time, the buyer confirms or the confirm window passes and the seller
is paid (less the marketplace fee); an order not shipped in time is refunded; a dispute (while the
clock runs) goes to an arbiter who splits the funds. Every operation checks first (state, caller,
deadlines against the chain's next block time, allowlists and sanctions, balances) and raises
``DepositTokenError`` with one line, having sent nothing.

**Order keys:** an order is identified by its *key*, the hash of its full terms (``order_key(terms)``,
the contract's ``orderKey``), which is also the EIP-3009 nonce the buyer signs. The marketplace's
order id (``"ORDER-1001"``, recorded as its keccak-256) is a reference inside the terms, not unique:
anyone may fund an order of its own under the same id, but nobody can take the key of another
buyer's order. **Before shipping**, the seller or the marketplace computes the key from the terms it
agreed to and checks that ``order(key)`` is funded: that proves amount, buyer, seller and deadlines.
Every method acting on an order takes its key (bytes or ``0x`` + 64 hex) or its terms.

**Fee:** ``fee_bps`` of the gross amount paid to the seller side, rounded down (125.50 at 150 bps:
fee 1.88, seller 123.62); refunds and the buyer's part of a split carry none.

**Sanctions:** a party the token restricts cannot act on an order (ship, confirm, dispute), and its
money does not move to anyone else (confirm, release, a resolve paying the seller side need the buyer
active); refunds go back to the buyer subject only to the token's own check.

**The bank's legal role** (the token's ``LEGAL_ROLE``) closes one order with ``seize_order`` (never a
token-level seizure of the escrow's balance: that takes other orders' funds), moves a party to its
replacement after a lost-key recovery (``replace_party``; ``open_positions(party)`` lists what to move
first), and rescues tokens sent here outside any order (``rescue_excess``, only above ``outstanding()``).

**Deployment:** the bank must allowlist the fee recipient and the arbiter *before* the escrow is
deployed (the contract checks they can receive), and the escrow itself before the first order.

**Sellers at other banks:** the admin connects the escrow to an interbank network in its currency
(``set_network``; the escrow's bank a member); a seller that banks at another member bank names that
bank's token (``set_payout_bank``), the admin the fee recipient's (``set_fee_recipient``). Payouts to
them then go through the network in the same transaction (the escrow's tokens burned here, the
payout bank's minted to the payee), under the payment ids ``keccak256(abi.encode(orderKey, "seller"))``
and ``(orderKey, "fee")`` (:func:`payout_payment_id`); ``payouts(order)`` shows where an order will
be paid. Such a seller must be active at its payout bank (ship, dispute, payouts).

Usage::

    escrow = deploy_escrow(deployer, token, admin=operator, admin_delay=2 * 86400, arbiter=arbiter,
                           fee_recipient=fees, fee_bps=150)
    client = EscrowClient(escrow)                        # or EscrowClient.at("0xEscrow...")
    terms = client.terms("ORDER-1001", buyer, seller, "125.50", ship_by="2026-07-31", confirm_window="7d")
    key = client.order_key(terms)                        # what every later step names
    client.fund(terms, sender=buyer, approve=True)       # approves the escrow first if needed
    signed = client.sign_funding_authorization(buyer, terms, valid_for_seconds=3600)   # or: one signature
    signed.save("order-1001.json"); client.fund_with_authorization(SignedFunding.load("order-1001.json"), sender=marketplace)
    client.ship(terms, "TRACK-1Z999", sender=seller)     # the funded order is exactly these terms
    client.confirm(key, sender=buyer)                    # or client.release(key, ...) after the confirm deadline
    client.refund(key, sender=anyone)                    # not shipped by the ship-by time
    client.dispute(key, "damaged on arrival", sender=buyer)
    client.resolve(key, "25.50", sender=arbiter)         # the buyer's part; the rest to the seller
    client.seize_order(key, to, "COURT-ORDER-7", sender=legal)
    client.replace_party(key, lost, replacement, sender=legal)
    client.order(key) -> EscrowOrder; client.find_orders("ORDER-1001") -> keys; client.open_positions(party)
    client.set_network(network, sender=admin)            # an InterbankNetwork (address/contract/client); None: off
    client.set_payout_bank("EXUSB", sender=seller)       # a member's token (symbol or address); None: here
    client.set_fee_recipient(fees_at_b, "EXUSB", sender=admin)
    client.payouts(key) -> [Payout(who="seller", payee, token, symbol, amount, payment_id or None), ...]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from .. import eip712
from ..chain import code_at
from ..contracts import as_contract, contract_at
from ..amounts import Amount
from ..token.authorizations import RECEIVE, SignedMessage, sign, transfer_authorization, verify
from ..errors import AllowanceTooLow, DepositTokenError, InsufficientBalance, LimitExceeded, Refused, ReferenceUsed, RoleMissing
from ..times import UINT64_MAX, format_expiry, parse_deadline, parse_duration, parse_expiry
from ..token import TokenClient, send_checked
from ..validation import address_of, parse_address, parse_bytes32, reference_to_bytes32
from .positions import Position

STATES = ("none", "funded", "shipped", "disputed", "released", "refunded", "resolved", "seized")
FINAL_STATES = frozenset({"released", "refunded", "resolved", "seized"})
OPEN_STATES = ("funded", "shipped", "disputed")
MAX_FEE_BPS = 1000
BPS = 10_000
ARBITER_ROLE = keccak(text="ARBITER_ROLE")
ADMIN_ROLE = bytes(32)
ORDER_TERMS_TYPE = (
    "OrderTerms(address escrow,bytes32 orderId,address buyer,address seller,uint256 amount,uint64 shipBy,uint64 confirmWindow)"
)
ORDER_TERMS_TYPEHASH = keccak(text=ORDER_TERMS_TYPE)
UINT128_MAX = 2**128 - 1
ZERO_ADDRESS = "0x" + "00" * 20
PAYOUT_LABELS = ("seller", "fee")


def payout_payment_id(order_key: bytes | str, label: str) -> bytes:
    """The interbank payment id of an order's cross-bank payout (``label``: ``seller`` or ``fee``):
    ``keccak256(abi.encode(orderKey, label))``, as the contract's ``payoutIds``."""
    if label not in PAYOUT_LABELS:
        raise DepositTokenError(f"payout label must be one of {', '.join(PAYOUT_LABELS)}, not {label!r}")
    key = order_key if isinstance(order_key, bytes) else parse_bytes32(order_key, "order key")
    return keccak(abi_encode(["bytes32", "string"], [key, label]))


@dataclass(frozen=True)
class Payout:
    """One payout of an order's settlement: who is paid, at which bank (``token``), how much, and the
    network payment id when it crosses banks (None: a plain transfer at the escrow's bank)."""

    who: str  # buyer, seller or fee recipient
    payee: str
    token: str
    symbol: str
    amount: Decimal
    payment_id: str | None

    @property
    def cross_bank(self) -> bool:
        return self.payment_id is not None

    def as_dict(self) -> dict[str, Any]:
        return {"who": self.who, "payee": self.payee, "token": self.token, "symbol": self.symbol,
                "amount": str(self.amount), "paymentId": self.payment_id, "crossBank": self.cross_bank}


def order_id_bytes(order_id: str | bytes) -> bytes:
    """The bytes32 of an order id: 32 bytes as given, ``0x`` + 64 hex, or a text reference (keccak-256)."""
    if isinstance(order_id, bytes | bytearray):
        if len(order_id) != 32 or not any(order_id):
            raise DepositTokenError("order id must be 32 non-zero bytes")
        return bytes(order_id)
    return reference_to_bytes32(order_id, "order id")


@dataclass(frozen=True)
class OrderTerms:
    """What the buyer pays for: the contract's ``OrderTerms`` (amount in minor units, times in unix seconds)."""

    order_id: bytes
    buyer: str
    seller: str
    amount: int
    ship_by: int
    confirm_window: int

    def as_tuple(self) -> tuple[bytes, str, str, int, int, int]:
        """The struct as the contract takes it."""
        return (self.order_id, self.buyer, self.seller, self.amount, self.ship_by, self.confirm_window)

    def to_dict(self) -> dict[str, Any]:
        return {
            "orderId": "0x" + self.order_id.hex(),
            "buyer": self.buyer,
            "seller": self.seller,
            "amount": self.amount,
            "shipBy": self.ship_by,
            "confirmWindow": self.confirm_window,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> OrderTerms:
        """Terms from their JSON form, every field checked (amount in minor units)."""
        if not isinstance(raw, dict) or set(raw) != {"orderId", "buyer", "seller", "amount", "shipBy", "confirmWindow"}:
            raise DepositTokenError("order terms need exactly orderId, buyer, seller, amount, shipBy and confirmWindow")
        order_id = parse_bytes32(str(raw["orderId"]), "order terms: orderId")
        numbers = {}
        for key in ("amount", "shipBy", "confirmWindow"):
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise DepositTokenError(f"order terms: {key} must be a positive integer")
            numbers[key] = value
        return cls(
            order_id=order_id_bytes(order_id),
            buyer=parse_address(raw["buyer"], "buyer"),
            seller=parse_address(raw["seller"], "seller"),
            amount=numbers["amount"],
            ship_by=numbers["shipBy"],
            confirm_window=numbers["confirmWindow"],
        )


@dataclass(frozen=True)
class EscrowOrder:
    """An order as the escrow records it (amount in currency units; times in unix seconds, 0 = not set)."""

    key: str  # 0x + 64 hex: the hash of its terms
    state: str  # one of STATES
    buyer: str
    seller: str
    amount: Decimal
    fee_bps: int
    ship_by: int
    confirm_window: int
    confirm_deadline: int

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


OrderRef = OrderTerms | bytes | str  # an order's terms, or its key (32 bytes or 0x + 64 hex)


@dataclass(frozen=True)
class SignedFunding(eip712.SignedFile):
    """The buyer's one signature funding an order: the terms and the EIP-3009 ``ReceiveWithAuthorization``
    (payee the escrow, nonce the terms' commitment). Its JSON file is an authorization file
    (``typedData``, ``signature``, as ``deptoken.token.authorizations`` reads) plus ``escrow`` and ``terms``."""

    FILE_KIND = "funding authorization file"

    escrow: str
    terms: OrderTerms
    authorization: SignedMessage

    def to_dict(self) -> dict[str, Any]:
        data = json.loads(self.authorization.to_json())
        return {"escrow": self.escrow, "terms": self.terms.to_dict(), **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SignedFunding:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise DepositTokenError(f"not a signed funding file (JSON: {exc})") from None
        if not isinstance(raw, dict) or "terms" not in raw or "escrow" not in raw:
            raise DepositTokenError("not a signed funding file: it needs escrow, terms, typedData and signature")
        authorization = SignedMessage.from_json(text)
        if authorization.kind != RECEIVE:
            raise DepositTokenError(f"a funding authorization is a {RECEIVE}, not a {authorization.kind}")
        terms = raw["terms"]
        if isinstance(terms, dict):  # as JavaScript writers may emit them: numbers as text, addresses lower case
            terms = {**terms, **{k: eip712.file_address(terms[k], f"order terms: {k}") for k in ("buyer", "seller") if k in terms},
                     **{k: eip712.file_uint(terms[k], f"order terms: {k}") for k in ("amount", "shipBy", "confirmWindow") if k in terms}}
        return cls(eip712.file_address(raw["escrow"], "escrow"), OrderTerms.from_dict(terms), authorization)



def split_amounts(amount: int, buyer_amount: int, fee_bps: int) -> tuple[int, int, int]:
    """``(buyer, seller, fee)`` minor units of a settlement as the contract computes it: the fee is
    ``fee_bps`` of the seller's part, rounded down."""
    gross = amount - buyer_amount
    fee = gross * fee_bps // BPS
    return buyer_amount, gross - fee, fee


def deploy_escrow(
    deployer: Any, token: Any, *, admin: Any, admin_delay: int, arbiter: Any = None, fee_recipient: Any, fee_bps: int
) -> Any:
    """Deploys a ``TradeEscrow`` for ``token`` (a contract, a ``TokenClient`` or the address).

    ``admin`` appoints arbiters and sets the fee (a two-step role: a transfer waits ``admin_delay``
    seconds); ``arbiter`` (optional, not the admin) gets ``ARBITER_ROLE``; ``fee_bps`` (0..1000) of the
    gross amount paid to sellers goes to ``fee_recipient``. The fee recipient and the arbiter must be
    able to receive the token already (allowlisted by the bank), or nothing is sent. The bank must then
    allowlist the escrow itself before orders can be funded (that is the bank's compliance role).
    """
    from ape import project

    token_address = address_of(getattr(token, "contract", token), "token")
    if isinstance(fee_bps, bool) or not isinstance(fee_bps, int) or not 0 <= fee_bps <= MAX_FEE_BPS:
        raise DepositTokenError(f"fee_bps must be an integer from 0 to {MAX_FEE_BPS} (10%), not {fee_bps!r}")
    if isinstance(admin_delay, bool) or not isinstance(admin_delay, int) or not 0 <= admin_delay < 2**48:
        raise DepositTokenError(f"admin_delay must be a number of seconds (uint48), not {admin_delay!r}")
    if not code_at(token_address):
        raise DepositTokenError(f"no contract at token address {token_address}")
    token_client = token if isinstance(token, TokenClient) else TokenClient.from_contract(contract_at("DepositToken", token_address))
    admin_address, arbiter_address, recipient = check_escrow_accounts(token_client, admin=admin, arbiter=arbiter, fee_recipient=fee_recipient)
    from ..accounts import as_ape_account

    return as_ape_account(deployer).deploy(project.TradeEscrow, token_address, admin_address, admin_delay,
                           arbiter_address or "0x" + "00" * 20, recipient, fee_bps)


def check_escrow_accounts(token: TokenClient, *, admin: Any, arbiter: Any, fee_recipient: Any) -> tuple[str, str | None, str]:
    """``(admin, arbiter or None, fee recipient)`` addresses of an escrow of ``token``, checked as the
    contract will: the arbiter is not the admin, and it and the fee recipient can receive the token."""
    admin_address = address_of(admin, "admin")
    arbiter_address = None if arbiter is None else address_of(arbiter, "arbiter")
    recipient = address_of(fee_recipient, "fee recipient")
    if arbiter_address == admin_address:
        raise DepositTokenError(f"the arbiter {arbiter_address} cannot be the escrow's admin")
    token.require_parties_active((("fee recipient", recipient), ("arbiter", arbiter_address)),
                                 where=f" on {token.symbol}: the bank must allowlist it before the escrow is deployed")
    return admin_address, arbiter_address, recipient


class EscrowClient:
    """A deployed ``TradeEscrow`` and the operations on it (see the module docstring)."""

    def __init__(self, contract: Any, token: TokenClient | Any = None, *, deploy_block: int = 0) -> None:
        self.contract = contract = as_contract(contract)
        self.deploy_block = int(deploy_block)  # where event searches (find_orders, open_positions) start
        self._network: Any = None  # the InterbankClient of network(), opened on first use
        if isinstance(token, TokenClient):
            self.token = token
        else:
            token_contract = token if token is not None else contract_at("DepositToken", str(contract.token()))
            self.token = TokenClient.from_contract(token_contract)
        if self.token.address != str(contract.token()):
            raise DepositTokenError(f"escrow {contract.address} holds {contract.token()}, not the token {self.token.address}")

    @classmethod
    def at(cls, address: str, *, deploy_block: int = 0) -> EscrowClient:
        """The escrow at ``address`` (checked to hold a contract) with its token."""
        address = parse_address(address, "escrow address")
        if not code_at(address):
            raise DepositTokenError(f"no contract at escrow address {address}")
        return cls(contract_at("TradeEscrow", address), deploy_block=deploy_block)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # ------------------------------------------------------------------ terms

    def terms(
        self,
        order_id: str | bytes,
        buyer: Any,
        seller: Any,
        amount: Amount,
        *,
        ship_by: str | int | date | datetime,
        confirm_window: str | int,
    ) -> OrderTerms:
        """Checked terms: ``amount`` in currency units; ``ship_by`` unix seconds, a date (through its
        end, UTC), an aware datetime or ISO 8601 time, or ``+7d`` from the chain's time;
        ``confirm_window`` seconds or ``48h``/``7d``."""
        return OrderTerms(
            order_id=order_id_bytes(order_id),
            buyer=address_of(buyer, "buyer"),
            seller=address_of(seller, "seller"),
            amount=self.token.units(amount),
            ship_by=self._ship_by(ship_by),
            confirm_window=parse_duration(confirm_window, "confirm window"),
        )

    def _ship_by(self, value: str | int | date | datetime) -> int:
        if isinstance(value, str) and (value.strip().startswith("+") or "T" in value):  # relative, or ISO 8601 with a time
            return parse_deadline(value, self.token.now(), "ship-by time")
        return parse_expiry(value, "ship-by time")  # unix seconds, a date (through its end, UTC), an aware datetime

    def order_key(self, terms: OrderTerms) -> bytes:
        """The key of the order with ``terms`` at this escrow, computed locally (the contract's
        ``orderKey``): the EIP-712 struct hash of the terms, also the EIP-3009 nonce the buyer signs."""
        encoded = abi_encode(
            ["bytes32", "address", "bytes32", "address", "address", "uint256", "uint64", "uint64"],
            [ORDER_TERMS_TYPEHASH, self.address, *terms.as_tuple()],
        )
        return keccak(encoded)

    # ------------------------------------------------------------------ funding

    def fund(self, terms: OrderTerms, *, sender: Any, approve: bool = False) -> Any:
        """The buyer (``sender``) funds the order; the escrow takes the amount with ``transferFrom``.
        The buyer must have approved the escrow for the amount; ``approve``: if it has not, approve it
        first (a second transaction, sent only once every other check passed)."""
        buyer = address_of(sender, "sender")
        if buyer != terms.buyer:
            raise DepositTokenError(f"only the buyer {terms.buyer} may fund order 0x{self.order_key(terms).hex()} (sender {buyer})")
        self._check_new_order(terms)
        allowance = int(self.token.contract.allowance(buyer, self.address))
        if allowance < terms.amount:
            if not approve:
                raise AllowanceTooLow(
                    f"buyer {buyer} allows the escrow {self.token.format(allowance)}, less than {self.token.format(terms.amount)}: approve it first"
                )
            self.token.approve(self.address, self.token.to_decimal(terms.amount), sender=sender)
        return self._send("fund", terms.as_tuple(), sender=sender)

    def sign_funding_authorization(self, buyer_signer: Any, terms: OrderTerms, valid_for_seconds: int) -> SignedFunding:
        """The buyer's signature funding ``terms`` (nothing is sent): an EIP-3009 ``ReceiveWithAuthorization``
        to this escrow for the amount, nonce :meth:`order_key`, valid ``valid_for_seconds`` from the
        chain's time. ``buyer_signer`` is the buyer, or the key of the buyer's ERC-1271 wallet."""
        self._check_terms(terms)
        seconds = parse_duration(valid_for_seconds, "validity")
        data = transfer_authorization(
            self.token,
            terms.buyer,
            self.address,
            self.token.to_decimal(terms.amount),
            valid_for=seconds,
            nonce=self.order_key(terms),
            receive=True,
        )
        signed = sign(buyer_signer, data)
        if not eip712.is_valid_signature(terms.buyer, signed.data, signed.signature):
            raise DepositTokenError(f"{address_of(buyer_signer, 'signer')} cannot sign for the buyer {terms.buyer}")
        return SignedFunding(self.address, terms, signed)

    def fund_with_authorization(self, signed: SignedFunding, *, sender: Any) -> Any:
        """Submits the buyer's signed funding (``sender``: anyone, e.g. the marketplace)."""
        terms, auth = signed.terms, signed.authorization
        message = auth.message
        if signed.escrow != self.address or message["to"] != self.address:
            raise DepositTokenError(f"the authorization pays {message['to']}, not this escrow {self.address}")
        if auth.kind != RECEIVE:
            raise DepositTokenError(f"a funding authorization is a {RECEIVE}, not a {auth.kind}")
        if message["from"] != terms.buyer or message["value"] != terms.amount:
            raise DepositTokenError("the authorization's payer or amount differs from the order's buyer and amount")
        if message["nonce"] != self.order_key(terms):
            raise DepositTokenError(f"the authorization was not signed for these terms (order key 0x{self.order_key(terms).hex()})")
        self._check_new_order(terms)
        verify(self.token, auth, sender=self.address)  # domain, signature, nonce unused, validity, balance
        return self._send(
            "fundWithAuthorization", terms.as_tuple(), message["validAfter"], message["validBefore"], auth.signature, sender=sender
        )

    # ------------------------------------------------------------------ the order's course

    def ship(self, order: OrderRef, shipment_reference: str, *, sender: Any) -> Any:
        """The seller marks the order shipped (by its ship-by time); the reference is hashed to bytes32.
        Given the terms agreed rather than the key, the funded order is the one with exactly those terms."""
        o = self.order(order)
        ref = reference_to_bytes32(shipment_reference, "shipment reference")
        self._require_caller(sender, o.seller, "seller", o, "ship")
        self._require_state(o, "ship", "funded")
        if self.token.now() > o.ship_by:
            raise DepositTokenError(f"order {o.key}: the ship-by time {format_expiry(o.ship_by)} passed")
        self._require_seller_active(o.seller)
        return self._send("ship", self._key(o.key), ref, sender=sender)

    def confirm(self, order: OrderRef, *, sender: Any) -> Any:
        """The buyer confirms receipt; the seller is paid (less the fee)."""
        o = self.order(order)
        self._require_caller(sender, o.buyer, "buyer", o, "confirm")
        self._require_state(o, "confirm", "shipped")
        self._require_payouts(o, 0)
        return self._send("confirm", self._key(o.key), sender=sender)

    def release(self, order: OrderRef, *, sender: Any) -> Any:
        """Pays the seller (less the fee) once the confirm deadline passed; anyone may send it."""
        o = self.order(order)
        address_of(sender, "sender")
        self._require_state(o, "release", "shipped")
        if self.token.now() <= o.confirm_deadline:
            raise DepositTokenError(f"order {o.key}: the confirm deadline {format_expiry(o.confirm_deadline)} has not passed")
        self._require_payouts(o, 0)
        return self._send("release", self._key(o.key), sender=sender)

    def refund(self, order: OrderRef, *, sender: Any) -> Any:
        """Refunds the buyer in full once the ship-by time of an unshipped order passed; anyone may send it."""
        o = self.order(order)
        address_of(sender, "sender")
        self._require_state(o, "refund", "funded")
        if self.token.now() <= o.ship_by:
            raise DepositTokenError(f"order {o.key}: the ship-by time {format_expiry(o.ship_by)} has not passed")
        self._require_payouts(o, self._units(o.amount))
        return self._send("refund", self._key(o.key), sender=sender)

    def dispute(self, order: OrderRef, reason: str | None = None, *, sender: Any) -> Any:
        """The buyer or the seller disputes the order while its clock runs; ``reason`` (optional text or
        0x + 64 hex) is recorded as its hash."""
        o = self.order(order)
        reason_hash = bytes(32) if reason is None else reference_to_bytes32(reason, "dispute reason")
        caller = address_of(sender, "sender")
        if caller not in (o.buyer, o.seller):
            raise DepositTokenError(f"only the buyer or the seller may dispute order {o.key} (sender {caller})")
        self._require_state(o, "dispute", "funded", "shipped")
        deadline = o.ship_by if o.state == "funded" else o.confirm_deadline
        if self.token.now() > deadline:
            raise DepositTokenError(f"order {o.key}: too late to dispute, its deadline {format_expiry(deadline)} passed")
        if caller == o.buyer:
            self.token.require_active(caller, "buyer")
        else:
            self._require_seller_active(caller)
        return self._send("dispute", self._key(o.key), reason_hash, sender=sender)

    def resolve(self, order: OrderRef, buyer_amount: Amount, *, sender: Any) -> Any:
        """An arbiter splits a disputed order: ``buyer_amount`` (currency units, may be 0) to the buyer,
        the rest to the seller less the fee on it."""
        o = self.order(order)
        units = self.token.units(buyer_amount, "buyer amount", allow_zero=True)
        caller = address_of(sender, "sender")
        if not self.contract.hasRole(ARBITER_ROLE, caller):
            raise RoleMissing(f"{caller} is not an arbiter of this escrow")
        self._require_state(o, "resolve", "disputed")
        total = self._units(o.amount)
        if units > total:
            raise DepositTokenError(f"buyer amount {self.token.format(units)} exceeds the order's {self.token.format(total)}")
        self._require_payouts(o, units)
        return self._send("resolve", self._key(o.key), units, sender=sender)

    # ------------------------------------------------------------------ the bank's legal role

    def seize_order(self, order: OrderRef, to: Any, legal_order_ref: str, *, sender: Any) -> Any:
        """The token's legal role closes an open order (funded, shipped or disputed) and sends its whole
        amount to ``to`` under ``legal_order_ref`` (text, recorded as its hash, or 0x + 64 hex)."""
        o = self.order(order)
        recipient = address_of(to, "recipient")
        ref = reference_to_bytes32(legal_order_ref, "legal order reference")
        self.token.require_role(sender, "legal", f"seize order {o.key}")
        self._require_state(o, "seize", *OPEN_STATES)
        if recipient == self.address:
            raise DepositTokenError("the escrow cannot receive a seized order's funds")
        self.token.require_not_paused("seize orders")
        self._require_active([("recipient", recipient)])
        return self._send("seizeOrder", self._key(o.key), recipient, ref, sender=sender)

    def replace_party(self, order: OrderRef, lost: Any, replacement: Any, *, sender: Any) -> Any:
        """After a lost-key recovery, the token's legal role moves the open order's buyer or seller
        ``lost`` to ``replacement`` (active on the token, not the other party)."""
        o = self.order(order)
        lost_address = address_of(lost, "lost address")
        new = address_of(replacement, "replacement")
        self.token.require_role(sender, "legal", f"replace a party of order {o.key}")
        self._require_state(o, "replace a party of", *OPEN_STATES)
        if lost_address not in (o.buyer, o.seller):
            raise DepositTokenError(f"{lost_address} is neither the buyer nor the seller of order {o.key}")
        other = o.seller if lost_address == o.buyer else o.buyer
        if new in (other, self.address):
            raise DepositTokenError(f"the replacement {new} cannot be the order's other party or the escrow")
        bank = self.token if lost_address == o.buyer else self.token_at(self.payout_token(new))
        bank.require_active(new, "replacement", where="" if bank is self.token else f" on {bank.symbol} (its payout bank)")
        return self._send("replaceParty", self._key(o.key), lost_address, new, sender=sender)

    def rescue_excess(self, to: Any, amount: Amount, *, sender: Any) -> Any:
        """The token's legal role sends ``amount`` (currency units) of the token held here outside any
        order (the balance above :meth:`outstanding`) to ``to``."""
        recipient = address_of(to, "recipient")
        units = self.token.units(amount)
        self.token.require_role(sender, "legal", "rescue tokens from the escrow")
        excess = int(self.token.contract.balanceOf(self.address)) - self.outstanding()
        if units > excess:
            raise DepositTokenError(f"only {self.token.format(max(excess, 0))} exceeds what the orders hold, not {self.token.format(units)}")
        self.token.require_not_paused("rescue tokens")
        self.token.require_active(recipient, "recipient")
        return self._send("rescueExcess", self.token.address, recipient, units, sender=sender)

    # ------------------------------------------------------------------ administration

    def set_fee(self, fee_recipient: Any, fee_bps: int, *, sender: Any) -> Any:
        """The admin sets the fee recipient and the rate of orders funded from now on (0..1000 bps)."""
        recipient = address_of(fee_recipient, "fee recipient")
        if isinstance(fee_bps, bool) or not isinstance(fee_bps, int) or not 0 <= fee_bps <= MAX_FEE_BPS:
            raise DepositTokenError(f"fee_bps must be an integer from 0 to {MAX_FEE_BPS} (10%), not {fee_bps!r}")
        caller = address_of(sender, "sender")
        if not self.contract.hasRole(ADMIN_ROLE, caller):
            raise RoleMissing(f"{caller} is not the escrow's admin")
        return self._send("setFee", recipient, fee_bps, sender=sender)

    def set_fee_recipient(self, fee_recipient: Any, payout_token: Any = None, *, sender: Any) -> Any:
        """The admin moves the fees to ``fee_recipient`` at the bank of ``payout_token`` (a member's
        token, address or symbol; None or the escrow's token: here, by transfer); the rate stays."""
        recipient = address_of(fee_recipient, "fee recipient")
        caller = address_of(sender, "sender")
        if not self.contract.hasRole(ADMIN_ROLE, caller):
            raise RoleMissing(f"{caller} is not the escrow's admin")
        if recipient in (self.address, self.token.address):
            raise DepositTokenError("the fee recipient can be neither the escrow nor its token")
        bank = self._check_payout_bank(payout_token)
        bank.require_active(recipient, "fee recipient", where=f" on {bank.symbol}")
        return self._send("setFeeRecipient", recipient, self._stored_bank(bank), sender=sender)

    def set_network(self, network: Any, *, sender: Any) -> Any:
        """The admin connects the escrow to the interbank ``network`` (an address, contract or
        ``InterbankClient``) for payouts at other banks; None disconnects it."""
        caller = address_of(sender, "sender")
        if not self.contract.hasRole(ADMIN_ROLE, caller):
            raise RoleMissing(f"{caller} is not the escrow's admin")
        if network is None:
            return self._send("setNetwork", ZERO_ADDRESS, sender=sender)
        from .interbank import InterbankClient

        client = network if isinstance(network, InterbankClient) else InterbankClient.at(address_of(network, "network"))
        if int(str(client.contract.bank(self.token.address).operator), 16) == 0:
            raise Refused(f"the escrow's token {self.token.symbol} is not a member of the interbank network {client.address}")
        return self._send("setNetwork", client.address, sender=sender)

    def set_payout_bank(self, payout_token: Any, *, sender: Any) -> Any:
        """The seller (``sender``) is paid at the bank of ``payout_token`` from now on (a member's token
        of the escrow's network, address or symbol; None or the escrow's token: here), on every order
        paid out after this, open ones too."""
        seller = address_of(sender, "sender")
        bank = self._check_payout_bank(payout_token)
        bank.require_active(seller, "seller", where=f" on {bank.symbol}")
        return self._send("setPayoutToken", self._stored_bank(bank), sender=sender)

    # ------------------------------------------------------------------ queries

    def network(self) -> Any:
        """The ``InterbankClient`` of the escrow's network, or None (no payouts at other banks)."""
        address = str(self.contract.network())
        if int(address, 16) == 0:
            return None
        from .interbank import InterbankClient

        if self._network is None or self._network.address != address:
            self._network = InterbankClient(contract_at("InterbankNetwork", address), [self.token])
        return self._network

    def payout_token(self, account: Any) -> str:
        """The token ``account`` is paid in as a seller: its payout bank's, or the escrow's."""
        return str(self.contract.payoutToken(address_of(account, "account")))

    def fee_payout_token(self) -> str:
        """The token the fee recipient is paid in (the escrow's unless at another bank)."""
        return str(self.contract.feePayoutToken())

    def payouts(self, order: OrderRef, buyer_amount: Amount = 0) -> list[Payout]:
        """Where settling ``order`` pays now (release/confirm: ``buyer_amount`` 0; a resolve: the
        buyer's part): each non-zero payout with its bank and, across banks, its payment id."""
        o = order if isinstance(order, EscrowOrder) else self.order(order)
        buyer, seller, fee = split_amounts(self._units(o.amount), self.token.units(buyer_amount, "buyer amount", allow_zero=True), o.fee_bps)
        out = []
        for who, payee, token, units, label in (("buyer", o.buyer, self.token.address, buyer, None),
                                                ("seller", o.seller, self.payout_token(o.seller), seller, "seller"),
                                                ("fee recipient", self.fee()[0], self.fee_payout_token(), fee, "fee")):
            if units:
                t = self.token_at(token)
                pid = None if token == self.token.address else "0x" + payout_payment_id(bytes.fromhex(o.key[2:]), label).hex()
                out.append(Payout(who, payee, t.address, t.symbol, t.to_decimal(units), pid))
        return out

    def order(self, order: OrderRef) -> EscrowOrder:
        """The order with this key (or these terms) as recorded; an unknown key is an error."""
        key = self._key(order)
        raw = self.contract.order(key)
        state = STATES[int(raw.state)]
        if state == "none":
            what = "no order with these terms" if isinstance(order, OrderTerms) else "unknown order"
            raise DepositTokenError(f"{what}: key 0x{key.hex()}")
        return EscrowOrder(
            key="0x" + key.hex(),
            state=state,
            buyer=str(raw.buyer),
            seller=str(raw.seller),
            amount=self.token.to_decimal(int(raw.amount)),
            fee_bps=int(raw.feeBps),
            ship_by=int(raw.shipBy),
            confirm_window=int(raw.confirmWindow),
            confirm_deadline=int(raw.confirmDeadline),
        )

    def outstanding(self) -> int:
        """Minor units the escrow owes its open orders (the contract's ``outstanding(token)``)."""
        return int(self.contract.outstanding(self.token.address))

    def find_orders(self, order_id: str | bytes) -> list[str]:
        """The keys (0x hex) of every order funded under the marketplace's ``order_id`` (text or
        0x + 64 hex), from the ``OrderFunded`` events since ``deploy_block``. Anyone may fund an
        order of its own under any id, so there may be several: check the terms, not the id."""
        oid = order_id_bytes(order_id)
        return ["0x" + bytes(log.event_arguments["orderKey"]).hex() for log in self._logs("OrderFunded", orderId=oid)]

    def open_positions(self, party: Any) -> list[Position]:
        """Every open order (funded, shipped or disputed) in which ``party`` is buyer or seller: found
        from the ``OrderFunded`` and ``PartyReplaced`` events since ``deploy_block``, then read on chain.
        The bank's tooling lists them before it recovers the party's lost key."""
        address = address_of(party, "party")
        keys = {bytes(log.event_arguments["orderKey"]) for log in self._logs("OrderFunded", seller=address)}
        keys |= {bytes(log.event_arguments["orderKey"]) for log in self._logs("OrderFunded") if log.event_arguments["buyer"] == address}
        keys |= {bytes(log.event_arguments["orderKey"]) for log in self._logs("PartyReplaced", replacement=address)}
        positions = []
        for key in sorted(keys):
            o = self.order(key)
            if o.state in OPEN_STATES and address in (o.buyer, o.seller):
                positions.append(Position(
                    kind="escrow-order", contract=self.address, position_id=o.key, token=self.token.address,
                    amount=self._units(o.amount), party=address, role="buyer" if address == o.buyer else "seller",
                    state=o.state,
                ))
        return positions

    def _logs(self, event: str, **topics: Any) -> list[Any]:
        return self.contract.logs([event], from_block=self.deploy_block, topics=topics)

    def fee(self) -> tuple[str, int]:
        """The fee recipient and the rate (bps) of orders funded from now on."""
        return str(self.contract.feeRecipient()), int(self.contract.feeBps())

    def settlement(self, order: EscrowOrder, buyer_amount: Amount = 0) -> tuple[Decimal, Decimal, Decimal]:
        """``(buyer, seller, fee)`` in currency units if ``order`` were settled giving the buyer ``buyer_amount``."""
        units = self.token.units(buyer_amount, "buyer amount", allow_zero=True)
        parts = split_amounts(self._units(order.amount), units, order.fee_bps)
        return tuple(self.token.to_decimal(p) for p in parts)  # type: ignore[return-value]

    # ------------------------------------------------------------------ checks (nothing is sent)

    def _units(self, amount: Decimal) -> int:
        return self.token.units(amount, allow_zero=True)

    def _key(self, order: OrderRef) -> bytes:
        """The key of ``order``: its terms, or the key itself (32 bytes or 0x + 64 hex)."""
        if isinstance(order, OrderTerms):
            return self.order_key(order)
        if isinstance(order, str) and not order.strip().startswith("0x"):
            raise DepositTokenError(f"{order!r} is not an order key (0x + 64 hex, the hash of the terms): give the key or the terms")
        return parse_bytes32(order, "order key")

    def _check_terms(self, t: OrderTerms) -> None:
        """The terms as the contract will check them, and no order with them yet."""
        if int(self.contract.order(self.order_key(t)).state) != 0:
            raise ReferenceUsed(f"an order with these terms (key 0x{self.order_key(t).hex()}) was already funded")
        if t.buyer == t.seller or self.address in (t.buyer, t.seller):
            raise DepositTokenError("buyer and seller must be two different accounts other than the escrow")
        if not 0 < t.amount <= UINT128_MAX:
            raise DepositTokenError(f"order amount {t.amount} minor units is out of range")
        now = self.token.now()
        if t.ship_by <= now:
            raise DepositTokenError(f"ship-by time {format_expiry(t.ship_by)} is not in the future (chain time {format_expiry(now)})")
        if not 0 < t.confirm_window or t.ship_by + t.confirm_window > UINT64_MAX:
            raise DepositTokenError(f"confirm window {t.confirm_window} s is out of range")

    def _check_new_order(self, t: OrderTerms) -> None:
        """Everything funding ``t`` needs: valid unused terms, the token running, the escrow, buyer and
        seller active, the buyer's unfrozen balance."""
        self._check_terms(t)
        self.token.require_not_paused("fund orders")
        self._require_active([("buyer", t.buyer)] if self.payout_token(t.seller) != self.token.address
                             else [("buyer", t.buyer), ("seller", t.seller)])
        self._require_seller_active(t.seller)
        self.token.require_unfrozen_balance(t.buyer, t.amount, "buyer")

    def _require_active(self, parties: list[tuple[str, str]]) -> None:
        """The escrow, then each ``(who, address)`` of ``parties``, active on the token."""
        remedy = " on the token: the bank must allowlist it (compliance) before it can hold or move funds"
        self.token.require_parties_active(parties, contract=("the escrow", self.address, remedy))

    def _require_payouts(self, o: EscrowOrder, buyer_units: int) -> None:
        """The payouts of settling ``o`` (``buyer_units`` to the buyer, the rest to the seller less the
        fee) would go through: token running, escrow active and holding enough, each payee active."""
        buyer, seller, fee = split_amounts(self._units(o.amount), buyer_units, o.fee_bps)
        self.token.require_not_paused("pay out orders")
        fee_recipient = self.fee()[0]
        payees = [("buyer", o.buyer, self.token.address, buyer, None),
                  ("seller", o.seller, self.payout_token(o.seller), seller, "seller"),
                  ("fee recipient", fee_recipient, self.fee_payout_token(), fee, "fee")]
        parties = [("buyer", o.buyer)] if seller + fee else []  # the buyer's money moves to the seller side: the buyer must be active
        parties += [(who, address) for who, address, token, units, _ in payees if units and token == self.token.address]
        self._require_active(parties)
        held = int(self.token.contract.balanceOf(self.address))
        if held < buyer + seller + fee:
            raise InsufficientBalance(f"the escrow holds {self.token.format(held)}, less than order {o.key} needs")
        crossing = [(who, address, token, units, label) for who, address, token, units, label in payees
                    if units and token != self.token.address]
        if not crossing:
            return
        network = self.network()
        if network is None:
            raise Refused(f"the {crossing[0][0]} {crossing[0][1]} is paid at another bank, but the escrow has no interbank network (set_network)")
        key = bytes.fromhex(o.key[2:])
        for who, address, token, units, label in crossing:
            to = network.token(token)
            try:
                network.check_payment(self.token, to, self.address, address, units, payout_payment_id(key, label))
            except DepositTokenError as exc:
                raise type(exc)(f"the {who}'s payout at {to.symbol} through the network: {exc}") from None
        total = sum(units for *_, units, _ in crossing)
        headroom = int(network.contract.headroom(self.token.address))
        if total > headroom:
            raise LimitExceeded(f"bank {self.token.symbol} may pay out {self.token.format(headroom)} more through the network now, less than {self.token.format(total)}")

    def _require_seller_active(self, seller: str) -> None:
        """The seller active where it is paid: on the token, or at its payout bank."""
        token = self.payout_token(seller)
        if token == self.token.address:
            self.token.require_active(seller, "seller")
        else:
            bank = self.token_at(token)
            bank.require_active(seller, "seller", where=f" on {bank.symbol} (its payout bank)")

    def token_at(self, address: str) -> TokenClient:
        """The ``TokenClient`` of the escrow's token or a member token of its network."""
        if address == self.token.address:
            return self.token
        network = self.network()
        if network is None:
            return TokenClient.from_contract(contract_at("DepositToken", address))
        return network.token(address)

    def _check_payout_bank(self, payout_token: Any) -> TokenClient:
        """The client of a payout bank's token as the contract checks it: the escrow's own (None), or
        a member of the escrow's network (address or symbol)."""
        if payout_token is None:
            return self.token
        text = str(getattr(getattr(payout_token, "contract", payout_token), "address", payout_token)).strip()
        if text.lower() in (self.token.address.lower(), self.token.symbol.lower(), ZERO_ADDRESS):
            return self.token
        network = self.network()
        if network is None:
            raise Refused("the escrow has no interbank network: only its own token can be a payout bank (set_network first)")
        try:
            bank = network.member(payout_token)
            network.bank(bank)
        except DepositTokenError as exc:
            raise Refused(f"payout bank: {exc}") from None
        return bank

    def _stored_bank(self, bank: TokenClient) -> str:
        return ZERO_ADDRESS if bank is self.token else bank.address

    def _require_caller(self, sender: Any, expected: str, who: str, o: EscrowOrder, action: str) -> None:
        caller = address_of(sender, "sender")
        if caller != expected:
            raise DepositTokenError(f"only the {who} {expected} may {action} order {o.key} (sender {caller})")

    @staticmethod
    def _require_state(o: EscrowOrder, action: str, *states: str) -> None:
        if o.state not in states:
            raise DepositTokenError(f"cannot {action} order {o.key}: it is {o.state}, not {' or '.join(states)}")

    def _send(self, method: str, *args: Any, sender: Any) -> Any:
        return send_checked(self.contract, method, *args, sender=sender)
