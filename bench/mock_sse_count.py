"""A purpose-built SSE consumer for bench/mock_wrk.sh: sends one streaming chat request
per connection and discards the bytes with recv_into (no parsing: the client must not be
the bottleneck), until the terminating chunk. Prints the bytes received.
   python3 mock_sse_count.py PORT CONNECTIONS TOKENS"""
import json
import selectors
import socket
import sys

port, nconn, tokens = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": True,
                   "max_tokens": tokens}).encode()
req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
sel = selectors.DefaultSelector()
for _ in range(nconn):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
buf = bytearray(1 << 20)
view = memoryview(buf)
total, open_ = 0, nconn
while open_:
    for key, _ in sel.select():
        try:
            n = key.fileobj.recv_into(view)
        except BlockingIOError:
            continue
        if n == 0:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            open_ -= 1
        total += n
print(total)
