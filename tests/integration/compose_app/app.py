"""Answers with what it could read: its secret, the migration's schema, its greeting."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {
                "secret": Path("/run/secrets/db_password").read_text(),
                "schema": Path("/data/schema").read_text(),
                "greeting": os.environ.get("GREETING", ""),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
