"""The process ``test_imap.py`` kills between storing a message and moving it.

Run as ``python tests/imap_child.py URL ORGANISATION_FILE DAY``.  It reads the
first mailbox of ``[[intag.imap]]`` as :meth:`klagomal.Klagomal.read_mailbox`
does, through :func:`klagomal.intake.imap.read_mailbox`, with a store that
stores the message through :meth:`~klagomal.Klagomal.receive_email` exactly
as the facade's does, prints one JSON line with the outcome once the store
has committed, and then kills its own process with SIGKILL, before the
message can be moved: what a power cut or the OOM killer does at the worst
moment.  The hook is this script's, not klagomal's.  Not a test module.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
from pathlib import Path

from klagomal import FixedClock, Klagomal
from klagomal.core.organisation import parse_organisation
from klagomal.intake.imap import read_mailbox
from klagomal.intake.service import IntakeOutcome


def main(url: str, organisation_file: str, day: str) -> None:
    organisation = parse_organisation(Path(organisation_file).read_text(encoding="utf-8"), organisation_file)
    k = Klagomal(
        url,
        organisation=organisation,
        clock=FixedClock(dt.date.fromisoformat(day)),
        load_entrypoints=False,
    )

    def store_then_die(raw: bytes, source_file: str) -> IntakeOutcome:
        outcome = k.receive_email(raw, source="imap", source_file=source_file)
        print(json.dumps({"outcome": outcome.outcome, "reference": outcome.reference}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("still alive after SIGKILL")

    read_mailbox(organisation.intake.imap[0], store_then_die)
    print(json.dumps({"outcome": None}), flush=True)  # no message: the test fails on this


if __name__ == "__main__":
    main(*sys.argv[1:])
