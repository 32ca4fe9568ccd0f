"""Five hostile /metrics targets on 127.0.0.1, one per port (printed on one line, in this
order): garbage, an endless body, 100k series, a 1 GB line, a hang. Each connection is
served for at most 60 s, and the whole server exits after LIFETIME seconds (argv[1],
default 120), so nothing outlives a test that forgot it.
    python3 hostile_metrics.py [LIFETIME]
"""
import socket, sys, threading, time

MODES = ["garbage", "endless", "series", "huge_line", "hang"]
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\r\n"


def serve(conn, mode):
    conn.settimeout(60)
    end = time.monotonic() + 60
    try:
        conn.recv(4096)
        if mode == "hang":
            while time.monotonic() < end and conn.recv(4096):
                pass
            return
        conn.sendall(HEAD)
        if mode == "garbage":
            conn.sendall(b"<html>\x01\x02 not metrics {{{\n\xff\xfe</html>\n")
        elif mode == "endless":  # comment lines forever: a valid page that never ends
            piece = b"# x\n" * 16384
            while time.monotonic() < end:
                conn.sendall(piece)
        elif mode == "series":
            conn.sendall(b"# TYPE m gauge\n")
            batch = []
            for i in range(100000):
                batch.append(b'm{i="%d"} 1\n' % i)
                if len(batch) == 5000:
                    conn.sendall(b"".join(batch))
                    batch = []
        elif mode == "huge_line":  # 1 GB without a newline
            piece = b"a" * (1 << 20)
            for _ in range(1024):
                if time.monotonic() > end:
                    break
                conn.sendall(piece)
    except OSError:
        pass
    finally:
        conn.close()


def listen(mode, lst):
    while True:
        try:
            c, _ = lst.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(c, mode), daemon=True).start()


socks = []
for m in MODES:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    socks.append(s)
    threading.Thread(target=listen, args=(m, s), daemon=True).start()
print(" ".join(str(s.getsockname()[1]) for s in socks), flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 120)
