"""klagomal: complaints, suggestions and praise for Swedish municipalities.

The public API is what this module exports; the submodules hold the
implementation.  A minimal session::

    from klagomal import Klagomal, Contact

    with Klagomal("sqlite:///klagomal.db") as k:
        k.init()
        case = k.register(kind="klagomal", channel="telefon", unit="soc",
                          text="Ingen ringde tillbaka.", contact=Contact(name="Eva"))

An application that serves many users keeps one instance and acts for each
request's user with ``k.as_user(login)`` (a :class:`User` or a login name);
a step the user may not take raises :class:`AccessDeniedError`
(docs/embedding.md).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the real imports, for type checkers and readers
    from klagomal.app import DEFAULT_DB, Klagomal
    from klagomal.cases.follow import CaseForCitizen, CitizenLetter, InformationAdded
    from klagomal.core.clock import BusinessDate, Clock, FixedClock, SystemClock
    from klagomal.core.errors import (
        AccessDeniedError,
        CalendarError,
        CaseNotFoundError,
        ConfigurationError,
        ConflictError,
        InvalidInputError,
        InvalidStepError,
        KlagomalError,
        OrganisationError,
        SchemaError,
        StorageUnavailableError,
        TransientStorageError,
        UnknownUnitError,
    )
    from klagomal.core.events import Event
    from klagomal.core.location import Location
    from klagomal.core.model import (
        AnswerMode,
        Case,
        CaseState,
        Channel,
        Contact,
        Kind,
        Level,
        QualityDimension,
    )
    from klagomal.core.organisation import Organisation, load_organisation
    from klagomal.core.phrases import Phrase, Purpose
    from klagomal.core.users import Role, User
    from klagomal.hooks.specs import hookimpl
    from klagomal.storage.base import MigrationBranch, StorageBackend

# Where each public name lives.  Importing them lazily keeps `klagomal --help`
# and other light uses from loading SQLAlchemy, cattrs and pluggy.
_LOCATIONS = {
    "DEFAULT_DB": "klagomal.app",
    "Klagomal": "klagomal.app",
    "CaseForCitizen": "klagomal.cases.follow",
    "CitizenLetter": "klagomal.cases.follow",
    "InformationAdded": "klagomal.cases.follow",
    "BusinessDate": "klagomal.core.clock",
    "Clock": "klagomal.core.clock",
    "FixedClock": "klagomal.core.clock",
    "SystemClock": "klagomal.core.clock",
    "AccessDeniedError": "klagomal.core.errors",
    "CalendarError": "klagomal.core.errors",
    "CaseNotFoundError": "klagomal.core.errors",
    "ConfigurationError": "klagomal.core.errors",
    "ConflictError": "klagomal.core.errors",
    "InvalidInputError": "klagomal.core.errors",
    "InvalidStepError": "klagomal.core.errors",
    "KlagomalError": "klagomal.core.errors",
    "OrganisationError": "klagomal.core.errors",
    "SchemaError": "klagomal.core.errors",
    "StorageUnavailableError": "klagomal.core.errors",
    "TransientStorageError": "klagomal.core.errors",
    "UnknownUnitError": "klagomal.core.errors",
    "Event": "klagomal.core.events",
    "Location": "klagomal.core.location",
    "hookimpl": "klagomal.hooks.specs",
    "AnswerMode": "klagomal.core.model",
    "Case": "klagomal.core.model",
    "CaseState": "klagomal.core.model",
    "Channel": "klagomal.core.model",
    "Contact": "klagomal.core.model",
    "Kind": "klagomal.core.model",
    "Level": "klagomal.core.model",
    "QualityDimension": "klagomal.core.model",
    "Organisation": "klagomal.core.organisation",
    "load_organisation": "klagomal.core.organisation",
    "Phrase": "klagomal.core.phrases",
    "Purpose": "klagomal.core.phrases",
    "Role": "klagomal.core.users",
    "User": "klagomal.core.users",
    "MigrationBranch": "klagomal.storage.base",
    "StorageBackend": "klagomal.storage.base",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'klagomal' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "DEFAULT_DB",
    "AccessDeniedError",
    "AnswerMode",
    "BusinessDate",
    "CalendarError",
    "Case",
    "CaseForCitizen",
    "CaseNotFoundError",
    "CaseState",
    "Channel",
    "CitizenLetter",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "Event",
    "FixedClock",
    "InformationAdded",
    "InvalidInputError",
    "InvalidStepError",
    "Kind",
    "Klagomal",
    "KlagomalError",
    "Level",
    "Location",
    "MigrationBranch",
    "Organisation",
    "OrganisationError",
    "Phrase",
    "Purpose",
    "QualityDimension",
    "Role",
    "SchemaError",
    "StorageBackend",
    "StorageUnavailableError",
    "SystemClock",
    "TransientStorageError",
    "UnknownUnitError",
    "User",
    "__version__",
    "hookimpl",
    "load_organisation",
]
