"""Typed errors.

Every error carries a Swedish message meant for the handler who sees it on the
command line (translatable through :mod:`klagomal.core.i18n`), and enough structured
fields for a program to react without parsing text.  Errors that concern a case
name the case, its state and the step that was refused, as the project's
standards require.
"""

from __future__ import annotations

from klagomal.core.i18n import _
from klagomal.core.model import CaseState
from klagomal.core.steps import step_label

__all__ = [
    "AccessDeniedError",
    "CalendarError",
    "CaseNotFoundError",
    "ConfigurationError",
    "ConflictError",
    "DeliveryError",
    "DeliveryUncertainError",
    "InvalidInputError",
    "InvalidPersonNumberError",
    "InvalidStepError",
    "KlagomalError",
    "NoUnitError",
    "NoUserError",
    "OrganisationError",
    "PluginRejectedError",
    "SchemaError",
    "StorageUnavailableError",
    "TransientStorageError",
    "UnknownUnitError",
]


class KlagomalError(Exception):
    """Base class of every error klagomal raises on purpose."""


class AccessDeniedError(KlagomalError, PermissionError):
    """The acting user may not do this (:mod:`klagomal.records.access`).

    ``operation`` is the :class:`~klagomal.records.access.Operation` refused (or
    ``None``), ``reference`` the case, ``user`` the acting user, ``reason``
    why, in Swedish.  Every denial is also written to the audit log.
    """

    def __init__(self, operation: object, reference: str | None, reason: str, *, user: object = None) -> None:
        self.operation = operation
        self.reference = reference
        self.reason = reason
        self.user = user
        parts = [_("Åtkomst nekad")]
        if reference:
            parts.append(_("ärende {reference}").format(reference=reference))
        if operation is not None:
            # The operation's Swedish label, never its id (``lasa``).
            label = getattr(operation, "label", operation)
            parts.append(_("åtgärd '{operation}'").format(operation=label))
        super().__init__(", ".join(parts) + f": {reason}")


class NoUserError(AccessDeniedError):
    """No acting user was named: every operation but the public ones is
    refused.  The message says how to name one to a program (the
    ``user`` argument); the command line says it in its own words
    (``--user``, ``KLAGOMAL_USER``)."""


def _state_label(state: str) -> str:
    """A case state's label in lower case (``under handläggning``), or
    *state* as it is when it is none."""
    try:
        return CaseState(state).label.lower()
    except ValueError:
        return state


class ConfigurationError(KlagomalError):
    """A setting, plugin registry or file is inconsistent."""


class OrganisationError(ConfigurationError):
    """An organisation file cannot be read or does not describe a valid organisation."""


class UnknownUnitError(KlagomalError, LookupError):
    """A unit id that the organisation does not know."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        super().__init__(_("Okänd enhet: {unit}").format(unit=unit))


class CaseNotFoundError(KlagomalError, LookupError):
    """No case has this reference."""

    def __init__(self, reference: str, step: str | None = None) -> None:
        self.reference = reference
        self.step = step
        message = _("Ärendet {reference} finns inte").format(reference=reference)
        if step:
            message += " " + _("(steg '{step}')").format(step=step_label(step))
        super().__init__(message)


class InvalidInputError(KlagomalError, ValueError):
    """Input that cannot be accepted as it is (unknown channel, bad date, ...).

    ``step`` names what was being attempted; ``reference`` names the case when
    there is one.
    """

    def __init__(self, reason: str, *, step: str | None = None, reference: str | None = None) -> None:
        self.reason = reason
        self.step = step
        self.reference = reference
        parts = []
        if reference:
            parts.append(_("Ärende {reference}").format(reference=reference))
        if step:
            parts.append(_("steg '{step}'").format(step=step_label(step)))
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)

    def in_context(self, *, step: str | None, reference: str | None) -> InvalidInputError:
        """The same error naming *step* and *reference* where it did not yet.

        Lower layers (the calendar, a deadline policy) know the reason but not
        which case or step they were asked for; the service layer adds that,
        so that every error a handler sees names the case, the step and the
        reason.
        """
        if (self.step or not step) and (self.reference or not reference):
            return self
        return type(self)(self.reason, step=self.step or step, reference=self.reference or reference)


class PluginRejectedError(InvalidInputError):
    """A plugin's intake check refused new feedback (``klagomal_validate_intake``).

    ``plugin`` names the plugin, ``reason`` is its message.  Nothing was
    registered.
    """

    def __init__(
        self, plugin: str, reason: str, *, step: str | None = "register", reference: str | None = None
    ) -> None:
        self.plugin = plugin
        super().__init__(
            _("avvisat av insticksmodulen {plugin}: {reason}").format(plugin=plugin, reason=reason),
            step=step,
            reference=reference,
        )
        self.reason = reason

    def in_context(self, *, step: str | None, reference: str | None) -> InvalidInputError:
        return self


class NoUnitError(InvalidInputError):
    """New feedback names no unit and no plugin could tell which unit it
    concerns.  The service then falls back on the registrar's own unit, when
    they have exactly one, or names their units in the refusal."""


class InvalidPersonNumberError(InvalidInputError):
    """A personnummer or samordningsnummer that is not valid.  The message
    says what is wrong, never the number itself (it would end up in logs)."""


class CalendarError(InvalidInputError):
    """A working-day calendar cannot answer: an unknown calendar, a date
    outside the calendar's range, or a negative number of working days.

    It never guesses: a deadline it cannot compute exactly is an error.
    """


class InvalidStepError(KlagomalError):
    """A lifecycle step that the routine does not allow for the case as it is now.

    Nothing is changed when this is raised.
    """

    def __init__(self, reference: str, state: str, step: str, reason: str) -> None:
        self.reference = reference
        self.state = state
        self.step = step
        self.reason = reason
        super().__init__(
            _("Ärende {reference} (status {state}): steget '{step}' är inte tillåtet: {reason}").format(
                reference=reference, state=_state_label(state), step=step_label(step), reason=reason
            )
        )


class ConflictError(KlagomalError):
    """Someone else changed the case between reading and writing it.

    Nothing was changed by the step that got this error: reload the case,
    look at what the other person did, and decide again.

    :param reference: the case.
    :param reason: a message of its own instead of the standard one.
    :param step: the step that lost, when known.
    :param expected: the version the caller had read, when it said so.
    :param found: the version the case is at now, when known.
    """

    def __init__(
        self,
        reference: str,
        reason: str | None = None,
        *,
        step: str | None = None,
        expected: int | None = None,
        found: int | None = None,
    ) -> None:
        self.reference = reference
        self.step = step
        self.expected = expected
        self.found = found
        if reason is None:
            if expected is not None and found is not None:
                reason = _(
                    "Ärende {reference} har ändrats av någon annan sedan du läste det "
                    "(version {expected}, nu {found}). Läs in det igen och försök på nytt."
                ).format(reference=reference, expected=expected, found=found)
            else:
                reason = _(
                    "Ärende {reference} ändrades av någon annan samtidigt. "
                    "Läs in det igen och försök på nytt."
                ).format(reference=reference)
            if step is not None:
                reason = _("{reason} (steget '{step}' gjordes inte)").format(
                    reason=reason, step=step_label(step)
                )
        super().__init__(reason)


class TransientStorageError(KlagomalError):
    """The database refused a transaction for a reason that passes by itself:
    a deadlock, a serialization failure or a lock that timed out.  The whole
    transaction was rolled back, so the service layer may simply run it again,
    and does so a few times before it gives up with this error."""


class StorageUnavailableError(KlagomalError):
    """The database cannot be reached or refuses the login.  The message says
    which database (without the password) and what to check."""


class SchemaError(KlagomalError):
    """The database has no klagomal schema, or one this version cannot use."""


class DeliveryError(KlagomalError):
    """A notifier could not deliver a notice (:mod:`klagomal.notices.outbox`).

    ``permanent`` means that trying again cannot help until something is
    changed (an invalid address, a missing setting): the notice stays in the
    outbox but is not retried automatically.  Otherwise it is retried with
    backoff.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        self.reason = reason
        self.permanent = permanent
        super().__init__(reason)


class DeliveryUncertainError(KlagomalError):
    """A notifier lost contact after handing the notice over, so it may have
    arrived (an SMTP connection broken while the message was being sent).
    The notice is never sent again automatically; a person checks and resends
    it with ``klagomal deliver --resend``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
