"""klagomal: complaints, suggestions and praise for Swedish municipalities.

The public API is what this module exports; the submodules hold the
implementation.  A minimal session::

    from klagomal import Klagomal, Contact

    with Klagomal("sqlite:///klagomal.db") as k:
        k.init()
        case = k.register(kind="klagomal", channel="telefon", unit="soc",
                          text="Ingen ringde tillbaka.", contact=Contact(name="Eva"))
"""

from klagomal.app import DEFAULT_DB, Klagomal
from klagomal.clock import Clock, FixedClock, SystemClock
from klagomal.errors import (
    CaseNotFoundError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    InvalidStepError,
    KlagomalError,
    OrganisationError,
    SchemaError,
    UnknownUnitError,
)
from klagomal.events import Event
from klagomal.hookspecs import hookimpl
from klagomal.model import AnswerMode, Case, CaseState, Channel, Contact, Kind, Level, QualityDimension
from klagomal.organisation import Organisation, load_organisation
from klagomal.storage.base import StorageBackend

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_DB",
    "AnswerMode",
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
    "Organisation",
    "OrganisationError",
    "QualityDimension",
    "SchemaError",
    "StorageBackend",
    "SystemClock",
    "UnknownUnitError",
    "__version__",
    "hookimpl",
    "load_organisation",
]
