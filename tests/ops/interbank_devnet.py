"""Run by tests/ops/test_ops_interbank_faults.py in a process of its own (``python interbank_devnet.py NETWORK
B_DEPLOYMENTS OUT``) against a standalone devnet whose bank A token is deployed: bank B's token (config/devnet-usd-b.yaml,
recorded in B_DEPLOYMENTS), the settlement asset and a net-mode network with no haircut both banks joined (granted,
allowlisted, 500.00 of collateral each; each bank's treasury holds more of the asset). Writes the addresses to OUT."""

from __future__ import annotations

import json
import sys
from pathlib import Path

CENTRAL = 20  # the central bank, the network's admin and settlement operator
A_ROLES = {"operator": 2, "minter_admin": 1, "compliance": 3}  # config/devnet.yaml
B_ROLES = {"admin": 32, "operator": 34, "minter_admin": 33, "compliance": 35}  # config/devnet-usd-b.yaml


def main(network: str, b_deployments: str, out: str) -> None:
    from ape import accounts, chain, networks

    with networks.parse_network_choice(network):
        from deptoken.config import load_config
        from deptoken.deployments import PROJECT_ROOT
        from deptoken.settlement.interbank import deploy_network, deploy_settlement_asset
        from deptoken.token import TokenClient
        from deptoken.token.deployer import deploy_from_config

        test = accounts.test_accounts
        usd = TokenClient.from_deployment()
        usb, _ = deploy_from_config(load_config(PROJECT_ROOT / "config" / "devnet-usd-b.yaml"), test[B_ROLES["admin"]],
                                    minter_admin=test[B_ROLES["minter_admin"]], directory=Path(b_deployments))
        central = test[CENTRAL]
        asset = deploy_settlement_asset(central, "Tokenised USD reserves", "rUSD", 2, central)
        ib = deploy_network(central, asset, "USD", "net", 0, central, central, tokens=[usd, usb])
        asset.setHolder(ib.address, True, sender=central)
        expiry = int(chain.pending_timestamp) + 365 * 86_400
        for token, roles in ((usd, A_ROLES), (usb, B_ROLES)):
            operator = test[roles["operator"]]
            ib.join(token, operator, sender=central)
            token.configure_minter(ib.address, 10**12, sender=test[roles["minter_admin"]])
            token.allowlist(ib.address, expiry, sender=test[roles["compliance"]])
            asset.setHolder(operator, True, sender=central)
            asset.mint(operator, 10**8, sender=central)
            ib.post_collateral(token, "500.00", sender=operator)
        Path(out).write_text(json.dumps({"interbank": ib.address, "bank_b": usb.address, "asset": str(asset.address)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
