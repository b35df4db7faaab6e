"""Deploying the settlement contracts next to deposit tokens, and the cross-border devnet.

``deploy_settlement`` deploys one ``PvPSettlement``, one ``HashedTimelock`` and a ``TradeEscrow`` per
token, then has each bank's compliance allowlist them on its token: a contract that holds deposit
tokens (escrow, time-lock) or moves them as a spender (PvP, escrow, time-lock) must be allowlisted
like any holder. Without that the first funding or settlement reverts (``ERC7943CannotReceive`` or
``SpenderNotAllowed``). The escrow's fee recipient and arbiter must be able to receive each token
*before* its escrow is deployed (the contract checks it): off the devnet the deploy refuses, sending
nothing, until each bank has allowlisted them. The record goes to ``deployments/<network>-<chain tag>-settlement.json``.

``setup_devnet`` is the cross-border devnet of the demo and ``make devnet``: the USD bank's token
(config/devnet.yaml), a CNH bank's token (config/devnet-cnh.yaml), the settlement contracts, and
the parties onboarded at both banks; and a second USD bank (config/devnet-usd-b.yaml) that joins an
interbank network with the first, settling in a settlement asset of the devnet's central bank, each
bank's collateral posted. Only Anvil's public test accounts sign: devnet only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chain import network_name
from ..config import load_config
from ..contracts import as_contract
from ..errors import DepositTokenError
from ..token import TokenClient
from ..project import project_root
from .escrow import check_escrow_accounts, deploy_escrow
from .htlc import deploy_htlc
from .pvp import deploy_pvp
from .registry import SettlementDeployment, write_registry

USD_CONFIG = Path("config") / "devnet.yaml"  # in the project directory (deptoken.project)
CNH_CONFIG = Path("config") / "devnet-cnh.yaml"
USD_B_CONFIG = Path("config") / "devnet-usd-b.yaml"
DEVNET_CENTRAL_BANK = 39  # test account: the settlement asset's central bank, the network's admin and operator
NETWORK_HAIRCUT_BPS = 1_000  # collateral counts for 90 %
NETWORK_COLLATERAL = "1000000.00"  # settlement asset each bank posts
NETWORK_ALLOWANCE = "10000000.00"  # what each bank lets the network mint for payments in
YEAR = 365 * 24 * 3600

# Test accounts of the cross-border devnet (see ape-config.yaml): parties and the marketplace.
DEVNET_PARTIES = {"buyer": 27, "supplier": 28, "fx_desk": 29, "marketplace": 30, "marketplace_fees": 31}
# Onboarded (allowlisted) at both banks: every party (the README's "Deploying them" says so).
DEVNET_ONBOARDED = ("buyer", "supplier", "fx_desk", "marketplace", "marketplace_fees")
# The escrow's arbiter may not be its admin (the marketplace operator): on the devnet the marketplace's
# fee account (31) also decides disputes.
DEVNET_ESCROW_ARBITER = "marketplace_fees"
MARKETPLACE_FEE_BPS = 150  # 1.50 % of what sellers receive


@dataclass
class SettlementContracts:
    pvp: Any
    htlc: Any
    escrows: dict[str, Any]  # currency -> TradeEscrow
    record: SettlementDeployment


def deploy_settlement(
    tokens: Sequence[tuple[TokenClient, Any]],
    deployer: Any,
    *,
    escrow_admin: Any,
    escrow_admin_delay: int,
    arbiter: Any,
    fee_recipient: Any,
    fee_bps: int,
    kyc_expiry: int,
    record: bool = True,
    parties: dict[str, dict[str, str]] | None = None,
) -> SettlementContracts:
    """Deploys the settlement contracts for ``tokens`` and, for each token given with its bank's
    compliance signer, allowlists them on it until ``kyc_expiry`` (the signers' roles are checked
    first). A token given with ``None`` is left to its bank: ``to_allowlist`` says what it must list.
    Each escrow's fee recipient and arbiter must already be able to receive its token: checked for
    every token before anything is sent. ``escrow_admin_delay``: seconds a transfer of an escrow's
    admin role waits (two-step admin)."""
    from ape import chain

    for client, compliance in tokens:
        if compliance is not None:
            client.require_role(compliance, "compliance", f"allowlist the settlement contracts on {client.symbol}")
    currencies = [client.currency for client, _ in tokens]
    if len(set(currencies)) != len(currencies):
        raise DepositTokenError(f"one token per currency: {', '.join(currencies)}")
    for client, _ in tokens:
        check_escrow_accounts(client, admin=escrow_admin, arbiter=arbiter, fee_recipient=fee_recipient)
    pvp = deploy_pvp(deployer)
    htlc_client = deploy_htlc(deployer)
    htlc = htlc_client.contract
    escrows = {
        client.currency: deploy_escrow(deployer, client, admin=escrow_admin, admin_delay=escrow_admin_delay,
                                       arbiter=arbiter, fee_recipient=fee_recipient, fee_bps=fee_bps)
        for client, _ in tokens
    }
    for client, compliance in tokens:
        if compliance is not None:
            client.allowlist_many([(c, kyc_expiry) for c in to_allowlist(pvp, htlc, escrows[client.currency])],
                                  sender=compliance)
    def block_of(contract: Any) -> int:
        return int(chain.provider.get_receipt(contract.txn_hash).block_number)

    token_blocks = {client.currency: client.deployment.deploy_block for client, _ in tokens
                    if client.deployment is not None and client.deployment.token == client.address}
    registry = SettlementDeployment(
        network=network_name(),
        chain_id=int(chain.chain_id),
        tokens={client.currency: client.address for client, _ in tokens},
        escrows={currency: str(e.address) for currency, e in escrows.items()},
        pvp=str(pvp.address),
        htlc=str(htlc.address),
        deploy_blocks={"pvp": block_of(pvp), "htlc": htlc_client.deploy_block,
                       "escrows": {currency: block_of(e) for currency, e in escrows.items()},
                       **({"tokens": token_blocks} if token_blocks else {})},
        parties=dict(parties or {}),
    )
    if record:
        write_registry(registry)
    return SettlementContracts(as_contract(pvp), htlc, {currency: as_contract(e) for currency, e in escrows.items()}, registry)


def to_allowlist(pvp: Any, htlc: Any, escrow: Any) -> list[str]:
    """The addresses a bank must allowlist on its token for the settlement contracts to work."""
    return [str(pvp.address), str(htlc.address), str(escrow.address)]


@dataclass
class Devnet:
    """The cross-border devnet: the banks' tokens, the settlement contracts, the parties, the interbank network."""

    usd: TokenClient
    cnh: TokenClient
    contracts: SettlementContracts
    parties: dict[str, Any]  # name -> test account
    banks: dict[str, dict[str, Any]]  # currency (a second bank of one: its symbol) -> role -> test account
    usd_b: TokenClient | None = None  # the second USD bank's token
    interbank: Any = None  # the InterbankClient of the USD banks' network


def _bank(config_path: Path) -> dict[str, Any]:
    from ..signers import select_signer, DEVNET_CHAIN_ID

    config = load_config(config_path)
    return {role: select_signer(chain_id=DEVNET_CHAIN_ID, role=role, config=config)
            for role in ("admin", "minter_admin", "minter", "compliance", "legal")}


def setup_devnet(usd: TokenClient | None = None, *, record: bool = True) -> Devnet:
    """On the devnet: deploys the USD token (unless ``usd`` is given), the CNH token and the
    settlement contracts; onboards the parties at both banks first (the marketplace's fee account, also
    the escrows' arbiter, too); against deposits, the FX desk gets 1,000,000.00 CNH and the buyer 20,000.00 USD."""
    from ape import chain

    from ..token.deployer import deploy_from_config
    from ..signers import DEVNET_CHAIN_ID, devnet_accounts
    from ..chain import require_chain_id

    require_chain_id(DEVNET_CHAIN_ID)
    accounts = devnet_accounts()
    if len(accounts) <= max(DEVNET_PARTIES.values()):
        raise DepositTokenError(f"the devnet needs {max(DEVNET_PARTIES.values()) + 1} test accounts (ape-config.yaml)")
    parties = {name: accounts[i] for name, i in DEVNET_PARTIES.items()}
    usd_config, cnh_config = project_root() / USD_CONFIG, project_root() / CNH_CONFIG
    banks = {"USD": _bank(usd_config), "CNH": _bank(cnh_config)}
    if usd is None:
        usd, _ = deploy_from_config(load_config(usd_config), banks["USD"]["admin"],
                                    minter_admin=banks["USD"]["minter_admin"], record=record, force=True)
    cnh, _ = deploy_from_config(load_config(cnh_config), banks["CNH"]["admin"],
                                minter_admin=banks["CNH"]["minter_admin"], record=False)
    expiry = int(chain.pending_timestamp) + YEAR
    marketplace = parties["marketplace"]
    # the parties first: the escrows' fee recipient and arbiter must be able to receive when deployed;
    # every party at both banks (DEVNET_ONBOARDED), the marketplace operator too (it relays and may hold)
    both = [parties[p] for p in DEVNET_ONBOARDED]
    usd.allowlist_many([(p, expiry) for p in (*both, banks["USD"]["minter"])], sender=banks["USD"]["compliance"])
    cnh.allowlist_many([(p, expiry) for p in (*both, banks["CNH"]["minter"])], sender=banks["CNH"]["compliance"])
    roles = {currency: {**{role: str(account.address) for role, account in bank.items()},
                        **{name: str(parties[name].address) for name in DEVNET_ONBOARDED}}
             for currency, bank in banks.items()}
    roles["escrow"] = {"admin": str(marketplace.address), "arbiter": str(parties[DEVNET_ESCROW_ARBITER].address),
                       "fee_recipient": str(parties["marketplace_fees"].address)}
    contracts = deploy_settlement(
        [(usd, banks["USD"]["compliance"]), (cnh, banks["CNH"]["compliance"])],
        marketplace,
        escrow_admin=marketplace,
        escrow_admin_delay=0,  # devnet: no wait for an admin transfer
        arbiter=parties[DEVNET_ESCROW_ARBITER],
        fee_recipient=parties["marketplace_fees"],
        fee_bps=MARKETPLACE_FEE_BPS,
        kyc_expiry=expiry,
        record=record,
        parties=roles,
    )
    cnh.mint(parties["fx_desk"], "1000000.00", "CNH-DESK-FUNDING-1", sender=banks["CNH"]["minter"])
    usd.mint(parties["buyer"], "20000.00", "DEP-XB-2026-0001", sender=banks["USD"]["minter"])
    usd_b, network = _interbank_devnet(usd, banks, expiry, contracts.record, record=record)
    return Devnet(usd, cnh, contracts, parties, banks, usd_b, network)


def _interbank_devnet(usd: TokenClient, banks: dict[str, dict[str, Any]], expiry: int, registry: SettlementDeployment,
                      *, record: bool) -> tuple[TokenClient, Any]:
    """The second USD bank (its roles added to ``banks`` under its symbol), the central bank's settlement
    asset, and the net-mode network both USD banks join: each grants it a minter allowance, allowlists it
    and posts collateral. Recorded in ``registry`` (written again when ``record``)."""
    from ..signers import devnet_accounts
    from ..token.deployer import deploy_from_config
    from .interbank import deploy_network, deploy_settlement_asset

    config = load_config(project_root() / USD_B_CONFIG)
    bank_b = banks[config.symbol] = _bank(project_root() / USD_B_CONFIG)
    usd_b, _ = deploy_from_config(config, bank_b["admin"], minter_admin=bank_b["minter_admin"], record=False)
    usd_b.allowlist(bank_b["minter"], expiry, sender=bank_b["compliance"])
    central = devnet_accounts()[DEVNET_CENTRAL_BANK]
    asset = as_contract(deploy_settlement_asset(central, "Tokenised USD reserves (devnet)", "rUSD", 2, central))
    network = deploy_network(central, asset, "USD", "net", NETWORK_HAIRCUT_BPS, central, central, tokens=[usd, usd_b])
    asset.setHolder(network.address, True, sender=central)
    for token, bank in ((usd, banks["USD"]), (usd_b, bank_b)):
        network.join(token, bank["minter"], sender=central)  # the bank's treasury runs its collateral
        token.configure_minter(network.address, NETWORK_ALLOWANCE, sender=bank["minter_admin"])
        token.allowlist(network.address, expiry, sender=bank["compliance"])
        asset.setHolder(bank["minter"], True, sender=central)
        asset.mint(bank["minter"], token.units(NETWORK_COLLATERAL), sender=central)  # against the bank's reserves
        network.post_collateral(token, NETWORK_COLLATERAL, sender=bank["minter"])
    registry.interbank, registry.settlement_asset = network.address, asset.address
    registry.deploy_blocks["interbank"] = network.deploy_block
    registry.parties[config.symbol] = {role: str(account.address) for role, account in bank_b.items()}
    registry.parties["interbank"] = {"central_bank": central.address, "admin": central.address,
                                     "settlement_operator": central.address}
    if record:
        write_registry(registry)
    return usd_b, network
