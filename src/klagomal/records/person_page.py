"""The person's own page: a person's data (GDPR article 15) as they read it.

:func:`render` turns :meth:`klagomal.Klagomal.person_export` into one
self-contained HTML page in Swedish: a summary (how many cases, of which
kinds, the period they span, the kinds of data kept), a contents list
linking to each case, the information article 15 asks for (from the
organisation file's ``[dataskydd]``, :mod:`klagomal.core.privacy_notice`),
and each case with its history (every step with who took it), the notices
in words and the e-mails received.  Its print stylesheet makes an A4 page
ready for PDF: each case starts a new page, links are plain text, and the
page margins carry the page number and the date of the export.

The page is compiled once, when first needed: Jinja2 is not for every
command that imports :mod:`klagomal.records.gdpr`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from klagomal.core.disposal_rules import Action
from klagomal.core.formats import join_names, swedish_date
from klagomal.core.i18n import _, ngettext
from klagomal.notices.notifiers import EMAIL, LETTER
from klagomal.notices.outbox import kind_label, recipient_label, status_label

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

__all__ = ["INFORMATION_ID", "case_anchor", "notice_line", "render"]

#: The id of the page's part with the article 15 information.
INFORMATION_ID = "om-behandlingen"


def case_anchor(reference: str) -> str:
    """The id of a case's part of the page, such as ``arende-2026-00001``."""
    return "arende-" + reference


def _day(value: str | None) -> str:
    """An ISO date or time as a Swedish letter writes the day."""
    if not value:
        return ""
    return swedish_date(dt.datetime.fromisoformat(value).date())


def _notice_subject(kind: str, recipient: str) -> str:
    """What a notice was, as a noun that "skickat" agrees with (ett meddelande)."""
    subjects = {
        "besked": _("Besked om vem som handlägger ärendet"),
        "information": _("Meddelande om hur ärendet går"),
        "forsening": _("Meddelande om att svaret dröjer"),
        "komplettering": _("Meddelande om att kommunen behöver fler uppgifter från dig"),
        "aterupptaget": _("Meddelande om att handläggningen har återupptagits"),
        "svar": _("Svar"),
        "vagledning": _("Meddelande med vägledning"),
        "berom_vidare": _("Meddelande om ditt beröm till personalen"),
        "eskalering_chef": _("Meddelande om ärendet till förvaltningschefen"),
        "eskalering_namnd": _("Meddelande om ärendet till nämnden"),
        "tilldelning": _("Meddelande om ärendet till den nya handläggaren"),
        "flaggning": _("Meddelande om ärendet till chefen"),
    }
    subject = subjects.get(kind) or _("Meddelande ({kind}) till {recipient}").format(
        kind=kind_label(kind), recipient="{recipient}"
    )
    return subject.format(recipient=recipient_label(recipient))


def notice_line(notice: dict[str, Any]) -> str:
    """One notice of a person's export in words: "Besked om vem som
    handlägger ärendet skickat med e-post till anna@example.se 27 januari 2026."."""
    to_person = notice["recipient"] == "person"
    way = {EMAIL: _(" med e-post"), LETTER: _(" som brev")}.get(notice.get("way") or "", "")
    where = (
        _(" till {address}").format(address=notice["address"]) if to_person and notice.get("address") else ""
    )
    day = _day(notice.get("sent_at"))
    when = " " + day if day else ""
    code = notice.get("code") or ""
    states = {
        "pending": _("väntar på att skickas"),
        "sending": _("håller på att skickas"),
        "sent": _("skickat{way}{where}{when}"),
        "failed": _("kunde inte skickas{way}{where}"),
        "uncertain": _("skickat{way}{where}{when}, men det är osäkert om det kom fram"),
        "task": _("ska lämnas per telefon eller vid ett besök"),
        "done": _("lämnat per telefon eller vid ett besök{when}"),
        "dropped": _("skickades inte, eftersom ärendet avslutades"),
        "imported": _("överfört från kommunens tidigare system"),
        "manual": _("hanterat utanför systemet{when}"),
    }
    state = states.get(code) or status_label(code or notice.get("status", ""))
    return _("{subject} {state}.").format(
        subject=_notice_subject(notice["kind"], notice["recipient"]),
        state=state.format(way=way, where=where, when=when),
    )


def _held(data: dict[str, Any]) -> list[str]:
    """The kinds of data the export holds, in words, for the summary."""
    cases = data["cases"]
    fields = list(dict.fromkeys(k for c in cases for k, v in c["contact"].items() if v))
    held = []
    if fields:
        held.append(_("kontaktuppgifter ({fields})").format(fields=", ".join(f.lower() for f in fields)))
    events = sum(len(c["events"]) for c in cases)
    if events:
        held.append(
            ngettext(
                "{n} händelse i handläggningen, med det du skrev och kommunens anteckningar och svar",
                "{n} händelser i handläggningen, med det du skrev och kommunens anteckningar och svar",
                events,
            ).format(n=events)
        )
    notices = sum(len(c["notices"]) for c in cases)
    if notices:
        held.append(
            ngettext("{n} meddelande från kommunen", "{n} meddelanden från kommunen", notices).format(
                n=notices
            )
        )
    messages = sum(len(c["messages"]) for c in cases) + len(data.get("unattached", []))
    if messages:
        held.append(
            ngettext("{n} e-postmeddelande från dig", "{n} e-postmeddelanden från dig", messages).format(
                n=messages
            )
        )
    files = sum(len(m["attachments"]) for c in cases for m in c["messages"])
    if files:
        held.append(ngettext("{n} bifogad fil", "{n} bifogade filer", files).format(n=files))
    if any(c["disposed"] for c in cases):
        held.append(_("uppgifter om vad som har gallrats"))
    return held


def _summary(data: dict[str, Any], kommun: str) -> list[str]:
    """The summary's sentences."""
    cases = data["cases"]
    if not cases:
        return [_("{kommun} har inga synpunkter eller ärenden om dig.").format(kommun=kommun)]
    kinds = Counter(c["kind"] for c in cases)
    counted = join_names(f"{n} {kind.lower()}" for kind, n in kinds.most_common())
    lines = [
        ngettext(
            "Du har {n} ärende hos {kommun}: {kinds}.",
            "Du har {n} ärenden hos {kommun}: {kinds}.",
            len(cases),
        ).format(n=len(cases), kommun=kommun, kinds=counted)
    ]
    received = sorted(c["received"] for c in cases)
    if received[0] == received[-1]:
        lines.append(_("Det kom in {day}.").format(day=_day(received[0])))
    else:
        lines.append(
            _("De kom in mellan {first} och {last}.").format(first=_day(received[0]), last=_day(received[-1]))
        )
    return lines


def _case(case: dict[str, Any]) -> dict[str, Any]:
    """A case of the export as the page shows it."""
    return {
        **case,
        "anchor": case_anchor(case["reference"]),
        "received_day": _day(case["received"]),
        "events": [{**e, "day_text": _day(e["day"])} for e in case["events"]],
        "notice_lines": [notice_line(n) for n in case["notices"]],
        "messages": [{**m, "day_text": _day(m["received_at"])} for m in case["messages"]],
        "disposed": [
            {
                **d,
                "day_text": _day(d["day"]),
                "action_text": Action(d["action"]).label if d["action"] in set(Action) else d["action"],
            }
            for d in case["disposed"]
        ],
    }


_CSS = """
:root { --text: #1b1b1b; --muted: #555; --line: #c8c8c8; --tint: #f3f3f1; --link: #0b4f9c; }
* { box-sizing: border-box; }
body { font-family: system-ui, "Segoe UI", Arial, sans-serif; color: var(--text); line-height: 1.5;
       max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; } h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; } a { color: var(--link); }
.made { color: var(--muted); }
.summary { background: var(--tint); padding: .8rem 1rem; border-radius: 4px; }
.summary ul { margin: .3rem 0 0; } .summary h2 { margin-top: 0; }
nav ol { padding-left: 1.4rem; } nav li { margin: .15rem 0; }
section.case { border-top: 2px solid var(--line); margin-top: 2.4rem; }
dl { display: grid; grid-template-columns: minmax(8rem, 11rem) 1fr; gap: .15rem 1rem; margin: .4rem 0; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
ol.history { list-style: none; padding: 0; }
ol.history li { padding: .4rem 0; border-bottom: 1px solid var(--line); }
.step { font-weight: 600; } .actor { color: var(--muted); }
.text { white-space: pre-wrap; background: var(--tint); padding: .4rem .6rem; margin: .3rem 0;
        overflow-wrap: anywhere; }
.back { font-size: .9rem; }
@media (max-width: 32rem) { dl { grid-template-columns: 1fr; } dt { margin-top: .4rem; } }
@page {
  size: A4; margin: 18mm 16mm 20mm;
  @top-right { font: 8pt system-ui, sans-serif; color: #555; }
  @bottom-center { content: "Sida " counter(page) " av " counter(pages); font: 8pt system-ui, sans-serif; }
}
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
  a { color: inherit; text-decoration: none; }
  .back { display: none; }
  section.case, section.information { break-before: page; border-top: 0; margin-top: 0; }
  h2, h3, .step { break-after: avoid; }
  ol.history li, dl, .notices li { break-inside: avoid; }
  .summary { background: none; border: 1px solid var(--line); }
}
"""

_PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ css }}
@page { @top-right { content: "{{ running }}"; } }</style></head><body>
<header>
<h1>{{ title }}</h1>
<p>{{ intro }}</p>
<p class="made" id="utdraget">{{ made }}</p>
{% if later %}<p class="made">{{ later }}</p>{% endif %}
</header>
<section class="summary" id="sammanfattning" aria-labelledby="sammanfattning-rubrik">
<h2 id="sammanfattning-rubrik">{{ labels.summary }}</h2>
{% for line in summary %}<p>{{ line }}</p>{% endfor %}
{% if held %}<p>{{ labels.held }}</p><ul>{% for item in held %}<li>{{ item }}</li>{% endfor %}</ul>{% endif %}
</section>
<nav id="innehall" aria-labelledby="innehall-rubrik">
<h2 id="innehall-rubrik">{{ labels.contents }}</h2>
<ol>
<li><a href="#{{ information_id }}">{{ labels.information }}</a></li>
{% for case in cases %}<li><a href="#{{ case.anchor }}">{{ labels.case }} {{ case.reference }}</a>:
{{ case.kind }}, {{ case.unit }}, {{ labels.received | lower }} {{ case.received_day }}</li>
{% endfor %}
{% if data.unattached %}<li><a href="#epost-utan-arende">{{ labels.unattached }}</a></li>{% endif %}
</ol>
</nav>
<section class="information" id="{{ information_id }}">
<h2>{{ labels.information }}</h2>
{% for part in information %}
<section id="{{ part.id }}">
<h3>{{ part.heading }}</h3>
{% if part.list %}<ul>{% for text in part.texts %}<li>{{ text }}</li>{% endfor %}</ul>
{% else %}{% for text in part.texts %}<p>{{ text }}</p>{% endfor %}{% endif %}
{% if part.these_cases %}<p>{{ labels.these_cases }}</p><ul>
{% for text in part.these_cases %}<li>{{ text }}</li>{% endfor %}</ul>{% endif %}
</section>
{% endfor %}
</section>
{% for case in cases %}
<section class="case" id="{{ case.anchor }}">
<h2>{{ labels.case }} {{ case.reference }}: {{ case.kind }}</h2>
<dl>
<dt>{{ labels.unit }}</dt><dd>{{ case.unit }}</dd>
<dt>{{ labels.received }}</dt><dd>{{ case.received_day }}</dd>
<dt>{{ labels.state }}</dt><dd>{{ case.state }}</dd>
{% for key, value in case.contact.items() if value %}<dt>{{ key }}</dt><dd>{{ value }}</dd>{% endfor %}
</dl>
<h3>{{ labels.steps }}</h3>
<ol class="history">
{% for step in case.events %}<li><span class="step">{{ step.day_text }}: {{ step.label }}</span>
<span class="actor">({{ step.actor_name }})</span>
{% for line in step.details %}<div>{{ line }}</div>{% endfor %}
{% for text in step.texts %}<div class="text">{{ text }}</div>{% endfor %}</li>
{% endfor %}
</ol>
{% if case.notice_lines %}<h3>{{ labels.notices }}</h3><ul class="notices">
{% for line in case.notice_lines %}<li>{{ line }}</li>{% endfor %}
</ul>{% endif %}
{% if case.messages %}<h3>{{ labels.messages }}</h3><ul>
{% for m in case.messages %}<li>{{ m.day_text }}: {{ m.subject or labels.no_subject }}
{%- if m.attachments %} ({{ labels.files }}: {{ m.attachments | join(", ") }}){% endif %}</li>{% endfor %}
</ul>{% endif %}
{% if case.disposed %}<h3>{{ labels.disposed }}</h3><ul>
{% for d in case.disposed %}<li>{{ d.day_text }}: {{ d.action_text }}
({{ labels.decision }} {{ d.decision }})</li>{% endfor %}
</ul>{% endif %}
<p class="back"><a href="#innehall">{{ labels.back }}</a></p>
</section>
{% endfor %}
{% if data.unattached %}<section class="case" id="epost-utan-arende"><h2>{{ labels.unattached }}</h2><ul>
{% for m in unattached %}<li>{{ m.day_text }}: {{ m.subject or labels.no_subject }}</li>{% endfor %}
</ul><p class="back"><a href="#innehall">{{ labels.back }}</a></p></section>{% endif %}
</body></html>
"""


@functools.cache
def _page() -> jinja2.Template:
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_PAGE)


def _css_string(text: str) -> str:
    """*text* as the inside of a CSS string in a ``<style>`` element."""
    return "".join(c if c.isalnum() or c in " -:,." else f"\\{ord(c):x} " for c in text)


def render(data: dict[str, Any], *, kommun: str | None = None, made: dt.date | None = None) -> str:
    """The page of a person's export (see the module's description)."""
    kommun = data.get("kommun") or kommun or ""
    day = dt.date.fromisoformat(data["made"]) if data.get("made") else made
    if day is None:
        raise ValueError(_("utdraget saknar dag"))
    title = _("Dina uppgifter hos {kommun}").format(kommun=kommun)
    held = _held(data)
    made_text = _("Utdraget gjordes {day}.").format(day=swedish_date(day))
    last = max((e["day"] for c in data["cases"] for e in c["events"]), default=None)
    later = (
        _(
            "Några händelser är daterade efter den dag utdraget gjordes, den sista {day}: de "
            "registrerades med ett datum framåt i tiden."
        ).format(day=_day(last))
        if last is not None and dt.date.fromisoformat(last) > day
        else None
    )
    return _page().render(
        data=data,
        later=later,
        css=Markup(_CSS),  # the module's own constant: its quotes stay quotes
        running=_css_string(_("{title}, utdrag {day}").format(title=title, day=swedish_date(day))),
        title=title,
        intro=_(
            "Här är alla synpunkter och alla uppgifter om dig som {kommun} har i sitt system för "
            "klagomål, förslag och beröm, och vad kommunen gör med dem (artikel 15 i "
            "dataskyddsförordningen)."
        ).format(kommun=kommun),
        made=made_text,
        summary=_summary(data, kommun),
        held=held,
        cases=[_case(c) for c in data["cases"]],
        unattached=[{**m, "day_text": _day(m["received_at"])} for m in data.get("unattached", [])],
        information=[
            {**part, "these_cases": part["these_cases"] or held} if part["id"] == "kategorier" else part
            for part in data.get("information", [])
        ],
        information_id=INFORMATION_ID,
        labels={
            "summary": _("Sammanfattning"),
            "held": _("Det här finns om dig:"),
            "contents": _("Innehåll"),
            "information": _("Om behandlingen av dina uppgifter"),
            "these_cases": _("För dina ärenden:"),
            "case": _("Ärende"),
            "unit": _("Enhet"),
            "received": _("Inkom"),
            "state": _("Status"),
            "steps": _("Vad som har hänt"),
            "notices": _("Meddelanden"),
            "messages": _("E-post från dig"),
            "files": _("bifogat"),
            "no_subject": _("(utan ämnesrad)"),
            "disposed": _("Gallrat"),
            "decision": _("beslut"),
            "unattached": _("E-post som inte hör till något ärende"),
            "back": _("Tillbaka till innehållet"),
        },
    )
