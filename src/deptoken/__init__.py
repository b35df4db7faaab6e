"""deptoken: bank-issued deposit tokens on EVM chains.

The library behind the ape scripts, the demo, the tests and the benchmark: the token client
(``deptoken.token``: reads, the checks made before sending, the transactions; deploying, authorizations,
rate limits), typed one-line errors (``deptoken.errors``), exact money (``deptoken.amounts``),
times (``deptoken.times``), input validation (``deptoken.validation``, ``deptoken.identifiers``,
``deptoken.allowlist_file``), deploy configuration (``deptoken.config``), deployment records for
integrators (``deptoken.deployments``), signers (``deptoken.signers``), the settlement clients
(``deptoken.settlement``), the issuer tooling (``deptoken.ops``), the ``deptoken`` CLI (``deptoken.cli``), and the checks run by the tests
(``deptoken.abi``, ``deptoken.slither_check``, ``deptoken.token.gas``).
"""

__version__ = "0.1.0"
