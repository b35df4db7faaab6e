"""FX payment-versus-payment (PvP) between two banks' deposit tokens (``contracts/settlement/PvPSettlement.sol``).

Both legs of an exchange move in one transaction or neither does. Two ways to agree on one:

* **A signed quote** (one step). A bank's FX desk (the *maker*) quotes a client (the *taker*): it
  gives ``maker_amount`` of its token against ``taker_amount`` of the taker's, at ``rate`` (maker
  currency units per taker currency unit, 18 decimals), until ``expiry``, once (random nonce). The
  desk signs the EIP-712 quote (with its key, or the key of its ERC-1271 contract wallet) and sends
  the file; the taker settles it. Both legs go party to party: the contract holds nothing after.
* **A proposal** (two steps, for parties acting at different times). The proposer locks what it
  gives in the contract; the counterparty accepts before the expiry; until then the proposer may
  cancel, and after it anyone may expire it (the locked amount goes back).

Every operation checks first (signature, expiry, nonce, sender, balances, allowances, pause, and that
both parties and the settlement contract are active on both tokens) and raises ``DepositTokenError``
(one line) when it would fail; only then does it send. Amounts are currency units (text, ``int`` or
``Decimal``, never floats) converted with each token's ``TokenClient.units``; on-chain and in a quote
they are integers in minor units.

Usage::

    pvp = PvPClient(deploy_pvp(deployer), tokens=[usd, cnh])       # usd, cnh: TokenClient
    quote = build_quote(pvp, desk, client, cnh, usd, "1000.00", "7.1234", expiry_seconds=120)
    signed = sign_quote(desk, pvp, quote)          # desk's key (or its ERC-1271 wallet's owner key)
    signed.save("quote.json")                      # EIP-712 typed data + signature, for the client
    pvp.settle(SignedQuote.load("quote.json"), sender=client)   # checks, then sends (approve=True: approves its leg first)
    pvp.cancel_quote(quote.nonce, sender=desk)     # withdraws a quote not yet settled

    proposal_id, receipt = pvp.propose(bob, usd, "100.00", cnh, "712.34", expires_in=3600, sender=alice)
    pvp.accept(proposal_id, sender=bob)            # or pvp.cancel(id, sender=alice), pvp.expire(id, sender=anyone)
    pvp.proposal(proposal_id) -> Proposal          # .terms_hash: what accept(..., terms_hash=) checks

    # the bank (the legal role of the proposal's give token)
    pvp.open_positions(alice) -> [Position]        # before a lost-key recovery or a sanction
    pvp.replace_party(proposal_id, alice, alice_new, sender=legal)   # after recover_account on the token
    pvp.seize(proposal_id, treasury, "COURT-ORDER-7", sender=legal)  # legal exit of one proposal
    pvp.outstanding(usd); pvp.rescue_excess(usd, to, "1.00", sender=legal)

Across banks (no address is a client of two banks): a desk that sells CNH from its account at bank C
and is paid USD at its account at a USD bank signs a *routed quote* naming both accounts and the
interbank network it is paid through; a client of any member bank of that network settles it from its
own bank's token, naming who receives the CNH. The client's USD goes through the network (burned at
its bank, minted to the desk's USD account, its bank owing the desk's) under a payment id derived from
the quote (``SignedRoutedQuote.payment_id``), or as a plain transfer when both are clients of one bank::

    ib = InterbankClient.at(network_address, tokens=[usd_a, usd_b])
    quote = build_routed_quote(pvp, desk_cnh, desk_usd, supplier, cnh, usd_a, "1000.00", "7.1234",
                               network=ib, expiry_seconds=300)      # maker, receiver, taker
    signed = sign_routed_quote(desk_cnh, pvp, quote)                 # the desk's CNH key
    signed.save("routed-quote.json")
    receipt = pvp.settle_through_network(SignedRoutedQuote.load("routed-quote.json"), from_token=usd_b,
                                         payee=manufacturer, sender=supplier, network=ib, approve=True)

A quote's ``rate`` is informational: the contract moves exactly the two amounts and never checks the
rate; this library checks that they agree with it (within one minor unit) before it settles.

Sanctions: money of a party its token restricts (frozen, not allowlisted) does not move through the
contract to anyone else: ``accept`` needs the proposer active on the token it gives (the contract
checks it), and the tokens check the counterparty; a refund (``cancel``, ``expire``) needs the
proposer able to receive it. A proposal stuck with a restricted party waits for its bank: lift the
restriction, seize the proposal, or (after a lost-key recovery) replace the party. A token-level
seizure of the contract's balance is not the way: it takes from every proposal's pool.

The settlement contract is the spender of both legs: each token's compliance must allowlist it,
and each party approves it on the token it pays (``token.approve(pvp.address, amount)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any, ClassVar

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from .. import eip712
from ..contracts import as_contract, contract_at
from ..amounts import Amount, parse_amount
from ..token.authorizations import random_nonce
from ..chain import code_at, next_block_time
from ..errors import AllowanceTooLow, DepositTokenError, InvalidInput, ReferenceUsed, first_line, reword
from ..times import Expiry, format_expiry, parse_expiry
from ..token import TokenClient, send_checked
from ..validation import address_of, parse_bytes32, parse_uint256, reference_to_bytes32
from .interbank import InterbankClient
from .positions import Position
from .tokens import TokenClients

DOMAIN_NAME = "DepositToken PvP Settlement"
DOMAIN_VERSION = "1"
QUOTE = "Quote"
QUOTE_FIELDS: eip712.Fields = (
    ("maker", "address"),
    ("taker", "address"),
    ("makerToken", "address"),
    ("makerAmount", "uint256"),
    ("takerToken", "address"),
    ("takerAmount", "uint256"),
    ("rate", "uint256"),
    ("expiry", "uint256"),
    ("nonce", "bytes32"),
)
ROUTED_QUOTE = "RoutedQuote"
ROUTED_QUOTE_FIELDS: eip712.Fields = (
    ("maker", "address"),
    ("receiver", "address"),
    ("taker", "address"),
    ("makerToken", "address"),
    ("makerAmount", "uint256"),
    ("takerToken", "address"),
    ("takerAmount", "uint256"),
    ("rate", "uint256"),
    ("expiry", "uint256"),
    ("nonce", "bytes32"),
    ("network", "address"),
)
ROUTED_PAYMENT_LABEL = "fx"  # the payment id is keccak256(abi.encode(quoteHash, "fx"))
RATE_DECIMALS = 18
STATUSES = ("none", "open", "accepted", "cancelled", "expired", "seized")  # PvPSettlement.Status, in order
TERMS_TYPES = ("address", "address", "address", "uint256", "address", "uint256", "uint256")  # proposalHash's encoding


def deploy_pvp(deployer: Any) -> Any:
    """Deploys a PvPSettlement (not upgradeable, no roles); returns the ape contract instance.
    Each token's compliance must then allowlist its address."""
    from ape import project

    from ..accounts import as_ape_account

    return as_ape_account(deployer).deploy(project.PvPSettlement)


# ---------------------------------------------------------------------- rates and amounts


def parse_rate(rate: str | int | Decimal) -> int:
    """A rate (``"7.1234"``, ``Decimal``; never a float) as 18-decimal fixed point; positive, at
    most 18 decimals."""
    try:
        return parse_amount(rate, RATE_DECIMALS)
    except DepositTokenError as exc:
        raise reword(exc, "amount ", "rate ") from None


def format_rate(rate: int) -> str:
    """An 18-decimal fixed-point rate as plain text without trailing zeros: ``7.1234``."""
    whole, frac = divmod(int(rate), 10**RATE_DECIMALS)
    decimals = f"{frac:0{RATE_DECIMALS}d}".rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def maker_amount_for(taker_amount: int, rate: int, *, maker_decimals: int, taker_decimals: int) -> int:
    """``floor(taker_amount * rate)`` in the maker token's minor units (exact integer arithmetic):
    ``taker_amount`` in the taker token's minor units, ``rate`` 18-decimal fixed point."""
    return taker_amount * rate * 10**maker_decimals // 10 ** (taker_decimals + RATE_DECIMALS)


# ---------------------------------------------------------------------- quotes


def parse_nonce(value: bytes | str) -> bytes:
    """A quote nonce: 32 bytes, or 0x + 64 hex digits."""
    return parse_bytes32(value, "nonce")


class _QuoteTerms:
    """What a quote and a routed quote share: their checks, their EIP-712 message and typed data (the
    dataclass fields in the struct's order), and their JSON form."""

    TYPE: ClassVar[str]
    FIELDS: ClassVar[eip712.Fields]
    LABEL: ClassVar[str]
    ADDRESSES: ClassVar[tuple[str, ...]]

    def _check(self) -> None:
        for name in self.ADDRESSES:
            object.__setattr__(self, name, address_of(getattr(self, name), name.replace("_", " ")))
        for name in ("maker_amount", "taker_amount", "rate", "expiry"):
            object.__setattr__(self, name, parse_uint256(getattr(self, name), name.replace("_", " ")))
        object.__setattr__(self, "nonce", parse_bytes32(getattr(self, "nonce"), "nonce"))
        if getattr(self, "maker") == getattr(self, "taker"):
            raise InvalidInput(f"maker and taker are the same account {getattr(self, 'maker')}")
        if getattr(self, "maker_token") == getattr(self, "taker_token"):
            raise InvalidInput(f"both legs use the same token {getattr(self, 'maker_token')}")
        if not (getattr(self, "maker_amount") and getattr(self, "taker_amount") and getattr(self, "rate")):
            raise InvalidInput("a quote needs non-zero amounts and rate")

    def as_tuple(self) -> tuple[Any, ...]:
        """The struct argument of the contract's functions (``settle`` / ``hashQuote``, ...)."""
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (the contract's field names)."""
        return dict(zip((n for n, _ in self.FIELDS), self.as_tuple(), strict=True))

    def typed_data(self, domain: Mapping[str, Any]) -> dict[str, Any]:
        """The full EIP-712 typed data to sign under ``domain`` (the settlement contract's)."""
        return eip712.typed_data(domain, self.TYPE, self.FIELDS, self.message())

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Any:
        """The quote of its EIP-712 message (values as ints or decimal text, nonce as hex)."""
        names = [n for n, _ in cls.FIELDS]
        if set(message) != set(names):
            raise InvalidInput(f"a {cls.LABEL} has exactly the fields {', '.join(names)}")
        return cls(*(message[n] for n in names))

    @property
    def rate_text(self) -> str:
        return format_rate(getattr(self, "rate"))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``--json``): amounts in minor units, the nonce as 0x-hex, the rate also as text."""
        data = asdict(self)  # type: ignore[call-overload]
        data.update(nonce="0x" + data["nonce"].hex(), rate_text=self.rate_text, expiry_utc=format_expiry(data["expiry"]))
        return data


@dataclass(frozen=True)
class Quote(_QuoteTerms):
    """An FX quote as the contract's ``Quote`` struct: addresses checksummed, amounts in minor
    units, ``rate`` 18-decimal fixed point (maker units per taker unit), ``expiry`` unix seconds."""

    TYPE: ClassVar[str] = QUOTE
    FIELDS: ClassVar[eip712.Fields] = QUOTE_FIELDS
    LABEL: ClassVar[str] = "quote"
    ADDRESSES: ClassVar[tuple[str, ...]] = ("maker", "taker", "maker_token", "taker_token")

    maker: str
    taker: str
    maker_token: str
    maker_amount: int
    taker_token: str
    taker_amount: int
    rate: int
    expiry: int
    nonce: bytes

    def __post_init__(self) -> None:
        self._check()


class _SignedQuoteFile(eip712.SignedFile):
    """A quote (``QUOTE_CLASS``), the domain it was signed under and the maker's signature: the file a desk
    sends, ``{"typedData": ..., "signature": "0x..."}``, uint256 values as decimal text (exact in any JSON
    reader), readable by any EIP-712 tool."""

    QUOTE_CLASS: ClassVar[type[_QuoteTerms]]

    @property
    def typed_data(self) -> dict[str, Any]:
        return getattr(self, "quote").typed_data(getattr(self, "domain"))

    @property
    def digest(self) -> bytes:
        """The EIP-712 digest (what ``hashQuote`` / ``hashRoutedQuote`` returns and the settlement event carries)."""
        return eip712.digest(self.typed_data)

    def to_json(self) -> str:
        return json.dumps({"typedData": eip712.message_json(self.typed_data), "signature": "0x" + getattr(self, "signature").hex()},
                          indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Any:
        """Parses and checks a signed quote file (shape and field types; not the signature)."""
        kind = cls.QUOTE_CLASS
        try:
            raw = json.loads(text)
            data, signature = raw["typedData"], eip712.signature_bytes(raw["signature"])
            if data["primaryType"] != kind.TYPE:
                raise InvalidInput(f"not a {kind.LABEL}: primaryType {data['primaryType']!r}")
            normal = eip712.parse_typed_data(data, {kind.TYPE: kind.FIELDS})  # what ethers, viem and wallets emit too
            return cls(kind.from_message(normal["message"]), normal["domain"], signature)  # type: ignore[call-arg]
        except DepositTokenError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"not a signed {kind.LABEL} file ({type(exc).__name__}: {first_line(exc)})") from None


@dataclass(frozen=True)
class SignedQuote(_SignedQuoteFile):
    """A signed quote (see :class:`_SignedQuoteFile`)."""

    FILE_KIND = "quote file"
    QUOTE_CLASS = Quote

    quote: Quote
    domain: dict[str, Any]
    signature: bytes


@dataclass(frozen=True)
class RoutedQuote(_QuoteTerms):
    """An FX quote across banks as the contract's ``RoutedQuote`` struct: the ``maker`` (the desk's account at
    ``maker_token``'s bank) gives ``maker_amount``; the ``receiver`` (the desk's account at ``taker_token``'s
    bank) is paid ``taker_amount`` through ``network`` (or by plain transfer from a client of the same bank);
    amounts in minor units, ``rate`` 18-decimal fixed point, ``expiry`` unix seconds."""

    TYPE: ClassVar[str] = ROUTED_QUOTE
    FIELDS: ClassVar[eip712.Fields] = ROUTED_QUOTE_FIELDS
    LABEL: ClassVar[str] = "routed quote"
    ADDRESSES: ClassVar[tuple[str, ...]] = ("maker", "receiver", "taker", "maker_token", "taker_token", "network")

    maker: str
    receiver: str
    taker: str
    maker_token: str
    maker_amount: int
    taker_token: str
    taker_amount: int
    rate: int
    expiry: int
    nonce: bytes
    network: str

    def __post_init__(self) -> None:
        self._check()
        if int(self.receiver, 16) == 0 or int(self.network, 16) == 0:
            raise InvalidInput("a routed quote needs a receiver and a network")


def routed_payment_id(quote_hash: bytes) -> bytes:
    """The interbank payment id of a routed quote (the contract's ``routedPaymentId``):
    ``keccak256(abi.encode(quoteHash, "fx"))``."""
    return keccak(abi_encode(["bytes32", "string"], [bytes(quote_hash), ROUTED_PAYMENT_LABEL]))


@dataclass(frozen=True)
class SignedRoutedQuote(_SignedQuoteFile):
    """A signed routed quote (see :class:`_SignedQuoteFile`)."""

    FILE_KIND = "routed quote file"
    QUOTE_CLASS = RoutedQuote

    quote: RoutedQuote
    domain: dict[str, Any]
    signature: bytes

    @property
    def payment_id(self) -> bytes:
        """The interbank payment id of this quote's USD leg (the network's ``InterbankPayment`` carries it;
        the banks book it under its reference scoped by the PvP contract, ``payment_reference``)."""
        return routed_payment_id(self.digest)


@dataclass(frozen=True)
class Proposal:
    """A two-step proposal as the contract records it (amounts in minor units)."""

    id: int
    proposer: str
    counterparty: str
    give_token: str
    give_amount: int
    want_token: str
    want_amount: int
    expiry: int
    status: str  # one of STATUSES

    @property
    def terms_hash(self) -> bytes:
        """The contract's ``proposalHash``: keccak-256 of the ABI-encoded terms; ``accept`` passes the
        hash of the proposal it read, so that it settles those terms or nothing."""
        return keccak(abi_encode(TERMS_TYPES, [self.proposer, self.counterparty, self.give_token, self.give_amount,
                                               self.want_token, self.want_amount, self.expiry]))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``--json``): amounts in minor units, the expiry also in ISO 8601, the terms hash as 0x-hex."""
        return {**asdict(self), "expiry_utc": format_expiry(self.expiry), "terms_hash": "0x" + self.terms_hash.hex()}


# ---------------------------------------------------------------------- the client


class PvPClient:
    """A deployed PvPSettlement and the operations on it (see the module docstring).

    ``tokens``: the ``TokenClient`` of each deposit token it settles; others are opened on first
    use (``project.DepositToken`` at their address). ``deploy_block``: where event searches
    (``open_positions``) start, the contract's deploy block (the settlement record has it)."""

    def __init__(self, contract: Any, tokens: Iterable[TokenClient] = (), *, deploy_block: int = 0) -> None:
        self.contract = as_contract(contract)
        self._tokens = TokenClients(tokens)
        self.deploy_block = int(deploy_block)

    @classmethod
    def from_contract(cls, contract: Any, tokens: Iterable[TokenClient] = (), *, deploy_block: int = 0) -> PvPClient:
        return cls(contract, tokens, deploy_block=deploy_block)

    @classmethod
    def at(cls, address: str, tokens: Iterable[TokenClient] = (), *, deploy_block: int = 0) -> PvPClient:
        """The settlement contract at ``address``; refuses an address without code."""
        address = address_of(address, "settlement contract")
        if not code_at(address):
            raise DepositTokenError(f"no contract at settlement contract address {address}")
        return cls(contract_at("PvPSettlement", address), tokens, deploy_block=deploy_block)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @property
    def domain(self) -> dict[str, Any]:
        """The EIP-712 domain quotes are signed under (read from the contract's ``eip712Domain``)."""
        return eip712.contract_domain(self.contract)

    def token(self, token: Any) -> TokenClient:
        """The ``TokenClient`` of a deposit token (a client, a contract or an address)."""
        return self._tokens(token)

    # ------------------------------------------------------------------ checks (nothing is sent)

    @staticmethod
    def _active(token: TokenClient, address: str, who: str) -> None:
        token.require_active(address, who, where=f" on {token.symbol}")

    @staticmethod
    def _not_paused(token: TokenClient, action: str) -> None:
        token.require_not_paused(action, subject=token.symbol)

    def _require_parties(self, tokens: Iterable[TokenClient], parties: Iterable[tuple[str, str]]) -> None:
        """The settlement contract and each party active on each token (``TokenChecks.require_parties_active``)."""
        parties = tuple(parties)
        for token in tokens:
            remedy = f" on {token.symbol} (its compliance must allowlist it)"
            token.require_parties_active(parties, contract=("the settlement contract", self.address, remedy), where=f" on {token.symbol}")

    def _require_funds(self, token: TokenClient, payer: str, units: int, who: str, *, approve: bool = False) -> bool:
        """``payer`` can pay ``units`` of ``token``, which the settlement contract pulls: unfrozen
        balance and allowance. With ``approve`` a short allowance is not refused; returns whether
        an approval must be sent first."""
        token.require_unfrozen_balance(payer, units, who)
        allowance = int(token.contract.allowance(payer, self.address))
        if allowance < units and not approve:
            raise AllowanceTooLow(
                f"{who} {payer} has approved {token.format(allowance)} for the settlement contract, "
                f"less than {token.format(units)}"
            )
        return allowance < units

    def _approve(self, token: TokenClient, units: int, *, sender: Any) -> Any:
        """Approves the settlement contract for ``units`` of ``sender``'s ``token`` (a checked leg)."""
        return token.send("approve", self.address, units, sender=sender)

    def quote_used(self, maker: Any, nonce: bytes | str) -> bool:
        """Whether ``maker``'s quote nonce was settled or cancelled."""
        return bool(self.contract.quoteUsed(address_of(maker, "maker"), parse_bytes32(nonce, "nonce")))

    def verify(self, signed: SignedQuote, *, sender: Any = None) -> None:
        """Everything ``settle`` will check, checked now (see :func:`verify_quote`)."""
        self._check_quote(signed, sender)

    def _send(self, method: str, *args: Any, sender: Any) -> Any:
        return send_checked(self.contract, method, *args, sender=sender)

    def _check_quote(self, signed: SignedQuote, sender: Any, *, approve: bool = False) -> bool:
        """:func:`verify_quote`; with ``approve`` a short taker allowance is not refused. Returns
        whether the taker must approve the settlement contract first."""
        q = signed.quote
        maker_token, taker_token = self._check_signed(signed)
        if sender is None:
            return False
        caller = address_of(sender, "sender")
        if caller != q.taker:
            raise DepositTokenError(f"the quote is for taker {q.taker}; {caller} cannot settle it")
        self._not_paused(maker_token, "settle")
        self._not_paused(taker_token, "settle")
        self._require_parties((maker_token, taker_token), (("maker", q.maker), ("taker", q.taker)))
        self._require_funds(maker_token, q.maker, q.maker_amount, "maker")
        return self._require_funds(taker_token, q.taker, q.taker_amount, "taker", approve=approve)

    def _check_signed(self, signed: SignedQuote | SignedRoutedQuote) -> tuple[TokenClient, TokenClient]:
        """The checks of any signed quote: this contract's domain, the maker's signature, expiry, nonce
        unused, amounts consistent with the rate. Returns the maker's and the taker's token."""
        q = signed.quote
        domain = self.domain
        if signed.domain != domain:
            got = signed.domain
            raise DepositTokenError(
                f"the quote was signed for {got.get('name')!r} at {got.get('verifyingContract')} on chain {got.get('chainId')}, "
                f"not this settlement contract ({domain['verifyingContract']} on chain {domain['chainId']})"
            )
        if not eip712.is_valid_signature(q.maker, signed.typed_data, signed.signature):
            raise DepositTokenError(f"the signature is not maker {q.maker}'s over this quote (altered, or signed by another key)")
        now = next_block_time()
        if now > q.expiry:
            raise DepositTokenError(f"the quote expired at {format_expiry(q.expiry)}")
        if self.contract.quoteUsed(q.maker, q.nonce):
            raise ReferenceUsed(f"quote nonce 0x{q.nonce.hex()} of maker {q.maker} was already settled or cancelled")
        maker_token, taker_token = self.token(q.maker_token), self.token(q.taker_token)
        expected = maker_amount_for(q.taker_amount, q.rate, maker_decimals=maker_token.decimals, taker_decimals=taker_token.decimals)
        if abs(q.maker_amount - expected) > 1:
            raise DepositTokenError(
                f"the quote's amounts do not match its rate {q.rate_text}: {taker_token.format(q.taker_amount)} gives "
                f"{maker_token.format(expected)}, not {maker_token.format(q.maker_amount)}"
            )
        return maker_token, taker_token

    # ------------------------------------------------------------------ signed quotes

    def settle(self, signed: SignedQuote, *, sender: Any, approve: bool = False) -> Any:
        """Settles ``signed`` from its taker ``sender``: both legs, atomically. ``approve``: if the
        taker's allowance is short, approve the settlement contract for its leg first (a second
        transaction, sent only after every check passed)."""
        if self._check_quote(signed, sender, approve=approve):
            self._approve(self.token(signed.quote.taker_token), signed.quote.taker_amount, sender=sender)
        return self._send("settle", signed.quote.as_tuple(), signed.signature, sender=sender)

    # ------------------------------------------------------------------ routed quotes (across banks)

    def network(self, network: Any) -> InterbankClient:
        """The ``InterbankClient`` of ``network`` (a client, kept; or an address, opened with this client's tokens)."""
        if isinstance(network, InterbankClient):
            return network
        return InterbankClient.at(address_of(getattr(network, "address", network), "network"))

    def verify_routed(self, signed: SignedRoutedQuote, *, from_token: Any = None, payee: Any = None, sender: Any = None,
                      network: Any = None, approve: bool = False) -> bool:
        """Everything ``settleThroughNetwork`` will check, checked now (nothing sent): the quote's domain,
        signature, expiry, nonce and rate; with ``sender``, ``from_token`` and ``payee``, the settlement's too
        (see :meth:`settle_through_network`). ``approve``: a short taker allowance is not refused; returns
        whether the taker must approve the settlement contract first."""
        return self._check_routed(signed, sender, from_token, payee, network, approve=approve)

    def settle_through_network(self, signed: SignedRoutedQuote, *, from_token: Any, payee: Any, sender: Any,
                               network: Any = None, approve: bool = False) -> Any:
        """Settles routed quote ``signed`` from its taker ``sender``, who pays from ``from_token`` (its own
        bank's token) and names ``payee`` (a client of the maker token's bank, or itself) for the maker's
        amount: both legs in one transaction; through the quote's network (``network``: its
        ``InterbankClient``, else opened at the quote's address) when ``from_token`` is another bank's than
        the quote's taker token, as a plain transfer when it is the same.

        Checked first (one-line ``DepositTokenError`` subclasses, nothing sent): the quote (domain,
        signature, expiry, nonce, rate), the sender its taker, ``network`` the one signed, both USD tokens
        its members, no token paused, the maker and the payee active at the maker's bank, the taker active
        at its bank, the settlement contract active on both tokens it moves, the maker's balance and
        allowance, the taker's balance and allowance (``approve``: approve the settlement contract for its
        leg first, a second transaction sent only after every check passed), and across banks everything
        the network checks (both banks active, the receiver active at its bank, the payment id unused, the
        payer bank's debit limit, what the receiver's bank lets the network mint). Returns the receipt."""
        if self._check_routed(signed, sender, from_token, payee, network, approve=approve):
            self._approve(self.token(from_token), signed.quote.taker_amount, sender=sender)
        q = signed.quote
        return self._send("settleThroughNetwork", q.as_tuple(), signed.signature, q.network, self.token(from_token).address,
                          address_of(payee, "payee"), sender=sender)

    def _check_routed(self, signed: SignedRoutedQuote, sender: Any, from_token: Any, payee: Any, network: Any, *,
                      approve: bool = False) -> bool:
        """:meth:`verify_routed`; returns whether the taker must approve the settlement contract first."""
        q = signed.quote
        maker_token, taker_token = self._check_signed(signed)
        if sender is None:
            return False
        caller = address_of(sender, "sender")
        if caller != q.taker:
            raise DepositTokenError(f"the quote is for taker {q.taker}; {caller} cannot settle it")
        if from_token is None or payee is None:
            raise InvalidInput("settling a routed quote needs the taker's token (from_token) and the payee")
        frm, payee_address = self.token(from_token), address_of(payee, "payee")
        if payee_address == self.address or int(payee_address, 16) == 0:
            raise InvalidInput(f"the payee {payee_address} cannot be the zero address or the settlement contract")
        ib = self.network(q.network if network is None else network)
        if ib.address != q.network:
            raise DepositTokenError(f"the quote was signed for payment through network {q.network}, not {ib.address}")
        for t in (frm, taker_token):
            ib.bank(t)  # Refused: not a member
        for t in dict.fromkeys((maker_token, frm, taker_token)):
            self._not_paused(t, "settle")
        maker_token.require_parties_active(
            (("maker", q.maker), ("payee", payee_address)),
            contract=("the settlement contract", self.address, f" on {maker_token.symbol} (its compliance must allowlist it)"),
            where=f" at {maker_token.symbol}")
        frm.require_parties_active(
            (("taker", q.taker),),
            contract=("the settlement contract", self.address, f" on {frm.symbol} (its compliance must allowlist it)"),
            where=f" at {frm.symbol}")
        self._require_funds(maker_token, q.maker, q.maker_amount, "maker")
        must_approve = self._require_funds(frm, q.taker, q.taker_amount, "taker", approve=approve)
        if frm.address == taker_token.address:
            taker_token.require_active(q.receiver, "receiver", where=f" at {taker_token.symbol}")
        else:
            ib.check_payment(frm, taker_token, self.address, q.receiver, q.taker_amount, signed.payment_id, payer_holds=False)
        return must_approve

    def cancel_quote(self, nonce: bytes | str, *, sender: Any) -> Any:
        """Withdraws ``sender``'s (the maker's) quote(s) with ``nonce``. A desk signing through a
        contract wallet has the wallet call ``cancelQuote`` itself."""
        maker = address_of(sender, "sender")
        raw = parse_bytes32(nonce, "nonce")
        if self.contract.quoteUsed(maker, raw):
            raise ReferenceUsed(f"quote nonce 0x{raw.hex()} of {maker} was already settled or cancelled")
        return self._send("cancelQuote", raw, sender=sender)

    # ------------------------------------------------------------------ proposals

    def proposal(self, proposal_id: int) -> Proposal:
        """Proposal ``proposal_id`` as recorded; refuses an unknown id."""
        pid = _proposal_id(proposal_id)
        p = self.contract.proposal(pid)
        status = STATUSES[int(p.status)]
        if status == "none":
            raise DepositTokenError(f"no proposal #{pid} (there are {int(self.contract.proposalCount())})")
        return Proposal(
            id=pid,
            proposer=to_checksum_address(p.proposer),
            counterparty=to_checksum_address(p.counterparty),
            give_token=to_checksum_address(p.giveToken),
            give_amount=int(p.giveAmount),
            want_token=to_checksum_address(p.wantToken),
            want_amount=int(p.wantAmount),
            expiry=int(p.expiry),
            status=status,
        )

    def propose(
        self,
        counterparty: Any,
        give_token: Any,
        give_amount: Amount,
        want_token: Any,
        want_amount: Amount,
        *,
        expiry: Expiry | None = None,
        expires_in: int | None = None,
        sender: Any,
        approve: bool = False,
    ) -> tuple[int, Any]:
        """Locks ``give_amount`` of ``give_token`` from ``sender`` for ``counterparty``, against
        ``want_amount`` of ``want_token``, until ``expiry`` (unix seconds, ``YYYY-MM-DD`` through that
        day UTC, an aware datetime) or ``expires_in`` seconds from now. ``approve``: approve the
        settlement contract for the amount first if needed. Returns (id, receipt)."""
        proposer = address_of(sender, "sender")
        other = address_of(counterparty, "counterparty")
        give, want = self.token(give_token), self.token(want_token)
        give_units, want_units = give.units(give_amount, "give amount"), want.units(want_amount, "want amount")
        if other == proposer:
            raise InvalidInput("the counterparty must be another account than the proposer")
        if give.address == want.address:
            raise InvalidInput(f"both legs use the same token {give.address}")
        deadline = self.expiry_of(expiry, expires_in)
        self._not_paused(give, "lock the proposal's amount")
        self._require_parties((give, want), (("proposer", proposer), ("counterparty", other)))
        if self._require_funds(give, proposer, give_units, "proposer", approve=approve):
            self._approve(give, give_units, sender=sender)
        receipt = self._send("propose", other, give.address, give_units, want.address, want_units, deadline, sender=sender)
        [event] = receipt.decode_logs(self.contract.Proposed)
        return int(event.id), receipt

    def accept(self, proposal_id: int, *, sender: Any, approve: bool = False, terms_hash: bytes | str | None = None) -> Any:
        """Accepts open proposal ``proposal_id`` (its counterparty, before its expiry): pays the
        wanted amount to the proposer and receives the locked amount. ``approve``: approve the
        settlement contract for the wanted amount first if needed. The contract is given the terms
        hash of the proposal read here (``accept(id, termsHash)``), so it settles these terms or
        reverts; ``terms_hash``: the hash the counterparty read earlier (``show``), refused if the
        terms changed since."""
        p = self._open(proposal_id)
        if terms_hash is not None and parse_bytes32(terms_hash, "terms hash") != p.terms_hash:
            raise DepositTokenError(
                f"proposal #{p.id}'s terms hash is 0x{p.terms_hash.hex()}, not the 0x{parse_bytes32(terms_hash, 'terms hash').hex()} "
                "you read: its terms changed"
            )
        caller = address_of(sender, "sender")
        if caller != p.counterparty:
            raise DepositTokenError(f"proposal #{p.id} is for {p.counterparty}; {caller} cannot accept it")
        if next_block_time() > p.expiry:
            raise DepositTokenError(f"proposal #{p.id} expired at {format_expiry(p.expiry)}")
        give, want = self.token(p.give_token), self.token(p.want_token)
        self._not_paused(want, "accept")
        self._not_paused(give, "accept")
        self._require_parties((give, want), (("proposer", p.proposer), ("counterparty", p.counterparty)))
        if self._require_funds(want, caller, p.want_amount, "counterparty", approve=approve):
            self._approve(want, p.want_amount, sender=sender)
        return self._send("accept", p.id, p.terms_hash, sender=sender)

    def cancel(self, proposal_id: int, *, sender: Any) -> Any:
        """Cancels ``sender``'s open proposal and takes its locked amount back."""
        p = self._open(proposal_id)
        caller = address_of(sender, "sender")
        if caller != p.proposer:
            raise DepositTokenError(f"proposal #{p.id} is {p.proposer}'s; {caller} cannot cancel it")
        self._require_refund(p, "cancel")
        return self._send("cancel", p.id, sender=sender)

    def expire(self, proposal_id: int, *, sender: Any) -> Any:
        """Closes open proposal ``proposal_id`` after its expiry; the locked amount goes back to the
        proposer. Anyone may send it."""
        p = self._open(proposal_id)
        if next_block_time() <= p.expiry:
            raise DepositTokenError(f"proposal #{p.id} can be accepted until {format_expiry(p.expiry)}: not expired yet")
        self._require_refund(p, "expire")
        return self._send("expire", p.id, sender=sender)

    def proposal_hash(self, proposal_id: int) -> bytes:
        """The contract's ``proposalHash`` of proposal ``proposal_id`` (the terms ``accept`` expects)."""
        return self.proposal(proposal_id).terms_hash

    def outstanding(self, token: Any) -> int:
        """What the contract owes in ``token`` (minor units): the open proposals' locked amounts.
        Its balance of the token should be exactly this."""
        return int(self.contract.outstanding(address_of(getattr(token, "address", token), "token")))

    # ------------------------------------------------------------------ the bank's controls

    def seize(self, proposal_id: int, to: Any, legal_order_reference: str, *, sender: Any) -> Any:
        """Legal exit: moves open proposal ``proposal_id``'s locked amount to ``to`` and closes it
        (``seized``), under a legal order (its reference, recorded as bytes32). ``sender``: the legal
        role of the proposal's give token. Whoever of the parties is restricted, expired or not."""
        p = self._open(proposal_id)
        recipient = address_of(to, "recipient")
        ref = reference_to_bytes32(legal_order_reference, "legal order reference")
        give = self.token(p.give_token)
        give.require_role(sender, "legal", f"seize proposal #{p.id} on {give.symbol}")
        if recipient == self.address:
            raise DepositTokenError("the recipient cannot be the settlement contract itself")
        self._not_paused(give, "seize")
        self._active(give, recipient, "recipient")
        return self._send("seizeProposal", p.id, recipient, ref, sender=sender)

    def replace_party(self, proposal_id: int, lost: Any, replacement: Any, *, sender: Any) -> Any:
        """After a lost-key recovery: ``replacement`` takes the place of ``lost`` (proposer or
        counterparty) in open proposal ``proposal_id``. ``sender``: the legal role of the proposal's
        give token; ``replacement`` must be active on both tokens."""
        p = self._open(proposal_id)
        old, new = address_of(lost, "lost account"), address_of(replacement, "replacement account")
        roles = {p.proposer: ("proposer", p.counterparty), p.counterparty: ("counterparty", p.proposer)}
        if old not in roles:
            raise DepositTokenError(f"{old} is not a party to proposal #{p.id} (proposer {p.proposer}, counterparty {p.counterparty})")
        role, other = roles[old]
        if new == other:
            raise DepositTokenError(f"replacement {new} is already the other party of proposal #{p.id}")
        if new in (old, self.address):
            raise DepositTokenError(f"replacement {new} must be another address than the {role}'s and the settlement contract's")
        give, want = self.token(p.give_token), self.token(p.want_token)
        give.require_role(sender, "legal", f"replace a party of proposal #{p.id} on {give.symbol}")
        for token in (give, want):
            self._active(token, new, "replacement")
        return self._send("replaceParty", p.id, old, new, sender=sender)

    def rescue_excess(self, token: Any, to: Any, amount: Amount, *, sender: Any) -> Any:
        """Sends ``amount`` of ``token`` that belongs to no proposal (the balance above
        ``outstanding``: sent here by mistake) to ``to``. ``sender``: the token's legal role."""
        t = self.token(token)
        recipient = address_of(to, "recipient")
        units = t.units(amount)
        t.require_role(sender, "legal", f"rescue {t.symbol} from the settlement contract")
        excess = max(int(t.contract.balanceOf(self.address)) - self.outstanding(t), 0)
        if units > excess:
            raise DepositTokenError(f"only {t.format(excess)} exceeds what the open proposals hold, less than {t.format(units)}")
        self._not_paused(t, "rescue")
        self._active(t, recipient, "recipient")
        return self._send("rescueExcess", t.address, recipient, units, sender=sender)

    def open_positions(self, party: Any, *, from_block: int | None = None) -> list[Position]:
        """Every open proposal in which ``party`` takes part (proposer or counterparty), with the
        amount the contract holds for it: found from the ``Proposed`` and ``PartyReplaced`` events
        naming it (from ``from_block``, by default the client's ``deploy_block``), then the current state."""
        from_block = self.deploy_block if from_block is None else from_block
        address = address_of(party, "party")
        ids: set[int] = set()
        for event, topics in (("Proposed", ("proposer", "counterparty")), ("PartyReplaced", ("replacement",))):
            for topic in topics:
                ids.update(int(log.id) for log in self.contract.logs([event], from_block=from_block, topics={topic: address}))
        positions = []
        for pid in sorted(ids):
            p = self.proposal(pid)
            role = "proposer" if p.proposer == address else "counterparty" if p.counterparty == address else None
            if p.status == "open" and role:
                positions.append(Position("pvp-proposal", self.address, str(pid), p.give_token, p.give_amount, address, role, p.status))
        return positions

    def _open(self, proposal_id: int) -> Proposal:
        p = self.proposal(proposal_id)
        if p.status != "open":
            raise DepositTokenError(f"proposal #{p.id} is already {p.status}")
        return p

    def _require_refund(self, p: Proposal, action: str) -> None:
        give = self.token(p.give_token)
        self._not_paused(give, action)
        give.require_parties_active([("proposer", p.proposer)], where=f" on {give.symbol}",
                                    contract=("the settlement contract", self.address, f" on {give.symbol}: it cannot pay back"))

    @staticmethod
    def expiry_of(expiry: Expiry | None, expires_in: int | None) -> int:
        """The unix seconds of an expiry given as a time (``expiry``) or as seconds from the chain's
        time (``expires_in``), one of them; refused unless in the future (and within uint64)."""
        if (expiry is None) == (expires_in is None):
            raise InvalidInput("give the expiry as a time (expiry) or as seconds from now (expires_in), one of them")
        if expiry is not None:
            seconds = parse_expiry(expiry, "expiry")
        else:
            if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
                raise InvalidInput(f"expires_in must be a positive number of seconds, not {expires_in!r}")
            seconds = next_block_time() + expires_in
        if seconds <= next_block_time():
            raise InvalidInput(f"expiry {format_expiry(seconds)} is not in the future (chain time {format_expiry(next_block_time())})")
        if seconds >= 2**64:
            raise InvalidInput("expiry is out of range")
        return seconds


def _proposal_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit() or int(value) == 0:
        raise InvalidInput(f"proposal id must be a positive integer, not {value!r}")
    return int(value)


def _client(pvp: PvPClient | Any) -> PvPClient:
    return pvp if isinstance(pvp, PvPClient) else PvPClient(pvp)


# ---------------------------------------------------------------------- building, signing, verifying


def build_quote(
    pvp: PvPClient | Any,
    maker: Any,
    taker: Any,
    maker_token_client: TokenClient,
    taker_token_client: TokenClient,
    taker_amount: Amount,
    rate: str | int | Decimal,
    *,
    expiry_seconds: int | None = None,
    expiry: Expiry | None = None,
    nonce: bytes | str | None = None,
) -> Quote:
    """A quote: ``maker`` gives ``floor(taker_amount * rate)`` of its token (in its minor units) to
    ``taker`` against ``taker_amount`` (taker currency units) of the taker's token, valid until
    ``expiry`` or for ``expiry_seconds`` from the chain's time; a random nonce unless given."""
    client = _client(pvp)
    maker_address, taker_address = address_of(maker, "maker"), address_of(taker, "taker")
    taker_units = taker_token_client.units(taker_amount, "taker amount")
    rate_fixed = parse_rate(rate)
    if maker_token_client.address == taker_token_client.address:
        raise InvalidInput(f"both legs use the same token {maker_token_client.address}")
    if maker_address == taker_address:
        raise InvalidInput(f"maker and taker are the same account {maker_address}")
    deadline = client.expiry_of(expiry, expiry_seconds)
    maker_units = maker_amount_for(
        taker_units, rate_fixed, maker_decimals=maker_token_client.decimals, taker_decimals=taker_token_client.decimals
    )
    if maker_units == 0:
        raise DepositTokenError(
            f"{taker_token_client.format(taker_units)} at {format_rate(rate_fixed)} is less than one minor unit of {maker_token_client.symbol}"
        )
    return Quote(maker_address, taker_address, maker_token_client.address, maker_units, taker_token_client.address,
                 taker_units, rate_fixed, deadline, random_nonce() if nonce is None else nonce)


def sign_quote(signer: Any, pvp: PvPClient | Any, quote: Quote) -> SignedQuote:
    """``signer`` signs ``quote`` under the settlement contract's domain: the maker's own key, or
    the owner key of the maker's ERC-1271 wallet. Refuses a signature the maker would not own."""
    domain = _client(pvp).domain
    data = quote.typed_data(domain)
    signature = eip712.sign(signer, data)
    if not eip712.is_valid_signature(quote.maker, data, signature):
        raise DepositTokenError(f"{address_of(signer, 'signer')} cannot sign for maker {quote.maker} (neither its key nor accepted by its ERC-1271 wallet)")
    return SignedQuote(quote, domain, signature)


def build_routed_quote(
    pvp: PvPClient | Any,
    maker: Any,
    receiver: Any,
    taker: Any,
    maker_token_client: TokenClient,
    taker_token_client: TokenClient,
    taker_amount: Amount,
    rate: str | int | Decimal,
    *,
    network: Any,
    expiry_seconds: int | None = None,
    expiry: Expiry | None = None,
    nonce: bytes | str | None = None,
) -> RoutedQuote:
    """A quote across banks: ``maker`` (the desk's account at ``maker_token_client``'s bank) gives
    ``floor(taker_amount * rate)`` of its token against ``taker_amount`` (currency units) paid to ``receiver``
    (the desk's account at ``taker_token_client``'s bank) through ``network`` (an ``InterbankClient``, a
    contract or an address, whose member ``taker_token_client`` must be), valid until ``expiry`` or for
    ``expiry_seconds`` from the chain's time; a random nonce unless given. The taker (and payee) is not
    checked here: it may be a client of any member bank."""
    client = _client(pvp)
    ib = client.network(network)
    ib.bank(taker_token_client)  # Refused: not a member
    base = build_quote(client, maker, taker, maker_token_client, taker_token_client, taker_amount, rate,
                       expiry_seconds=expiry_seconds, expiry=expiry, nonce=nonce)
    receiver_address = address_of(receiver, "receiver")
    if receiver_address in (base.taker, client.address):
        raise InvalidInput(f"the receiver {receiver_address} must be the desk's own account at {taker_token_client.symbol}, "
                           "not the taker's or the settlement contract's")
    return RoutedQuote(base.maker, receiver_address, base.taker, base.maker_token, base.maker_amount, base.taker_token,
                       base.taker_amount, base.rate, base.expiry, base.nonce, ib.address)


def sign_routed_quote(signer: Any, pvp: PvPClient | Any, quote: RoutedQuote) -> SignedRoutedQuote:
    """``signer`` (the maker's key, or the owner key of its ERC-1271 wallet) signs ``quote`` under the
    settlement contract's domain. Refuses a signature the maker would not own."""
    domain = _client(pvp).domain
    data = quote.typed_data(domain)
    signature = eip712.sign(signer, data)
    if not eip712.is_valid_signature(quote.maker, data, signature):
        raise DepositTokenError(f"{address_of(signer, 'signer')} cannot sign for maker {quote.maker} (neither its key nor accepted by its ERC-1271 wallet)")
    return SignedRoutedQuote(quote, domain, signature)


def verify_quote(pvp: PvPClient | Any, signed: SignedQuote, *, sender: Any = None) -> None:
    """Everything ``settle`` will check, checked now: the domain (this contract, this chain), the
    maker's signature (ECDSA or ERC-1271), expiry, nonce unused, the rate consistent with the amounts
    (within one minor unit of the maker token); with ``sender``, that it is the taker, both tokens
    unpaused, both parties and the settlement contract active on both tokens, balances and
    allowances of both parties."""
    _client(pvp).verify(signed, sender=sender)


__all__ = [
    "DOMAIN_NAME", "DOMAIN_VERSION", "QUOTE_FIELDS", "RATE_DECIMALS", "ROUTED_QUOTE_FIELDS", "STATUSES", "TERMS_TYPES", "PvPClient",
    "Proposal", "Quote", "RoutedQuote", "SignedQuote", "SignedRoutedQuote", "build_quote", "build_routed_quote", "deploy_pvp",
    "format_rate", "maker_amount_for", "parse_nonce", "parse_rate", "random_nonce", "routed_payment_id", "sign_quote",
    "sign_routed_quote", "verify_quote",
]
