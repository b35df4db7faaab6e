"""Fault injection for the exactly-once tests: ``DEPTOKEN_FAULT=<point>[:<n>]`` kills the process
(exit status 137, no clean-up, like ``kill -9``) the n-th time (default: first) it reaches ``<point>``.

Points: ``before_sign``, ``after_sign`` (stored, not broadcast), ``after_broadcast`` (receipt not
awaited), ``before_receipt_stored`` (mined, not recorded), ``after_batch`` (one allowlist batch done).
Pipelined mints pass ``before_sign``, ``after_broadcast`` and ``before_receipt_stored`` once per
transaction and ``after_sign`` once per round (the round's transactions stored together).
"""

from __future__ import annotations

import os
import sys

FAULT_EXIT = 137
POINTS = ("before_sign", "after_sign", "after_broadcast", "before_receipt_stored", "after_batch")
_seen: dict[str, int] = {}


def checkpoint(point: str) -> None:
    """Dies here if ``DEPTOKEN_FAULT`` names this point (and this is its n-th visit)."""
    spec = os.environ.get("DEPTOKEN_FAULT")
    if not spec:
        return
    name, _, count = spec.partition(":")
    if name not in POINTS or not (count or "1").isdigit() or int(count or 1) < 1:
        raise RuntimeError(f"DEPTOKEN_FAULT={spec!r}: expected one of {', '.join(POINTS)}, optionally :N with N >= 1")
    if name != point:
        return
    _seen[point] = _seen.get(point, 0) + 1
    if _seen[point] == int(count or 1):
        sys.stderr.write(f"fault injected at {point}\n")
        sys.stderr.flush()
        os._exit(FAULT_EXIT)
