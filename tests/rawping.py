#!/usr/bin/python3
"""rawping.py PORT PATH MODE [SECS]: a raw WebSocket client that never
answers pings, to test liveness (SPEC 2.5).

  silent  after the upgrade, send nothing at all;
  chatty  send {"type":"cancel"} every 0.5 s (proof of life by messages).

It runs until the server closes the connection or SECS (default 8) pass,
then prints, one per line:
  "text N"          number of text frames received
  "pings N"         number of ping frames (opcode 9) received
  "first-ping T"    seconds from the upgrade to the first ping (if any)
  "sent N"          number of messages sent
  "closed-at T"     seconds from the upgrade to the server's close frame
                    or EOF (then "close CODE" or "eof"), or
  "open-at T"       the connection was still open after SECS seconds.
Times have two decimals."""
import os, select, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsraw import close_code, frame, parse, upgrade


def main():
    port, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 8.0
    if mode not in ("silent", "chatty"):
        print("bad mode " + mode)
        return 2
    s, buf = upgrade(port, path)
    if s is None:
        print(buf)
        return 1
    t0 = time.monotonic()
    s.setblocking(False)
    texts = pings = sent = 0
    first_ping = None
    end = None
    next_send = t0 + 0.5
    while True:
        now = time.monotonic()
        if now - t0 >= secs:
            break
        if mode == "chatty" and now >= next_send:
            s.sendall(frame(1, b'{"type":"cancel"}'))
            sent += 1
            next_send += 0.5
        wait = min(t0 + secs, next_send if mode == "chatty" else t0 + secs) - now
        # Frames that came with the 101 response are in buf already.
        while True:
            f = parse(buf)
            if f is None:
                break
            op, payload, buf = f
            if op == 1:
                texts += 1
            elif op == 9:
                pings += 1
                if first_ping is None:
                    first_ping = time.monotonic() - t0
            elif op == 8:
                end = "close %d" % close_code(payload)
                break
        if end:
            break
        r, _, _ = select.select([s], [], [], max(wait, 0))
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except BlockingIOError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            end = "eof"
            break
        buf += chunk
    t = time.monotonic() - t0
    print("text %d" % texts)
    print("pings %d" % pings)
    if first_ping is not None:
        print("first-ping %.2f" % first_ping)
    print("sent %d" % sent)
    if end:
        print("closed-at %.2f" % t)
        print(end)
    else:
        print("open-at %.2f" % t)
        try:
            s.setblocking(True)
            s.sendall(frame(8, struct.pack("!H", 1000)))
        except OSError:
            pass
    s.close()
    return 0


sys.exit(main())
