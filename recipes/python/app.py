"""A tiny WSGI application served by the standard library's wsgiref.

GET / answers a page that names the Python and the SQLite library the
jail's sqlite3 module loaded (lib-dynload/_sqlite3, which needs
libsqlite3.so.0: jailimg copies it with the library closure of the files
under /usr/lib/python3.11). Any other path is 404.
"""

import signal
import sqlite3
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

HOST, PORT = "127.0.0.1", 8084


def app(environ, start_response):
    if environ["PATH_INFO"] != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    # A query, not just the import: the shared library really runs.
    with sqlite3.connect(":memory:") as db:
        (version,) = db.execute("select sqlite_version()").fetchone()
    body = (
        "<!doctype html><title>python in a jail</title>\n"
        f"<p>python {sys.version.split()[0]} in a jail, sqlite {version}\n"
    ).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


class QuietHandler(WSGIRequestHandler):
    """Logs requests on stderr (jailimg run's log), without DNS lookups."""

    def address_string(self):
        return self.client_address[0]


def stop(signum, frame):
    """SIGTERM (jailimg run passes the rc script's or systemd's stop on):
    a clean exit, status 0, as a daemon ends when asked to."""
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    with make_server(HOST, PORT, app, handler_class=QuietHandler) as server:
        print(f"serving on http://{HOST}:{PORT}/", file=sys.stderr, flush=True)
        server.serve_forever()
