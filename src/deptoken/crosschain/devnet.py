"""The cross-chain devnet: the bank's token on a second local chain (chain id 31338) beside the devnet's
(31337), a messenger on each holding the minter role with an allowance, routes both ways, one attester
(test account 43, threshold 1; it also relays). Public test accounts only: never for a real chain.

    process, uri_b = start_anvil(DEVNET_SECOND_CHAIN_ID)          # or `make devnet` (tools/devnet.sh)
    net = setup_crosschain_devnet(token_a, load_config("config/devnet.yaml"), uri_b, clients)
    net.env()   # what the CLI needs: the second chain's network, both messengers, their deploy blocks
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import DepositTokenError
from ..project import project_root

ATTESTER = 43  # the devnet's attester and relayer: a test account no token role uses
ALLOWANCE = "10000000.00"  # each messenger's minter allowance
ROUTE_MAX = "1000000.00"  # the largest message either way
LIFETIME = 86_400  # a message may be received within a day of its send
YEAR = 365 * 86_400


@dataclass(frozen=True)
class CrossChainDevnet:
    network_a: str
    network_b: str
    token_a: str
    token_b: str
    messenger_a: str
    messenger_b: str
    block_a: int  # the messengers' deploy blocks: where the attester service starts reading
    block_b: int
    attester: str

    def env(self) -> dict[str, str]:
        return {"DEPTOKEN_XCHAIN_NETWORK_B": self.network_b, "DEPTOKEN_XCHAIN_TOKEN_B": self.token_b,
                "DEPTOKEN_XCHAIN_MESSENGER_A": self.messenger_a, "DEPTOKEN_XCHAIN_MESSENGER_B": self.messenger_b,
                "DEPTOKEN_XCHAIN_BLOCK_A": str(self.block_a), "DEPTOKEN_XCHAIN_BLOCK_B": str(self.block_b)}


def start_anvil(chain_id: int, *, accounts: int = 44) -> tuple[subprocess.Popen, str]:
    """A local Anvil with ``chain_id`` on a port it picks itself (read from its log); its process and URI."""
    anvil = shutil.which("anvil", path=str(project_root() / "node_modules" / ".bin")) or shutil.which("anvil")
    if anvil is None:
        raise DepositTokenError("anvil not found (make setup installs it)")
    log = Path(tempfile.mkstemp(prefix=f"anvil-{chain_id}-", suffix=".log")[1])
    args = [anvil, "--host", "127.0.0.1", "--port", "0", "--chain-id", str(chain_id), "--accounts", str(accounts)]
    with log.open("w") as out:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("Listening on "):
                return process, "http://" + line.removeprefix("Listening on ").strip()
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise DepositTokenError(f"anvil (chain id {chain_id}) did not start: {log.read_text()[-300:]}")


def _signers(config: Any, chain_id: int) -> dict[str, Any]:
    from ..accounts import as_ape_account
    from ..signers import select_signer

    return {role: as_ape_account(select_signer(chain_id=chain_id, role=role, config=config))
            for role in ("admin", "minter_admin", "compliance", "pauser")}


def _messenger(token: Any, signers: dict[str, Any], attester: str, clients: Sequence[str], expiry: int) -> tuple[Any, int]:
    """This chain's messenger: deployed, the token's minter with ``ALLOWANCE``, allowlisted, its attester."""
    from ..token import TokenClient
    from .messenger import deploy_messenger

    admin = signers["admin"]
    messenger = deploy_messenger(admin, token, admin=admin, pauser=signers["pauser"], message_lifetime=LIFETIME)
    client = TokenClient.from_contract(token)
    client.configure_minter(messenger.address, ALLOWANCE, sender=signers["minter_admin"])
    client.allowlist_many([(a, expiry) for a in (messenger.address, *clients)], sender=signers["compliance"])
    messenger.setAttesters([attester], 1, sender=admin)
    from ape import chain

    return messenger, chain.provider.get_receipt(messenger.txn_hash).block_number


def setup_crosschain_devnet(token_a: Any, config: Any, uri_b: str, clients: Sequence[str]) -> CrossChainDevnet:
    """On the devnet (ape connected to chain A, 31337, with ``token_a`` from ``config``): the same bank's
    token on chain B (``uri_b``, 31338), a messenger on each, routes both ways, ``clients`` (the bank's,
    allowlisted on A already) allowlisted on B too."""
    from ape import chain, networks

    from ..chain import require_chain_id
    from ..signers import DEVNET_CHAIN_ID, DEVNET_SECOND_CHAIN_ID, devnet_accounts
    from ..token.deployer import deploy_token

    require_chain_id(DEVNET_CHAIN_ID)
    attester = str(devnet_accounts()[ATTESTER].address)
    network_a = f"ethereum:local:{chain.provider.uri}"
    expiry = int(chain.pending_timestamp) + YEAR
    messenger_a, block_a = _messenger(token_a, _signers(config, DEVNET_CHAIN_ID), attester, (), expiry)
    with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": uri_b}):
        require_chain_id(DEVNET_SECOND_CHAIN_ID)
        signers_b = _signers(config, DEVNET_SECOND_CHAIN_ID)
        token_b, _ = deploy_token(replace(config, chain_id=DEVNET_SECOND_CHAIN_ID), signers_b["admin"], record=False)
        messenger_b, block_b = _messenger(token_b, signers_b, attester, clients, int(chain.pending_timestamp) + YEAR)
        from ..amounts import parse_amount

        maximum = parse_amount(ROUTE_MAX, int(token_b.decimals()))
        messenger_b.setRoute(DEVNET_CHAIN_ID, messenger_a.address, maximum, sender=signers_b["admin"])
        token_b_address = str(token_b.address)
    messenger_a.setRoute(DEVNET_SECOND_CHAIN_ID, messenger_b.address, maximum, sender=_signers(config, DEVNET_CHAIN_ID)["admin"])
    return CrossChainDevnet(network_a, f"ethereum:local:{uri_b}", str(token_a.address), token_b_address,
                            str(messenger_a.address), str(messenger_b.address), block_a, block_b, attester)
