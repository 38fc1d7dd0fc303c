"""An HTTP server on the loopback interface whose answers the test scripts: the status, the
headers (a wrong ``Content-Length``, a ``Content-Encoding``), the body, how much of it is sent
and how slowly; the servers a download meets that :class:`tests.conftest.FileServer` (a folder,
served correctly) does not play."""
import functools
import http.server
import threading
import time
from typing import Optional


class ScriptedServer:
    """``answer(path, body, ...)`` scripts the response to ``GET path``; ``requests`` counts the
    requests per path (any path, scripted or not: an unscripted one gets 404)."""

    def __init__(self):
        self.answers, self.requests = {}, {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split('?', 1)[0]
                server.requests[path] = server.requests.get(path, 0) + 1
                answer = server.answers.get(path)
                if answer is None:
                    return self.send_error(404)
                self.send_response(answer['status'])
                headers = {'Content-Length': str(len(answer['body'])), **answer['headers']}
                for key, value in headers.items():
                    if value is not None:
                        self.send_header(key, value)
                self.end_headers()
                body = answer['body'][:answer['send']]
                try:
                    if not answer['byte_delay']:
                        self.wfile.write(body)
                        return
                    for i in range(len(body)):  # a trickle: one byte at a time
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(answer['byte_delay'])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler))
        self.httpd.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        threading.Thread(target=self.httpd.serve_forever, args=(0.05, ), daemon=True).start()

    def answer(self, path: str, body: bytes, headers: Optional[dict] = None, status: int = 200,
               send: Optional[int] = None, byte_delay: float = 0.0) -> str:
        """Answer ``GET path`` with ``body`` (``Content-Length`` is its length unless
        ``headers`` says otherwise, or None to send none), only its first ``send`` bytes, one
        byte every ``byte_delay`` seconds when set; return the URL."""
        self.answers[path] = dict(body=body, headers=dict(headers or {}), status=status,
                                  send=send, byte_delay=byte_delay)
        return self.url + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def scripted_server():
    """A :class:`ScriptedServer` for one test; a test module makes it a fixture with
    ``scripted_server = pytest.fixture(scripted_server)``."""
    server = ScriptedServer()
    yield server
    server.close()
