"""``python -m deptoken.abi --write | --check`` (see ``deptoken.abi``)."""

import sys

from . import main

sys.exit(main())
