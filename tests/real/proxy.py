"""A logging HTTP/1.1 proxy between metronome and vLLM, for checks on what went over the
wire: one JSON line per request with its path, body, X-Request-Id, status and the whole
response body (SSE text for a stream). Responses are relayed as they arrive (a read at a
time, re-chunked), so streaming still streams; timing through it is not measured.

  python proxy.py LISTEN-PORT UPSTREAM-PORT LOG-FILE [CERT KEY [MAX-TLS-VERSION]]
With CERT and KEY (PEM) it serves HTTPS through Python's ssl (OpenSSL), a TLS server that is
not ours; MAX-TLS-VERSION 1.2 makes it a TLS 1.2-only server. Binds 127.0.0.1 only. Stops on SIGTERM.
"""
import http.client
import http.server
import json
import ssl
import sys
import threading

listen_port, upstream_port, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
log_lock = threading.Lock()
log_file = open(log_path, "a", buffering=1)
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer",
       "upgrade", "proxy-connection"}
SECRET = {"authorization", "api-key", "x-api-key", "proxy-authorization"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def relay(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        up = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        up.request(self.command, self.path, body=body, headers=headers)
        resp = up.getresponse()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        length = resp.getheader("Content-Length")
        if length is not None:
            self.send_header("Content-Length", length)
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        got = bytearray()
        while True:
            piece = resp.read1(65536) if length is None else resp.read(65536)
            if not piece:
                break
            got += piece
            if length is None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
            self.wfile.flush()
        if length is None:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        up.close()
        try:
            req = json.loads(body) if body else None
        except ValueError:
            req = body.decode("utf-8", "replace")
        line = {"id": self.headers.get("X-Request-Id"), "method": self.command,
                "path": self.path, "headers": {k: ("<redacted>" if k.lower() in SECRET else v)
                                               for k, v in self.headers.items()},
                "body": req, "status": resp.status,
                "response": got.decode("utf-8", "replace")}
        with log_lock:
            log_file.write(json.dumps(line) + "\n")

    do_GET = do_POST = relay


server = http.server.ThreadingHTTPServer(("127.0.0.1", listen_port), Handler)
server.daemon_threads = True
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    if len(sys.argv) > 6 and sys.argv[6] == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
