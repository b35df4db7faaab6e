"""Foundry's forge and halmos, run by the pytest suite over the Solidity tests in ``tests/forge``.

Both are test tools here (ape stays the project's framework): ``make setup`` installs forge from npm
and halmos into ``.venv-halmos`` (pinned in ``requirements-halmos.lock``); ``foundry.toml`` builds
``contracts/`` with ape's compiler settings into ``var/forge``. One build serves every run: it is
made under a file lock, since the suite's workers may ask for it at the same time.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORGE = ROOT / "node_modules" / ".bin" / "forge"
HALMOS = ROOT / ".venv-halmos" / "bin" / "halmos"
BUILD = ROOT / "var" / "forge"


def foundry_env() -> dict[str, str]:
    """The environment forge needs offline: the project's solc front end, forge on PATH (halmos runs it)."""
    solc = json.loads((ROOT / "package.json").read_text())["devDependencies"]["solc"]
    env = dict(os.environ)
    env["FOUNDRY_SOLC"] = str(ROOT / ".solc" / "bin" / f"solc-v{solc}")
    env["PATH"] = f"{FORGE.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=foundry_env(), capture_output=True, text=True, timeout=timeout)


def forge_build(timeout: float = 600) -> None:
    """Builds contracts/ and tests/forge (incrementally), once at a time across processes."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = _run([str(FORGE), "build"], timeout)
    if done.returncode != 0:
        raise AssertionError(f"forge build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def forge_test(match_contract: str, *args: str, timeout: float = 600) -> dict[str, dict]:
    """Runs ``forge test`` on the test contracts matching ``match_contract`` (a regex) and returns each
    test's result by ``Contract.test()``; raises with forge's output if forge found nothing to run."""
    forge_build()
    # one thread: the suite's other worker needs the other core (forge would take every core)
    done = _run([str(FORGE), "test", "--json", "--threads", "1", "--match-contract", match_contract, *args], timeout)
    try:
        suites = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"forge test gave no results:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    results = {
        f"{suite.split(':')[-1]}.{name}": result
        for suite, body in suites.items()
        for name, result in body["test_results"].items()
    }
    if not results:
        raise AssertionError(f"forge test ran no test matching {match_contract!r}")
    return results


def halmos(match_contract: str, *args: str, timeout: float = 900) -> dict[str, dict]:
    """Runs halmos on the ``check_*`` functions of the test contracts matching ``match_contract`` and
    returns each one's result by ``Contract.check_()``; raises if halmos found nothing to run."""
    forge_build()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "halmos.json"
        done = _run(
            [str(HALMOS), "--root", str(ROOT), "--match-contract", match_contract, "--solver-threads", "1",
             "--json-output", str(report), *args],
            timeout,
        )
        if not report.exists():
            raise AssertionError(f"halmos gave no results:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        body = json.loads(report.read_text())
        output = f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    results = {
        f"{suite.split(':')[-1]}.{test['name']}": test
        for suite, tests in body["test_results"].items()
        for test in tests
    }
    if not results:
        raise AssertionError(f"halmos ran no check_ function matching {match_contract!r}:\n{output}")
    return results
