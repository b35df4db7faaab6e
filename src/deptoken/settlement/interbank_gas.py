"""Gas of the interbank network: one payment (by approval, and with one EIP-3009 signature) next to a
plain token transfer, and a settlement cycle for 3, 10 and 30 banks.

``measure_interbank()`` deploys, on the connected devnet, a settlement asset, one implementation of
the deposit token and a proxy per bank (USD, the roles of ``config/devnet.yaml``), and a net-mode
network they all join. Payments are measured in steady state (every balance and position involved
already non-zero); a cycle is measured with every bank's position non-zero (bank i pays bank i+1
its own amount), so its cost is what it grows with: the banks, not the payments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eth_utils import keccak

from ..token import authorizations as auth
from ..token import TokenClient

AMOUNT = 250_00  # minor units per payment (250.00)
CYCLE_BANKS = (3, 10, 30)
HAIRCUT_BPS = 1_000
COLLATERAL = 10**12


@dataclass(frozen=True)
class InterbankGas:
    """Receipts' ``gasUsed``: the payment both ways in, the plain transfer, and a cycle by number of banks."""

    payment_approved: int
    payment_signed: int
    transfer: int
    cycles: dict[int, int]

    def to_json(self) -> dict[str, Any]:
        return {"payment_approved": self.payment_approved, "payment_signed": self.payment_signed,
                "transfer": self.transfer, "cycles": {str(n): gas for n, gas in self.cycles.items()}}


def _ref(label: str) -> bytes:
    return keccak(f"deptoken interbank benchmark {label}".encode())


def measure_interbank(banks: tuple[int, ...] = CYCLE_BANKS) -> InterbankGas:
    """Deploys the network on the connected devnet and measures it (see the module docstring)."""
    from ape import accounts, chain, project

    from ..config import load_config
    from ..token.gas import devnet_config

    config = load_config(devnet_config())
    test = accounts.test_accounts
    admin, minter_admin, treasury, compliance, payer, payee = test[0], test[1], test[2], test[3], test[8], test[9]
    relayer = test[27]  # submits the signed payment (a marketplace)
    expiry = int(chain.pending_timestamp) + 365 * 86_400
    asset = admin.deploy(project.SettlementAsset, "Tokenised USD reserves", "rUSD", 2, admin)
    network = admin.deploy(project.InterbankNetwork, asset, "USD", 0, HAIRCUT_BPS, admin, admin)
    asset.setHolder(treasury, True, sender=admin)
    asset.setHolder(network, True, sender=admin)
    asset.mint(treasury, COLLATERAL * max(banks), sender=admin)
    asset.approve(network, COLLATERAL * max(banks), sender=treasury)
    implementation = admin.deploy(project.DepositToken)
    tokens: list[Any] = []

    def add_bank() -> Any:
        n = len(tokens)
        params = replace(config, name=f"Benchmark Bank {n} USD", symbol=f"BB{n}USD").init_params()
        proxy = admin.deploy(project.DepositTokenProxy, implementation, implementation.initialize.encode_input(params))
        token = project.DepositToken.at(proxy.address)
        token.configureMinter(treasury, 10**15, sender=minter_admin)
        token.configureMinter(network, 10**15, sender=minter_admin)
        token.allowlistBatch([payer, payee, treasury, network], [expiry] * 4, sender=compliance)
        token.mint(payer, 10**9, _ref(f"initial {n}"), sender=treasury)
        network.join(token, treasury, sender=admin)
        network.postCollateral(token, COLLATERAL, sender=treasury)
        token.approve(network, 2**255, sender=payer)
        tokens.append(token)
        return token

    a, b = add_bank(), add_bank()
    for i in range(2):  # steady state: the payee holds B-tokens, both positions are non-zero
        network.pay(a, b, payee, AMOUNT, _ref(f"warm {i}"), sender=payer)
    approved = network.pay(a, b, payee, AMOUNT, _ref("measured approved"), sender=payer).gas_used
    client = TokenClient.from_contract(a)
    nonce = network.paymentNonce(b, payee, _ref("measured signed"))
    signed = auth.sign(payer, auth.transfer_authorization(client, payer, network.address, client.to_decimal(AMOUNT),
                                                          valid_for=3600, nonce=nonce, receive=True))
    m = signed.message
    signed_gas = network.payWithAuthorization(a, b, payer, payee, AMOUNT, _ref("measured signed"), m["validAfter"],
                                              m["validBefore"], signed.signature, sender=relayer).gas_used
    transfer = a.transfer(payee, AMOUNT, sender=payer).gas_used

    cycles: dict[int, int] = {}
    for count in sorted(banks):
        while len(tokens) < count:
            add_bank()
        network.settleCycle(sender=admin)  # every position from earlier rounds settled: zero
        members = tokens[:count]
        for i, token in enumerate(members):  # bank i pays bank i+1: every position non-zero
            network.pay(token, members[(i + 1) % count], payer, AMOUNT + i, _ref(f"cycle {count} {i}"), sender=payer)
        cycles[count] = network.settleCycle(sender=admin).gas_used
    return InterbankGas(approved, signed_gas, transfer, cycles)


def format_interbank(gas: InterbankGas) -> str:
    lines = [
        f"interbank payment (approved)       {gas.payment_approved:>9,}  = {gas.payment_approved / gas.transfer:.2f}x a transfer ({gas.transfer:,})",
        f"interbank payment (one signature)  {gas.payment_signed:>9,}  = {gas.payment_signed / gas.transfer:.2f}x a transfer",
    ]
    for count, cycle in gas.cycles.items():
        lines.append(f"settlement cycle, {count:>2} banks        {cycle:>9,}  = {cycle // count:,} per bank")
    return "\n".join(lines)
