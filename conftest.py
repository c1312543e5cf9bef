"""Test-wide set-up: a throwaway CXDESK_HOME and tasks that run inline unless a test says otherwise."""

import os
import tempfile

os.environ.setdefault("CXDESK_HOME", tempfile.mkdtemp(prefix="cxdesk-test-"))
os.environ.setdefault("CXDESK_TASKS", "immediate")
os.environ.setdefault("CXDESK_SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")
