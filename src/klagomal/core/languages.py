"""The languages a case may be in (lag 2009:724): the check of a
language given at registration or in a correction, with the Swedish error
that names the languages there are.  Apart from :mod:`klagomal.core.i18n`,
which the errors themselves translate with."""

from __future__ import annotations

from klagomal.core.errors import InvalidInputError
from klagomal.core.i18n import _, available_languages

__all__ = ["check_language"]


def check_language(language: str, *, step: str | None = None, reference: str | None = None) -> str:
    """*language* if it is one of :func:`~klagomal.core.i18n.available_languages`.

    :raises InvalidInputError: naming the languages there are, the step and the case.
    """
    languages = available_languages()
    if language not in languages:
        raise InvalidInputError(
            _("okänt språk '{language}' (tillgängliga: {valid})").format(
                language=language, valid=", ".join(f"{code} ({name})" for code, name in languages.items())
            ),
            step=step,
            reference=reference,
        )
    return language
