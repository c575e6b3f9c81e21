#!/usr/bin/env python3
"""TLS clients for bench/run that wrk and curl do not cover; bench/run calls them, they are not meant to be run alone.

  tls_client.py hold  --port P --count N --pid PID
      Opens N TLS connections, sends one small GET on each and reads the answer (so the forwarder has dialled the
      guest too), keeps them all open, and prints the resident memory of process PID and its descendants before
      and after, then closes them. Prints one line: "held=N failed=F rss_before_kb=B rss_after_kb=A rss_closed_kb=C".
  tls_client.py first-response --port P --ready FILE
      Creates FILE once it is ready to poll, then tries a TLS GET every few milliseconds until one is answered
      with 200. Prints the wall-clock times (time.time()) of the first accepted TCP connection and of that answer.
"""
import argparse
import os
import selectors
import socket
import ssl
import sys
import time


def client_context():
    # The benchmark's certificate is self-signed: the clients measure the forwarders, not certificate checks.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context


def request(host):
    return f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench\r\n\r\n".encode()


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def rss_kb(pid):
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Held:
    """One connection of the hold mode, moved along by hold()'s event loop: connect, handshake, request, answer."""

    def __init__(self, raw):
        self.sock = raw
        self.state = "connect"
        self.answer = b""


def answered(data):
    """True once data holds a whole HTTP response (headers and Content-Length body); raises on a non-200."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return len(body) >= length


def hold(args):
    # Non-blocking sockets under one selector: the handshakes run in OpenSSL, not in Python's asyncio TLS layer,
    # so this client opens thousands of connections at the speed of the forwarders rather than its own.
    context = client_context()
    message = request(args.host)
    selector = selectors.DefaultSelector()
    held, failures = [], []
    to_open, in_flight = args.count, 0
    deadline = time.monotonic() + args.timeout

    def fail(conn, error):
        nonlocal in_flight
        failures.append(repr(error))
        selector.unregister(conn.sock)
        conn.sock.close()
        in_flight -= 1

    def step(conn):
        nonlocal in_flight
        if conn.state == "connect":
            error = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, os.strerror(error))
            selector.unregister(conn.sock)
            conn.sock = context.wrap_socket(conn.sock, server_hostname=args.host, do_handshake_on_connect=False)
            selector.register(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
            conn.state = "handshake"
        if conn.state == "handshake":
            conn.sock.do_handshake()
            conn.sock.send(message)  # a few dozen bytes: one TLS record, never a partial write
            selector.modify(conn.sock, selectors.EVENT_READ, conn)
            conn.state = "answer"
        if conn.state == "answer":
            while True:
                chunk = conn.sock.recv(4096)
                if not chunk:
                    raise RuntimeError("closed before the answer")
                conn.answer += chunk
                if answered(conn.answer):
                    selector.unregister(conn.sock)
                    held.append(conn.sock)
                    in_flight -= 1
                    return

    before = rss_kb(args.pid)
    while (to_open or in_flight) and time.monotonic() < deadline:
        while to_open and in_flight < args.concurrency:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setblocking(False)
            raw.connect_ex((args.address, args.port))
            selector.register(raw, selectors.EVENT_WRITE, Held(raw))
            to_open -= 1
            in_flight += 1
        for key, _ in selector.select(timeout=1):
            conn = key.data
            try:
                step(conn)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except Exception as e:  # one failed connection is counted, not fatal
                fail(conn, e)
    for key in list(selector.get_map().values()):
        fail(key.data, TimeoutError("not answered in time"))
    failures.extend(["never opened: out of time"] * to_open)
    time.sleep(args.settle)
    after = rss_kb(args.pid)
    for sock in held:
        sock.close()
    time.sleep(args.settle)
    closed = rss_kb(args.pid)
    if failures:
        print(f"{len(failures)} connections failed, first: {failures[0]}", file=sys.stderr)
    print(f"held={len(held)} failed={len(failures)} rss_before_kb={before} rss_after_kb={after} "
          f"rss_closed_kb={closed}")


def first_response(args):
    context = client_context()
    message = request(args.host)
    deadline = time.monotonic() + args.timeout
    accepted = None
    open(args.ready, "w").close()
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((args.address, args.port), timeout=2) as raw:
                if accepted is None:
                    accepted = time.time()
                with context.wrap_socket(raw, server_hostname=args.host) as tls:
                    tls.sendall(message)
                    answer = b""
                    while b"\r\n\r\n" not in answer:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        answer += chunk
                    if answer.startswith(b"HTTP/1.1 200"):
                        print(f"{accepted:.6f} {time.time():.6f}")
                        return 0
        except (OSError, ssl.SSLError):
            pass
        time.sleep(0.003)
    print(f"no answer from {args.address}:{args.port} within {args.timeout} s", file=sys.stderr)
    return 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["hold", "first-response"])
    parser.add_argument("--host", default="app1.vm.localhost")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--settle", type=float, default=0.5)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--ready")
    parser.add_argument("--timeout", type=float, default=60, help="seconds; first-response: 20 is plenty")
    args = parser.parse_args()
    if args.mode == "hold":
        hold(args)
        return 0
    return first_response(args)


if __name__ == "__main__":
    sys.exit(main())
