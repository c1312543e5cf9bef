"""Agents (Django users), roles, teams and API tokens."""
