"""Building the plugin manager and collecting what plugins register.

There is no module-level plugin manager: each :class:`~klagomal.Klagomal`
builds its own, so two instances (or two tests) never see each other's
plugins.  Load order is explicit: built-in plugins first, then plugins passed
by the caller, then installed entry points of the group ``klagomal``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import pluggy
from pluggy import HookImpl

from klagomal import builtin, hookspecs
from klagomal.errors import ConfigurationError
from klagomal.i18n import _
from klagomal.model import Channel, QualityDimension
from klagomal.storage.base import StorageBackend

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.calendars import Calendar
    from klagomal.notifiers import Notifier

__all__ = [
    "BUILTIN_NAMES",
    "DEFAULT_PLUGINS",
    "Registry",
    "call_impl",
    "create_plugin_manager",
    "implementations",
]

log = logging.getLogger(__name__)

#: Built-in features, registered through the same hooks as outside plugins.
DEFAULT_PLUGINS: tuple[object, ...] = (builtin,)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering which distribution each entry-point
    plugin came from (for its version in ``klagomal plugins``)."""

    def __init__(self, project_name: str) -> None:
        super().__init__(project_name)
        self.distributions: dict[str, importlib.metadata.Distribution] = {}

    def version_of(self, name: str) -> str | None:
        """The installed version of the plugin registered as *name*, if known."""
        dist = self.distributions.get(name)
        return dist.version if dist is not None else None


def create_plugin_manager(plugins: Iterable[object] = (), *, load_entrypoints: bool = True) -> PluginManager:
    """A new plugin manager with the built-ins, *plugins* and, unless told
    otherwise, the installed entry points.

    An entry point that fails to load is logged and skipped, so that one
    broken plugin does not stop a kommun's registration of feedback.
    """
    pm = PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for plugin in DEFAULT_PLUGINS:
        pm.register(plugin, name=f"klagomal.{plugin.__name__.rsplit('.', 1)[-1]}")  # type: ignore[attr-defined]
    for plugin in plugins:
        pm.register(plugin, name=_unique_name(pm, plugin))
    if load_entrypoints:
        for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                pm.register(ep.load(), name=ep.name)
                if ep.dist is not None:
                    pm.distributions[ep.name] = ep.dist
            except Exception:
                log.exception(
                    "klagomal: plugin %r (%s) could not be loaded and is skipped", ep.name, ep.value
                )
    # An implementation whose name matches no hook is a typo in a plugin.
    pm.check_pending()
    return pm


def _unique_name(pm: pluggy.PluginManager, plugin: object) -> str:
    """A readable name for logs and ``klagomal plugins``: the module's name,
    or the plugin's ``name`` attribute, or its class."""
    if isinstance(plugin, types.ModuleType):
        base = plugin.__name__
    else:
        base = getattr(plugin, "name", None) or f"{type(plugin).__module__}.{type(plugin).__qualname__}"
    name, n = str(base), 1
    while pm.has_plugin(name):
        n += 1
        name = f"{base}#{n}"
    return name


_T = TypeVar("_T")


#: Names under which the built-in plugins are registered.
BUILTIN_NAMES = frozenset(f"klagomal.{p.__name__.rsplit('.', 1)[-1]}" for p in DEFAULT_PLUGINS)  # type: ignore[attr-defined]


def implementations(hook: pluggy.HookCaller) -> list[HookImpl]:
    """The implementations of *hook* in the order pluggy calls them
    (``tryfirst`` first, built-in ``trylast`` ones last; wrappers left out).

    Calling them one by one, with :func:`call_impl`, tells which plugin gave
    which result and lets the caller isolate one plugin's failure.
    """
    # pluggy keeps implementations in ascending priority and calls the last first.
    return [impl for impl in reversed(hook.get_hookimpls()) if not (impl.hookwrapper or impl.wrapper)]


def call_impl(impl: HookImpl, **kwargs: Any) -> Any:
    """Call one implementation with the arguments it declares, as pluggy would."""
    return impl.function(*(kwargs[name] for name in impl.argnames))


def _by_id(item: Any) -> str:
    return str(item.id)


def _by_name(item: Any) -> str:
    return str(item.name)


def _collect(
    hook: pluggy.HookCaller, what: str, key: Callable[[Any], str] = _by_id
) -> tuple[dict[str, Any], dict[str, str]]:
    """Records by their id (or other *key*), and the plugin that registered
    each.  A plugin may replace a built-in record by registering the same id
    (built-ins run last); two outside plugins may not."""
    found: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for impl in implementations(hook):
        plugin_name = impl.plugin_name
        for item in call_impl(impl):
            item_id = key(item)
            if item_id in found:
                if plugin_name in BUILTIN_NAMES:
                    continue  # overridden by an outside plugin
                raise ConfigurationError(
                    _("{what} '{id}' registreras av både {first} och {second}").format(
                        what=what, id=item_id, first=owner[item_id], second=plugin_name
                    )
                )
            found[item_id] = item
            owner[item_id] = plugin_name
    return dict(sorted(found.items())), owner


@attrs.frozen
class Registry:
    """What the loaded plugins registered, by id, and which plugin each
    record in effect came from (for ``klagomal plugins``)."""

    channels: Mapping[str, Channel]
    dimensions: Mapping[str, QualityDimension]
    storage_backends: tuple[StorageBackend, ...]
    calendars: Mapping[str, Calendar] = attrs.field(factory=dict)
    notifiers: Mapping[str, Notifier] = attrs.field(factory=dict)
    owners: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)

    @classmethod
    def from_plugin_manager(cls, pm: pluggy.PluginManager) -> Registry:
        """Call the registration hooks and check the results."""
        hook = pm.hook
        backends = tuple(b for batch in hook.klagomal_storage_backends() for b in batch)
        channels: dict[str, Channel]
        dimensions: dict[str, QualityDimension]
        channels, channel_owners = _collect(hook.klagomal_channels, _("kanalen"))
        dimensions, dimension_owners = _collect(hook.klagomal_quality_dimensions, _("kvalitetsdimensionen"))
        calendars, calendar_owners = _collect(hook.klagomal_calendars, _("kalendern"), _by_name)
        notifiers, notifier_owners = _collect(hook.klagomal_notifiers, _("aviseringssättet"), _by_name)
        return cls(
            channels=channels,
            dimensions=dimensions,
            storage_backends=backends,
            calendars=calendars,
            notifiers=notifiers,
            owners={
                "channels": channel_owners,
                "dimensions": dimension_owners,
                "calendars": calendar_owners,
                "notifiers": notifier_owners,
            },
        )

    def registered_by(self, plugin_name: str, what: str) -> list[str]:
        """The ids of *what* (``"channels"``, ``"dimensions"``, ``"calendars"``
        or ``"notifiers"``) in effect from *plugin_name*, in the order the
        plugin registered them."""
        return [i for i, owner in self.owners.get(what, {}).items() if owner == plugin_name]

    def storage_backend(self, scheme: str) -> StorageBackend:
        """The backend for a URL scheme such as ``sqlite`` or ``postgresql+psycopg``.

        Plugins' backends come before the built-in one (pluggy calls later
        registered plugins first), so the first match wins.
        """
        base = scheme.split("+", 1)[0]
        for backend in self.storage_backends:
            if base in backend.schemes:
                return backend
        raise ConfigurationError(
            _("ingen lagring kan hantera databasadresser av typen '{scheme}'").format(scheme=scheme)
        )
