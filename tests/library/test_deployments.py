"""Deployment records are keyed by chain (issue 10, defect 11): two local nodes with the same network
name (`local`) and chain id (31337), their tokens deployed the same way, each get a record of their
own in one deployments directory, and each node's tooling finds its own token."""

from __future__ import annotations

import json
import subprocess

import pytest

from ops_support import BIN, ROOT, Devnet, account_address

pytestmark = [pytest.mark.slow, pytest.mark.two_node]  # two Anvils of its own, `ape run` subprocesses


def ape_run(net: Devnet, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ape"), "run", *args, "--network", net.network], cwd=ROOT, env=net.env(),
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_two_local_nodes_keep_their_own_records(tmp_path):
    a, b = Devnet(tmp_path / "a"), Devnet(tmp_path / "b")
    shared = tmp_path / "deployments"
    for net in (a, b):
        net.dir.mkdir()
        net.deployments = shared
        net.start()
    try:
        # on b the deployer has sent one transaction before: its token lands at another address
        b.rpc("eth_sendTransaction", {"from": account_address(0), "to": account_address(1), "value": "0x1"})
        for net in (a, b):
            result = ape_run(net, "deploy")  # no --force: nothing of the other node's is in the way
            assert result.returncode == 0, result.stdout + result.stderr
        records = {net: json.loads(net.record_path().read_text()) for net in (a, b)}
        assert a.record_path() != b.record_path() and a.record_path().name.startswith("local-31337-")
        assert sorted(p.name for p in shared.iterdir()) == sorted([a.record_path().name, b.record_path().name])
        assert records[a]["token"] != records[b]["token"]
        for net in (a, b):  # each node's tooling reads its own record
            status = ape_run(net, "status")
            assert status.returncode == 0, status.stdout + status.stderr
            assert records[net]["token"] in status.stdout
        # a second deploy on a is refused (its record exists), b's record is untouched
        before = b.record_path().read_text()
        again = ape_run(a, "deploy")
        assert again.returncode == 1 and f"{a.record_path()} exists: a token is already deployed on 'local'" in again.stderr
        assert b.record_path().read_text() == before
        # `python -m deptoken.deployments` (what tools/devnet.sh uses) names the same files, without ape
        printed = subprocess.run([str(BIN / "python"), "-m", "deptoken.deployments", "--rpc", f"http://127.0.0.1:{b.port}",
                                  "--network", "local", "--env"], env=b.env(), capture_output=True, text=True, timeout=60)
        assert printed.returncode == 0, printed.stderr
        assert f"export DEPTOKEN_TOKEN_RECORD={b.record_path().resolve()}" in printed.stdout.splitlines()
        assert f"export DEPTOKEN_NETWORK=ethereum:local:http://127.0.0.1:{b.port}" in printed.stdout.splitlines()
    finally:
        for net in (a, b):
            net.stop()
