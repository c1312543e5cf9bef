"""Outbound webhooks: ticket events POSTed to subscribers, HMAC-signed, by the task queue after commit,
retried with back-off, with a delivery log in the admin."""
