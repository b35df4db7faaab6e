"""Static analysis gate: slither over the project's contracts, compiled as ape compiles them.

    python -m deptoken.slither_check [--json PATH] [--triage PATH] [--quiet]

Compiles every ``.sol`` file under ``contracts/`` in one solc
standard-JSON compilation with the settings of ``ape-config.yaml`` (compiler version, optimizer and
runs, EVM version, the OpenZeppelin remappings pointed at ``node_modules``), through the same
``solc-v<version>`` executable py-solc-x and ape use (native, or the solc-js front end of
``tools/setup_solc.py``). Runs all of slither's detectors on it, with inline ``slither-disable``
comments and ``slither.db.json`` ignored: the only place to accept a finding is ``slither.triage.json``,
with a written reason.

On the same compilation it runs ``slither-check-upgradeability``'s checks that take a logic contract
and its proxy (12 of its 18) on the upgradeable token, ``DepositToken`` behind ``DepositTokenProxy``:
the initializers, function id collisions and shadowing between proxy and logic, and the variables' order.
Those checks compare plain state variables; the token has none (every variable is in an ERC-7201
namespace), which ``deptoken.storage_layout`` checks against the committed snapshot. The 6 checks that
compare two implementations (variables missing, reordered or added, constants changed, new
reinitializers) run with each released token as the old one and the current ``DepositToken`` as the new:
the release's sources come from its artefact (``releases/<version>.json``, ``deptoken.releases``), compiled
with its own settings, so no git history is needed.

Fails (exit 1) when:
- slither analysed none of, or not all of, the expected contracts (a check that analysed nothing
  would otherwise pass silently), or no upgradeability check ran on the token and its proxy;
- a High or Medium finding touches the project's own contracts (``contracts/``, not
  ``contracts/test/``, not OpenZeppelin) and is not accepted in the triage file;
- an upgradeability finding of any impact is not accepted in the triage file (a release comparison's
  location ends with `` (from <version>)``);
- a released token's ``DepositToken`` was not analysed, or no comparison check ran on it;
- slither could not build its IR for a function of the project's own contracts (it logs "Impossible to
  generate IR" and its detectors then skip that function) and the triage file does not explain it;
- the triage file is malformed (an entry without a justification, an unknown severity ...).

Writes the full report (settings, analysed contracts, every finding with its classification) as JSON
to ``crytic-export/slither-report.json`` (``--json -`` for stdout).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import DepositTokenError
from .project import project_root

CONTRACTS = "contracts"
TEST_DIR = "contracts/test/"
TRIAGE_FILE = "slither.triage.json"  # in the project directory (deptoken.project)
REPORT_FILE = Path("crytic-export") / "slither-report.json"
EXPECTED_CONTRACTS = ("DepositToken", "DepositTokenProxy", "ComplianceERC20Upgradeable", "BankIssuanceUpgradeable")
UPGRADEABLE = ("DepositToken", "DepositTokenProxy")  # logic contract, its proxy: slither-check-upgradeability's pair
RELEASES_COMPARED = ("1.0.0", "1.1.0")  # releases/<version>.json: each compared with the current logic contract
RELEASE_DIR = Path("crytic-export") / "releases"  # where a release's sources are written to be compiled
UPGRADEABILITY = "upgradeability"  # Finding.kind of slither-check-upgradeability's findings: every impact blocks
NOT_ANALYSED = "not-analysed"  # Finding.kind of a function slither could not analyse: blocks in own contracts
STRICT_KINDS = (UPGRADEABILITY, NOT_ANALYSED)
BLOCKING_IMPACTS = ("High", "Medium")
DEFAULT_OPTIMIZATION_RUNS = 200  # ape-solidity's default when ape-config.yaml names none


class SlitherCheckError(Exception):
    """The check could not run (configuration, compiler, triage file)."""


# ---------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class CompileSettings:
    solc_version: str
    optimize: bool
    runs: int
    evm_version: str | None
    remappings: tuple[str, ...]  # "prefix/=node_modules/.../", relative to the project directory

    def standard_json(self, sources: list[str]) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "optimizer": {"enabled": self.optimize, "runs": self.runs},
            "remappings": list(self.remappings),
        }
        if self.evm_version:
            settings["evmVersion"] = self.evm_version
        return {"language": "Solidity", "sources": {s: {"urls": [s]} for s in sources}, "settings": settings}


def ape_settings(root: Path | None = None) -> CompileSettings:
    """The compiler settings of ``ape-config.yaml``: version, optimizer, EVM version and the import
    remappings, which point into ``node_modules`` (checked to be installed). ``root``: the project
    directory (default: ``deptoken.project.project_root()``)."""
    root = root or project_root()
    return settings_from_config((root / "ape-config.yaml").read_text(), root)


def settings_from_config(text: str, root: Path) -> CompileSettings:
    """The compiler settings of an ``ape-config.yaml`` given as ``text`` (the project's, or a release
    commit's), with its remappings checked against ``root``'s ``node_modules``."""
    config = yaml.safe_load(text)
    sol = config.get("solidity") or {}
    version = sol.get("version")
    if not version:
        raise SlitherCheckError("ape-config.yaml: solidity.version is not set")
    remappings = []
    for entry in sol.get("import_remapping") or []:
        prefix, _, target = (part.strip().rstrip("/") for part in entry.partition("="))
        if not (root / target / "package.json").is_file():
            raise SlitherCheckError(f"ape-config.yaml: remapping {entry!r}: {target}/package.json missing (run `make setup`)")
        remappings.append(f"{prefix}/={target}/")
    return CompileSettings(
        solc_version=str(version),
        optimize=bool(sol.get("optimize", True)),
        runs=int(sol.get("optimization_runs", DEFAULT_OPTIMIZATION_RUNS)),
        evm_version=sol.get("evm_version"),
        remappings=tuple(sorted(remappings)),
    )


def solc_executable(version: str, root: Path | None = None) -> Path:
    """The ``solc-v<version>`` that ape uses (``$SOLCX_BINARY_PATH``, the project's ``.solc/bin``)."""
    import os

    exe = Path(os.environ.get("SOLCX_BINARY_PATH") or (root or project_root()) / ".solc" / "bin") / f"solc-v{version}"
    if not exe.is_file():
        raise SlitherCheckError(f"{exe} not found: run `make setup` (tools/setup_solc.py)")
    return exe


def project_sources(root: Path | None = None) -> list[str]:
    """Every .sol file under contracts/, relative to ``root`` (default: the project directory), sorted
    (hidden folders excluded)."""
    root = root or project_root()
    base = root / CONTRACTS
    paths = [
        p.relative_to(root).as_posix()
        for p in base.rglob("*.sol")
        if not any(part.startswith(".") for part in p.relative_to(base).parts)
    ]
    return sorted(paths)


# ---------------------------------------------------------------------------------------- findings


def is_own_file(path: str | None) -> bool:
    """The project's own production sources: contracts/, not contracts/test/, not dependencies."""
    return bool(path) and path.startswith(f"{CONTRACTS}/") and not path.startswith(TEST_DIR) and "/." not in path


def _element_files(result: dict) -> list[str]:
    return [e.get("source_mapping", {}).get("filename_relative") or "" for e in result.get("elements", [])]


def location(result: dict) -> str:
    """A stable name for where a finding points, without line numbers, from its first element:
    ``Contract.function(args)``, ``Contract.function(args).localVariable``, ``Contract.stateVariable``,
    ``Contract``, or the file for a pragma."""
    if not result.get("elements"):
        return ""
    element = result["elements"][0]
    if element.get("type") == "pragma":
        return element.get("source_mapping", {}).get("filename_relative", element.get("name", ""))
    return _qualified(element)


def _qualified(element: dict) -> str:
    fields = element.get("type_specific_fields") or {}
    parent = fields.get("parent")
    if element.get("type") == "node":  # a statement: name the function it is in
        return _qualified(parent) if parent else element.get("name", "")
    name = fields.get("signature") or element.get("name", "")
    return f"{_qualified(parent)}.{name}" if parent else name


@dataclass
class Finding:
    check: str
    impact: str
    confidence: str
    location: str
    files: list[str]
    description: str
    scope: str  # "project", "test" or "dependency"
    kind: str = "detector"  # or one of STRICT_KINDS
    status: str = ""  # "blocking", "accepted", "reported"
    justification: str = ""

    def key(self) -> tuple[str, str]:
        return (self.check, self.location)


def classify(result: dict) -> Finding:
    files = sorted({f for f in _element_files(result) if f})
    if any(is_own_file(f) for f in files):
        scope = "project"
    elif any(f.startswith(TEST_DIR) for f in files):
        scope = "test"
    else:
        scope = "dependency"
    return Finding(
        check=result["check"],
        impact=result["impact"],
        confidence=result["confidence"],
        location=location(result) + result.get("location_suffix", ""),
        files=files,
        description=result["description"].strip(),
        scope=result.get("scope", scope),
        kind=result.get("kind", "detector"),
    )


# ---------------------------------------------------------------------------------------- triage


@dataclass
class Triage:
    accepted: dict[tuple[str, str], str] = field(default_factory=dict)  # (check, location) -> justification

    @classmethod
    def load(cls, path: Path) -> Triage:
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise SlitherCheckError(f"{path.name}: not valid JSON ({exc})") from None
        accepted: dict[tuple[str, str], str] = {}
        for i, entry in enumerate(data.get("accepted", [])):
            check, loc, why = entry.get("check"), entry.get("location"), (entry.get("justification") or "").strip()
            if not check or not loc:
                raise SlitherCheckError(f"{path.name}: accepted[{i}] needs 'check' and 'location'")
            if len(why) < 20:
                raise SlitherCheckError(f"{path.name}: accepted[{i}] ({check} at {loc}) needs a written justification")
            accepted[(check, loc)] = why
        return cls(accepted)


# ---------------------------------------------------------------------------------------- run


@dataclass
class Report:
    settings: CompileSettings
    solc: str
    sources: list[str]
    contracts: list[str]
    findings: list[Finding]
    unused_triage: list[tuple[str, str]]
    errors: list[str]
    seconds: float
    upgradeability_checks: list[str] = field(default_factory=list)  # the checks run on UPGRADEABLE
    release_checks: dict[str, list[str]] = field(default_factory=dict)  # release -> comparison checks run

    @property
    def ok(self) -> bool:
        return not self.errors

    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "blocking"]

    def to_json(self) -> dict[str, Any]:
        return {
            "success": self.ok,
            "errors": self.errors,
            "settings": {
                "solc_version": self.settings.solc_version,
                "solc": self.solc,
                "optimizer": {"enabled": self.settings.optimize, "runs": self.settings.runs},
                "evm_version": self.settings.evm_version,
                "remappings": list(self.settings.remappings),
            },
            "sources": self.sources,
            "contracts_analysed": self.contracts,
            "contract_count": len(self.contracts),
            "finding_counts": _counts(self.findings),
            "findings": [vars(f) for f in self.findings],
            "upgradeability": {"logic": UPGRADEABLE[0], "proxy": UPGRADEABLE[1], "checks": self.upgradeability_checks,
                               "releases": self.release_checks},
            "unused_triage_entries": [{"check": c, "location": loc} for c, loc in self.unused_triage],
            "seconds": round(self.seconds, 2),
        }


def _counts(findings: list[Finding]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for f in findings:
        scope = counts.setdefault(f.scope, {})
        scope[f.impact] = scope.get(f.impact, 0) + 1
    return counts


_IMPACT_ORDER = {"High": 0, "Medium": 1, "Low": 2, "Informational": 3, "Optimization": 4}


def run(root: Path | None = None, triage_path: Path | None = None) -> Report:
    """Compiles, runs every slither detector and applies the gate; raises SlitherCheckError if it cannot run.
    ``root``: the project directory (default: ``deptoken.project.project_root()``); ``triage_path``:
    default ``slither.triage.json`` there."""
    import inspect

    from crytic_compile import CryticCompile
    from crytic_compile.platform.solc_standard_json import SolcStandardJson
    from slither import Slither
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector

    logging.getLogger("CryticCompile").setLevel(logging.ERROR)  # solc warnings: ape compile shows them
    start = time.monotonic()
    root = root or project_root()
    triage_path = triage_path or root / TRIAGE_FILE
    settings = ape_settings(root)
    solc = solc_executable(settings.solc_version, root)
    sources = project_sources(root)
    triage = Triage.load(triage_path)

    detectors = [
        d for d in vars(all_detectors).values() if inspect.isclass(d) and issubclass(d, AbstractDetector)
    ]
    unanalysed = _IrFailures()
    with contextlib.chdir(root), unanalysed:  # crytic-compile resolves source paths against the process's cwd
        standard_json = SolcStandardJson(settings.standard_json(sources))
        compilation = CryticCompile(standard_json, solc=str(solc), solc_working_dir=str(root))
        # show_ignored_findings: `slither-disable` comments and slither.db.json hide nothing;
        # accepting a finding takes an entry in the triage file.
        slither = Slither(compilation, show_ignored_findings=True)
        for detector in detectors:
            slither.register_detector(detector)
        results = [r for per_detector in slither.run_detectors() for r in per_detector]

    contracts = sorted({c.name for c in slither.contracts})
    errors: list[str] = []
    missing = [name for name in EXPECTED_CONTRACTS if name not in contracts]
    if not contracts or missing:
        errors.append(
            f"slither analysed {len(contracts)} contracts; missing {missing}: the compilation did not cover the project"
        )
    upgrade_results, checks_run = upgradeability_results(slither)
    if not checks_run:
        errors.append(f"no upgradeability check ran on {UPGRADEABLE[0]} behind {UPGRADEABLE[1]}")

    release_results, release_checks = [], {}
    for version in RELEASES_COMPARED:
        found, ran, error = release_comparison(slither, version, root, settings, str(solc))
        release_results += found
        release_checks[version] = ran
        if error:
            errors.append(error)

    findings, gate_errors, unused = apply_gate(results + upgrade_results + release_results + unanalysed.results,
                                               triage, triage_path.name)
    errors += gate_errors
    return Report(settings, str(solc), sources, contracts, findings, unused, errors, time.monotonic() - start,
                  checks_run, release_checks)


def release_comparison(current: Any, version: str, root: Path, settings: CompileSettings,
                       solc: str) -> tuple[list[dict], list[str], str]:
    """slither-check-upgradeability's checks that compare two implementations, with the released
    ``DepositToken`` of ``releases/<version>.json`` (its sources compiled with its own settings, the
    current OpenZeppelin remappings: ``deptoken.releases`` checks the pins are the same) as the old one and
    ``current``'s as the new. Returns the findings (scope "project", located "... (from <version>)"),
    the checks that ran and an error (empty when it ran)."""
    from crytic_compile import CryticCompile
    from crytic_compile.platform.solc_standard_json import SolcStandardJson
    from slither import Slither

    from . import releases

    try:
        artefact = releases.load(version, root)
    except DepositTokenError as exc:
        return [], [], f"release {version}: {exc}"
    if artefact["solc"] != settings.solc_version:
        return [], [], f"release {version}: built with solc {artefact['solc']}, the project has {settings.solc_version}"
    tree = root / RELEASE_DIR / version
    for path, content in artefact["sources"].items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(content)
    release_settings = CompileSettings(
        solc_version=artefact["solc"], optimize=artefact["settings"]["optimizer"]["enabled"],
        runs=artefact["settings"]["optimizer"]["runs"], evm_version=artefact["settings"]["evmVersion"],
        remappings=settings.remappings)
    with contextlib.chdir(root):
        standard_json = SolcStandardJson(release_settings.standard_json(
            sorted((RELEASE_DIR / version / path).as_posix() for path in artefact["sources"])))
        old = Slither(CryticCompile(standard_json, solc=solc, solc_working_dir=str(root)))
    [v2] = current.get_contract_from_name(UPGRADEABLE[0])
    found = old.get_contract_from_name(UPGRADEABLE[0])
    if len(found) != 1:
        return [], [], f"release {version}: slither analysed {len(found)} {UPGRADEABLE[0]} contracts in its sources"
    results, ran = _upgradeability_checks(found[0], contract_v2=v2, scope="project", location_suffix=f" (from {version})")
    if not ran:
        return results, ran, f"release {version}: no upgradeability check compared it with the current token"
    return results, ran, ""


class _IrFailures(logging.Handler):
    """Collects slither's "Impossible to generate IR for Contract.function (file#lines)" errors as
    findings of kind NOT_ANALYSED: its detectors skip such a function."""

    PATTERN = re.compile(r"Impossible to generate IR for (\S+) \(([^#)]+)")

    LOGGER = "ContractSolcParsing"

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.results: list[dict] = []

    def __enter__(self) -> _IrFailures:
        logging.getLogger(self.LOGGER).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger(self.LOGGER).removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        match = self.PATTERN.search(record.getMessage())
        if match:
            function, path = match.groups()
            self.results.append({
                "check": "ir-generation-failed", "kind": NOT_ANALYSED, "impact": "Informational", "confidence": "n/a",
                "description": f"slither could not build its IR for {function} ({path}): its detectors did not analyse it",
                "elements": [{"name": function, "source_mapping": {"filename_relative": path}}],
            })


def upgradeability_results(slither: Any) -> tuple[list[dict], list[str]]:
    """Runs slither-check-upgradeability's checks (the tool's own classes, as its command line runs
    them on a logic contract and its proxy) on UPGRADEABLE in an analysed compilation. Returns the
    findings, marked as UPGRADEABILITY with their impact, and the names of the checks that ran; none
    run when either contract is missing."""
    found = [slither.get_contract_from_name(name) for name in UPGRADEABLE]
    if any(len(contracts) != 1 for contracts in found):
        return [], []
    [logic], [proxy] = found
    return _upgradeability_checks(logic, proxy=proxy)


def _upgradeability_checks(logic: Any, *, proxy: Any = None, contract_v2: Any = None,
                           **marks: str) -> tuple[list[dict], list[str]]:
    """Runs slither-check-upgradeability's own check classes as its command line does: with
    ``contract_v2``, those comparing ``logic`` (the old implementation) with it; otherwise those on
    ``logic`` alone or with its ``proxy``. Returns the findings, marked as UPGRADEABILITY with their
    impact and ``marks``, and the names of the checks that ran."""
    from slither.tools.upgradeability.checks import all_checks
    from slither.tools.upgradeability.checks.abstract_checks import AbstractCheck

    logger = logging.getLogger("Slither-check-upgradeability")
    results, ran = [], []
    for check in vars(all_checks).values():
        if not (isinstance(check, type) and issubclass(check, AbstractCheck)):
            continue
        if check.REQUIRE_CONTRACT_V2 != (contract_v2 is not None):
            continue
        found = check(logger, logic, proxy=proxy if check.REQUIRE_PROXY else None, contract_v2=contract_v2).check()
        for result in found or []:
            results.append({**result, "kind": UPGRADEABILITY, "impact": check.IMPACT.name.capitalize(),
                            "confidence": "n/a", **marks})
        ran.append(check.ARGUMENT)
    return results, sorted(ran)


def apply_gate(
    results: list[dict], triage: Triage, triage_name: str = TRIAGE_FILE
) -> tuple[list[Finding], list[str], list[tuple[str, str]]]:
    """Classifies slither results: High/Medium findings in the project's own contracts, and
    upgradeability findings and functions slither could not analyse there, block unless the triage
    accepts them. Returns the findings (sorted, with status), the errors and the triage
    entries that matched nothing."""
    findings = sorted(
        (classify(r) for r in results),
        key=lambda f: (f.scope != "project", _IMPACT_ORDER.get(f.impact, 9), f.check, f.location),
    )
    errors: list[str] = []
    used: set[tuple[str, str]] = set()
    for f in findings:
        if f.scope != "project" or (f.kind not in STRICT_KINDS and f.impact not in BLOCKING_IMPACTS):
            f.status = "reported"
        elif f.key() in triage.accepted:
            f.status, f.justification = "accepted", triage.accepted[f.key()]
            used.add(f.key())
        else:
            f.status = "blocking"
            what = f"{f.kind} finding {f.check} ({f.impact})" if f.kind in STRICT_KINDS else f"{f.impact} {f.check}"
            errors.append(f"{what} at {f.location}: not accepted in {triage_name}")
    return findings, errors, sorted(set(triage.accepted) - used)


def print_summary(report: Report, out=sys.stdout) -> None:
    s = report.settings
    print(
        f"slither: solc {s.solc_version} (optimizer {'on' if s.optimize else 'off'}, runs {s.runs}, "
        f"evm {s.evm_version or 'default'}), {len(report.sources)} source files, "
        f"{len(report.contracts)} contracts analysed, {len(report.findings)} findings, {report.seconds:.1f} s",
        file=out,
    )
    for scope, counts in sorted(_counts(report.findings).items()):
        text = ", ".join(f"{n} {impact}" for impact, n in sorted(counts.items(), key=lambda kv: _IMPACT_ORDER.get(kv[0], 9)))
        print(f"  {scope:<10} {text}", file=out)
    print(f"  upgradeability: {len(report.upgradeability_checks)} checks on {UPGRADEABLE[0]} behind {UPGRADEABLE[1]}, "
          f"{sum(f.kind == UPGRADEABILITY and ' (from ' not in f.location for f in report.findings)} findings", file=out)
    for version, checks in report.release_checks.items():
        print(f"  upgradeability: {len(checks)} checks comparing release {version}'s {UPGRADEABLE[0]} with the current one, "
              f"{sum(f.location.endswith(f'(from {version})') for f in report.findings)} findings", file=out)
    own = [f for f in report.findings if f.scope == "project"]
    if own:
        print("  project findings:", file=out)
        for f in own:
            print(f"    [{f.status:<8}] {f.impact}/{f.confidence} {f.check} at {f.location}", file=out)
    for check, loc in report.unused_triage:
        print(f"  note: triage entry {check} at {loc} matches no finding (stale?)", file=out)
    for error in report.errors:
        print(f"  FAIL: {error}", file=out)
    print("slither check: " + ("PASS" if report.ok else "FAIL"), file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deptoken.slither_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=None, help=f"report path ('-': stdout; default: {REPORT_FILE} in the project)")
    parser.add_argument("--triage", default=None, help=f"accepted findings with justifications (default: {TRIAGE_FILE} in the project)")
    args = parser.parse_args(argv)
    try:
        root = project_root()
    except DepositTokenError as exc:
        print(f"slither check: cannot run: {exc}", file=sys.stderr)
        return 2
    args.json = args.json or str(root / REPORT_FILE)
    try:
        report = run(root, Path(args.triage) if args.triage else root / TRIAGE_FILE)
    except SlitherCheckError as exc:
        print(f"slither check: cannot run: {exc}", file=sys.stderr)
        return 2
    data = json.dumps(report.to_json(), indent=2)
    if args.json == "-":
        print(data)
        print_summary(report, out=sys.stderr)
    else:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data + "\n")
        print_summary(report)
        print(f"report: {path}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
