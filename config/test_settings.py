"""Settings for the test suite: the normal settings with test defaults put into the environment first
(a throwaway CXDESK_HOME, inline tasks), so config.env stays the only reader."""

import os
import tempfile

os.environ.setdefault("CXDESK_HOME", tempfile.mkdtemp(prefix="cxdesk-test-"))
os.environ.setdefault("CXDESK_TASKS", "immediate")
# The intent classifier's transformer stage costs seconds per training: its own tests switch it on.
os.environ.setdefault("CXDESK_INTENT_TRANSFORMER", "false")
os.environ.setdefault("CXDESK_SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")

from config.settings import *  # noqa: F403

# Fast hashing keeps the suite quick; production uses Django's default PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
