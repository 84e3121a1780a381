"""The web form "Tala om vad du tycker", framework-neutral.

The kommun's own web platform draws the form and receives the post; this
module knows what the form asks, checks what came in and registers it:

* :data:`FIELDS` is the form as data (ids, Swedish labels, help texts, limits,
  choices), and :func:`form_schema` gives it as JSON for a front end, with the
  kommun's own answers to "Vilken verksamhet gäller det?" (or its units) as
  choices, which :func:`chosen_unit` routes;
* :func:`validate_form` turns the posted fields into a :class:`FormSubmission`,
  or a :class:`FormErrors` with one Swedish message per field;
* :func:`register_submission` registers a submission through the channel
  ``webbformular`` (R4), waiting at most :data:`LOCK_WAIT` seconds for a
  busy database; when it gives up, show the form again with
  :func:`form_values`, :data:`BUSY_TEXT`, status 503 and a ``Retry-After``
  of :data:`RETRY_AFTER` seconds: nothing the person wrote is lost.
  It also gives the case its private "Följ ditt ärende" link
  (:mod:`klagomal.cases.follow`) and, when the person gave an e-mail
  address, sends them a kvittens with the reference and the link;
* :data:`PHOTO_FIELD` is the form's photo upload (a web page's own: it is
  not in :data:`FIELDS`, which are texts); :func:`check_photos` checks the
  pictures before anything is registered and :func:`attach_photos` stores
  them with the new case, without their metadata (EXIF, :mod:`klagomal.core.photos`);
* :func:`receipt` is what the page after a registered form tells the
  person: the thanks (R23), the reference, the day it was received, what
  happens next and by when (R7), how the besked will reach them, whether a
  kvittens comes by e-mail, and the follow link.  Dates are written as the
  letters write them (:mod:`klagomal.core.formats`).

The form asks only for what is needed (R30): what kind of feedback, the
text, and a way to reach the person; the unit is optional.  Anonymous
feedback is not taken through the web form by default (R5): the person is
told that it can be given by telephone, letter or reply card instead.  A
förvaltning may allow it with the hook ``klagomal_allows_anonymous``;
:func:`anonymous_allowed` asks that hook as registration will.

It is longer than a thousand lines because it is the form's one contract
with every front end: the fields, each check with its exact Swedish
message, the registration and the receipt are read together by whoever
builds a front end, and much of it is those texts.  The receipt (about 130
lines, at the end) is the part that could stand alone, if it grows.

The person's text is kept as written: whitespace at the ends is stripped,
line breaks are normalised to ``\\n``, and control characters are refused,
but nothing is escaped here.  Escaping belongs to whatever renders the text
(a Jinja2 template with autoescape, for example).

See ``docs/intake-webform.md`` and the example application in
``examples/webform/``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from klagomal.cases import follow
from klagomal.cases.amendments import Document, check_document, max_document_bytes
from klagomal.core.email_rules import check_person_address
from klagomal.core.errors import InvalidInputError, TransientStorageError
from klagomal.core.formats import file_size, number, swedish_date
from klagomal.core.i18n import _, use_language
from klagomal.core.model import Case, Contact, Kind
from klagomal.core.organisation import Organisation
from klagomal.core.photos import CLEANED_TYPES
from klagomal.core.text_rules import bad_character
from klagomal.notices.notifiers import EMAIL, LETTER
from klagomal.notices.outbox import person_way

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.app import Klagomal

__all__ = [
    "ACKNOWLEDGEMENT",
    "ANONYMOUS_ELSEWHERE",
    "BUSY_TEXT",
    "CHANNEL",
    "CONSENT_TEXT",
    "CONTACT_GROUP",
    "CONTACT_HELP",
    "FIELDS",
    "FORM_INTRO",
    "FORM_TITLE",
    "LOCK_WAIT",
    "MAX_PHOTOS",
    "PHOTOS_AGAIN",
    "PHOTOS_NOT_SAVED",
    "PHOTO_FIELD",
    "RECEIPT_TITLE",
    "RETRY_AFTER",
    "TOO_MANY_TEXT",
    "Choice",
    "FormErrors",
    "FormField",
    "FormSubmission",
    "Receipt",
    "Registration",
    "anonymous_allowed",
    "attach_photos",
    "check_photos",
    "checked",
    "chosen_unit",
    "field",
    "fields_for",
    "form_schema",
    "form_values",
    "receipt",
    "register_submission",
    "translated",
    "unit_choices",
    "validate_form",
]


log = logging.getLogger(__name__)

#: The channel web form feedback is registered through (R4).
CHANNEL = "webbformular"

#: The most seconds a registration from the web form waits for a busy
#: database (a lock another transaction holds): the person is waiting for
#: the page.
LOCK_WAIT = 5.0

#: The seconds to give in ``Retry-After`` when the database was busy.
RETRY_AFTER = 10

#: What the person is told, above the form they filled in, when the
#: database was busy and nothing was registered.
BUSY_TEXT = _(
    "Vi kunde inte ta emot din synpunkt just nu, eftersom systemet är upptaget. Ingenting har "
    "skickats, men det du skrev finns kvar här nedan: försök igen om en stund genom att trycka på "
    "Skicka."
)

#: What the person is told, above the form they filled in, when they (or
#: their network address) sent too many forms in a short while: nothing was
#: registered, and what they wrote is still there.
TOO_MANY_TEXT = _(
    "Vi har fått många synpunkter från din uppkoppling på kort tid, så vi kunde inte ta emot den här "
    "just nu. Ingenting har skickats, men det du skrev finns kvar här nedan: vänta en stund och "
    "tryck sedan på Skicka igen."
)

#: The key of the contact details as a group in :attr:`FormErrors.messages`
#: and in the schema: "at least one way to reach you" is about all of them.
CONTACT_GROUP = "kontakt"
#: The box that says the person has read how their personal data is handled
#: (:func:`fields_for`; never consent, which a kommun does not ask for).
ACKNOWLEDGEMENT = "lasbekraftelse"

FORM_TITLE = _("Tala om vad du tycker")

FORM_INTRO = _(
    "Vi vill gärna veta vad du tycker om kommunens verksamhet, både när något blivit fel och när "
    "något varit bra. Tack för att du hör av dig: dina synpunkter hjälper oss att bli bättre. "
    "Vill du överklaga ett beslut eller felanmäla något, till exempel en trasig gatlykta, finns "
    "särskilda vägar för det; vi hjälper dig gärna att hitta rätt."
)

#: The help text of the contact details.
CONTACT_HELP = _(
    "Fyll i minst ett sätt att nå dig (e-post, telefon eller postadress) så att vi kan svara dig."
)

#: Where anonymous feedback can be given instead (R5: not through the web form by default).
ANONYMOUS_ELSEWHERE = _(
    "Via webbformuläret tar vi normalt inte emot anonyma synpunkter. Vill du vara anonym kan du "
    "ringa, skriva ett brev eller lämna ett svarskort."
)

#: What the person is told about their personal data before they send
#: contact details.  Modest on purpose: the kommun's own policy applies, and
#: the web page should link to it.
CONSENT_TEXT = _(
    "Så hanterar vi dina personuppgifter\n"
    "\n"
    "Kommunen sparar det du skriver och de kontaktuppgifter du lämnar (namn, e-postadress, "
    "telefonnummer, postadress). Vi använder dem för att handlägga din synpunkt, svara dig och "
    "hålla dig informerad, och för att förbättra verksamheten.\n"
    "\n"
    "Det du skickar till kommunen är normalt en allmän handling, som vem som helst kan begära att "
    "få läsa. Sekretess kan gälla för vissa uppgifter, till exempel inom socialtjänsten. Skriv "
    "därför inte mer om dig själv eller andra än vad som behövs.\n"
    "\n"
    "Uppgifterna sparas så länge kommunens regler för bevarande och gallring säger. Du har rätt "
    "att få veta vilka uppgifter om dig som kommunen behandlar och att få felaktiga uppgifter "
    "rättade. Kommunens egen information om behandling av personuppgifter gäller, där finns också "
    "kontaktuppgifter till dataskyddsombudet."
)


def translated(text: str) -> str:
    """*text*, a Swedish text of this module made when it was imported, in
    the active language (:func:`klagomal.core.i18n.use_language`): the
    form's texts are constants, translated where they are shown."""
    return _(text) if text else text  # _("") would be the catalogue's header


@attrs.frozen
class Choice:
    """One choice of a field: the value posted and the Swedish label shown.
    ``group`` is a heading to group choices under (the förvaltning of a unit)."""

    value: str
    label: str
    group: str | None = None


@attrs.frozen
class FormField:
    """One field of the form.

    :param id: the ASCII name the field is posted under.
    :param label: the Swedish label.
    :param help: a Swedish help text shown with the field, or ``""``.
    :param type: how to draw it: ``radio``, ``select``, ``textarea``,
        ``text``, ``email``, ``tel`` or ``checkbox``.
    :param required: whether it must always be filled in.
    :param max_length: the most characters accepted, or ``None``.
    :param choices: the valid values, for ``radio`` and ``select``; the unit
        choices come from the organisation (:func:`unit_choices`).
    :param noun: how a message names the field ("Texten", "E-postadressen").
    :param group: ``"kontakt"`` for the contact details.
    :param required_when: ``"kontakt"`` when the field is required as soon as
        any contact detail is given (the consent).
    :param multiline: whether line breaks are allowed in the value.
    :param autocomplete: the HTML ``autocomplete`` token, or ``None``.
    :param honeypot: the hidden field that only a robot fills in.
    """

    id: str
    label: str
    help: str = ""
    type: str = "text"
    required: bool = False
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    noun: str = ""
    group: str | None = None
    required_when: str | None = None
    multiline: bool = False
    autocomplete: str | None = None
    honeypot: bool = False

    def to_json(self, choices: Sequence[Choice] | None = None) -> dict[str, Any]:
        """The field as a JSON-ready dict, with *choices* instead of its own."""
        return {
            "id": self.id,
            "label": translated(self.label),
            "help": translated(self.help),
            "type": self.type,
            "required": self.required,
            "required_when": self.required_when,
            "max_length": self.max_length,
            "multiline": self.multiline,
            "choices": [
                {
                    "value": c.value,
                    "label": translated(c.label) if choices is None else c.label,
                    "group": c.group,
                }
                for c in (self.choices if choices is None else choices)
            ],
            "group": self.group,
            "autocomplete": self.autocomplete,
            "honeypot": self.honeypot,
        }


#: The ways of contact a person may prefer, as :class:`~klagomal.core.model.Contact`
#: names them, with the field each one needs.
_PREFERRED = {"epost": "epost", "brev": "adress", "telefon": "telefon"}

#: The form "Tala om vad du tycker", in the order it is shown.
FIELDS: tuple[FormField, ...] = (
    FormField(
        "typ",
        _("Vad vill du lämna?"),
        _(
            "Klagomål: något du är missnöjd med eller som inte blev som du väntat dig. Förslag: en "
            "idé om hur vi kan bli bättre. Beröm: något som var bra. Du väljer själv."
        ),
        type="radio",
        required=True,
        choices=tuple(Choice(k.value, k.label) for k in Kind),
        noun=_("Typen"),
    ),
    FormField(
        "text",
        _("Din synpunkt"),
        _("Berätta vad det gäller, gärna var och när det hände."),
        type="textarea",
        required=True,
        max_length=5000,
        noun=_("Texten"),
        multiline=True,
    ),
    FormField(
        "enhet",
        _("Vilken verksamhet gäller det?"),
        _("Välj om du vet. Vet du inte, lämna fältet tomt så ser vi till att synpunkten hamnar rätt."),
        type="select",
        noun=_("Verksamheten"),
    ),
    FormField(
        "namn",
        _("Namn"),
        type="text",
        max_length=200,
        noun=_("Namnet"),
        group=CONTACT_GROUP,
        autocomplete="name",
    ),
    FormField(
        "epost",
        _("E-postadress"),
        type="email",
        max_length=254,
        noun=_("E-postadressen"),
        group=CONTACT_GROUP,
        autocomplete="email",
    ),
    FormField(
        "telefon",
        _("Telefonnummer"),
        type="tel",
        max_length=40,
        noun=_("Telefonnumret"),
        group=CONTACT_GROUP,
        autocomplete="tel",
    ),
    FormField(
        "adress",
        _("Postadress"),
        _("Gatuadress, postnummer och ort, om du vill ha svar med brev."),
        type="textarea",
        max_length=500,
        noun=_("Postadressen"),
        group=CONTACT_GROUP,
        multiline=True,
        autocomplete="street-address",
    ),
    FormField(
        "kontaktsatt",
        _("Hur vill du helst bli kontaktad?"),
        type="radio",
        choices=(Choice("epost", _("E-post")), Choice("brev", _("Brev")), Choice("telefon", _("Telefon"))),
        noun=_("Kontaktsättet"),
        group=CONTACT_GROUP,
    ),
    FormField(
        "anonym",
        _("Jag vill vara anonym"),
        _(
            "Lämna då inga kontaktuppgifter. En anonym synpunkt kan vi inte svara på, och du får "
            "inget besked om hur den handläggs."
        ),
        type="checkbox",
        noun=_("Anonymiteten"),
    ),
    # Not consent, which a kommun does not ask for: that the person has read
    # the information.  Only when the organisation file asks for it
    # ([webbformular] lasbekraftelse, :func:`fields_for`).
    FormField(
        ACKNOWLEDGEMENT,
        _("Jag har läst hur kommunen hanterar mina personuppgifter"),
        _("Krävs när du lämnar kontaktuppgifter."),
        type="checkbox",
        noun=_("Bekräftelsen"),
        required_when=CONTACT_GROUP,
    ),
    FormField(
        "webbplats",
        _("Lämna det här fältet tomt"),
        type="text",
        max_length=None,
        noun=_("Fältet"),
        autocomplete="off",
        honeypot=True,
    ),
)

_BY_ID = {f.id: f for f in FIELDS}


def fields_for(organisation: Organisation) -> tuple[FormField, ...]:
    """The form's fields for *organisation*: every field of :data:`FIELDS`,
    but the box saying the person has read the information on personal
    data only when the organisation file asks for it
    (``[webbformular] lasbekraftelse``)."""
    if organisation.form_acknowledgement:
        return FIELDS
    return tuple(f for f in FIELDS if f.id != ACKNOWLEDGEMENT)


def field(field_id: str) -> FormField:
    """The field with this id; ``KeyError`` if there is none."""
    return _BY_ID[field_id]


def unit_choices(organisation: Organisation) -> tuple[Choice, ...]:
    """What a person may answer to "Vilken verksamhet gäller det?": the
    organisation file's own answers in words a person uses
    (``[[webbformular.val]]``, "Hemtjänst" under "Omsorg och stöd"), in its
    order; without them, every unit of *organisation* in file order,
    labelled with its path below the förvaltning ("Äldreomsorg – Hemtjänst
    Norr") and grouped by förvaltning.  "Vet inte" (no value) comes first
    in every form; it is not one of these."""
    if organisation.form_choices:
        return tuple(Choice(c.id, c.label, c.group) for c in organisation.form_choices)
    choices = []
    for unit in organisation.units.values():
        path = organisation.path(unit.id)
        label = " – ".join(u.name for u in path[1:]) or path[0].name
        choices.append(Choice(unit.id, label, organisation.departments[unit.department].name))
    return tuple(choices)


def chosen_unit(organisation: Organisation, value: str | None) -> str | None:
    """The unit a posted answer to "Vilken verksamhet gäller det?" routes
    to: the unit of the organisation file's answer with that id, or the unit
    with that id (what an integration may post); ``None`` for "Vet inte"
    and for what is neither."""
    if not value:
        return None
    for choice in organisation.form_choices:
        if choice.id == value:
            return choice.unit
    return value if organisation.has_unit(value) else None


def anonymous_allowed(klagomal: Klagomal, unit: str | None = None) -> bool:
    """Whether anonymous feedback through the web form is accepted for
    *unit*, as registration will decide (R5): the first plugin's answer to
    ``klagomal_allows_anonymous`` for the unit's förvaltning, else the
    channel's own policy (no).  Without a unit (or with one the organisation
    does not know), only when every förvaltning accepts it, since the case
    may be routed to any of them."""
    org = klagomal.organisation
    channel = klagomal.channels[CHANNEL]
    departments = [org.unit(unit).department] if unit and org.has_unit(unit) else list(org.departments)
    return all(klagomal.decisions.allows_anonymous(channel, department) for department in departments)


def form_schema(organisation: Organisation, klagomal: Klagomal | None = None) -> dict[str, Any]:
    """The form as a JSON-ready description for a front end: title, intro,
    consent text, the fields with the organisation's units as choices, and
    the anonymity policy (R5).

    With *klagomal*, ``anonymous_allowed`` and ``anonymous_units`` follow its
    plugins (``klagomal_allows_anonymous``): whether anonymous feedback is
    accepted whatever unit it concerns, and the units for which it is.
    Without, the built-in policy applies: never through the web form.
    The texts are in the active language (:func:`translated`).
    """
    units = unit_choices(organisation)
    if klagomal is None:
        everywhere, anonymous_units = False, []
    else:
        everywhere = anonymous_allowed(klagomal)
        anonymous_units = [
            c.value for c in units if anonymous_allowed(klagomal, chosen_unit(organisation, c.value))
        ]
    return {
        "id": "tala-om-vad-du-tycker",
        "title": translated(FORM_TITLE),
        "intro": translated(FORM_INTRO),
        "kommun": organisation.name,
        "channel": CHANNEL,
        "consent_text": translated(CONSENT_TEXT),
        "anonymous_allowed": everywhere,
        "anonymous_units": anonymous_units,
        "groups": {
            CONTACT_GROUP: {
                "label": _("Hur når vi dig?"),
                "help": translated(CONTACT_HELP)
                if everywhere
                else f"{translated(CONTACT_HELP)} {translated(ANONYMOUS_ELSEWHERE)}",
            }
        },
        "fields": [f.to_json(units if f.id == "enhet" else None) for f in fields_for(organisation)],
    }


# -- photos ------------------------------------------------------------------

#: The most pictures one form may carry.  Each is limited as a handler's
#: attachment is (:func:`klagomal.cases.amendments.max_document_bytes`).
MAX_PHOTOS = 5

#: The photo upload of a web page that takes files (``multipart/form-data``).
#: Not in :data:`FIELDS`: those are texts, posted by any front end, and
#: :func:`validate_form` checks them; :func:`check_photos` checks the pictures.
PHOTO_FIELD = FormField(
    "bilder",
    _("Bilder"),
    _(
        "Du kan bifoga upp till {count} bilder, till exempel ett foto av platsen: JPEG, PNG, GIF eller "
        "WebP, högst {size} var. Uppgifter i bilden om var och när den togs tas bort innan den sparas."
    ).format(count=MAX_PHOTOS, size=file_size(max_document_bytes())),
    type="file",
    noun=_("Bilderna"),
)

#: Said at the photo upload when the form comes back (an error, a busy
#: database): a browser cannot fill in a file field again.
PHOTOS_AGAIN = _("Bilderna du valde har inte skickats. Välj dem igen innan du trycker på Skicka.")

#: Said on the receipt when the case was registered but a picture could not
#: be stored (the database was busy between the two).
PHOTOS_NOT_SAVED = _(
    "Din synpunkt är registrerad, men vi kunde inte spara alla bilder. Skicka dem gärna med e-post och "
    "ange ärendenumret."
)


def check_photos(files: Sequence[tuple[str, bytes, str | None]]) -> list[Document]:
    """The pictures posted with the form, as ``(filename, data, media type)``,
    checked as :meth:`klagomal.Klagomal.attach` checks a document (size,
    type, what the bytes are; a HEIC picture refused with how to send it as
    JPEG) and cleaned of their metadata; only pictures, at most
    :data:`MAX_PHOTOS`.  An empty part (a file field left empty) is skipped.
    Check them before registering, so that a refused picture stores nothing.

    :raises InvalidInputError: a Swedish reason naming the file.
    """
    chosen = [(name, data, media) for name, data, media in files if name or data]
    if len(chosen) > MAX_PHOTOS:
        raise InvalidInputError(
            _("Du kan bifoga högst {count} bilder (du valde {chosen}).").format(
                count=MAX_PHOTOS, chosen=len(chosen)
            ),
            step="register",
        )
    documents = []
    for name, data, media in chosen:
        document = check_document(name, data, media)
        if document.media_type not in CLEANED_TYPES:
            raise InvalidInputError(
                _("Filen {name} är ingen bild. Bifoga bilder i JPEG, PNG, GIF eller WebP.").format(
                    name=document.filename
                ),
                step="attach",
            )
        documents.append(document)
    return documents


def attach_photos(
    klagomal: Klagomal,
    reference: str,
    photos: Sequence[Document],
    *,
    actor: str | None = CHANNEL,
    lock_wait: float = LOCK_WAIT,
) -> bool:
    """Store the checked *photos* (:func:`check_photos`) with the case
    *reference* that the form just registered; whether every one was stored.
    A picture the busy database did not take is left out (the person is
    told :data:`PHOTOS_NOT_SAVED` on the receipt); the case stays."""
    k = klagomal.with_lock_wait(lock_wait)
    for photo in photos:
        try:
            k.attach(reference, photo.data, filename=photo.filename, media_type=photo.media_type, actor=actor)
        except TransientStorageError:
            return False
    return True


# -- validation ------------------------------------------------------------


@attrs.frozen
class FormSubmission:
    """A valid form: what :meth:`klagomal.Klagomal.register` needs.

    :param contact: ``None`` when the person chose to be anonymous (only
        when that was allowed).
    :param received: the day the form was received.
    """

    kind: Kind
    text: str
    unit: str | None
    contact: Contact | None
    received: dt.date

    @property
    def anonymous(self) -> bool:
        """No contact details (R5)."""
        return self.contact is None


@attrs.frozen
class FormErrors:
    """Why a form cannot be accepted.

    :param messages: Swedish messages by field id (``"kontakt"`` for the
        contact details as a whole), in the order of the form.
    :param values: what the person wrote, cleaned as far as it could be, by
        field id, to fill the form in again (not escaped).
    :param spam: the hidden honeypot field was filled in: a robot.  Then
        there are no messages; show the ordinary thank-you page and store
        nothing.
    """

    messages: dict[str, str] = attrs.field(factory=dict)
    values: dict[str, str] = attrs.field(factory=dict)
    spam: bool = False


_TRUE = frozenset({"on", "ja", "1", "true", "yes", "y"})


def _email_usable(email: str) -> bool:
    """Whether registration will take *email*: the form asks the same check
    (:func:`klagomal.core.email_rules.check_person_address`), so that an address the
    form lets through is never refused after it, out of the form's reach."""
    try:
        check_person_address(email, step="webform")
    except InvalidInputError:
        return False
    return True


def checked(value: str | None) -> bool:
    """Whether a posted checkbox value means yes (``on``, ``ja``, ``1``, ...)."""
    return value is not None and value.strip().lower() in _TRUE


def _single(value: str | Sequence[str] | None) -> tuple[str, bool]:
    """The one value posted for a field, and whether more than one came."""
    if value is None:
        return "", False
    if isinstance(value, str):
        return value, False
    values = list(value)
    if not values:
        return "", False
    return values[-1], len(values) > 1


def _clean(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def validate_form(
    data: Mapping[str, str | list[str]],
    organisation: Organisation,
    *,
    allow_anonymous: bool = False,
    today: dt.date,
) -> FormSubmission | FormErrors:
    """Check a posted form; return what to register or why not.

    :param data: the posted fields by id, each a text or a list of texts (as
        many frameworks give them); other keys, such as a CSRF token, are
        ignored.
    :param organisation: the kommun's organisation, for the units.
    :param allow_anonymous: whether the person may choose to be anonymous
        (R5; by default not through the web form).  Ask
        :func:`anonymous_allowed` for the kommun's policy.
    :param today: the day the form is received.

    The messages are in the active language
    (:func:`klagomal.core.i18n.use_language`), the language the form was
    filled in.
    """
    values: dict[str, str] = {}
    messages: dict[str, str] = {}
    for f in FIELDS:
        raw, several = _single(data.get(f.id))
        if f.honeypot:
            if raw.strip():
                return FormErrors(spam=True)
            continue
        value = _clean(raw)
        values[f.id] = value
        if several and f.type != "checkbox":
            messages[f.id] = _("{noun} kom flera gånger. Ladda om sidan och skicka formuläret igen.").format(
                noun=translated(f.noun)
            )
        elif bad_character(value, f.multiline):
            messages[f.id] = (
                _("{noun} innehåller tecken som inte kan tas emot (radbrytning eller styrtecken).")
                if not f.multiline
                else _("{noun} innehåller styrtecken som inte kan tas emot. Ta bort dem och försök igen.")
            ).format(noun=translated(f.noun))
        elif f.max_length is not None and len(value) > f.max_length:
            messages[f.id] = _("{noun} får vara högst {limit} tecken (du skrev {count}).").format(
                noun=translated(f.noun), limit=number(f.max_length), count=number(len(value))
            )

    def check(field_id: str, message: str) -> None:
        messages.setdefault(field_id, message)

    kind: Kind | None = None
    if not values["typ"]:
        check("typ", _("Välj om du vill lämna ett klagomål, ett förslag eller beröm."))
    elif "typ" not in messages:
        try:
            kind = Kind(values["typ"])
        except ValueError:
            check("typ", _("Välj Klagomål, Förslag eller Beröm."))
    if not values["text"]:
        check("text", _("Skriv din synpunkt."))
    unit = chosen_unit(organisation, values["enhet"])
    if values["enhet"] and unit is None:
        check("enhet", _("Den valda verksamheten finns inte. Välj en i listan eller lämna fältet tomt."))

    email, phone, address, name = values["epost"], values["telefon"], values["adress"], values["namn"]
    if email and not _email_usable(email):
        check("epost", _("E-postadressen ser inte ut att stämma. Skriv den som namn@exempel.se."))
    if phone and sum(c.isdigit() for c in phone) < 5:
        check("telefon", _("Telefonnumret behöver innehålla minst fem siffror, med riktnummer."))
    preferred = values["kontaktsatt"] or None
    if preferred is not None and preferred not in _PREFERRED:
        check("kontaktsatt", _("Välj e-post, brev eller telefon, eller lämna frågan obesvarad."))
        preferred = None
    anonymous = checked(values["anonym"])
    reachable = bool(email or phone or address)
    given = reachable or bool(name)
    if anonymous and not allow_anonymous:
        check(
            "anonym",
            _(
                "Det går inte att lämna en anonym synpunkt via webbformuläret. Fyll i hur vi kan nå "
                "dig, eller ring, skriv ett brev eller lämna ett svarskort om du vill vara anonym."
            ),
        )
    elif anonymous and given:
        check(
            "anonym",
            _(
                "Du har valt att vara anonym men fyllt i kontaktuppgifter. Ta bort dem, eller ta bort "
                "krysset för anonym så kan vi svara dig."
            ),
        )
    elif not anonymous:
        if preferred is not None and not values[_PREFERRED[preferred]]:
            detail = _PREFERRED[preferred]
            check(
                detail,
                {
                    "epost": _("Fyll i din e-postadress, eftersom du vill bli kontaktad med e-post."),
                    "adress": _("Fyll i din postadress, eftersom du vill ha svar med brev."),
                    "telefon": _("Fyll i ditt telefonnummer, eftersom du vill bli kontaktad per telefon."),
                }[detail],
            )
        elif not reachable:
            check(
                CONTACT_GROUP,
                _(
                    "Fyll i minst ett sätt att nå dig: e-post, telefon eller postadress. Anonyma "
                    "synpunkter kan vi inte svara på; vill du vara anonym kan du välja det här i "
                    "formuläret."
                )
                if allow_anonymous
                else _(
                    "Fyll i minst ett sätt att nå dig: e-post, telefon eller postadress. Via "
                    "webbformuläret tar vi inte emot anonyma synpunkter; vill du vara anonym kan du "
                    "ringa, skriva ett brev eller lämna ett svarskort."
                ),
            )
    if organisation.form_acknowledgement and given and not anonymous and not checked(values[ACKNOWLEDGEMENT]):
        check(
            ACKNOWLEDGEMENT,
            _("Kryssa i att du har läst hur kommunen hanterar dina personuppgifter."),
        )

    if messages or kind is None:
        order = [f.id for f in FIELDS]
        ranked = sorted(messages.items(), key=lambda item: _rank(item[0], order))
        return FormErrors(messages=dict(ranked), values=values)
    contact = (
        None
        if anonymous
        else Contact(
            name=name or None,
            email=email or None,
            phone=phone or None,
            address=address or None,
            preferred=preferred,
        )
    )
    return FormSubmission(kind=kind, text=values["text"], unit=unit, contact=contact, received=today)


def form_values(data: Mapping[str, str | list[str]]) -> dict[str, str]:
    """What the person wrote, by field id, cleaned as :func:`validate_form`
    cleans it (not escaped), to fill the form in again when a valid form
    could not be registered (the database was busy, a plugin refused it).
    The honeypot and fields the form does not have are left out."""
    return {f.id: _clean(_single(data.get(f.id))[0]) for f in FIELDS if not f.honeypot}


def _rank(key: str, order: list[str]) -> int:
    """Where a message stands: the contact group just before its first field."""
    if key == CONTACT_GROUP:
        return order.index("namn")
    return order.index(key)


def register_submission(
    klagomal: Klagomal,
    submission: FormSubmission,
    *,
    actor: str | None = CHANNEL,
    fallback_unit: str | None = None,
    lock_wait: float = LOCK_WAIT,
    public_url: str | None = None,
    language: str | None = None,
) -> Registration:
    """Register *submission* through the channel ``webbformular``, give the
    new case its "Följ ditt ärende" link (:mod:`klagomal.cases.follow`), and
    send the person a kvittens when they gave an e-mail address.

    :param actor: who the registration event names.
    :param fallback_unit: the unit that receives feedback where the person
        named none, for example the kommun's contact centre, which forwards
        it where it belongs (R12); by default the organisation file's
        ``[intag] enhet``.  Without either, a plugin's ``klagomal_route``
        must place such feedback, or registration is refused.  Note that a
        routing plugin then sees this unit, not ``None``.
    :param lock_wait: the most seconds to wait for a busy database.
    :param public_url: the public address of the person's pages, which the
        link in the kvittens starts with (``<public_url>/folj/<token>``); by
        default :data:`~klagomal.cases.follow.PUBLIC_URL_VARIABLE`
        (``KLAGOMAL_PUBLIC_URL``).  Without it, the kvittens has no link.

    The link is issued by klagomal itself (the system user), after the
    registration; the kvittens is queued in the outbox with it.  Since the
    database keeps only the link's hash, the kvittens is delivered at once,
    with the link, when there is a *public_url* (whatever ``[utskick]
    leverans`` says); if that delivery fails, the outbox delivers it later
    without the link.  A failure to issue the link or deliver the kvittens
    is logged and leaves :attr:`Registration.follow_token` ``None`` or the
    kvittens in the outbox: the case is registered either way.
    :param language: the language the person filled the form in and gets
        their letters in (lag 2009:724): one of
        :func:`klagomal.core.i18n.available_languages`, Swedish by default.
        An unknown one is refused and nothing is stored.

    Raises :class:`~klagomal.core.errors.InvalidInputError` when registration
    refuses it, for example when a plugin's intake check rejects it
    (:class:`~klagomal.core.errors.PluginRejectedError`) or a förvaltning does not
    accept it anonymously, and
    :class:`~klagomal.core.errors.TransientStorageError` when the database was
    busy for *lock_wait* seconds.  Either way nothing is stored.
    """
    waiting = klagomal.with_lock_wait(lock_wait)
    case = waiting.register(
        kind=submission.kind,
        channel=CHANNEL,
        text=submission.text,
        unit=submission.unit or fallback_unit or klagomal.organisation.intake.unit,
        received=submission.received,
        contact=submission.contact,
        actor=actor,
        language=language,
    )
    system = waiting._internal()
    base = public_url if public_url is not None else follow.public_url()
    try:
        token, kvittens = system._receipt_link(case.reference)
    except Exception:
        # The case is registered: the person must get its receipt page all the same.
        log.exception(_("klagomal: ärende %s fick ingen följ-länk"), case.reference)
        return Registration(case, None, None, None)
    url = follow.follow_url(base, token) if base else None
    if kvittens is not None and (url or klagomal.organisation.delivery.mode == "direkt"):
        try:
            system._deliver_receipt(kvittens, url)
        except Exception:
            # It waits in the outbox, and goes later without the link.
            log.exception(_("klagomal: kvittensen för %s väntar i utkorgen"), case.reference)
    return Registration(case, token, url, kvittens)


@attrs.frozen
class Registration:
    """What :func:`register_submission` did.

    :param case: the new case.
    :param follow_token: the token of the case's "Följ ditt ärende" link
        (:meth:`klagomal.Klagomal.follow`), to show on the receipt page;
        ``None`` if it could not be issued.  The database keeps only its
        hash: this is the only time it is known.
    :param follow_url: the whole link, when the public address is known.
    :param kvittens: the id of the kvittens in the outbox, or ``None``
        (no e-mail address).
    """

    case: Case
    follow_token: str | None
    follow_url: str | None = None
    kvittens: int | None = None


# -- the receipt -------------------------------------------------------------

#: The heading of the page after a form was sent, for a person and a robot alike.
RECEIPT_TITLE = _("Tack för att du hör av dig!")


@attrs.frozen
class Receipt:
    """What the page after a registered form tells the person, in the case's language.

    :param reference: the case reference, to give when they contact the kommun.
    :param received: the day the form was received, as the letters write a
        date ("2 mars 2026").
    :param besked_by: the last day of the besked (R7) in the same style, or
        ``None`` for an anonymous case, which gets no besked (R5).
    :param thanks: the thanks and the day received (R23).
    :param reference_text: the sentence after the reference.
    :param next_steps: what happens next and by when, and how the besked
        will reach them; for an anonymous case, that nobody can answer it.
    :param email_receipt: whether an e-mail (a kvittens) confirms that the
        form arrived: when the person gave an e-mail address and
        :func:`register_submission` queued it.
    :param receipt_text: the sentence about the receipt.
    :param follow_token: the token of the private "Följ ditt ärende" link,
        for the page to link to (``/folj/<token>``), or ``None``.
    :param follow_url: the whole link, when the public address is known.
    :param follow_text: the sentence about the link, or ``""`` without one.
    """

    reference: str
    received: str
    besked_by: str | None
    thanks: str
    reference_text: str
    next_steps: tuple[str, ...]
    email_receipt: bool
    receipt_text: str
    follow_token: str | None = None
    follow_url: str | None = None
    follow_text: str = ""


def receipt(registered: Registration | Case) -> Receipt:
    """What to tell the person whose form was *registered* (see
    :class:`Receipt`), in the case's language (:attr:`Case.language`, like
    its letters); from a bare :class:`~klagomal.core.model.Case`, without a
    follow link."""
    case = registered.case if isinstance(registered, Registration) else registered
    with use_language(case.language):
        return _receipt(registered)


def _receipt(registered: Registration | Case) -> Receipt:
    if isinstance(registered, Registration):
        case, token, url = registered.case, registered.follow_token, registered.follow_url
        kvittens = registered.kvittens is not None
    else:
        case, token, url, kvittens = registered, None, None, False
    follow_text = (
        _(
            "Med den här länken kan du följa ditt ärende och lägga till information. Spara den, och "
            "dela den inte med någon annan: den som har länken kan se hur ärendet går."
        )
        if token
        else ""
    )
    received = swedish_date(case.received)
    thanks = _("Vi tog emot din synpunkt {day}. Den hjälper oss att bli bättre.").format(day=received)
    reference_text = _("Ange det om du kontaktar oss om ärendet.")
    if case.contact is None:
        return Receipt(
            reference=case.reference,
            received=received,
            besked_by=None,
            thanks=thanks,
            reference_text=reference_text,
            next_steps=(
                _(
                    "Du är anonym, så vi kan inte svara dig eller berätta hur det går. Vi går "
                    "igenom det du har skrivit och tar vara på det."
                ),
            ),
            email_receipt=False,
            receipt_text=_(
                "Du får ingen bekräftelse med e-post. Den här sidan är ditt kvitto: spara eller skriv ut "
                "den om du vill kunna hänvisa till ärendenumret."
            ),
            follow_token=token,
            follow_url=url,
            follow_text=follow_text,
        )
    besked_by = swedish_date(case.acknowledge_by)
    way = person_way(case)  # the way the outbox will send the besked
    if way == EMAIL:
        how = _("Beskedet kommer med e-post till {email}.").format(email=case.contact.email)
    elif way == LETTER:
        how = _("Beskedet kommer med brev till den postadress du har lämnat.")
    else:
        how = _("Vi ringer dig på {phone} och ger dig beskedet.").format(phone=case.contact.phone)
    email = case.contact.email if kvittens else None
    return Receipt(
        reference=case.reference,
        received=received,
        besked_by=besked_by,
        thanks=thanks,
        reference_text=reference_text,
        next_steps=(
            _(
                "Nu får synpunkten en handläggare. Senast {day} får du besked om vem som handlägger "
                "ärendet och när du kan vänta dig svar."
            ).format(day=besked_by),
            how,
        ),
        email_receipt=bool(email),
        receipt_text=(
            _(
                "Vi skickar en bekräftelse med ärendenumret till {email}. Den här sidan är också ditt "
                "kvitto: spara eller skriv ut den om du vill."
            ).format(email=email)
            if email
            else _(
                "Du får ingen bekräftelse med e-post på att synpunkten har kommit in. Den här sidan är ditt "
                "kvitto: spara eller skriv ut den om du vill."
            )
        ),
        follow_token=token,
        follow_url=url,
        follow_text=follow_text,
    )
