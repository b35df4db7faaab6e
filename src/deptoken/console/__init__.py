"""The bank's operations console: a web application over the issuer tooling (``deptoken.ops``).

Routes call the same library functions as the ``deptoken`` CLI; nothing here is a second
implementation of an operation. ``permissions`` says which console role may do what, ``auth`` holds
console users, passwords (argon2id), sessions and login throttling, ``signing`` unlocks an operator's
key for one action, ``app`` is the Starlette application (``deptoken console`` serves it).
"""
