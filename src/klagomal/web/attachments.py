"""The endpoints of a case's attachments: upload a document or a photo
(``multipart/form-data``), list them and download one, as the caller may
see them (docs/api.md).

An upload is the library's ``attach`` step (:meth:`klagomal.Klagomal.attach`):
the same types and size limits, a photo stored without its metadata (EXIF:
where, when, with what; :mod:`klagomal.core.photos`), a HEIC/HEIF picture
refused with the reason, and like every step it needs ``If-Match`` and takes
an ``Idempotency-Key``.  Downloads are sent as attachments, never shown
inline, with ``nosniff``: a file someone sent in is not a page of this site.
"""

from __future__ import annotations

import dataclasses
import hashlib
import urllib.parse
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import Body, FromPath, HeaderParameter

from klagomal.app import IdempotentRequest, Outcome, SubscriptionOutcome
from klagomal.core.i18n import _
from klagomal.core.model import Case
from klagomal.intake.records import StoredAttachment
from klagomal.web.auth import Caller
from klagomal.web.cases import case_response
from klagomal.web.idempotency import idempotent
from klagomal.web.problems import ProblemError
from klagomal.web.steps import if_match_version

__all__ = ["Upload", "routes"]

#: A part's type that says nothing: the type is then guessed from the file's name.
_UNKNOWN_TYPES = {"", "application/octet-stream"}


@dataclasses.dataclass
class Upload:
    """The form of an upload: the file, with its name and type as the
    client sends them (``curl -F file=@gatan.jpg``)."""

    file: UploadFile


def _url(reference: str, attachment_id: int | None) -> str:
    return f"/api/v1/cases/{reference}/attachments/{attachment_id}"


def attachment_json(reference: str, attachment: StoredAttachment) -> dict[str, Any]:
    """One attachment as a list shows it: no data, the address of its download."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "href": _url(reference, attachment.id),
    }


@post(
    "/cases/{reference:str}/attachments",
    status_code=201,
    sync_to_thread=True,
    summary="Bifoga en handling eller ett foto",
    operation_id="step-attach",
    tags=["steg"],
)
def upload(
    request: Request[Any, Any, Any],
    k: Caller,
    reference: FromPath[str],
    data: Annotated[Upload, Body(media_type=RequestEncodingType.MULTI_PART)],
    if_match: Annotated[str | None, HeaderParameter(name="If-Match", required=False)] = None,
) -> Response[Any]:
    """Attach one file to the case (the ``attach`` step, in any state): a
    document or a photo, as the form's part ``file``.  Its type is the
    part's ``Content-Type``, or guessed from its name; photos are stored
    without their metadata.  The case, with its new ``ETag``; ``Location``
    is the new attachment's download."""
    version = if_match_version(if_match)
    upload = data.file
    if not isinstance(upload, UploadFile):
        raise ProblemError(422, _("fältet 'file' ska vara en fil (multipart/form-data med filnamn)"))
    content = upload.file.read()
    filename = upload.filename or ""
    media_type = (upload.content_type or "").split(";")[0].strip().lower()
    media = None if media_type in _UNKNOWN_TYPES else media_type
    what = {"filename": filename, "media_type": media, "sha256": hashlib.sha256(content).hexdigest()}

    def answer(case: Case, attachment: int | None) -> Response[Any]:
        return case_response(k, case, 201, headers={"Location": _url(reference, attachment)})

    def work() -> Response[Any]:
        case = k.attach(reference, content, filename=filename, media_type=media, expected_version=version)
        newest = max((a.id or 0 for a in k.attachments(reference)), default=None)
        return answer(case, newest)

    def rebuild(pending: IdempotentRequest, outcome: Outcome | SubscriptionOutcome) -> Response[Any]:
        # After a worker died between the write and the answer: the case as
        # the write left it, and the attachment it stored (not the newest,
        # which may be another upload's since).
        assert isinstance(outcome, Outcome)
        return answer(pending.written(outcome), pending.attachment(outcome))

    return idempotent(request, k, what, work, rebuild)


@get("/cases/{reference:str}/attachments", sync_to_thread=True, summary="Ärendets bilagor")
def list_attachments(k: Caller, reference: FromPath[str]) -> dict[str, Any]:
    """The attachments of the case (those of its e-mails and those attached),
    as the caller may see them: without the names of a protected person's
    files to a reader who may not see who the person is."""
    return {"attachments": [attachment_json(reference, a) for a in k.attachments(reference)]}


@dataclasses.dataclass
class _DownloadOperation(Operation):
    """The download's operation in the OpenAPI document: its 200 is the
    file with the type it was stored with, whatever that is."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            ok.content = {"*/*": OpenAPIMediaType(schema=binary)}


@get(
    "/cases/{reference:str}/attachments/{attachment_id:int}",
    sync_to_thread=True,
    summary="Hämta en bilaga",
    media_type="application/octet-stream",
    operation_class=_DownloadOperation,
)
def download(k: Caller, reference: FromPath[str], attachment_id: FromPath[int]) -> Response[bytes]:
    """The attachment's bytes as stored (a photo without its metadata),
    with its type, as a download."""
    found = k.attachments(reference, ids=[attachment_id], with_data=True)
    if not found:
        raise ProblemError(
            404,
            _("ärende {reference} har ingen bilaga {id}; se listan av bilagor").format(
                reference=reference, id=attachment_id
            ),
        )
    (attachment,) = found
    if attachment.data is None:
        raise ProblemError(
            403,
            _(
                "bilaga {id} i ärende {reference} visas inte för dig: den kan röja vem en skyddad person är"
            ).format(reference=reference, id=attachment_id),
        )
    name = attachment.filename or f"bilaga-{attachment_id}"
    disposition = "attachment; filename*=UTF-8''" + urllib.parse.quote(name, safe="")
    return Response(
        attachment.data,
        media_type=attachment.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


routes = [upload, list_attachments, download]
