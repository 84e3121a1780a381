"""klagomal: complaints, suggestions and praise for Swedish municipalities.

The public API is what this module exports; the submodules hold the
implementation.  A minimal session::

    from klagomal import Klagomal, Contact

    with Klagomal("sqlite:///klagomal.db") as k:
        k.init()
        case = k.register(kind="klagomal", channel="telefon", unit="soc",
                          text="Ingen ringde tillbaka.", contact=Contact(name="Eva"))
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the real imports, for type checkers and readers
    from klagomal.app import DEFAULT_DB, Klagomal
    from klagomal.clock import BusinessDate, Clock, FixedClock, SystemClock
    from klagomal.errors import (
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
    from klagomal.events import Event
    from klagomal.hookspecs import hookimpl
    from klagomal.model import AnswerMode, Case, CaseState, Channel, Contact, Kind, Level, QualityDimension
    from klagomal.organisation import Organisation, load_organisation
    from klagomal.storage.base import MigrationBranch, StorageBackend

# Where each public name lives.  Importing them lazily keeps `klagomal --help`
# and other light uses from loading SQLAlchemy, cattrs and pluggy.
_LOCATIONS = {
    "DEFAULT_DB": "klagomal.app",
    "Klagomal": "klagomal.app",
    "BusinessDate": "klagomal.clock",
    "Clock": "klagomal.clock",
    "FixedClock": "klagomal.clock",
    "SystemClock": "klagomal.clock",
    "CalendarError": "klagomal.errors",
    "CaseNotFoundError": "klagomal.errors",
    "ConfigurationError": "klagomal.errors",
    "ConflictError": "klagomal.errors",
    "InvalidInputError": "klagomal.errors",
    "InvalidStepError": "klagomal.errors",
    "KlagomalError": "klagomal.errors",
    "OrganisationError": "klagomal.errors",
    "SchemaError": "klagomal.errors",
    "StorageUnavailableError": "klagomal.errors",
    "TransientStorageError": "klagomal.errors",
    "UnknownUnitError": "klagomal.errors",
    "Event": "klagomal.events",
    "hookimpl": "klagomal.hookspecs",
    "AnswerMode": "klagomal.model",
    "Case": "klagomal.model",
    "CaseState": "klagomal.model",
    "Channel": "klagomal.model",
    "Contact": "klagomal.model",
    "Kind": "klagomal.model",
    "Level": "klagomal.model",
    "QualityDimension": "klagomal.model",
    "Organisation": "klagomal.organisation",
    "load_organisation": "klagomal.organisation",
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
    "AnswerMode",
    "BusinessDate",
    "CalendarError",
    "Case",
    "CaseNotFoundError",
    "CaseState",
    "Channel",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "Event",
    "FixedClock",
    "InvalidInputError",
    "InvalidStepError",
    "Kind",
    "Klagomal",
    "KlagomalError",
    "Level",
    "MigrationBranch",
    "Organisation",
    "OrganisationError",
    "QualityDimension",
    "SchemaError",
    "StorageBackend",
    "StorageUnavailableError",
    "SystemClock",
    "TransientStorageError",
    "UnknownUnitError",
    "__version__",
    "hookimpl",
    "load_organisation",
]
