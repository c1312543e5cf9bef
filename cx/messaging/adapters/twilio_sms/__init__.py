"""Twilio Programmable Messaging (SMS/MMS) connector."""
