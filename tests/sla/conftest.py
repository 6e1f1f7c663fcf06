"""Fixtures shared by the service-level, notification and webhook tests."""

import http.server
import threading

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The users fixture creates seven accounts; the default PBKDF2 hasher makes
    # that take seconds per test, and these tests never check a password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Receiver:
    """A webhook receiver on loopback that records each request and responds
    with the next status of a script, repeating the last one."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
                    index = min(len(receiver.requests), len(receiver.statuses)) - 1
                    status = receiver.statuses[index]
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"status {status}".encode())

            def log_message(self, format, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def make_receiver():
    """Return a factory of loopback receivers, each responding with a status
    script."""
    started = []

    def factory(statuses=(200,)):
        receiver = Receiver(statuses)
        started.append(receiver)
        return receiver

    yield factory
    for receiver in started:
        receiver.close()


@pytest.fixture
def fast_webhooks(settings):
    settings.IMS_WEBHOOK_BACKOFF_SECONDS = 0.01
    settings.IMS_WEBHOOK_MAX_ATTEMPTS = 3
    settings.IMS_WEBHOOK_TIMEOUT_SECONDS = 2
