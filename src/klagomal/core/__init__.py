"""The vocabulary every part of klagomal shares.

Cases, events and errors, the clock, the organisation and its settings, and
the rules for texts.  Nothing here touches a database, a template or the
command line.
"""
