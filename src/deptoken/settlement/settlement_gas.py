"""Gas of the cross-border operations, each next to the plain token operation it stands for.

``measure_settlement()`` builds the cross-border devnet (``setup_devnet``: the banks' tokens, the
settlement contracts, the parties, each a client of one bank) on the connected Anvil and sends every
operation twice: a first round brings every balance involved to non-zero (a real marketplace is in
that steady state), the second round is measured. Each figure is the receipt's ``gasUsed``; the
comparison is a DepositToken operation between the same kind of parties in the same run (exact on Anvil).

What it measures happens within the banks: the buyer, the marketplace (the relayer) and Bank A's
treasury are the devnet's clients of Bank A; the seller and the FX desk are the benchmark's own two
accounts, each onboarded at Bank A (USD) and Bank C (CNH): a same-bank PvP needs both parties at both
banks, and none of the devnet's parties is a client of two banks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from ..token import authorizations as auth
from .. import eip712
from ..errors import DepositTokenError

AMOUNT = 1_000_00  # minor units per operation (1,000.00)
FX_RATE = "7.1234"


@dataclass(frozen=True)
class SettlementRow:
    operation: str
    gas: int
    compared_with: str
    comparison_gas: int

    @property
    def ratio(self) -> float:
        return self.gas / self.comparison_gas

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "gas": self.gas, "compared_with": self.compared_with,
                "comparison_gas": self.comparison_gas, "ratio": round(self.ratio, 3)}


def _ref(label: str, n: int) -> bytes:
    return keccak(f"deptoken settlement benchmark {label} {n}".encode())


def _own_accounts(devnet: Any) -> tuple[Any, Any]:
    """The benchmark's seller and FX desk: two fresh keys (not the devnet's parties), given ether and
    onboarded by Bank A (USD) and Bank C (CNH), so that a same-bank PvP between them can settle."""
    from ape import chain
    from eth_account import Account

    from ..accounts import LocalSigner

    own = [LocalSigner.of_key(Account.from_key(keccak(f"deptoken settlement benchmark {name}".encode())), f"benchmark {name}")
           for name in ("seller", "FX desk")]
    expiry = int(chain.pending_timestamp) + 365 * 86400
    for who in own:
        chain.provider.set_balance(who.address, 10**20)
    for token, bank in ((devnet.usd, devnet.banks["USD"]), (devnet.cnh, devnet.banks["CNH"])):
        token.allowlist_many([(who, expiry) for who in own], sender=bank["compliance"])
    return own[0], own[1]


def measure_settlement() -> list[SettlementRow]:
    """Deploys the cross-border devnet and returns the gas of each operation (second round)."""
    from ape import chain

    from .settlement_deployer import setup_devnet
    from .escrow import EscrowClient
    from .htlc import new_secret
    from .pvp import PvPClient, build_quote, sign_quote

    devnet = setup_devnet(record=False)
    usd, cnh, c, p = devnet.usd, devnet.cnh, devnet.contracts, devnet.parties
    buyer, relayer = p["buyer"], p["marketplace"]
    supplier, desk = _own_accounts(devnet)
    treasury = devnet.banks["USD"]["minter"]
    usd_legal = devnet.banks["USD"]["legal"]
    usd.contract.mint(buyer, 100 * AMOUNT, _ref("deposit", 1), sender=treasury)
    usd.contract.mint(desk, 100 * AMOUNT, _ref("deposit", 2), sender=treasury)
    usd.contract.mint(supplier, 100 * AMOUNT, _ref("deposit", 3), sender=treasury)
    cnh.contract.mint(supplier, 100 * AMOUNT, _ref("deposit", 4), sender=devnet.banks["CNH"]["minter"])
    cnh.contract.mint(desk, 100 * AMOUNT * 8, _ref("deposit", 5), sender=devnet.banks["CNH"]["minter"])  # its CNH liquidity
    escrow = EscrowClient(c.escrows["USD"], usd)
    pvp = PvPClient.from_contract(c.pvp, tokens=[usd, cnh])
    u = usd.contract
    max_uint = 2**256 - 1
    u.approve(c.escrows["USD"], max_uint, sender=buyer)
    u.approve(c.htlc, max_uint, sender=buyer)
    u.approve(c.pvp, max_uint, sender=supplier)
    cnh.contract.approve(c.pvp, max_uint, sender=desk)
    u.approve(relayer, max_uint, sender=buyer)

    gas: dict[str, int] = {}
    for n in (1, 2):  # round 1 reaches the steady state; round 2 is measured
        now = int(chain.pending_timestamp)
        gas["transfer"] = u.transfer(supplier, AMOUNT, sender=buyer).gas_used
        gas["transferFrom"] = u.transferFrom(buyer, supplier, AMOUNT, sender=relayer).gas_used
        gas["approve"] = u.approve(desk, AMOUNT * n, sender=buyer).gas_used

        signed = auth.sign(buyer, auth.permit(usd, buyer, desk, AMOUNT * n + 1, deadline=now + 3600))
        m = signed.message
        gas["permit"] = u.permit(buyer, desk, m["value"], m["deadline"], *eip712.split(signed.signature), sender=relayer).gas_used
        signed = auth.sign(buyer, auth.transfer_authorization(usd, buyer, supplier, usd.to_decimal(AMOUNT), valid_for=3600))
        m = signed.message
        gas["transferWithAuthorization"] = u.transferWithAuthorization(
            buyer, supplier, AMOUNT, m["validAfter"], m["validBefore"], m["nonce"], *eip712.split(signed.signature), sender=relayer
        ).gas_used

        terms = escrow.terms(f"BENCH-ORDER-{n}-A", buyer, supplier, usd.to_decimal(AMOUNT), ship_by=now + 86400, confirm_window=3600)
        gas["escrow fund (approved)"] = c.escrows["USD"].fund(terms.as_tuple(), sender=buyer).gas_used
        terms_b = escrow.terms(f"BENCH-ORDER-{n}-B", buyer, supplier, usd.to_decimal(AMOUNT), ship_by=now + 86400, confirm_window=3600)
        funding = escrow.sign_funding_authorization(buyer, terms_b, 3600)
        fm = funding.authorization.message
        gas["escrow fund (one signature)"] = c.escrows["USD"].fundWithAuthorization(
            terms_b.as_tuple(), fm["validAfter"], fm["validBefore"], funding.authorization.signature, sender=relayer
        ).gas_used
        key = escrow.order_key(terms)
        c.escrows["USD"].ship(key, _ref("shipment", n), sender=supplier)
        gas["escrow release (buyer confirms)"] = c.escrows["USD"].confirm(key, sender=buyer).gas_used
        if n == 2:  # round 1's order B stays open: the escrow owes something, as in steady state
            gas["escrow seize (legal exit)"] = c.escrows["USD"].seizeOrder(
                escrow.order_key(terms_b), treasury, _ref("legal order", n), sender=usd_legal
            ).gas_used

        quote = sign_quote(desk, pvp, build_quote(pvp, desk, supplier, cnh, usd, usd.to_decimal(AMOUNT), FX_RATE, expiry_seconds=600))
        gas["PvP settle (two legs)"] = c.pvp.settle(quote.quote.as_tuple(), quote.signature, sender=supplier).gas_used
        pid, _ = pvp.propose(desk, usd, usd.to_decimal(AMOUNT), cnh, "7123.40", expires_in=3600, sender=supplier)
        gas["PvP seize proposal (legal exit)"] = c.pvp.seizeProposal(pid, treasury, _ref("legal order", n), sender=usd_legal).gas_used

        preimage, hashlock = new_secret()
        receipt = c.htlc.lock(u.address, supplier, AMOUNT, hashlock, now + 3600, sender=buyer)
        gas["HTLC lock"] = receipt.gas_used
        lock_id = next(iter(receipt.decode_logs(c.htlc.Locked))).lockId
        gas["HTLC claim"] = c.htlc.claim(lock_id, preimage, sender=relayer).gas_used
        receipt = c.htlc.lock(u.address, supplier, AMOUNT, hashlock, now + 3600, sender=buyer)
        lock_id = next(iter(receipt.decode_logs(c.htlc.Locked))).lockId
        gas["HTLC seize (legal exit)"] = c.htlc.seizeLock(lock_id, treasury, _ref("legal order", n), sender=usd_legal).gas_used

    held = int(u.balanceOf(c.escrows["USD"]))
    if held != AMOUNT or escrow.outstanding() != held or int(u.balanceOf(c.pvp)) or int(u.balanceOf(c.htlc)):
        raise DepositTokenError("settlement benchmark: unexpected contract balances at the end")
    compare = {
        "permit": "approve",
        "transferWithAuthorization": "transfer",
        "escrow fund (approved)": "transferFrom",
        "escrow fund (one signature)": "transferFrom",
        "escrow release (buyer confirms)": "transfer",
        "escrow seize (legal exit)": "transfer",
        "PvP settle (two legs)": "2 x transferFrom",
        "PvP seize proposal (legal exit)": "transfer",
        "HTLC lock": "transferFrom",
        "HTLC claim": "transfer",
        "HTLC seize (legal exit)": "transfer",
    }
    base = {**gas, "2 x transferFrom": 2 * gas["transferFrom"]}
    return [SettlementRow(op, gas[op], other, base[other]) for op, other in compare.items()]


def format_settlement_table(rows: list[SettlementRow]) -> str:
    header = ("cross-border operation", "gas", "compared with", "gas", "ratio")
    lines = [(r.operation, f"{r.gas:,}", r.compared_with, f"{r.comparison_gas:,}", f"{r.ratio:.2f}x") for r in rows]
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) if i in (0, 2) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, lines)])
