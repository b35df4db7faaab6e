"""Seconds from send to mint across chains with the bank's tooling running (issue 15's benchmark).

    .venv/bin/python tools/xchain_latency.py   (make bench-xchain) [--messages 5] [--block-time 1] [--confirmations 2] [--interval 0.5]

Starts two Anvils (chain ids 31337 and 31338), deploys the devnet bank's token on the first and the cross-chain
devnet (deptoken.crosschain.devnet) on both, lets each mine a block every --block-time seconds, and runs the bank's
attester service (`deptoken xchain run`, a process of its own, --confirmations, --interval) from the first chain to
the second. A client then sends --messages messages one after another; for each it prints the seconds from
the send's receipt to the message's status `Received` on the second chain, then the median and the maximum.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]


@click.command()
@click.option("--messages", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--block-time", type=click.IntRange(min=1), default=1, show_default=True, help="Seconds between blocks.")
@click.option("--confirmations", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--interval", type=click.FloatRange(min=0.1), default=0.5, show_default=True, help="The service's seconds between passes.")
def main(messages: int, block_time: int, confirmations: int, interval: float) -> None:
    from ape import networks
    from ape.logging import logger

    logger.set_level("WARNING")

    from deptoken.config import load_config
    from deptoken.crosschain.devnet import ATTESTER, setup_crosschain_devnet, start_anvil
    from deptoken.crosschain.relay import message_status, open_node, send_message
    from deptoken.ops.db import make_engine, upgrade
    from deptoken.signers import DEVNET_CHAIN_ID, DEVNET_SECOND_CHAIN_ID, devnet_accounts, select_signer
    from deptoken.token.deployer import deploy_from_config

    accounts = devnet_accounts()
    client_key = accounts[7]
    processes = []
    try:
        pa, uri_a = start_anvil(DEVNET_CHAIN_ID)
        pb, uri_b = start_anvil(DEVNET_SECOND_CHAIN_ID)
        processes += [pa, pb]
        config = load_config(ROOT / "config" / "devnet.yaml")
        with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": uri_a}):
            roles = {r: select_signer(chain_id=DEVNET_CHAIN_ID, role=r, config=config) for r in ("admin", "minter_admin", "minter", "compliance")}
            token, _ = deploy_from_config(config, roles["admin"], minter_admin=roles["minter_admin"], record=False)
            token.allowlist(client_key, 2_000_000_000, sender=roles["compliance"])
            token.mint(client_key, "1000000.00", "DEP-LATENCY-1", sender=roles["minter"])
            net = setup_crosschain_devnet(token.contract, config, uri_b, [client_key.address])
        a, b = open_node(net.network_a), open_node(net.network_b)
        for node in (a, b):  # deployed block by block; from now on a block every block_time seconds, as a real chain
            node.rpc("evm_setIntervalMining", block_time)
        work = Path(tempfile.mkdtemp(prefix="xchain-latency-"))
        ledger = f"sqlite:///{work / 'attester.sqlite'}"
        upgrade(make_engine(ledger))
        service = subprocess.Popen(
            [str(Path(sys.executable).parent / "deptoken"), "--network", net.network_a, "--db", ledger, "xchain", "run",
             "--messenger", net.messenger_a, "--to-network", net.network_b, "--from-block", str(net.block_a),
             "--confirmations", str(confirmations), "--interval", str(interval), "--as", str(ATTESTER)],
            cwd=ROOT, env={**os.environ, "DEPTOKEN_PROJECT": str(ROOT)}, stdout=(work / "service.log").open("w"),
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        processes.append(service)
        seconds = []
        for n in range(messages):
            sent = send_message(a, net.messenger_a, DEVNET_SECOND_CHAIN_ID, client_key.address, 100 + n, sender=client_key)
            start = time.monotonic()
            while message_status(a, b, net.messenger_a, sent.id).destination_status != "Received":
                if time.monotonic() - start > 120 or service.poll() is not None:
                    raise click.ClickException(f"message {sent.id} not received; service log: {work / 'service.log'}")
                time.sleep(0.05)
            seconds.append(time.monotonic() - start)
            click.echo(f"message {n + 1}: {seconds[-1]:.2f} s from the send's receipt to Received on chain {DEVNET_SECOND_CHAIN_ID}")
        click.echo(f"send to mint: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s over {messages} message(s); "
                   f"blocks every {block_time:g} s on both chains, {confirmations} confirmation(s), service passes every {interval:g} s")
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
