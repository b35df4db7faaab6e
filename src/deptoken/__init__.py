"""deptoken: bank-issued deposit tokens on EVM chains.

The library behind the ape scripts, the tests and the benchmark: one implementation of each chain
operation (``deptoken.token``), exact money handling (``deptoken.amounts``), input validation
(``deptoken.validation``), deploy configuration (``deptoken.config``) and deployment records for
integrators (``deptoken.deployments``).
"""

__version__ = "0.1.0"
