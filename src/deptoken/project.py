"""Where the deposit-token project is: its contracts, ``ape-config.yaml``, committed ABIs and deployment records.

Not where this package's files happen to be (an installed package has no project around it):

1. ``$DEPTOKEN_PROJECT``, if set;
2. else the ape project of the working directory: the nearest directory, from it upwards, holding an
   ``ape-config.yaml`` and a ``contracts/`` folder (as ``ape`` itself finds its project from the cwd).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DepositTokenError

ENV_VAR = "DEPTOKEN_PROJECT"


def find_project_root(start: Path | None = None) -> Path | None:
    """The project directory (see the module docstring), or None when there is none."""
    if value := os.environ.get(ENV_VAR, "").strip():
        return Path(value).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "ape-config.yaml").is_file() and (directory / "contracts").is_dir():
            return directory
    return None


def project_root(start: Path | None = None) -> Path:
    """The project directory; a one-line error when neither ``$DEPTOKEN_PROJECT`` nor the working
    directory names one."""
    root = find_project_root(start)
    if root is None:
        raise DepositTokenError(f"not inside a deposit-token project (no ape-config.yaml from {Path.cwd()} upwards): "
                                f"run from the project's directory or set {ENV_VAR}")
    if not (root / "ape-config.yaml").is_file():
        raise DepositTokenError(f"{ENV_VAR}={root} is not a deposit-token project (no ape-config.yaml there)")
    return root
