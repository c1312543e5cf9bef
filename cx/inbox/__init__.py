"""Inbound channels: how customers reach support. Today the public web form; email, chat and messaging
providers join here as adapters."""
