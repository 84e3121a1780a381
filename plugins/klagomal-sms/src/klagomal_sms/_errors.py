"""The errors klagomal-sms raises.  Their messages are Swedish: they end up in
a reminder's ``last_error``, which ``klagomal remind`` shows to staff."""

from __future__ import annotations

from collections.abc import Sequence

from klagomal.core.errors import ConfigurationError, KlagomalError

__all__ = [
    "DirectoryError",
    "GatewayError",
    "MissingSettingsError",
    "SmsConfigurationError",
    "SmsError",
    "UnknownRecipientError",
]


class SmsError(KlagomalError):
    """Base class of every error klagomal-sms raises on purpose."""


class SmsConfigurationError(SmsError, ConfigurationError):
    """A gateway setting (URL, user, password, sender, timeout) is invalid."""


class MissingSettingsError(SmsConfigurationError):
    """Environment variables the ``sms`` entry point needs are not set.

    :param missing: the names of the variables, in the order they are documented.
    """

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        super().__init__(
            "SMS-avisering är inte inställd: {names} saknas i miljön".format(names=", ".join(self.missing))
        )


class DirectoryError(SmsConfigurationError):
    """The phone directory cannot be read, or holds an invalid entry."""


class UnknownRecipientError(SmsError, LookupError):
    """A member of staff who is not in the phone directory.

    :param recipient: the name as the message gives it.
    :param source: where the directory came from (its file), if known.
    """

    def __init__(self, recipient: str, source: str | None = None) -> None:
        self.recipient = recipient
        self.source = source
        where = f"telefonkatalogen {source}" if source else "telefonkatalogen"
        super().__init__(
            f"SMS till {recipient} kunde inte skickas: namnet finns inte i {where}; "
            "lägg till numret så skickas meddelandet vid nästa körning"
        )


class GatewayError(SmsError):
    """The SMS gateway did not accept a text.

    :param recipient: who the text was for (the name, and the number).
    :param status: the HTTP status of the reply, or ``None`` when there was
        no reply (a timeout, a connection error).
    :param reason: what went wrong, in Swedish, never containing the password.
    """

    def __init__(self, recipient: str, reason: str, *, status: int | None = None) -> None:
        self.recipient = recipient
        self.status = status
        self.reason = reason
        super().__init__(f"SMS till {recipient} kunde inte skickas: {reason}")
