#!/usr/bin/python3
"""rawframes.py PORT PATH MSG...: after the upgrade, send every MSG as a
masked text frame in ONE write, then print what comes back (each text
frame on a line, then "close CODE") until the server closes or 5 s pass.
A real client could have its frames coalesced like this; wsclient and
python3-websockets write one frame at a time."""
import base64, os, socket, struct, sys

def frame(text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))

def main():
    port, path, msgs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            print("no upgrade")
            return 1
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        print("refused: " + head.split(b"\r\n")[0].decode())
        return 1
    s.sendall(b"".join(frame(m) for m in msgs))
    try:
        while True:
            while len(buf) < 2 or len(buf) < 2 + (buf[1] & 0x7f if buf[1] & 0x7f < 126 else 0):
                chunk = s.recv(65536)
                if not chunk:
                    print("eof")
                    return 0
                buf += chunk
            op, n, off = buf[0] & 0x0f, buf[1] & 0x7f, 2
            if n == 126:
                while len(buf) < 4:
                    buf += s.recv(65536)
                n, off = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                while len(buf) < 10:
                    buf += s.recv(65536)
                n, off = struct.unpack("!Q", buf[2:10])[0], 10
            while len(buf) < off + n:
                chunk = s.recv(65536)
                if not chunk:
                    print("eof")
                    return 0
                buf += chunk
            payload, buf = buf[off:off + n], buf[off + n:]
            if op == 1:
                print(payload.decode())
            elif op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                print("close %d" % code)
                return 0
    except socket.timeout:
        print("timeout")
        return 0

sys.exit(main())
