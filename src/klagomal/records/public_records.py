"""Public records (offentlighetsprincipen): the register list and the public
extract of a case (R27).

A complaint to a kommun is normally an allmän handling.  Offentlighets- och
sekretesslagen (OSL) 5 kap. 1 § asks for a register entry for each: the
date it came in, its reference, from whom, and in short what it is about.
:func:`register_entries` gives those entries; the sender and the description
are left out where the case is secret, and the sender where the person is
anonymous or has skyddade personuppgifter.

When someone asks to see a case, the registrar hands out a **public
extract** (:func:`public_extract`): the case's steps with their texts, where

* the parts marked secret are removed entirely, each replaced by a note that
  information was withheld and on which ground;
* names, personnummer, phone numbers, e-mail addresses and street addresses
  are masked in every remaining text (:func:`klagomal.records.masking.mask_text`);
* who the person is never appears, nor a correction of their contact
  details;
* the handlers' internal notes (anteckningar) are left out, and the
  extract says how many there are.  A note is a working note for the
  handling: in the terms of OSL and TF 2 kap. it is usually not an allmän
  handling until the case is closed and it is kept (arkiverad) with it,
  and whether it is one then is for the registrar to weigh at each
  request; the extract does not decide it for them.

The extract is a proposal: the secrecy assessment under OSL is made by the
one who hands it out, for each request.  The marking tells them where to
look; the masking catches what a tired eye misses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import attrs

from klagomal.core.events import (
    TEXT_FIELDS,
    ContactCorrected,
    Event,
    NoteAdded,
    PraisePassedOn,
    SecrecyLifted,
    SecrecyMarked,
    ThreatFlagged,
    ThreatFlagLifted,
    event_label,
)
from klagomal.core.formats import swedish_date
from klagomal.core.i18n import _, ngettext
from klagomal.core.model import Case
from klagomal.core.organisation import Organisation
from klagomal.records.masking import mask_text
from klagomal.records.redaction import Markings, known_names, withheld

__all__ = [
    "ExtractPart",
    "PublicExtract",
    "RegisterEntry",
    "public_extract",
    "register_entries",
    "render_extract",
    "render_register",
]


@attrs.frozen
class RegisterEntry:
    """One line of the public register (OSL 5 kap. 1 §)."""

    received: dt.date
    reference: str
    kind: str
    unit: str
    sender: str
    summary: str
    secrecy: str | None = None


def register_entries(cases: Iterable[Case], organisation: Organisation) -> list[RegisterEntry]:
    """The register entries of *cases*, in order of receipt and reference."""
    entries = []
    for case in sorted(cases, key=lambda c: (c.received, c.reference)):
        if case.secrecy is not None:
            sender = summary = withheld(case.secrecy)
        else:
            summary = case.summary or _("(beskrivning saknas)")
            if case.contact is None:
                sender = _("Anonym")
            elif case.protected:
                sender = _("Uppgift utelämnad")
            else:
                sender = case.contact.name or _("Enskild person")
        unit = organisation.units[case.unit].name if case.unit in organisation.units else case.unit
        entries.append(
            RegisterEntry(
                received=case.received,
                reference=case.reference,
                kind=case.kind.label,
                unit=unit,
                sender=sender,
                summary=summary,
                secrecy=case.secrecy,
            )
        )
    return entries


def render_register(entries: Sequence[RegisterEntry], title: str) -> str:
    """The register list as text, one entry a line."""
    lines = [title, ""]
    if not entries:
        lines.append(_("Inga ärenden kom in under perioden."))
    for entry in entries:
        lines.append(
            f"{entry.received.isoformat()}  {entry.reference}  {entry.kind}  {entry.unit}\n"
            f"    {_('Från')}: {entry.sender}\n"
            f"    {_('Avser')}: {entry.summary}"
        )
    return "\n".join(lines) + "\n"


@attrs.frozen
class ExtractPart:
    """One step of the case in the extract: when, what, and its text
    (masked), or the note that it was withheld."""

    seq: int
    day: dt.date
    label: str
    text: str
    withheld: str | None = None


@attrs.frozen
class PublicExtract:
    """A case as it may be handed out."""

    reference: str
    kind: str
    unit: str
    received: dt.date
    state: str
    summary: str
    sender: str
    parts: tuple[ExtractPart, ...]
    masked: Mapping[str, int]
    grounds: tuple[str, ...]
    made: dt.date
    #: How many internal notes the case holds, left out of the extract.
    notes: int = 0


def _texts(event: Event) -> list[str]:
    """The free texts of a step, as written (:data:`klagomal.records.disposal.TEXT_FIELDS`).
    Why a case was marked secret is itself left out: the reason may say
    what the secret is about.  So is why staff flagged abusive or
    threatening treatment (R28): a note for colleagues about the person,
    assessed on its own at a request.  The register description is shown
    once, at the top (``summary``)."""
    if isinstance(
        event.data,
        SecrecyMarked | SecrecyLifted | ThreatFlagged | ThreatFlagLifted | ContactCorrected | NoteAdded,
    ):
        # A correction says who the person is and how to reach them; an
        # internal note is a working note (see :func:`public_extract`).
        return []
    values = (getattr(event.data, key) for key in TEXT_FIELDS[type(event.data)])
    return [value for value in values if value]


def public_extract(
    case: Case, history: Sequence[Event], organisation: Organisation, today: dt.date
) -> PublicExtract:
    """The public extract of *case* (see the module's description)."""
    markings = Markings.of(history)
    # The names known from the case: the person's, and whoever wrote to it.
    names = known_names(history)
    names += [name for e in history if isinstance(e.data, PraisePassedOn) for name in e.data.recipients]
    counts: dict[str, int] = {}
    parts = []
    grounds = []
    for event in history:
        texts = _texts(event)
        if not texts:
            continue
        ground = markings.ground(event.seq)
        if ground is not None:
            grounds.append(ground)
            parts.append(
                ExtractPart(event.seq, event.day, event_label(event.type), "", withheld=withheld(ground))
            )
            continue
        masked_texts = []
        for text in texts:
            masked = mask_text(text, names=[n for n in names if n], today=today)
            masked_texts.append(masked.text)
            for category, n in masked.counts.items():
                counts[category] = counts.get(category, 0) + n
        parts.append(ExtractPart(event.seq, event.day, event_label(event.type), "\n\n".join(masked_texts)))
    if case.secrecy is not None:
        sender = summary = withheld(case.secrecy)
    else:
        sender = _("Anonym") if case.contact is None else _("[uppgift maskerad]")
        summary = case.summary or _("(beskrivning saknas)")
    unit = organisation.units[case.unit].name if case.unit in organisation.units else case.unit
    return PublicExtract(
        reference=case.reference,
        kind=case.kind.label,
        unit=unit,
        received=case.received,
        state=case.state.label,
        summary=summary,
        sender=sender,
        parts=tuple(parts),
        masked=counts,
        grounds=tuple(dict.fromkeys(grounds)),
        made=today,
        notes=sum(1 for e in history if isinstance(e.data, NoteAdded)),
    )


_CATEGORY_LABELS = {
    "namn": _("namn"),
    "personnummer": _("personnummer"),
    "telefon": _("telefonnummer"),
    "epost": _("e-postadresser"),
    "adress": _("adresser"),
}


def render_extract(extract: PublicExtract, organisation: Organisation) -> str:
    """The extract as text, ready to hand out."""
    lines = [
        _("{kommun}: utdrag ur ärende {reference}").format(
            kommun=organisation.name, reference=extract.reference
        ),
        _("Utlämnat {day}").format(day=swedish_date(extract.made)),
        "",
        f"{_('Typ')}: {extract.kind}",
        f"{_('Enhet')}: {extract.unit}",
        f"{_('Inkom')}: {swedish_date(extract.received)}",
        f"{_('Status')}: {extract.state}",
        f"{_('Från')}: {extract.sender}",
        f"{_('Avser')}: {extract.summary}",
        "",
    ]
    for part in extract.parts:
        lines.append(f"{swedish_date(part.day)}: {part.label}")
        lines.append(f"    {part.withheld}" if part.withheld else _indent(part.text))
        lines.append("")
    if extract.grounds:
        lines.append(
            _("Delar av handlingen har utelämnats med stöd av {grounds}.").format(
                grounds=", ".join(extract.grounds)
            )
        )
    if extract.notes:
        lines.append(
            ngettext(
                "Ärendet har {n} intern anteckning som inte ingår i utdraget (arbetsmaterial; "
                "pröva vid begäran om den är allmän handling).",
                "Ärendet har {n} interna anteckningar som inte ingår i utdraget (arbetsmaterial; "
                "pröva vid begäran om de är allmänna handlingar).",
                extract.notes,
            ).format(n=extract.notes)
        )
    masked = [f"{_CATEGORY_LABELS.get(c, c)} ({n})" for c, n in sorted(extract.masked.items()) if n]
    if masked:
        lines.append(_("Personuppgifter har maskerats: {what}.").format(what=", ".join(masked)))
    lines.append(
        _(
            "Utdraget är ett förslag: den som lämnar ut handlingen prövar sekretessen "
            "enligt offentlighets- och sekretesslagen vid varje begäran."
        )
    )
    return "\n".join(lines) + "\n"


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines()) or "    -"
