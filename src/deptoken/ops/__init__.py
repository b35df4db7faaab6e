"""Issuer operations: ledger, workflows and CLI for the bank's operations team."""
