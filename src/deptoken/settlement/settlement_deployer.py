"""Deploying the settlement contracts next to deposit tokens, and the cross-border devnet.

``deploy_settlement`` deploys one ``PvPSettlement``, one ``HashedTimelock`` and a ``TradeEscrow`` per
token, then has each bank's compliance allowlist them on its token: a contract that holds deposit
tokens (escrow, time-lock) or moves them as a spender (PvP, escrow, time-lock) must be allowlisted
like any holder. Without that the first funding or settlement reverts (``ERC7943CannotReceive`` or
``SpenderNotAllowed``). The escrow's fee recipient and arbiter must be able to receive each token
*before* its escrow is deployed (the contract checks it): off the devnet the deploy refuses, sending
nothing, until each bank has allowlisted them. The record goes to ``deployments/<network>-<chain tag>-settlement.json``.

``setup_devnet`` is the cross-border devnet of the demo and ``make devnet``: three banks, each with its
deposit token: USD Bank A (config/devnet.yaml), USD Bank B (config/devnet-usd-b.yaml) and CNH Bank C
(config/devnet-cnh.yaml); the settlement contracts; every party a client of ONE bank only
(``DEVNET_CLIENTS``); and the interbank network both USD banks join, settling in a settlement asset of
the devnet's central bank, each bank's collateral posted. Only Anvil's public test accounts sign: devnet only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chain import network_name
from ..config import load_config
from ..contracts import as_contract
from ..errors import DepositTokenError
from ..token import TokenClient
from ..project import project_root
from .escrow import EscrowClient, check_escrow_accounts, deploy_escrow
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

# Test accounts of the cross-border devnet (see ape-config.yaml): the parties and the marketplace.
DEVNET_PARTIES = {"buyer": 27, "supplier": 28, "fx_desk": 29, "marketplace": 30, "marketplace_fees": 31,
                  "fx_desk_usd": 40, "manufacturer": 41, "marketplace_fees_cnh": 42}
# Each party is a client of one bank only, onboarded (allowlisted) there and nowhere else. Bank A: the buyer,
# the marketplace operator (it relays and may hold), its USD fee account (also the USD escrow's arbiter) and the
# FX desk's USD account (Bank C's USD nostro); Bank B: the supplier; Bank C: the FX desk's CNH account, the
# manufacturer (the supplier's own supplier) and the marketplace's CNH fee account (the CNH escrow's arbiter).
DEVNET_CLIENTS = {"A": ("buyer", "marketplace", "marketplace_fees", "fx_desk_usd"), "B": ("supplier",),
                  "C": ("fx_desk", "manufacturer", "marketplace_fees_cnh")}
# Each escrow's fee account and arbiter, a client of the escrow's bank (an arbiter is never the admin, the operator).
DEVNET_ESCROW_ACCOUNTS = {"USD": "marketplace_fees", "CNH": "marketplace_fees_cnh"}
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
    arbiter: Any | Mapping[str, Any],
    fee_recipient: Any | Mapping[str, Any],
    fee_bps: int,
    kyc_expiry: int,
    record: bool = True,
    parties: dict[str, dict[str, str]] | None = None,
) -> SettlementContracts:
    """Deploys the settlement contracts for ``tokens`` and, for each token given with its bank's
    compliance signer, allowlists them on it until ``kyc_expiry`` (the signers' roles are checked
    first). A token given with ``None`` is left to its bank: ``to_allowlist`` says what it must list.
    Each escrow's fee recipient and arbiter must already be able to receive its token: checked for
    every token before anything is sent. ``arbiter`` and ``fee_recipient``: one account for every escrow, or a
    mapping currency -> account (each a client of that escrow's bank). ``escrow_admin_delay``: seconds a
    transfer of an escrow's admin role waits (two-step admin)."""
    from ape import chain

    for client, compliance in tokens:
        if compliance is not None:
            client.require_role(compliance, "compliance", f"allowlist the settlement contracts on {client.symbol}")
    currencies = [client.currency for client, _ in tokens]
    if len(set(currencies)) != len(currencies):
        raise DepositTokenError(f"one token per currency: {', '.join(currencies)}")
    def per_currency(value: Any, currency: str) -> Any:
        return value.get(currency) if isinstance(value, Mapping) else value

    for client, _ in tokens:
        check_escrow_accounts(client, admin=escrow_admin, arbiter=per_currency(arbiter, client.currency),
                              fee_recipient=per_currency(fee_recipient, client.currency))
    pvp = deploy_pvp(deployer)
    htlc_client = deploy_htlc(deployer)
    htlc = htlc_client.contract
    escrows = {
        client.currency: deploy_escrow(deployer, client, admin=escrow_admin, admin_delay=escrow_admin_delay,
                                       arbiter=per_currency(arbiter, client.currency),
                                       fee_recipient=per_currency(fee_recipient, client.currency), fee_bps=fee_bps)
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

    usd: TokenClient  # USD Bank A's token
    cnh: TokenClient  # CNH Bank C's token
    contracts: SettlementContracts
    parties: dict[str, Any]  # name -> test account
    banks: dict[str, dict[str, Any]]  # currency (a second bank of one: its symbol) -> role -> test account
    usd_b: TokenClient | None = None  # USD Bank B's token
    interbank: Any = None  # the InterbankClient of the USD banks' network

    def bank_of(self, party: str) -> TokenClient:
        """The token of the one bank ``party`` (a name of ``DEVNET_PARTIES``) is a client of."""
        tokens = {"A": self.usd, "B": self.usd_b, "C": self.cnh}
        for bank, names in DEVNET_CLIENTS.items():
            if party in names:
                return tokens[bank]
        raise DepositTokenError(f"{party!r} is not a client of any devnet bank")


def _bank(config_path: Path) -> dict[str, Any]:
    from ..signers import select_signer, DEVNET_CHAIN_ID

    config = load_config(config_path)
    return {role: select_signer(chain_id=DEVNET_CHAIN_ID, role=role, config=config)
            for role in ("admin", "minter_admin", "minter", "compliance", "legal")}


def setup_devnet(usd: TokenClient | None = None, *, record: bool = True) -> Devnet:
    """On the devnet: deploys Bank A's USD token (unless ``usd`` is given), Bank B's USD token, Bank C's CNH
    token and the settlement contracts; each bank onboards its own clients first (``DEVNET_CLIENTS``: the
    escrows' fee accounts and arbiters too), and only them; against deposits, the FX desk gets 1,000,000.00
    CNH at Bank C and the buyer 20,000.00 USD at Bank A; then the interbank network of the USD banks."""
    from ape import chain

    from ..token.deployer import deploy_from_config
    from ..signers import DEVNET_CHAIN_ID, devnet_accounts
    from ..chain import require_chain_id

    require_chain_id(DEVNET_CHAIN_ID)
    accounts = devnet_accounts()
    if len(accounts) <= max(DEVNET_PARTIES.values()):
        raise DepositTokenError(f"the devnet needs {max(DEVNET_PARTIES.values()) + 1} test accounts (ape-config.yaml)")
    parties = {name: accounts[i] for name, i in DEVNET_PARTIES.items()}
    usd_config, cnh_config, usd_b_config = (project_root() / c for c in (USD_CONFIG, CNH_CONFIG, USD_B_CONFIG))
    b_symbol = load_config(usd_b_config).symbol
    banks = {"USD": _bank(usd_config), "CNH": _bank(cnh_config), b_symbol: _bank(usd_b_config)}
    if usd is None:
        usd, _ = deploy_from_config(load_config(usd_config), banks["USD"]["admin"],
                                    minter_admin=banks["USD"]["minter_admin"], record=record, force=True)
    cnh, _ = deploy_from_config(load_config(cnh_config), banks["CNH"]["admin"],
                                minter_admin=banks["CNH"]["minter_admin"], record=False)
    usd_b, _ = deploy_from_config(load_config(usd_b_config), banks[b_symbol]["admin"],
                                  minter_admin=banks[b_symbol]["minter_admin"], record=False)
    expiry = int(chain.pending_timestamp) + YEAR
    marketplace = parties["marketplace"]
    # each bank its own clients and its treasury, first: the escrows' fee accounts and arbiters must be able
    # to receive when their escrow is deployed
    keys = {"A": "USD", "B": b_symbol, "C": "CNH"}
    tokens = {"A": usd, "B": usd_b, "C": cnh}
    for bank, names in DEVNET_CLIENTS.items():
        roles = banks[keys[bank]]
        tokens[bank].allowlist_many([(a, expiry) for a in (*(parties[n] for n in names), roles["minter"])],
                                    sender=roles["compliance"])
    records = {keys[bank]: {**{role: str(account.address) for role, account in banks[keys[bank]].items()},
                            **{name: str(parties[name].address) for name in names}}
               for bank, names in DEVNET_CLIENTS.items()}
    # each party's bank, by the symbol of its token
    records["clients"] = {name: tokens[bank].symbol for bank, names in DEVNET_CLIENTS.items() for name in names}
    for currency, name in DEVNET_ESCROW_ACCOUNTS.items():
        records[f"escrow.{currency}"] = {"admin": str(marketplace.address), "arbiter": str(parties[name].address),
                                         "fee_recipient": str(parties[name].address)}
    escrow_accounts = {currency: parties[name] for currency, name in DEVNET_ESCROW_ACCOUNTS.items()}
    contracts = deploy_settlement(
        [(usd, banks["USD"]["compliance"]), (cnh, banks["CNH"]["compliance"])],
        marketplace,
        escrow_admin=marketplace,
        escrow_admin_delay=0,  # devnet: no wait for an admin transfer
        arbiter=escrow_accounts,
        fee_recipient=escrow_accounts,
        fee_bps=MARKETPLACE_FEE_BPS,
        kyc_expiry=expiry,
        record=False,
        parties=records,
    )
    # Bank B has no escrow of its own; the PvP and time-lock contracts may move its token (a client of B paying
    # through them), so B allowlists them like the other banks
    c = contracts
    usd_b.allowlist_many([(str(a), expiry) for a in (c.pvp.address, c.htlc.address)], sender=banks[b_symbol]["compliance"])
    c.record.banks = {token.symbol: token.address for token in (usd, usd_b, cnh)}
    cnh.mint(parties["fx_desk"], "1000000.00", "CNH-DESK-FUNDING-1", sender=banks["CNH"]["minter"])
    usd.mint(parties["buyer"], "20000.00", "DEP-XB-2026-0001", sender=banks["USD"]["minter"])
    network = _interbank_devnet(usd, usd_b, banks, expiry, contracts.record)
    # the USD escrow pays sellers (and a fee account) at other banks of the network: the supplier banks at B
    EscrowClient(c.escrows["USD"], usd).set_network(network, sender=marketplace)
    if record:
        write_registry(contracts.record)
    return Devnet(usd, cnh, contracts, parties, banks, usd_b, network)


def _interbank_devnet(usd: TokenClient, usd_b: TokenClient, banks: dict[str, dict[str, Any]], expiry: int,
                      registry: SettlementDeployment) -> Any:
    """The central bank's settlement asset and the net-mode network both USD banks join: each grants it a
    minter allowance, allowlists it and posts collateral. Recorded in ``registry``."""
    from ..signers import devnet_accounts
    from .interbank import deploy_network, deploy_settlement_asset

    central = devnet_accounts()[DEVNET_CENTRAL_BANK]
    asset = as_contract(deploy_settlement_asset(central, "Tokenised USD reserves (devnet)", "rUSD", 2, central))
    network = deploy_network(central, asset, "USD", "net", NETWORK_HAIRCUT_BPS, central, central, tokens=[usd, usd_b])
    asset.setHolder(network.address, True, sender=central)
    for token, bank in ((usd, banks["USD"]), (usd_b, banks[usd_b.symbol])):
        network.join(token, bank["minter"], sender=central)  # the bank's treasury runs its collateral
        token.configure_minter(network.address, NETWORK_ALLOWANCE, sender=bank["minter_admin"])
        token.allowlist(network.address, expiry, sender=bank["compliance"])
        asset.setHolder(bank["minter"], True, sender=central)
        asset.mint(bank["minter"], token.units(NETWORK_COLLATERAL), sender=central)  # against the bank's reserves
        network.post_collateral(token, NETWORK_COLLATERAL, sender=bank["minter"])
    registry.interbank, registry.settlement_asset = network.address, asset.address
    registry.deploy_blocks["interbank"] = network.deploy_block
    registry.parties["interbank"] = {"central_bank": central.address, "admin": central.address,
                                     "settlement_operator": central.address}
    return network
