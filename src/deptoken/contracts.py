"""The deployed contracts as the library finds them: the committed ABIs (``abi/``, written by
``python -m deptoken.abi``) and ape contract instances made from them, so that the command-line tools
work without compiling the project.

The files are found in the project directory (``deptoken.project``: ``$DEPTOKEN_PROJECT`` or the working
directory's ape project). A base module: the token, the settlement clients and the ABI export all use it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .project import project_root

ABI_SUBDIR = Path("abi")  # in the project directory


def abi_dir() -> Path:
    """The project's ``abi/`` folder."""
    return project_root() / ABI_SUBDIR


def abi_of(contract_type: Any) -> list[dict[str, Any]]:
    """An ape contract type's ABI as plain JSON data."""
    return [entry.model_dump(mode="json", by_alias=True) for entry in contract_type.abi]


def contract_at(name: str, address: str) -> Any:
    """An ape contract instance of the exported contract ``name`` at ``address``, from ``abi/<name>.json``."""
    from ape import chain

    abi = json.loads((abi_dir() / f"{name}.json").read_text())
    return chain.contracts.instance_at(address, abi=abi, detect_proxy=False, fetch_from_explorer=False, replace=True)
