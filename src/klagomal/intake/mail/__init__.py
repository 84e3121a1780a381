"""The rules by which :func:`klagomal.intake.mailparse.parse_mail` reads one
e-mail, one concept a module.  Internal: intake imports
:mod:`klagomal.intake.mailparse` only.

* :mod:`~klagomal.intake.mail.charsets`: bytes into text, by charset;
* :mod:`~klagomal.intake.mail.text`: plain text, ``format=flowed``;
* :mod:`~klagomal.intake.mail.headers`: encoded words, sender, date;
* :mod:`~klagomal.intake.mail.references`: Message-IDs and case references;
* :mod:`~klagomal.intake.mail.mime`: MIME parameters, attachment names;
* :mod:`~klagomal.intake.mail.htmltext`: HTML into plain text;
* :mod:`~klagomal.intake.mail.quotes`: quotes and signatures;
* :mod:`~klagomal.intake.mail.forwards`: a forwarded original inline in the text;
* :mod:`~klagomal.intake.mail.automatic`: out-of-office, bounces, lists.
"""
