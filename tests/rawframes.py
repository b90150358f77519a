#!/usr/bin/python3
"""rawframes.py PORT PATH MSG...: after the upgrade, send every MSG as a
masked text frame in ONE write, then print what comes back (each text
frame on a line, then "close CODE") until the server closes or 5 s pass.
A real client could have its frames coalesced like this; wsclient and
python3-websockets write one frame at a time."""
import os, socket, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsraw import close_code, frame, parse, upgrade


def main():
    port, path, msgs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    s, buf = upgrade(port, path)
    if s is None:
        print(buf)
        return 1
    s.sendall(b"".join(frame(1, m.encode()) for m in msgs))
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
                print(payload.decode())
            elif op == 8:
                print("close %d" % close_code(payload))
                return 0
    except socket.timeout:
        print("timeout")
        return 0


sys.exit(main())
