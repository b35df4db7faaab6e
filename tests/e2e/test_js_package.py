"""The npm package in js/ (@deposit-token/sdk): built with the pinned TypeScript, then its tests run
with Node's own test runner (`node --test js/test/`) against a real Anvil with the cross-border
devnet deployed (`ape run deploy_settlement`: two banks' tokens, PvP, time-lock, escrows, funded
parties), including cross-signing with the Python tooling in both directions and the README's
"From JavaScript" walkthrough (js/test/readme.test.mjs runs the README's ```js block as written)."""

from __future__ import annotations

import re
import shutil
import subprocess

from ops_support import BIN, ROOT, Devnet

NODE_MODULES_BIN = ROOT / "node_modules" / ".bin"


def _node_summary(output: str) -> dict[str, int]:
    """``tests``, ``pass``, ``fail``, ... from the summary node's reporters print (``ℹ tests 12`` / ``# tests 12``)."""
    return {key: int(value) for key, value in re.findall(r"^[ℹ#] (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M)}


def test_node_summary_parser():
    assert _node_summary("ℹ tests 3\nℹ pass 2\nℹ fail 1\n# todo 0\n") == {"tests": 3, "pass": 2, "fail": 1, "todo": 0}


def test_js_package_builds_and_its_node_tests_pass(tmp_path):
    build = subprocess.run([str(NODE_MODULES_BIN / "tsc"), "-p", "js/tsconfig.json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (ROOT / "js" / "dist" / "index.js").is_file() and (ROOT / "js" / "dist" / "index.d.ts").is_file()

    net = Devnet(tmp_path)
    net.start()
    try:
        net.deploy()
        deployed = subprocess.run([str(BIN / "ape"), "run", "deploy_settlement", "--network", net.network], cwd=ROOT,
                                  env=net.env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        workdir = tmp_path / "js-work"
        workdir.mkdir()
        env = net.env(DEPTOKEN_JS_RPC_URL=f"http://127.0.0.1:{net.port}", DEPTOKEN_JS_WORKDIR=str(workdir),
                      RPC_URL=f"http://127.0.0.1:{net.port}", DEPTOKEN_SETTLEMENT_RECORD=str(net.record_path("-settlement")))
        node = shutil.which("node", path=env["PATH"]) or "node"
        result = subprocess.run([node, "--test", "--test-concurrency=1", "--test-reporter=spec", "js/test/"], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    finally:
        net.stop()
    output = result.stdout + result.stderr
    summary = _node_summary(output)
    print("\n".join(line for line in output.splitlines() if re.match(r"^[ℹ#] \w+ \d", line)))
    assert result.returncode == 0, output
    assert summary.get("tests", 0) > 0 and summary.get("fail") == 0 and summary.get("pass") == summary["tests"], output
