"""What a step is called where a member of staff reads it.

Errors name the step that was refused (:class:`~klagomal.core.errors.InvalidInputError`,
:class:`~klagomal.core.errors.InvalidStepError`, ...).  The step is kept on
the error as its stable id (``"answer"``, ``"list"``, an event type such as
``"acknowledged"``) for programs; the message says it in Swedish, through
:func:`step_label`, so that no internal id reaches a handler's screen.

A step id this table does not know (a plugin's own) is shown as it is.
``tests/test_friction.py`` reads every step id the code passes to an error
and checks that it is here.
"""

from __future__ import annotations

from klagomal.core.i18n import _

__all__ = ["STEP_LABELS", "step_label"]

#: Every step id klagomal names in an error, with its Swedish label: the
#: commands and service steps first, then the event types (a step's day is
#: checked under its event's type).
STEP_LABELS: dict[str, str] = {
    # the routine's steps
    "register": _("registrera"),
    "forward": _("skicka vidare"),
    "acknowledge": _("ge besked"),
    "assign": _("tilldela handläggare"),
    "inform": _("informera"),
    "postpone": _("ge nytt svarsdatum"),
    "pause": _("pausa"),
    "resume": _("återuppta"),
    "answer": _("besvara"),
    "action": _("registrera åtgärd"),
    "close": _("avsluta"),
    "escalate": _("lyfta till nästa nivå"),
    "pass-on": _("föra beröm vidare"),
    "guide": _("vägleda"),
    "reclassify": _("ändra typ"),
    "resolve": _("lösa direkt"),
    "describe": _("beskriva i diariet"),
    "secrecy": _("sekretessmarkera"),
    "message": _("ta emot meddelande"),
    "flag": _("flagga kränkande eller hotfullt bemötande"),
    "unflag": _("häva flagga för kränkande eller hotfullt bemötande"),
    "note": _("skriva anteckning"),
    "attach": _("bifoga handling"),
    "correct-contact": _("rätta kontaktuppgifter"),
    "locate": _("ange plats"),
    "complete-task": _("markera uppgift som gjord"),
    "publish": _("publicera"),
    "unpublish": _("återkalla publicering"),
    # the other commands and services
    "list": _("lista ärenden"),
    "search": _("söka"),
    "report": _("ta fram rapport"),
    "timeliness": _("ta fram svarstider"),
    "letter": _("ta fram brev"),
    "outbox": _("utskick"),
    "remind": _("skicka påminnelser"),
    "import": _("importera"),
    "bulk-import": _("importera ärenden"),
    "intake": _("ta emot e-post"),
    "intake log": _("mottagningsloggen"),
    "serve-smtp": _("ta emot e-post via SMTP"),
    "worker": _("arbetarens jobb"),
    "webhook": _("webhook-utskick till andra system"),
    "release": _("släppa ur karantän"),
    "webform": _("webbformuläret"),
    "demo": _("demo"),
    "person": _("en persons uppgifter"),
    "anonymise": _("anonymisera"),
    "gallra": _("gallra"),
    "phrases": _("lista fraser"),
    "phrase-save": _("spara fras"),
    "phrase-retire": _("ta fras ur bruk"),
    "dismiss": _("markera som inget ärende"),
    "published-list": _("lista publicerade ärenden"),
    # the event types
    "registered": _("registrera"),
    "reclassified": _("ändra typ"),
    "forwarded": _("skicka vidare"),
    "acknowledged": _("ge besked"),
    "informed": _("informera"),
    "postponed": _("ge nytt svarsdatum"),
    "paused": _("pausa"),
    "resumed": _("återuppta"),
    "answered": _("besvara"),
    "action_recorded": _("registrera åtgärd"),
    "closed": _("avsluta"),
    "escalated": _("lyfta till nästa nivå"),
    "praise_passed_on": _("föra beröm vidare"),
    "guided": _("vägleda"),
    "message_received": _("ta emot meddelande"),
    "resolved_at_once": _("lösa direkt"),
    "described": _("beskriva i diariet"),
    "secrecy_marked": _("sekretessmarkera"),
    "secrecy_lifted": _("häva sekretessmarkering"),
    "assigned": _("tilldela handläggare"),
    "threat_flagged": _("flagga kränkande eller hotfullt bemötande"),
    "threat_flag_lifted": _("häva flagga för kränkande eller hotfullt bemötande"),
    "note_added": _("skriva anteckning"),
    "attachment_added": _("bifoga handling"),
    "contact_corrected": _("rätta kontaktuppgifter"),
    "located": _("ange plats"),
    "published": _("publicera"),
    "publication_withdrawn": _("återkalla publicering"),
}


def step_label(step: str) -> str:
    """The Swedish label of the step id *step*; an unknown id (a plugin's
    own step, or a label already) as it is."""
    return STEP_LABELS.get(step, step)
