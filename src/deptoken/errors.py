"""The one exception type that user-facing commands turn into a one-line error and a non-zero exit."""


class DepositTokenError(Exception):
    """A problem with the input or the environment, explained in one line; nothing was sent."""
