"""What the kommun tells a person about the processing of their data
(GDPR article 15.1 a–h), from the organisation file's ``[dataskydd]`` table.

The person's own page (``klagomal person export --format html``,
:mod:`klagomal.records.gdpr`) shows one part per entry of :data:`SECTIONS`:
the controller, the purposes, the legal basis, the categories of data, the
recipients, how long the data is kept, the person's rights, the right to
complain to IMY, where the data came from and whether decisions are
automated.  Every key of ``[dataskydd]`` is optional: a key the file leaves
out gets the default of :func:`default_texts`, written for a Swedish kommun
(the legal basis is article 6.1 e, a task in the public interest under the
service duty of förvaltningslagen, never consent)::

    [dataskydd]
    personuppgiftsansvarig = "Socialnämnden i Exempelkommun, dataskydd@exempelkommun.se"
    andamal = ["att besvara dina synpunkter", "att förbättra verksamheten"]
    rattslig_grund = "Artikel 6.1 e i dataskyddsförordningen: ..."

A value is one text or a list of texts: paragraphs, or the items of a
list for the parts of :data:`LIST_SECTIONS` (purposes, categories,
recipients).
How long the data is kept is told from the kommun's disposal rules
(``[[gallring]]``); the ``lagring`` text stands before them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from klagomal.core.i18n import _
from klagomal.core.settings import KommunProfile, TableReader

__all__ = [
    "LIST_SECTIONS",
    "PRIVACY_TABLE",
    "SECTIONS",
    "PrivacyNotice",
    "default_texts",
    "parse_privacy_notice",
    "section_heading",
]

#: The organisation file's table of these texts.
PRIVACY_TABLE = "dataskydd"

#: The parts of the art. 15 information, in the page's order: each is a key
#: of ``[dataskydd]``, and the id of its part on the page.
SECTIONS = (
    "personuppgiftsansvarig",
    "andamal",
    "rattslig_grund",
    "kategorier",
    "mottagare",
    "lagring",
    "rattigheter",
    "klagomal",
    "kalla",
    "automatiserade_beslut",
)

#: The parts shown as a list on the page; the others as paragraphs.
LIST_SECTIONS = frozenset({"andamal", "kategorier", "mottagare"})

#: An article 6 reference: "artikel 6.1 e", "art. 6.1 e", "6.1 e".
_ARTICLE_6 = re.compile(r"\b6\s*\.\s*1\b|\bartikel\s+6\b|\bart\.\s*6\b", re.IGNORECASE)
#: Consent as the legal basis: "6.1 a".
_CONSENT = re.compile(r"\b6\s*\.\s*1\s*\.?\s*a\b|\b6\s*\.\s*1\s*\(\s*a\s*\)", re.IGNORECASE)
_IMY = re.compile(r"\bIMY\b|integritetsskyddsmyndigheten", re.IGNORECASE)


def section_heading(key: str) -> str:
    """The Swedish heading of the part *key* of :data:`SECTIONS`."""
    return {
        "personuppgiftsansvarig": _("Vem som ansvarar för dina uppgifter"),
        "andamal": _("Varför vi behandlar dina uppgifter"),
        "rattslig_grund": _("Rättslig grund"),
        "kategorier": _("Vilka slags uppgifter"),
        "mottagare": _("Vilka som får ta del av uppgifterna"),
        "lagring": _("Hur länge uppgifterna sparas"),
        "rattigheter": _("Dina rättigheter"),
        "klagomal": _("Klagomål till Integritetsskyddsmyndigheten"),
        "kalla": _("Varifrån uppgifterna kommer"),
        "automatiserade_beslut": _("Automatiserade beslut"),
    }[key]


@attrs.frozen
class PrivacyNotice:
    """The texts the organisation file gives (``[dataskydd]``), by key of
    :data:`SECTIONS`; a key not given takes its default (:meth:`texts`)."""

    given: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, hash=False)

    def texts(self, key: str, kommun: str, profile: KommunProfile) -> tuple[str, ...]:
        """The texts of part *key*: the file's, else the default."""
        if key in self.given:
            return self.given[key]
        return default_texts(kommun, profile)[key]


def _contact(profile: KommunProfile) -> str | None:
    return profile.email or profile.phone or profile.website


def default_texts(kommun: str, profile: KommunProfile) -> dict[str, tuple[str, ...]]:
    """The texts of every part for a Swedish kommun that wrote none of its own."""
    contact = _contact(profile)
    reach = (
        _("Kommunens dataskyddsombud nås via {contact}.").format(contact=contact)
        if contact
        else _("Kommunen berättar hur du når dess dataskyddsombud.")
    )
    ask = (
        _("Hör av dig till {kommun} ({contact}) om du vill använda dina rättigheter.")
        if contact
        else _("Hör av dig till {kommun} om du vill använda dina rättigheter.")
    ).format(kommun=kommun, contact=contact)
    return {
        "personuppgiftsansvarig": (
            _(
                "Personuppgiftsansvarig är den nämnd i {kommun} som ansvarar för verksamheten "
                "ditt ärende gäller."
            ).format(kommun=kommun),
            reach,
        ),
        "andamal": (
            _("att ta emot, utreda och besvara dina synpunkter, klagomål, förslag och beröm"),
            _("att hålla dig underrättad om handläggningen och ge dig besked och svar"),
            _("att följa upp och förbättra verksamheten; statistik och rapporter visar inte vem du är"),
            _(
                "att registrera och bevara allmänna handlingar, som offentlighetsprincipen och "
                "arkivlagen kräver"
            ),
        ),
        "rattslig_grund": (
            _(
                "Uppgifterna behandlas för att utföra en uppgift av allmänt intresse (artikel 6.1 e i "
                "dataskyddsförordningen): kommunens serviceskyldighet enligt 6 § förvaltningslagen "
                "(2017:900) och arbetet med att följa upp och förbättra verksamheten. Behandlingen "
                "vilar inte på ditt samtycke."
            ),
            _(
                "Att registrera och arkivera handlingarna är en rättslig förpliktelse (artikel 6.1 c) "
                "enligt 5 kap. offentlighets- och sekretesslagen (2009:400) och arkivlagen (1990:782)."
            ),
            _(
                "Känsliga uppgifter som du själv lämnar, till exempel om hälsa, behandlas med stöd av "
                "artikel 9.2 g och 3 kap. 3 § dataskyddslagen (2018:218)."
            ),
        ),
        "kategorier": (
            _("kontaktuppgifter som du har lämnat: namn, e-postadress, telefonnummer, adress, personnummer"),
            _("det du har skrivit eller berättat, och filer du har skickat"),
            _("kommunens handläggning: händelser, anteckningar, beslut och svar"),
            _("meddelanden som kommunen har skickat till dig, och vart de skickades"),
        ),
        "mottagare": (
            _("personalen i den verksamhet ditt ärende gäller, och deras chefer"),
            _("förvaltningschefen och nämnden, om ärendet lämnas vidare till dem"),
            _(
                "den som begär ut ärendet som allmän handling, efter sekretessprövning: det som "
                "omfattas av sekretess lämnas inte ut"
            ),
            _("kommunens leverantör av drift, som personuppgiftsbiträde enligt avtal"),
            _("Uppgifterna förs inte över till något land utanför EU och EES."),
        ),
        "lagring": (
            _(
                "Synpunkter är allmänna handlingar. De bevaras enligt arkivlagen (1990:782) tills de "
                "gallras enligt kommunens beslut om gallring."
            ),
        ),
        "rattigheter": (
            _("Du har rätt att få felaktiga uppgifter rättade och ofullständiga kompletterade (artikel 16)."),
            _(
                "Du kan begära att uppgifter raderas (artikel 17). Allmänna handlingar får bara förstöras "
                "enligt arkivlagen och kommunens gallringsbeslut, så kommunen kan ofta inte radera dem "
                "förrän de ska gallras (artikel 17.3 b)."
            ),
            _(
                "Du kan begära att behandlingen begränsas (artikel 18), till exempel medan en rättelse "
                "prövas, och du kan invända mot behandlingen (artikel 21)."
            ),
            ask,
        ),
        "klagomal": (
            _(
                "Om du anser att kommunen behandlar dina personuppgifter felaktigt kan du klaga hos "
                "Integritetsskyddsmyndigheten (IMY), Box 8114, 104 20 Stockholm, imy@imy.se, www.imy.se."
            ),
        ),
        "kalla": (
            _(
                "Uppgifterna kommer från dig. Har någon annan lämnat synpunkten åt dig, eller har "
                "personal vidarebefordrat din e-post, står det bland ärendets händelser."
            ),
        ),
        "automatiserade_beslut": (
            _(
                "Inga beslut i ärendena fattas automatiskt. Systemet räknar ut tidsfrister och påminner "
                "personalen, men det är alltid en människa som handlägger ditt ärende."
            ),
        ),
    }


def _texts(reader: TableReader, value: object, key: str, where: str) -> tuple[str, ...]:
    """*value* as one or more texts, or the reader's error naming *key*."""
    items = value if isinstance(value, list) else [value]
    if not items:
        reader.fail(_("{where}: '{key}' är en tom lista").format(where=where, key=key))
    texts: list[str] = []
    for item in items:
        if not isinstance(item, str):
            reader.fail(
                _(
                    "{where}: '{key}' ska vara en text eller en lista av texter inom citattecken, "
                    "inte {value!r}"
                ).format(where=where, key=key, value=item)
            )
        if not item.strip():
            reader.fail(_("{where}: '{key}' innehåller en tom text").format(where=where, key=key))
        texts.append(" ".join(item.split()))
    return tuple(texts)


def parse_privacy_notice(table: object, reader: TableReader) -> PrivacyNotice:
    """The ``[dataskydd]`` table of the organisation file, checked."""
    where = f"[{PRIVACY_TABLE}]"
    if table is None:
        return PrivacyNotice()
    if not isinstance(table, dict):
        reader.fail(_("{where} ska vara en tabell").format(where=where))
    reader.check_keys(table, SECTIONS, where)
    given = {key: _texts(reader, table[key], key, where) for key in SECTIONS if key in table}
    basis = " ".join(given.get("rattslig_grund", ()))
    if basis and _CONSENT.search(basis):
        reader.fail(
            _(
                "{where}: 'rattslig_grund' anger samtycke (artikel 6.1 a), men en kommun behandlar "
                "synpunkter för att utföra en uppgift av allmänt intresse (artikel 6.1 e): en myndighet "
                "kan inte grunda sin handläggning på samtycke"
            ).format(where=where)
        )
    if basis and not _ARTICLE_6.search(basis):
        reader.fail(
            _(
                "{where}: 'rattslig_grund' ska ange artikeln i dataskyddsförordningen som behandlingen "
                "vilar på, till exempel 'artikel 6.1 e'"
            ).format(where=where)
        )
    if "klagomal" in given and not _IMY.search(" ".join(given["klagomal"])):
        reader.fail(
            _(
                "{where}: 'klagomal' ska säga att personen kan klaga hos Integritetsskyddsmyndigheten (IMY)"
            ).format(where=where)
        )
    return PrivacyNotice(given)
