"""klagomal-sms: reminders and breach alerts to staff by SMS.

Adds the notifier ``sms`` to klagomal, so that ``klagomal remind --notifier
sms`` texts each reminder (a deadline is close: R7, R10, R11) and breach
alert (a deadline has passed; to the nearest manager, R14) to the member of
staff concerned, through a 46elks-compatible gateway.

Installed, the entry point ``sms`` (:data:`plugin`) configures itself from
the environment (``KLAGOMAL_SMS_*``, see the README).  For programmatic use
and tests, pass an :class:`SmsPlugin`::

    from klagomal import Klagomal
    from klagomal_sms import PhoneDirectory, SmsGateway, SmsPlugin

    sms = SmsPlugin(
        SmsGateway("https://api.46elks.com", user, password, "Kommunen"),
        PhoneDirectory.load("telefonkatalog.toml"),
    )
    k = Klagomal(db, plugins=[sms], user="system")
    k.remind(notifier="sms")
"""

from __future__ import annotations

from klagomal_sms._directory import PhoneDirectory
from klagomal_sms._errors import (
    DirectoryError,
    GatewayError,
    MissingSettingsError,
    SmsConfigurationError,
    SmsError,
    UnknownRecipientError,
)
from klagomal_sms._gateway import DEFAULT_TIMEOUT, Gateway, SmsGateway, check_sender
from klagomal_sms._numbers import normalise_number
from klagomal_sms._plugin import ENVIRONMENT_VARIABLES, NOTIFIER_NAME, EnvironmentPlugin, SmsPlugin
from klagomal_sms._text import DEFAULT_MAX_PARTS, fits, sms_parts, sms_text

__all__ = [
    "DEFAULT_MAX_PARTS",
    "DEFAULT_TIMEOUT",
    "ENVIRONMENT_VARIABLES",
    "NOTIFIER_NAME",
    "DirectoryError",
    "EnvironmentPlugin",
    "Gateway",
    "GatewayError",
    "MissingSettingsError",
    "PhoneDirectory",
    "SmsConfigurationError",
    "SmsError",
    "SmsGateway",
    "SmsPlugin",
    "UnknownRecipientError",
    "check_sender",
    "fits",
    "normalise_number",
    "plugin",
    "sms_parts",
    "sms_text",
]

#: The entry point ``sms`` (``klagomal_sms:plugin``), configured from the environment.
plugin = EnvironmentPlugin()
