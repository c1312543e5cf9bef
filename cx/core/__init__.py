"""Shared foundations: base errors, the audit log, navigation registry. Imports no other cx app."""
