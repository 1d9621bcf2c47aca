"""A web server on 127.0.0.1 for the tests of clips given as links (no internet).

It serves a real clip directly, an HTML page with a `<video>` tag, a redirect,
a 404, a page with no video, text posing as a video, a download that stops
halfway and one that never answers, and remembers every request it was sent.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"""<!DOCTYPE html>
<html><head><title>Council meeting</title></head>
<body><h1>Council meeting</h1><video controls src="clip.mp4"></video></body></html>
"""
NO_VIDEO = b"""<!DOCTYPE html>
<html><head><title>Minutes</title></head><body><p>The minutes, as text.</p></body></html>
"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up on a cut-off download is what the tests do


class LinkServer:
    """`with LinkServer(clip_bytes) as server:` ... `server.url("clip.mp4")`."""

    def __init__(self, clip: bytes):
        self.clip = clip
        self.requests: Counter[str] = Counter()  # path -> GET requests seen
        self.headers: list[dict[str, str]] = []  # of every request, in order
        self.release = threading.Event()  # lets a stalled answer go at the end
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{path}"

    def __enter__(self) -> LinkServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0].lstrip("/")
                server.requests[path] += 1
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                route = {
                    "clip.mp4": lambda: self._send(server.clip, "video/mp4"),
                    "page.html": lambda: self._send(PAGE, "text/html; charset=utf-8"),
                    "nothing.html": lambda: self._send(NO_VIDEO, "text/html; charset=utf-8"),
                    "moved": lambda: self._redirect("/clip.mp4"),
                    "fake.mp4": lambda: self._send(b"not a video\n" * 100, "video/mp4"),
                    "cut.mp4": self._cut,
                    "stall.mp4": self._stall,
                }.get(path, lambda: self._send(b"not found\n", "text/plain", 404))
                route()

            def _send(self, body: bytes, kind: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, where: str) -> None:
                self.send_response(302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _cut(self) -> None:
                """Promise the whole clip, send half of it, hang up."""
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(server.clip)))
                self.end_headers()
                self.wfile.write(server.clip[: len(server.clip) // 2])
                self.wfile.flush()
                self.close_connection = True

            def _stall(self) -> None:
                server.release.wait(30)
                self.close_connection = True

        return Handler
