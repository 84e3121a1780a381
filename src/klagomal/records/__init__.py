"""Keeping the records as the law asks.

Access control, the audit log, public records and secrecy, GDPR, disposal,
masking and redaction.
"""
