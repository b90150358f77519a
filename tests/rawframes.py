#!/usr/bin/python3
"""rawframes.py [-u TEXT] PORT PATH MSG...: after the upgrade, send every
MSG as a masked text frame in ONE write, then print what comes back (each
text frame on a line, then "close CODE") until the server closes, a text
frame holds TEXT, or 5 s pass.  A MSG's bytes go as they are, invalid
UTF-8 included.  A real client could have its frames coalesced like
this; wsclient and python3-websockets write one frame at a time, and
neither sends invalid UTF-8."""
import os, socket, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsraw import close_code, frame, parse, upgrade


def main():
    args, until = sys.argv[1:], None
    if args[:1] == ["-u"]:
        until, args = os.fsencode(args[1]), args[2:]
    port, path, msgs = int(args[0]), args[1], args[2:]
    s, buf = upgrade(port, path)
    if s is None:
        print(buf)
        return 1
    s.sendall(b"".join(frame(1, os.fsencode(m)) for m in msgs))
    try:
        while True:
            f = parse(buf)
            if f is None:
                chunk = s.recv(65536)
                if not chunk:
                    print("eof")
                    return 0
                buf += chunk
                continue
            op, payload, buf = f
            if op == 1:
                print(payload.decode("utf-8", "replace"), flush=True)
                if until is not None and until in payload:
                    return 0
            elif op == 8:
                print("close %d" % close_code(payload))
                return 0
    except socket.timeout:
        print("timeout")
        return 0


sys.exit(main())
