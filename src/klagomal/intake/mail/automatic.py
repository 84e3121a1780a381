"""Machine-made messages: out-of-office replies, other automatic replies,
bounces and mailing lists, told by their headers and subject."""

from __future__ import annotations

import email.message
import re

from klagomal.intake.mail.headers import raw_header, raw_headers
from klagomal.intake.mail.mime import mime_of

__all__ = ["automatic_kind"]


_OOO_STRONG = re.compile(
    r"^\s*(?:automatiskt svar|autosvar|automatic reply|auto[- ]?reply|autoreply|autoresponse"
    r"|out of office autoreply)\s*(?::|$)",
    re.IGNORECASE,
)
_OOO_WEAK = re.compile(
    r"^\s*(?:frånvaro|frånvaromeddelande|out of (?:the )?office|ooo)\s*(?::|$)", re.IGNORECASE
)
_REPLY_PREFIX = re.compile(r"^\s*(?:sv|re|svar|aw)\s*:", re.IGNORECASE)
_FALSE = frozenset({"no", "false", "0", "off"})
# The local parts, and the names, that mail servers send their bounces
# under: "MAILER-DAEMON@mx.example.se", "Mail Delivery Subsystem
# <mailer-daemon@googlemail.com>", a bare "MAILER-DAEMON (Mail Delivery System)".
_BOUNCE_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
_BOUNCE_NAME = re.compile(
    r"^\s*(?:mailer-daemon\b|mail delivery (?:subsystem|system|service)\s*$)", re.IGNORECASE
)
# What list servers add to the messages they pass on: the list headers of
# RFC 2369 and RFC 2919, and those of Mailman, ezmlm and SmartList.
_LIST_HEADERS = (
    "List-Id",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Help",
    "List-Owner",
    "List-Archive",
    "X-Mailman-Version",
    "Mailing-List",
    "X-Mailing-List",
)


def _token(value: bytes | None) -> str:
    if value is None:
        return ""
    words = re.split(r"[;\s(]", value.decode("ascii", "replace").strip(), maxsplit=1)
    return words[0].lower()


def automatic_kind(
    message: email.message.Message,
    subject: str,
    sender_address: str | None,
    threaded: bool,
    sender_name: str | None = None,
) -> str | None:
    """What machine made *message*: ``"bounce"``, ``"out-of-office"``, ``"auto-reply"``,
    ``"auto-submitted"`` or ``"mailing-list"``; ``None`` if a person wrote it.

    *threaded* says whether it replies to something (a weak out-of-office
    subject counts only then); *sender_name* is the name in the From field
    (or the whole field, when it holds no address).
    """
    mime = mime_of(message)
    report_type = mime.params.get("report-type", "").strip().lower()
    if mime.content_type == "multipart/report" and report_type == "delivery-status":
        return "bounce"
    if sender_address and sender_address.rpartition("@")[0].lower() in _BOUNCE_LOCAL_PARTS:
        return "bounce"
    if sender_name and _BOUNCE_NAME.match(sender_name):
        return "bounce"
    auto_submitted = _token(raw_header(message, "Auto-Submitted"))
    precedence = _token(raw_header(message, "Precedence"))
    autoreply = any(
        _token(value) not in _FALSE
        for name in ("X-Autoreply", "X-Autorespond")
        for value in raw_headers(message, name)
    )
    strong = _OOO_STRONG.match(subject)
    weak = _OOO_WEAK.match(subject)
    if strong or (weak and (threaded or _REPLY_PREFIX.match(subject[weak.end() :]))):
        return "out-of-office"
    if mime.content_type == "multipart/report" or auto_submitted == "auto-replied" or autoreply:
        return "auto-reply"
    if precedence in ("auto_reply", "auto-reply"):
        return "auto-reply"
    if auto_submitted and auto_submitted != "no":
        return "auto-submitted"
    if precedence in ("bulk", "junk", "list"):
        return "mailing-list"
    if any(raw_header(message, name) is not None for name in _LIST_HEADERS):
        return "mailing-list"
    return_path = raw_header(message, "Return-Path")
    if return_path is not None and re.fullmatch(rb"\s*<\s*>\s*", return_path):
        return "bounce"
    return None
