"""Intake: the paths by which feedback reaches the database.

* :mod:`klagomal.intake.mailparse`: one RFC 5322 message, as received, into
  the person's own new text, its sender, its attachments and what it replies
  to; or a clear reason why it cannot be read (quarantine, never dropped);
* :mod:`klagomal.intake.webform`: the web form "Tala om vad du tycker",
  framework-neutral: schema, validation, honeypot, the privacy information;
* :mod:`klagomal.intake.service`: storing what arrived, threading replies
  into their case, duplicates, auto-replies and the quarantine.
"""
