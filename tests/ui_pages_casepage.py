"""The case page's GET routes for the central page catalogue (UI.md): each
route template with who visits it and how to find a concrete address on
the test database (a Klagomal acting as the system owner)."""

from __future__ import annotations

from collections.abc import Callable

from klagomal import Klagomal
from klagomal.core.model import Case, Contact

#: The unit the cases of these pages are registered at (Exempelkommun's).
UNIT = "soc-aldre-hemtjanst-norr"


def _case(k: Klagomal) -> Case:
    """An open case with a contact, acknowledged (so it has a letter) and
    with an attachment: one the database has, else one made now."""
    for case in k.cases(unit=UNIT, state="open"):
        if case.contact is not None and k.notices(case.reference) and k.attachments(case.reference):
            return case
    case = k.register(
        kind="klagomal",
        channel="webbformular",
        text="Hemtjänsten kom inte på tisdagen.",
        unit=UNIT,
        contact=Contact(name="Eva Svensson", email="eva@example.se"),
    )
    case = k.acknowledge(case.reference, "omar.ali")
    return k.attach(case.reference, b"Kvitto\n", filename="kvitto.txt")


def case_page(k: Klagomal) -> str:
    return f"/arenden/{_case(k).reference}"


def attachment(k: Klagomal) -> str:
    case = _case(k)
    first = k.attachments(case.reference)[0]
    return f"/arenden/{case.reference}/bilagor/{first.id}"


def letter(k: Klagomal) -> str:
    case = _case(k)
    seq = k.notices(case.reference)[0][0]
    return f"/arenden/{case.reference}/brev/{seq}"


def step(name: str) -> Callable[[Klagomal], str]:
    return lambda k: f"/arenden/{_case(k).reference}/steg/{name}"


PAGES: dict[str, list[tuple[str | None, Callable[[Klagomal], str]]]] = {
    "/arenden/{reference:str}": [
        ("omar.ali", case_page),
        ("lena.holm", case_page),
        ("nora.lind", case_page),
    ],
    "/arenden/{reference:str}/bilagor/{attachment_id:int}": [("omar.ali", attachment)],
    "/arenden/{reference:str}/brev/{seq:int}": [("omar.ali", letter), ("nora.lind", letter)],
    "/arenden/{reference:str}/steg/{step:str}": [
        ("omar.ali", step("note")),
        ("omar.ali", step("answer")),
        ("lena.holm", step("assign")),
    ],
}
