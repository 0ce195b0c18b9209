"""A plain Python app behind `tessera serve`: it never sees a token or a cookie, only the
identity headers the gateway sets (X-Tessera-Sub, X-Tessera-Roles, ...) on signed-in requests."""
import html
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class App(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/static/"):
            return self.answer("text/css", "body { font-family: sans-serif; }")
        sub = self.headers.get("X-Tessera-Sub")
        if sub is None:  # only on the public "/" (auth optional): everything else needs a session
            return self.answer("text/html", '<p>Not signed in. <a href="/auth/login">Sign in</a></p>')
        roles = self.headers.get("X-Tessera-Roles", "")
        body = f"<p>Hello {html.escape(sub)} (roles {html.escape(roles) or 'none'}), you asked for {html.escape(self.path)}. <a href=\"/auth/logout\">Sign out</a></p>"
        self.answer("text/html", body)

    def answer(self, kind, body):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


port = int(os.environ.get("APP_PORT", "8080"))
server = ThreadingHTTPServer(("127.0.0.1", port), App)
print(f"python app listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
