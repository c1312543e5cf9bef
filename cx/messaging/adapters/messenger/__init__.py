"""Facebook Messenger (Pages) connector."""
