"""What klagomal tells people.

The letters and their templates, the outbox, the notifiers that send,
e-mail, and the reminders to staff.
"""
