#!/usr/bin/python3
"""rawhttp.py [-w MSG] PORT REQUEST...: each REQUEST's bytes, as they are,
on one connection to 127.0.0.1:PORT; print everything that comes back,
carriage returns dropped.  Before each next REQUEST the answer's head and
whatever follows it within 0.3 s are read (so a body a HEAD must not have
is seen); after the last, until the server closes or 3 s pass, or until
the end of the head when it is a 101.  With -w, after a 101, MSG goes in
a text frame and the first text frame that comes back is printed.  Raw,
because curl reads no body after a HEAD and takes out what it cannot
parse."""
import os, socket, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsraw import frame, parse


def read_head(s, buf):
    """buf plus what comes until a blank line ends a head, or EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def read_for(s, secs):
    """What comes within secs, or until EOF."""
    out, end = b"", time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return out
        except ConnectionResetError:
            return out + b"[reset]"
        if not chunk:
            return out
        out += chunk


def websocket_reply(s, msg, buf):
    s.sendall(frame(1, os.fsencode(msg)))
    s.settimeout(5)
    while True:
        f = parse(buf)
        if f is not None:
            op, payload, buf = f
            if op == 1:
                return payload
            continue
        chunk = s.recv(65536)
        if not chunk:
            return b"[closed]"
        buf += chunk


def main():
    args, msg = sys.argv[1:], None
    if args[:1] == ["-w"]:
        msg, args = args[1], args[2:]
    port, requests = int(args[0]), [os.fsencode(a) for a in args[1:]]
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    out = b""
    for i, req in enumerate(requests):
        s.sendall(req)
        head = read_head(s, b"")
        if b" 101 " in head.split(b"\r\n", 1)[0]:
            top, rest = head.split(b"\r\n\r\n", 1)
            out += top + b"\r\n\r\n"
            if msg is not None:
                out += websocket_reply(s, msg, rest) + b"\n"
            break
        last = i == len(requests) - 1
        out += head + read_for(s, 3 if last else 0.3)
    s.close()
    sys.stdout.buffer.write(out.replace(b"\r", b""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
