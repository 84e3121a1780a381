"""The ``sms`` notifier, as a plugin object and as the entry point configured
from the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping

from klagomal import hookimpl
from klagomal.notices.notifiers import Notifier, StaffMessage

from klagomal_sms._directory import PhoneDirectory
from klagomal_sms._errors import MissingSettingsError, SmsConfigurationError
from klagomal_sms._gateway import Gateway, SmsGateway
from klagomal_sms._text import DEFAULT_MAX_PARTS, sms_text

__all__ = ["ENVIRONMENT_VARIABLES", "NOTIFIER_NAME", "EnvironmentPlugin", "SmsPlugin"]

log = logging.getLogger("klagomal_sms")

#: The notifier's name: ``klagomal remind --notifier sms``.
NOTIFIER_NAME = "sms"

#: What the entry point reads, all required.  Secrets stay in the environment.
ENVIRONMENT_VARIABLES = (
    "KLAGOMAL_SMS_URL",
    "KLAGOMAL_SMS_USER",
    "KLAGOMAL_SMS_PASSWORD",
    "KLAGOMAL_SMS_FROM",
    "KLAGOMAL_SMS_DIRECTORY",
)


class SmsPlugin:
    """A klagomal plugin that adds the ``sms`` notifier: each reminder or
    breach alert is texted to the recipient's number in *directory* (R7,
    R10, R11, R14).

    :param gateway: sends the text, usually a :class:`~klagomal_sms.SmsGateway`.
    :param directory: the staff's numbers.
    :param max_parts: how many concatenated SMS a text may use; a longer
        message's body is shortened.

    Registered under the name ``sms``, the entry point's name, so that an
    instance passed to ``Klagomal(plugins=[...])`` takes the place of the
    environment-configured entry point.  ``directory`` may be replaced on a
    live plugin; failed reminders are then retried with the new one.
    """

    name = NOTIFIER_NAME

    def __init__(
        self, gateway: Gateway, directory: PhoneDirectory, *, max_parts: int = DEFAULT_MAX_PARTS
    ) -> None:
        if max_parts < 1:
            raise ValueError("max_parts must be at least 1")
        self.gateway = gateway
        self.directory = directory
        self.max_parts = max_parts

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SmsPlugin:
        """A plugin configured by :data:`ENVIRONMENT_VARIABLES`; the directory
        is loaded now.

        :raises MissingSettingsError: when variables are unset or empty.
        :raises SmsConfigurationError: when a value is invalid (including
            :class:`~klagomal_sms.DirectoryError` for the directory).
        """
        env = os.environ if environ is None else environ
        missing = [name for name in ENVIRONMENT_VARIABLES if not env.get(name, "").strip()]
        if missing:
            raise MissingSettingsError(missing)
        gateway = SmsGateway(
            env["KLAGOMAL_SMS_URL"],
            env["KLAGOMAL_SMS_USER"].strip(),
            env["KLAGOMAL_SMS_PASSWORD"],
            env["KLAGOMAL_SMS_FROM"],
        )
        return cls(gateway, PhoneDirectory.load(env["KLAGOMAL_SMS_DIRECTORY"].strip()))

    def send(self, message: StaffMessage) -> None:
        """Text *message* to its recipient; raising means it was not sent
        and klagomal retries it on the next run.

        :raises UnknownRecipientError: when the recipient has no number.
        :raises GatewayError: when the gateway did not accept the text.
        """
        number = self.directory.number_for(message.recipient)
        self.gateway.send(number, sms_text(message, max_parts=self.max_parts), recipient=message.recipient)

    @hookimpl
    def klagomal_notifiers(self) -> Iterator[Notifier]:
        """The ``sms`` notifier."""
        yield Notifier(NOTIFIER_NAME, "SMS", self.send)


class EnvironmentPlugin:
    """The entry point ``sms``: an :class:`SmsPlugin` configured from the
    environment each time a :class:`~klagomal.Klagomal` is created.

    Without configuration, klagomal starts as usual and has no ``sms``
    notifier; a warning names the missing variables, and ``klagomal remind
    --notifier sms`` refuses before recording anything.  An invalid value
    (a bad URL or sender, an unreadable directory, an invalid number in it)
    raises :class:`SmsSetupFailed` in the registration hook, which klagomal
    logs with the plugin's name and shows in ``klagomal plugins``; it leaves
    the plugin out and starts all the same.  It is deliberately *not* a
    :class:`~klagomal.core.errors.ConfigurationError`, which would stop start-up:
    a wrong SMS setting must not stop a kommun from registering feedback.
    """

    @hookimpl
    def klagomal_notifiers(self) -> Iterator[Notifier]:
        """The ``sms`` notifier, when the environment configures it."""
        try:
            plugin = SmsPlugin.from_environment()
        except MissingSettingsError as exc:
            log.warning(
                "klagomal-sms: no 'sms' notifier, because %s %s not set",
                ", ".join(exc.missing),
                "is" if len(exc.missing) == 1 else "are",
            )
            return
        except SmsConfigurationError as exc:
            raise SmsSetupFailed(f"{type(exc).__name__}: {exc}") from exc
        yield from plugin.klagomal_notifiers()


class SmsSetupFailed(RuntimeError):
    """The environment configures the ``sms`` notifier with an invalid value;
    klagomal leaves the plugin out and starts without it."""
