"""A throwaway Dovecot IMAP server on 127.0.0.1 for the tests (Debian's dovecot-imapd)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_UID = 65534  # nobody: Dovecot refuses to deliver as root


class Dovecot:
    def __init__(self, *, user: str, password: str, tls: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cxdove"))  # short: Dovecot's socket paths are limited
        self.dir.chmod(0o755)  # Dovecot's unprivileged processes must reach the config and the users file
        self.user, self.password, self.tls = user, password, tls
        self.port = free_port()
        self.cert = self.dir / "cert.pem"
        self.process: subprocess.Popen | None = None
        (self.dir / "mail").mkdir()
        (self.dir / "state").mkdir()
        if os.geteuid() == 0:
            os.chown(self.dir / "mail", MAIL_UID, MAIL_UID)
        (self.dir / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
        uid = MAIL_UID if os.geteuid() == 0 else os.geteuid()
        gid = MAIL_UID if os.geteuid() == 0 else os.getegid()
        ssl_lines = "ssl = no\n"
        listener = f"inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n" \
                   "  inet_listener imaps {\n    port = 0\n  }\n"
        if tls:
            key = self.dir / "key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", str(key), "-out", str(self.cert)], check=True, capture_output=True)
            ssl_lines = f"ssl = required\nssl_cert = <{self.cert}\nssl_key = <{key}\n"
            listener = "inet_listener imap {\n    port = 0\n  }\n" \
                       f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.port}\n" \
                       "    ssl = yes\n  }\n"
        self.config = self.dir / "dovecot.conf"
        self.config.write_text(f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{self.dir}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dir}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.dir}/mail/%u
}}
service imap-login {{
  chroot =
  {listener}
}}
service anvil {{
  chroot =
}}
""")

    def start(self) -> None:
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()}") from None
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start listening")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
