"""Every lifecycle step of the facade as one POST:
``/api/v1/cases/{reference}/steps/{step}``.

The routes are generated from :data:`STEPS`, a table of the step's name in
the API (the command line's, where it has one) and the facade method; each
route's body is an attrs class made from the method's own signature, so
that its parameters, types and defaults are the library's and a parameter
added there is in the API too.  A test reads every facade method that takes
``expected_version`` (that is what makes a step) and checks it is in the
table, in :data:`OWN_ROUTES` (``attach``, a file: :mod:`klagomal.web.attachments`)
or in :data:`NOT_HERE`, with the reason.

A step needs ``If-Match`` with the case's version (its ``ETag``): missing,
428; another version than the case's, 412 (the library's
:class:`~klagomal.core.errors.ConflictError`).
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from typing import Any

import attrs
from litestar import Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg, FromPath, HeaderParameter

from klagomal.app import Klagomal
from klagomal.core.i18n import _
from klagomal.core.model import Kind
from klagomal.web.auth import Caller
from klagomal.web.cases import case_response
from klagomal.web.idempotency import idempotent
from klagomal.web.problems import ProblemError

__all__ = ["NOT_HERE", "OWN_ROUTES", "STEPS", "if_match_version", "routes", "step_body"]

#: The steps, by their name in the API, and the facade method of each.
STEPS: dict[str, str] = {
    "forward": "forward",
    "acknowledge": "acknowledge",
    "assign": "assign",
    "flag": "flag_threat",
    "unflag": "lift_threat_flag",
    "pause": "pause",
    "resume": "resume",
    "inform": "inform",
    "postpone": "postpone",
    "answer": "answer",
    "action": "record_action",
    "close": "close",
    "escalate": "escalate",
    "pass-on": "pass_on_praise",
    "guide": "guide",
    "reclassify": "reclassify",
    "note": "add_note",
    "correct-contact": "correct_contact",
    "describe": "describe",
    "mark-secret": "mark_secret",
    "lift-secrecy": "lift_secrecy",
    "resolve": "resolve_at_once",
    "locate": "locate",
    "publish": "publish",
    "unpublish": "unpublish",
}

#: Steps with a route of their own, not a JSON body: the facade method and
#: the route's path under ``/api/v1``.
OWN_ROUTES: dict[str, str] = {
    "attach": "/cases/{reference:str}/attachments",  # multipart/form-data: klagomal.web.attachments
}

#: Facade methods that take ``expected_version`` but are no step of this
#: table nor of :data:`OWN_ROUTES`, and why.
NOT_HERE: dict[str, str] = {}

#: The parameters that are not the body: the path, the acting user, If-Match.
_NOT_BODY = {"self", "reference", "actor", "expected_version", "return", "changes"}

#: ``correct_contact`` takes the contact's fields as keywords (``**changes``).
_CONTACT_CHANGES: dict[str, Any] = {
    "name": str | None,
    "email": str | None,
    "phone": str | None,
    "address": str | None,
    "preferred": str | None,
    "personnummer": str | None,
    "protected": bool | None,
}


def _json_type(hint: Any) -> Any:
    """*hint* as a JSON body holds it: a sequence as a list, a kind as its text."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not Kind]
        converted = [_json_type(a) for a in args]
        result = converted[0]
        for a in converted[1:]:
            result = result | a
        return result
    if origin is collections.abc.Sequence:
        return list[typing.get_args(hint)[0]]  # type: ignore[misc]
    return hint


def step_body(method: str) -> type:
    """The attrs class of the body of the step that calls *method*."""
    function = getattr(Klagomal, method)
    hints = typing.get_type_hints(function)
    required: dict[str, Any] = {}
    optional: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name in _NOT_BODY or parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        hint = _json_type(hints[name])
        if parameter.default is inspect.Parameter.empty:
            required[name] = attrs.field(type=hint)
        else:
            optional[name] = attrs.field(type=hint, default=parameter.default)
    if method == "correct_contact":
        optional.update(
            {name: attrs.field(type=hint, default=None) for name, hint in _CONTACT_CHANGES.items()}
        )
    name = "".join(part.capitalize() for part in method.split("_")) + "Body"
    return attrs.make_class(name, {**required, **optional}, frozen=True)


def if_match_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names (``"3"``; ``*``: any), or 428/412."""
    if if_match is None or not if_match.strip():
        raise ProblemError(
            428, _('ett steg kräver huvudet If-Match med ärendets version, dess ETag (till exempel "3")')
        )
    value = if_match.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip().strip('"')
    if not value.isdigit():
        raise ProblemError(412, _("If-Match '{value}' är ingen version av ärendet").format(value=if_match))
    return int(value)


def _route(step: str, method: str) -> HTTPRouteHandler:
    body = step_body(method)
    function = getattr(Klagomal, method)

    def handler(
        request: Request[Any, Any, Any], k: Klagomal, reference: str, data: Any, if_match: str | None
    ) -> Response[Any]:
        version = if_match_version(if_match)
        values = attrs.asdict(data, recurse=False)
        if method == "correct_contact":
            values = {n: v for n, v in values.items() if n == "reason" or v is not None}

        def work() -> Response[Any]:
            case = getattr(k, method)(reference, **values, expected_version=version)
            return case_response(k, case)

        return idempotent(request, k, data, work)

    handler.__name__ = f"step_{method}"
    handler.__doc__ = inspect.getdoc(function)
    handler.__annotations__ = {
        "request": Request[Any, Any, Any],
        "k": Caller,
        "reference": FromPath[str],
        "data": typing.Annotated[body, BodyKwarg(media_type=RequestEncodingType.JSON)],
        "if_match": typing.Annotated[str | None, HeaderParameter(name="If-Match", required=False)],
        "return": Response[Any],
    }
    return post(
        f"/cases/{{reference:str}}/steps/{step}",
        sync_to_thread=True,
        status_code=200,
        operation_id=f"step-{step}",
        summary=_("Steg: {step}").format(step=step),
        tags=["steg"],
    )(handler)


routes = [_route(step, method) for step, method in STEPS.items()]
