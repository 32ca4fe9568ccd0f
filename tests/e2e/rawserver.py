"""Adversarial HTTP servers for the e2e cases: a socket-level server on 127.0.0.1 (a free
port) that answers each request with scripted raw bytes, so a test can send what no
well-behaved server would (a head split at every byte, a body longer or shorter than its
Content-Length, a close in the middle of a head, garbage instead of a status line).

    def script(req):            # req: .n (index over the server's life), .conn, .nth
        return [b"HTTP/1.1 429 Too Many\\r\\nContent-Length: 0\\r\\n\\r\\n"]
    with RawServer(script) as s:
        ... replay(trace, s.url, ...)

A script returns a list of steps: bytes are written (each as its own send, with
TCP_NODELAY, so they leave as separate segments), a float sleeps that many seconds,
CLOSE closes the connection, and HOLD keeps it open without answering until the server
stops. After the last step the connection stays open for the next request (keep-alive)
unless a step closed it. Every socket is closed when the server stops; the accept loop and
the connection threads are daemons bounded by the test's own timeout. backlog and
accept_after (seconds before the first accept) make a server whose listen queue fills;
head_only answers after the request head without reading the body (then closes), and a
small rcvbuf makes a large body stall in the client's send.
"""
import socket
import threading
import time

CLOSE = object()
HOLD = object()


class Request:
    def __init__(self, n, conn, nth, head, body):
        self.n = n          # index over all requests this server received
        self.conn = conn    # index of the connection
        self.nth = nth      # index of the request on its connection
        self.head = head
        self.body = body


class RawServer:
    def __init__(self, script, backlog=128, accept_after=0.0, rcvbuf=0, head_only=False):
        self.script = script
        self.lock = threading.Lock()
        self.count = 0
        self.conns = 0
        self.requests = []
        self.socks = []
        self.stopping = threading.Event()
        self.accept_after = accept_after
        self.head_only = head_only
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:  # inherited by accepted sockets: a client's large body stops early
            self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(backlog)
        self.port = self.ls.getsockname()[1]
        self.url = "127.0.0.1:%d" % self.port
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        # A server too busy to accept: with a small backlog, the kernel drops the SYNs
        # that find the accept queue full and clients retransmit them (1 s, then 3 s).
        if self.stopping.wait(self.accept_after):
            return
        self.ls.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                idx = self.conns
                self.conns += 1
                self.socks.append(c)
            threading.Thread(target=self._serve, args=(c, idx), daemon=True).start()

    def _read_request(self, c, buf):
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return None, buf
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        if self.head_only:  # answer before reading the body (then close: see _serve)
            return Request(0, 0, 0, head, b""), b""
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v.strip())
        while len(rest) < n:
            d = c.recv(65536)
            if not d:
                return None, b""
            rest += d
        return Request(0, 0, 0, head, rest[:n]), rest[n:]

    def _serve(self, c, idx):
        buf = b""
        nth = 0
        try:
            while not self.stopping.is_set():
                req, buf = self._read_request(c, buf)
                if req is None:
                    return
                with self.lock:
                    req.n = self.count
                    self.count += 1
                    self.requests.append(req)
                req.conn, req.nth = idx, nth
                nth += 1
                for step in self.script(req):
                    if step is CLOSE:
                        c.close()
                        return
                    if step is HOLD:
                        self.stopping.wait()
                        return
                    if isinstance(step, (int, float)):
                        time.sleep(step)
                    else:
                        c.sendall(step)
                if self.head_only:
                    self.stopping.wait(1.0)  # let the client read before the close
                    return
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def stop(self):
        self.stopping.set()
        try:
            self.ls.close()
        except OSError:
            pass
        with self.lock:
            for c in self.socks:
                try:
                    c.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv
                    c.close()
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


# A stock non-streaming chat completion, for scripts that only collect what was sent.
CHAT_OK = (b'{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": '
           b'[{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": '
           b'"stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}')


def chat_answer(req):
    """A script: CHAT_OK to POST /v1/chat/completions, 404 to anything else."""
    if not req.head.startswith(b"POST /v1/chat/completions"):
        return [b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"]
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(CHAT_OK) + CHAT_OK]
