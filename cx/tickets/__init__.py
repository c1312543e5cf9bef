"""Tickets, the agent workspace, routing, SLAs and automations."""
