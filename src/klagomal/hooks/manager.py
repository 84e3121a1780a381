"""Building the plugin manager and collecting what plugins register.

There is no module-level plugin manager: each :class:`~klagomal.Klagomal`
builds its own, so two instances (or two tests) never see each other's
plugins.  Load order is explicit: built-in plugins first, then plugins passed
by the caller, then installed entry points of the group ``klagomal``.

``KLAGOMAL_DISABLE_PLUGINS=name,...`` disables plugins by their entry-point
name, their distribution name (``klagomal-socialtjanst``) or, for plugins
passed by the caller, the name they are registered under.

A plugin that fails to import, that raises inside a registration hook, or
whose template folder does not exist, is logged with its name and the hook
and left out of it; what it failed with is kept
(:attr:`PluginManager.failures`) so that ``klagomal plugins`` can show it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import pathlib
import re
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import pluggy
from pluggy import HookImpl

from klagomal.core.errors import ConfigurationError
from klagomal.core.i18n import _
from klagomal.core.model import Channel, QualityDimension
from klagomal.core.settings import DISABLE_PLUGINS_VARIABLE
from klagomal.hooks import builtin
from klagomal.hooks import specs as hookspecs
from klagomal.storage.base import MigrationBranch, StorageBackend

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.core.organisation import Organisation
    from klagomal.deadlines.calendars import Calendar
    from klagomal.notices.notifiers import Notifier
    from klagomal.reports import ReportSection

__all__ = [
    "BUILTIN_NAMES",
    "DEFAULT_PLUGINS",
    "DISABLE_VARIABLE",
    "PluginFailure",
    "Registry",
    "call_impl",
    "create_plugin_manager",
    "disabled_from_environment",
    "implementations",
    "plugin_configuration_error",
]

#: The environment variable that disables plugins by name.
DISABLE_VARIABLE = DISABLE_PLUGINS_VARIABLE

log = logging.getLogger(__name__)

#: Built-in features, registered through the same hooks as outside plugins.
DEFAULT_PLUGINS: tuple[object, ...] = (builtin,)


@attrs.frozen
class PluginFailure:
    """A plugin that failed: at import (``hook`` is ``"import"``) or inside a
    hook.  ``error`` is the exception's type and message."""

    plugin: str
    hook: str
    error: str


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _normalise(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def disabled_from_environment(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The plugin names listed in ``KLAGOMAL_DISABLE_PLUGINS`` (comma-separated)."""
    value = (os.environ if environ is None else environ).get(DISABLE_VARIABLE, "")
    return frozenset(name.strip() for name in value.split(",") if name.strip())


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering which distribution each entry-point
    plugin came from (for its version in ``klagomal plugins``), which
    plugins were disabled, and which failed."""

    def __init__(self, project_name: str) -> None:
        super().__init__(project_name)
        self.distributions: dict[str, importlib.metadata.Distribution] = {}
        #: Names of plugins left out because of ``KLAGOMAL_DISABLE_PLUGINS``.
        self.disabled: list[str] = []
        #: Plugins that failed to import or raised in a registration hook.
        self.failures: list[PluginFailure] = []

    def record_failure(self, plugin: str, hook: str, exc: BaseException) -> PluginFailure:
        """Log a plugin's failure with its name and the hook, and keep it."""
        failure = PluginFailure(plugin, hook, _describe(exc))
        self.failures.append(failure)
        log.error(
            _("klagomal: insticksmodulen %r fick ett fel i %s och används inte där: %s"),
            plugin,
            hook,
            failure.error,
            exc_info=exc,
        )
        return failure

    def version_of(self, name: str) -> str | None:
        """The installed version of the plugin registered as *name*, if known."""
        dist = self.distributions.get(name)
        return dist.version if dist is not None else None


def create_plugin_manager(
    plugins: Iterable[object] = (),
    *,
    load_entrypoints: bool = True,
    disabled: Iterable[str] | None = None,
) -> PluginManager:
    """A new plugin manager with the built-ins, *plugins* and, unless told
    otherwise, the installed entry points.

    :param disabled: names of plugins to leave out; by default those in
        ``KLAGOMAL_DISABLE_PLUGINS``.  The built-in plugin cannot be
        disabled (override its records instead); a name that matches no
        plugin is logged as a warning, since it is probably a typo.

    An entry point that fails to load is logged and skipped, so that one
    broken plugin does not stop a kommun's registration of feedback.
    """
    off = disabled_from_environment() if disabled is None else frozenset(disabled)
    builtin_off = sorted(off & BUILTIN_NAMES)
    if builtin_off:
        raise ConfigurationError(
            _(
                "{names} är klagomals inbyggda delar och kan inte stängas av ({variable}); "
                "en insticksmodul kan i stället ersätta det den lägger till"
            ).format(names=", ".join(builtin_off), variable=DISABLE_VARIABLE)
        )
    pm = PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    matched: set[str] = set()
    for plugin in DEFAULT_PLUGINS:
        pm.register(plugin, name=f"klagomal.{plugin.__name__.rsplit('.', 1)[-1]}")  # type: ignore[attr-defined]
    for plugin in plugins:
        name = _unique_name(pm, plugin)
        if name in off:
            matched.add(name)
            pm.disabled.append(name)
            continue
        pm.register(plugin, name=name)
    if load_entrypoints:
        # By name, so that the order plugins are called in (the last
        # registered first) does not depend on how the installation lists them.
        for ep in sorted(importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME), key=_by_ep_name):
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                # A plugin passed in code under the same name takes its place.
                log.debug("klagomal: entry point %r skipped: a plugin of that name is registered", ep.name)
                continue
            dist = _normalise(ep.dist.name) if ep.dist is not None else None
            names = {n for n in off if n == ep.name or _normalise(n) == dist}
            if names:
                matched |= names
                pm.disabled.append(ep.name)
                pm.set_blocked(ep.name)
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:
                pm.record_failure(ep.name, "import", exc)
                continue
            if ep.dist is not None:
                pm.distributions[ep.name] = ep.dist
    for name in sorted(off - matched):
        log.warning(_("klagomal: %s nämner %r, men ingen insticksmodul heter så"), DISABLE_VARIABLE, name)
    # An implementation whose name matches no hook is a typo in a plugin.
    pm.check_pending()
    return pm


def _by_ep_name(ep: importlib.metadata.EntryPoint) -> str:
    return ep.name


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


def _results(
    pm: PluginManager, hook: pluggy.HookCaller, organisation: Organisation
) -> Iterable[tuple[str, list[Any]]]:
    """Each implementation's records, as a list, with its plugin's name.  A
    plugin that raises (or returns something that is not iterable) is
    recorded as failed and left out; one that raises
    :class:`~klagomal.core.errors.ConfigurationError` stops start-up, naming it."""
    for impl in implementations(hook):
        try:
            items = list(call_impl(impl, organisation=organisation) or ())
        except ConfigurationError as exc:
            raise plugin_configuration_error(impl.plugin_name, hook.name, exc) from exc
        except Exception as exc:
            pm.record_failure(impl.plugin_name, hook.name, exc)
            continue
        yield impl.plugin_name, items


def plugin_configuration_error(plugin: str, hook: str, exc: ConfigurationError) -> ConfigurationError:
    """*exc*, raised by *plugin* in *hook*, as an error that names both."""
    return ConfigurationError(
        _("insticksmodulen {plugin} ({hook}): {reason}").format(plugin=plugin, hook=hook, reason=exc)
    )


def _collect(
    pm: PluginManager,
    hook: pluggy.HookCaller,
    organisation: Organisation,
    what: str,
    key: Callable[[Any], str] = _by_id,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Records by their id (or other *key*), and the plugin that registered
    each.  A plugin may replace a built-in record by registering the same id
    (built-ins run last); two outside plugins may not."""
    found: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for plugin_name, items in _results(pm, hook, organisation):
        for item in items:
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
    template_dirs: tuple[pathlib.Path, ...] = ()
    report_sections: Mapping[str, ReportSection] = attrs.field(factory=dict)
    migrations: Mapping[str, MigrationBranch] = attrs.field(factory=dict)
    owners: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)

    @classmethod
    def from_plugin_manager(cls, pm: PluginManager, organisation: Organisation) -> Registry:
        """Call the registration hooks with the kommun's *organisation* and
        check the results."""
        hook = pm.hook
        org = organisation
        backends: list[StorageBackend] = []
        backend_owners: dict[str, str] = {}
        for plugin_name, items in _results(pm, hook.klagomal_storage_backends, org):
            backends += items
            for backend in items:
                backend_owners.setdefault(backend.name, plugin_name)
        template_dirs: list[pathlib.Path] = []
        template_owners: dict[str, str] = {}
        for plugin_name, items in _results(pm, hook.klagomal_template_dirs, org):
            folders = [pathlib.Path(folder) for folder in items]
            missing = [folder for folder in folders if not folder.is_dir()]
            if missing:
                # A folder not installed with the plugin (package data left
                # out of the wheel): the plugin's letters are left out, as
                # any plugin failure is, not the kommun's every command.
                pm.record_failure(
                    plugin_name,
                    "klagomal_template_dirs",
                    ConfigurationError(
                        _("mallmappen {path} finns inte; insticksmodulens brevmallar används inte").format(
                            path=missing[0]
                        )
                    ),
                )
                continue
            for folder in folders:
                template_dirs.append(folder)
                template_owners[str(folder)] = plugin_name
        channels: dict[str, Channel]
        dimensions: dict[str, QualityDimension]
        channels, channel_owners = _collect(pm, hook.klagomal_channels, org, _("kanalen"))
        dimensions, dimension_owners = _collect(
            pm, hook.klagomal_quality_dimensions, org, _("kvalitetsdimensionen")
        )
        calendars, calendar_owners = _collect(pm, hook.klagomal_calendars, org, _("kalendern"), _by_name)
        notifiers, notifier_owners = _collect(
            pm, hook.klagomal_notifiers, org, _("aviseringssättet"), _by_name
        )
        sections, section_owners = _collect(pm, hook.klagomal_report_sections, org, _("rapportavsnittet"))
        migrations, migration_owners = _collect(
            pm, hook.klagomal_migrations, org, _("migreringsgrenen"), _by_name
        )
        for name, branch in migrations.items():
            if not branch.folder.is_dir():
                raise ConfigurationError(
                    _("migreringsmappen {path} från {plugin} (klagomal_migrations) finns inte").format(
                        path=branch.folder, plugin=migration_owners[name]
                    )
                )
        return cls(
            channels=channels,
            dimensions=dimensions,
            storage_backends=tuple(backends),
            calendars=calendars,
            notifiers=notifiers,
            template_dirs=tuple(template_dirs),
            report_sections=sections,
            migrations=migrations,
            owners={
                "channels": channel_owners,
                "dimensions": dimension_owners,
                "calendars": calendar_owners,
                "notifiers": notifier_owners,
                "storage_backends": backend_owners,
                "template_dirs": template_owners,
                "report_sections": section_owners,
                "migrations": migration_owners,
            },
        )

    def registered_by(self, plugin_name: str, what: str) -> list[str]:
        """The ids of *what* (``"channels"``, ``"dimensions"``, ``"calendars"``,
        ``"notifiers"``, ``"storage_backends"``, ``"template_dirs"``,
        ``"report_sections"`` or ``"migrations"``) in effect from
        *plugin_name*, in the order the plugin registered them."""
        return [i for i, owner in self.owners.get(what, {}).items() if owner == plugin_name]

    @property
    def plugin_migrations(self) -> tuple[tuple[str, MigrationBranch], ...]:
        """Every plugin's migration branch with the plugin that registered
        it, by branch name: what the storage upgrades and checks."""
        owners = self.owners.get("migrations", {})
        return tuple((owners.get(name, "?"), branch) for name, branch in self.migrations.items())

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
