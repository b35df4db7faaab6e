"""The official ISO 20022 schemas (``xsd/``): safe parsing and validation of messages against them."""

from __future__ import annotations

import re
import threading
from importlib.resources import files

from lxml import etree

from ..errors import DepositTokenError, first_line

MESSAGES = ("pacs.008.001.08", "camt.053.001.08", "camt.054.001.08")
_URN = "urn:iso:std:iso:20022:tech:xsd:"
_cache = threading.local()  # lxml schema objects keep an error log: one per thread


def namespace(message: str) -> str:
    """The XML namespace of ``message`` (one of ``MESSAGES``)."""
    if message not in MESSAGES:
        raise DepositTokenError(f"unknown ISO 20022 message {message!r}: expected one of {', '.join(MESSAGES)}")
    return _URN + message


def _parser() -> etree.XMLParser:
    """A parser that never expands entities, loads DTDs or touches the network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )


def _schema(message: str) -> etree.XMLSchema:
    schemas = _cache.__dict__.setdefault("schemas", {})
    if message not in schemas:
        xsd = (files(__package__) / "xsd" / f"{message}.xsd").read_bytes()
        schemas[message] = etree.XMLSchema(etree.fromstring(xsd, _parser()))
    return schemas[message]


def check(root: etree._Element, message: str, *, source: str) -> None:
    """Raise unless ``root`` is a ``message`` Document that the official schema accepts."""
    ns = namespace(message)
    found = etree.QName(root).namespace or ""
    if found != ns or etree.QName(root).localname != "Document":
        what = f"a {found[len(_URN):]} message" if found.startswith(_URN) else f"<{etree.QName(root).localname}>"
        raise DepositTokenError(
            f"{source}: not a {message} message: the root element is {what} (namespace {found or 'none'})"
        )
    schema = _schema(message)
    if not schema.validate(root):
        error = schema.error_log[0]
        text = first_line(Exception(error.message.replace("{" + ns + "}", "")))
        raise DepositTokenError(f"{source}: not a valid {message}: line {error.line}: {text}")


def parse(xml: bytes, message: str, *, source: str) -> etree._Element:
    """Parse ``xml`` safely and validate it as ``message``; returns the root ``Document`` element."""
    namespace(message)
    if not isinstance(xml, bytes):
        raise DepositTokenError(f"{source}: XML must be given as bytes, not {type(xml).__name__}")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        text = re.sub(r", line \d+, column \d+$", "", first_line(Exception(exc.msg)))
        raise DepositTokenError(f"{source}: not well-formed XML: line {exc.lineno}: {text}") from None
    if root.getroottree().docinfo.doctype:
        raise DepositTokenError(f"{source}: has a DOCTYPE declaration, which ISO 20022 messages never have; refused")
    check(root, message, source=source)
    return root


def validate(xml: bytes, message: str, *, source: str = "message") -> None:
    """Raise a one-line ``DepositTokenError`` unless ``xml`` is a valid ``message`` (one of ``MESSAGES``)."""
    parse(xml, message, source=source)
