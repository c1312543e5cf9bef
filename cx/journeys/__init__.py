"""The customer timeline spine: every touchpoint of a customer's journey, from any channel or department."""
