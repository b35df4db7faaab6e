"""The library's structure (issue 12): no module reaches into another's underscored names, and no two
packages import each other (the CLI sits above the libraries; the libraries never import it)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "deptoken"


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:  # Alembic's revision files follow Alembic's conventions
            continue
        name = ".".join(("deptoken", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def package_of(module: str, packages: set[str]) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in packages:
            return ".".join(parts[:n])
    return "deptoken"


def imported(module: str, tree: ast.Module, is_package: bool) -> set[str]:
    names: set[str] = set()
    base = module if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")[: len(base.split(".")) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{a.name}" for a in node.names)
    return {n for n in names if n.startswith("deptoken")}


def test_no_two_packages_import_each_other():
    trees = modules()
    packages = {name for name in trees if (SRC / Path(*name.split(".")[1:]) / "__init__.py").is_file()} | {"deptoken"}
    edges: set[tuple[str, str]] = set()
    for name, tree in trees.items():
        source = package_of(name, packages)
        for target in imported(name, tree, name in packages):
            target_package = package_of(target, packages)
            if target_package != source:
                edges.add((source, target_package))
    assert len(trees) > 50 and len(packages) >= 4, (len(trees), packages)  # it analysed the whole library
    cycles = sorted((a, b) for a, b in edges if (b, a) in edges and a < b)
    assert cycles == [], f"packages importing each other: {cycles}"
    assert not any(target == "deptoken.cli" for _, target in edges if _ != "deptoken.cli"), "a library imports the CLI"


# Underscored names that are other libraries' public API, as written where used: lxml's element type
# (for annotations), os._exit (exit without cleanup: the fault injection's "kill here"). Nothing else.
FOREIGN = {"etree._Element", "os._exit"}


def test_no_module_calls_another_modules_private_names():
    offences = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and ast.unparse(node) not in FOREIGN and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                offences.append(f"{name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("deptoken")):
                offences += [f"{name}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("_")]
    assert offences == [], "\n".join(offences)


def test_the_cli_imports_the_chain_stack_only_for_commands_that_need_it(tmp_path):
    """``deptoken --help`` and a command group's help load neither ape, web3, SQLAlchemy nor the token
    package, and a ledger-only command, or its refusal, not ape: what keeps their start under 0.5 s and
    1 s (tools/cli_times.py)."""
    import json
    import os
    import subprocess
    import sys

    probe = """import json, sys
from deptoken.cli.main import main
sys.argv = ["deptoken", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = {"ape", "web3", "eth_utils", "sqlalchemy", "deptoken.token"}
print(json.dumps([code, sorted(name for name in sys.modules if name in heavy)]), file=sys.stderr)
"""

    def run(*args: str, ledger: str = "ledger.sqlite") -> tuple[int, list[str]]:
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "DEPTOKEN_DB_URL": f"sqlite:///{tmp_path / ledger}"})
        code, loaded = json.loads(result.stderr.strip().splitlines()[-1])
        return code, loaded

    assert run("--help") == (0, [])
    assert run("requests", "--help") == (0, [])
    assert run("requests", "list", ledger="none.sqlite") == (1, ["sqlalchemy"])  # refused: no ledger there
    assert run("db", "upgrade")[0] == 0
    assert run("requests", "list") == (0, ["sqlalchemy"])  # it read the ledger, and nothing of the chain
