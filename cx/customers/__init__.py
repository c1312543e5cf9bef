"""Customers, organisations and their identities on every channel; merge, export and erasure."""
