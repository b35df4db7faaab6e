"""Issuer operations: the ledger and the workflows of the bank's operations team (their commands: ``deptoken.cli``)."""
