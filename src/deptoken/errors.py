"""The one exception type that user-facing commands turn into a one-line error and a non-zero exit."""


class DepositTokenError(Exception):
    """A problem with the input or the environment, explained in one line; nothing was sent."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
