"""Notifications to agents: in-app (live over WebSocket) and by email, with per-agent preferences."""
