"""Telegram Bot API connector."""
