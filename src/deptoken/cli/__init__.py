"""The command-line tools: ``deptoken`` (``deptoken.cli.main``: issuer operations and settlement,
one module per command group) and what the ape scripts of ``scripts/`` share
(``deptoken.cli.ape_scripts``). Above the libraries (``deptoken``, ``deptoken.ops``,
``deptoken.settlement``, ``deptoken.iso20022``), none of which imports it."""
