"""wsraw.py: the bare WebSocket client pieces the raw test clients share
(rawframes.py, rawping.py).  Raw, because the client libraries will not
coalesce frames, ignore pings or send what a hostile client sends."""
import base64, os, socket, struct


def frame(op, data):
    """One masked, final frame of opcode op."""
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x80 | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def parse(buf):
    """One complete frame from buf: (op, payload, rest), or None."""
    if len(buf) < 2:
        return None
    n, off = buf[1] & 0x7f, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, off = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, off = struct.unpack("!Q", buf[2:10])[0], 10
    if len(buf) < off + n:
        return None
    return buf[0] & 0x0f, buf[off:off + n], buf[off + n:]


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


def upgrade(port, path, timeout=5):
    """Connects to 127.0.0.1:port and upgrades on path: (socket, bytes that
    came after the 101), or (None, the status line) when refused."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            s.close()
            return None, "no upgrade"
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n")[0].decode()
    if " 101 " not in status:
        s.close()
        return None, "refused: " + status
    return s, buf
