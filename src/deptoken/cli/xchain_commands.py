"""``deptoken xchain``: the bank's attester and relayer over the cross-chain messenger (``deptoken.crosschain.relay``).

    deptoken --network SRC xchain routes --messenger 0xA...
    deptoken --network SRC xchain send --messenger 0xA... --to-chain 31338 --to 0xBob... --amount 12.50 --as 7
    deptoken --network SRC xchain status 0xID_OR_TX --messenger 0xA... --to-network DST
    deptoken --network SRC --db LEDGER --json xchain attest 0xID_OR_TX --messenger 0xA... --to-network DST --confirmations 2 --as 30 > att-1.json
    deptoken --network SRC --db LEDGER xchain relay 0xID_OR_TX --messenger 0xA... --to-network DST --attestations att-2.json --keystore relayer.json

``--network`` is the message's source chain, ``--to-network`` its destination, ``--messenger`` the source
messenger (the destination's is the message's). Each attester keeps its signatures in its own ledger
(``--db``); ``relay`` combines its ledger's with those in ``--attestations`` files (other attesters'
``--json xchain attest`` output), verifies each, and submits ``threshold`` of them in signer order.
"""

from __future__ import annotations

from typing import Any

import click

from .env import Env, pass_env
from .settlement_support import emit
from .signing import AS_HELP_NO_ROLES, SignerChoice, signer_choice_options

_MESSENGER = click.option("--messenger", required=True, metavar="ADDRESS", help="The messenger on the source chain (--network).")
_TO_NETWORK = click.option("--to-network", required=True, metavar="NETWORK",
                           help="The destination chain's node, e.g. ethereum:local:http://127.0.0.1:8546")


def _source(env: Env) -> Any:
    """The source chain's node (``--network``)."""
    from .. import node

    env.connect()
    return node.connected()


def _dest(choice: str) -> Any:
    from ..crosschain.relay import open_node

    return open_node(choice)


@click.group()
def xchain() -> None:
    """Cross-chain transfers of the deposit token: send, attest, relay, status, routes."""


@xchain.command("routes")
@_MESSENGER
@pass_env
def routes(env: Env, messenger: str) -> None:
    """Lists the messenger's routes: chain, remote messenger, maximum per message (minor units), paused."""
    from ..crosschain.relay import list_routes

    found = list_routes(_source(env), messenger)
    lines = [f"chain {r.chain_id}: {r.remote_messenger}, max {r.max_amount}{' (paused)' if r.paused else ''}" for r in found]
    emit(env, [r.__dict__ for r in found], "\n".join(lines) or "no routes")


@xchain.command("send")
@_MESSENGER
@click.option("--to-chain", "to_chain", required=True, type=click.IntRange(min=1), help="The destination chain id.")
@click.option("--to", "recipient", required=True, help="The recipient's address on the destination chain.")
@click.option("--amount", required=True, help="Currency units, e.g. 12.50")
@click.option("--wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Then wait until the destination (--to-network) received (or refused) it.")
@click.option("--to-network", default=None, metavar="NETWORK", help="The destination chain's node (with --wait).")
@signer_choice_options(AS_HELP_NO_ROLES)
@pass_env
def send(env: Env, messenger: str, to_chain: int, recipient: str, amount: str, wait: float | None, to_network: str | None,
         signer_choice: SignerChoice) -> None:
    """The signer (the holder) sends --amount to --to on --to-chain: burned here, minted there once relayed."""
    from ..errors import InvalidInput

    if wait is not None and not to_network:
        raise InvalidInput("--wait needs --to-network (the destination chain's node)")
    dest = _dest(to_network) if wait is not None else None
    from ..amounts import parse_amount
    from ..contracts import contract_at
    from ..crosschain.relay import messenger_at, on, send_message

    source = _source(env)
    with on(source):
        decimals = int(contract_at("DepositToken", messenger_at(messenger).token()).decimals())
    minor = parse_amount(amount, decimals)
    found = send_message(source, messenger, to_chain, recipient, minor, sender=signer_choice.select(source.chain_id()))
    text = f"sent message {found.id} (transaction {found.tx_hash}): {minor} minor units to {recipient} on chain {to_chain}"
    data = {"message_id": found.id, "tx": found.tx_hash, **found.message.as_dict()}
    if dest is not None:
        from ..crosschain.relay import wait_delivered

        delivered = wait_delivered(source, dest, messenger, found.id, timeout=wait)
        data["destination_status"] = delivered.destination_status
        text += f"; chain {to_chain}: {delivered.destination_status}"
    emit(env, data, text)


@xchain.command("status")
@click.argument("ref", metavar="MESSAGE_ID|TX_HASH")
@_MESSENGER
@_TO_NETWORK
@pass_env
def status(env: Env, ref: str, messenger: str, to_network: str) -> None:
    """The message on both chains: Sent/Refunded at the source, None/Received/Refused at the destination."""
    from ..crosschain.relay import message_status

    s = message_status(_source(env), _dest(to_network), messenger, ref)
    emit(env, s.as_dict(), f"message {s.message_id}: {s.amount} minor units {s.sender} (chain {s.source_chain_id}) -> "
                           f"{s.recipient} (chain {s.destination_chain_id}), deadline {s.deadline}; "
                           f"source {s.source_status}, destination {s.destination_status}")


@xchain.command("attest")
@click.argument("ref", metavar="TX_HASH|MESSAGE_ID")
@_MESSENGER
@_TO_NETWORK
@click.option("--confirmations", type=click.IntRange(min=1), default=1, show_default=True,
              help="Blocks the send must have (its own counts) before it is attested.")
@signer_choice_options(AS_HELP_NO_ROLES)
@pass_env
def attest(env: Env, ref: str, messenger: str, to_network: str, confirmations: int, signer_choice: SignerChoice) -> None:
    """Signs the message with the attester's key by the bank's policy and stores it in the ledger
    (a transfer attestation; a refund one once the destination refused it). Again: the stored one."""
    from ..crosschain.relay import attest_message

    source = _source(env)
    dest = _dest(to_network)
    ledger = env.ledger
    row = attest_message(ledger, source, dest, messenger, ref, signer_choice.select(source.chain_id()),
                         confirmations=confirmations)
    emit(env, row, f"{'attested' if row['created'] else 'already attested'}: {row['kind']} of message {row['message_id']} "
                   f"by {row['signer']}")


@xchain.command("relay")
@click.argument("ref", metavar="MESSAGE_ID|TX_HASH")
@_MESSENGER
@_TO_NETWORK
@click.option("--attestations", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Attestations exported by other attesters (their `--json xchain attest` output); repeatable.")
@signer_choice_options(AS_HELP_NO_ROLES)
@pass_env
def relay(env: Env, ref: str, messenger: str, to_network: str, files: tuple[str, ...], signer_choice: SignerChoice) -> None:
    """Submits what the message needs next (receiveMessage, refuse or refund) with the threshold of
    attestations; a message already received or refunded is reported and nothing is sent."""
    from ..crosschain.relay import find_message, read_attestation_files, relay_message

    imported = read_attestation_files(files)
    source, dest = _source(env), _dest(to_network)
    ledger = env.ledger
    found = find_message(source, messenger, ref)
    signer_chain = source if _refund_next(source, dest, found) else dest
    result = relay_message(ledger, source, dest, messenger, ref, sender=lambda: signer_choice.select(signer_chain.chain_id()),
                           imported=imported)
    text = (f"message {result.message_id} already {result.status}: nothing sent" if result.action == "none" else
            f"{result.action} of message {result.message_id} (transaction {result.tx_hash}, attesters "
            f"{', '.join(result.signers)}): now {result.status}")
    emit(env, result.as_dict(), text)


def _refund_next(source: Any, dest: Any, found: Any) -> bool:
    from ..crosschain.messenger import REFUSED
    from ..crosschain.relay import messenger_at, on

    with on(dest):
        if dest.chain_id() != found.message.destinationChainId:
            return False  # relay_message refuses it with the reason
        return int(messenger_at(found.message.destinationMessenger).messageStatus(found.message.id)) == REFUSED


@xchain.command("run")
@_MESSENGER
@_TO_NETWORK
@click.option("--confirmations", type=click.IntRange(min=1), default=1, show_default=True,
              help="Blocks a send (and a refusal) must have, its own counting, before it is attested.")
@click.option("--share", type=click.Path(file_okay=False), default=None,
              help="The directory the bank's attesters share attestations in (k of n: one service per attester).")
@click.option("--relay/--no-relay", default=True, show_default=True, help="Also submit what each message needs next.")
@click.option("--from-block", type=click.IntRange(min=0), default=0, show_default=True,
              help="Where a new ledger starts reading the messenger (its deployment block).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds between passes.")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@signer_choice_options(AS_HELP_NO_ROLES)
@pass_env
def run(env: Env, messenger: str, to_network: str, confirmations: int, share: str | None, relay: bool, from_block: int,
        interval: float, once: bool, signer_choice: SignerChoice) -> None:
    """The attester service: follows the source messenger, attests each confirmed message by the bank's
    policy into the ledger (and --share), and relays it (receiveMessage, refuse, refund) through the
    ledger's outbox; restartable at any point. One line per message looked at (--json: a JSON object)."""
    import functools
    import json
    from pathlib import Path

    from ..crosschain.service import follow, follow_once

    source, dest = _source(env), _dest(to_network)
    signer = signer_choice.select(source.chain_id())
    # a key of the bank's (keystore, ape account) relays on either chain, unlocked once; a devnet test
    # account (--as) only where it may sign: chosen for the destination when a relay is first sent
    relayer = None if not relay else signer if signer_choice.as_ is None else functools.cache(
        lambda: signer_choice.select(dest.chain_id()))
    options = {"signer": signer, "relayer": relayer, "confirmations": confirmations, "from_block": from_block,
               "share": Path(share) if share else None}
    passes = [follow_once(env.ledger, source, dest, messenger, **options)] if once else follow(
        env.ledger, source, dest, messenger, interval=interval, **options)
    try:
        for outcomes in passes:
            for o in outcomes:
                click.echo(json.dumps(o.as_dict()) if env.as_json else f"{o.message_id or '-'} {o.step}: {o.detail}")
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@xchain.command("reconcile")
@click.option("--chain", "chains", multiple=True, required=True, metavar="NETWORK=MESSENGER",
              help="A chain's node and the bank's messenger there; once per chain (the source --network is not used).")
@click.option("--books", default=None, metavar="AMOUNT", help="The liability in the bank's books (currency units), compared with the whole.")
@click.option("--camt053-dir", "camt053_dir", type=click.Path(file_okay=False), default=None,
              help="Write a camt.053 per chain and one for the whole here (the whole only when the reconciliation passes).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Statement day (default: today, UTC).")
@pass_env
def reconcile(env: Env, chains: tuple[str, ...], books: str | None, camt053_dir: str | None, day: Any) -> None:
    """The bank's liability across chains: every chain's supply plus the messages in flight, against the
    bank's issuance (and --books); exit status 3 on any mismatch, each naming its message ids."""
    import sys
    from datetime import UTC, datetime
    from pathlib import Path

    from ..amounts import to_decimal
    from ..crosschain.reconcile import camt053_chain, camt053_whole, reconcile_chains
    from ..crosschain.relay import open_node
    from ..errors import InvalidInput
    from ..validation import address_of
    from .reconcile_commands import MISMATCH_EXIT

    pairs = []
    for item in chains:
        network, sep, messenger = item.rpartition("=")
        if not sep or not network:
            raise InvalidInput(f"--chain {item!r}: expected NETWORK=MESSENGER")
        pairs.append((open_node(network), address_of(messenger, "--chain messenger")))
    report = reconcile_chains(pairs, books=books)
    first = report.chains[0]
    written: list[str] = []
    if camt053_dir:
        from ..contracts import contract_at
        from ..iso20022 import Party
        from ..node import using

        with using(pairs[0][0]):
            name, lei, bic = (str(x) for x in contract_at("DepositToken", first.token).issuer())
        bank = Party(name=name, lei=lei or None, bic=bic or None)
        when = day.date() if day else datetime.now(UTC).date()
        folder = Path(camt053_dir)
        folder.mkdir(parents=True, exist_ok=True)
        files = [(folder / f"camt053-chain-{c.chain_id}-{when:%Y%m%d}.xml", camt053_chain(report, c.chain_id, when, bank=bank))
                 for c in report.chains]
        if report.ok:
            files.append((folder / f"camt053-all-{when:%Y%m%d}.xml", camt053_whole(report, when, bank=bank)))
        for path, data in files:
            path.write_bytes(data)
            written.append(str(path))

    def units(value: int) -> str:
        return f"{to_decimal(value, first.decimals):,} {first.currency}"

    lines = [f"cross-chain reconciliation: {'OK' if report.ok else 'MISMATCH'}: liability {units(report.liability)} = "
             f"supplies {units(report.supply)} + in flight {units(report.in_flight_total)} ({len(report.in_flight)} message(s)); "
             f"issued {units(report.issued)}" + (f"; books {units(report.books)}" if report.books is not None else "")]
    lines += [f"  chain {c.chain_id}: supply {units(c.supply)} at block {c.block_number}; issued {units(c.issued)}, "
              f"sent {units(c.sent)}, received {units(c.received)}, refunded {units(c.refunded)}" for c in report.chains]
    lines += [f"  {f.severity.upper():8} {f.code}: {f.detail}" + (f" [{', '.join(f.message_ids)}]" if f.message_ids else "")
              for f in report.findings]
    lines += [f"camt.053 written: {path}" for path in written]
    emit(env, report.as_dict() | {"camt053": written}, "\n".join(lines))
    if not report.ok:
        sys.exit(MISMATCH_EXIT)
