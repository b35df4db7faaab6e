"""deptoken: bank-issued deposit tokens on EVM chains.

The library behind the ape scripts, the demo, the tests and the benchmark: one implementation of
each chain operation (``deptoken.operations``, deploying in ``deptoken.token_deployer``), exact money
(``deptoken.amounts``), input validation (``deptoken.validation``, ``deptoken.allowlist_file``),
deploy configuration (``deptoken.config``), deployment records for integrators
(``deptoken.deployments``), signers (``deptoken.signers``), and the checks run by the tests
(``deptoken.abi``, ``deptoken.slither_check``, ``deptoken.token_gas``).
"""

__version__ = "0.1.0"
