"""A förvaltning's plugin: its own quality dimension and a diarium listener.

Socialförvaltningen in Exempelkommun wants two things the core does not do:

* a quality dimension of its own, *Trygghet och säkerhet* (R6, R25);
* every committed event written to its diarium (here a CSV file), so that
  the registrator sees the case without retyping it.

Register it per instance::

    Klagomal(db, plugins=[DiariumPlugin("diarium.csv")], user="system")

or, once packaged, through the entry-point group ``klagomal`` in its
``pyproject.toml``::

    [project.entry-points.klagomal]
    soc-diarium = "soc_diarium:plugin"

Run this file to see it work on a throw-away database.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

from klagomal import Case, Contact, Event, FixedClock, Klagomal, QualityDimension, hookimpl


class DiariumPlugin:
    """Adds the dimension ``trygghet`` and writes every event to a CSV diarium."""

    FIELDS = ("diarienummer", "lopnummer", "datum", "handelse", "enhet", "status")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @hookimpl
    def klagomal_quality_dimensions(self) -> Iterator[QualityDimension]:
        yield QualityDimension("trygghet", "Trygghet och säkerhet", department="soc")

    @hookimpl
    def klagomal_on_event(self, case: Case, event: Event) -> None:
        # Called after commit: what is written here is already stored.
        new_file = not self.path.exists()
        with self.path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new_file:
                writer.writerow(self.FIELDS)
            writer.writerow([case.reference, event.seq, event.day, event.type, case.unit, case.state.value])


def main(workdir: Path) -> None:
    """Register and acknowledge one case with the plugin, then print the diarium."""
    clock = FixedClock(dt.date(2026, 5, 4))
    diarium = workdir / "diarium.csv"
    with Klagomal(
        f"sqlite:///{workdir / 'soc.db'}", clock=clock, plugins=[DiariumPlugin(diarium)], user="system"
    ) as k:
        k.init()
        case = k.register(
            kind="klagomal",
            channel="brev",
            unit="soc-aldre-solgarden",
            text="Dörren till demensavdelningen stod olåst på natten.",
            contact=Contact(name="Karin Berg", address="Storgatan 1, Exempelstad"),
            dimensions=["trygghet", "kompetens"],
            serious=True,
        )
        clock.advance(1)
        k.acknowledge(case.reference, handler=case.handler or "", respond_by=dt.date(2026, 5, 20))
    sys.stdout.write(diarium.read_text(encoding="utf-8"))


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))
