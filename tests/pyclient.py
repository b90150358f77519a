#!/usr/bin/python3
"""pyclient - python3-websockets (10.4, asyncio API) twin of tests/wsclient.c.

Usage: pyclient.py [-t SECS] [-o ORIGIN] [-p PROTOCOLS] [-u UNIXSOCK] [-T] [-k]
                   URL

Same options, stdin commands, output lines and exit statuses as wsclient:

  send TEXT | sendfile PATH | binary TEXT | frag N TEXT | close [CODE [REASON]]
  (stdin EOF acts as "close 1000")

Output (stdout, flushed per line): "open proto=NAME", each text message
(newlines shown as \\n), "binary LEN", "close CODE REASON", "status NNN",
"error TEXT", "timeout".  Exit 0: was open and has ended; 1: never opened;
2: the -t timeout expired.
"""

import asyncio
import base64
import getopt
import logging
import os
import select
import signal
import ssl
import stat
import sys
import time

import websockets
import websockets.client
import websockets.exceptions
import websockets.uri

USAGE = ("usage: pyclient.py [-t SECS] [-o ORIGIN] [-p PROTOCOLS] [-a USER:PASS]"
         " [-u UNIXSOCK] [-T] [-k] URL")
MAX_REASON = 123        # close reason limit in bytes (RFC 6455)
LINE_LIMIT = 1 << 30    # longest stdin command line


class Opts:
    """Parsed command line."""

    def __init__(self, argv):
        self.timeout = 30.0
        self.origin = self.protocols = self.unixsock = self.auth = None
        self.stamp = self.insecure = False
        try:
            optlist, args = getopt.getopt(argv, "t:o:p:u:a:Tk")
        except getopt.GetoptError as e:
            usage(str(e))
        for opt, val in optlist:
            self.set_opt(opt, val)
        if len(args) != 1:
            usage()
        self.url = args[0]
        try:
            self.uri = websockets.uri.parse_uri(self.url)
        except (websockets.exceptions.InvalidURI, ValueError):
            usage("bad URL: " + self.url)

    def set_opt(self, opt, val):
        if opt == "-t":
            try:
                self.timeout = float(val)
            except ValueError:
                usage()
            if not 0 < self.timeout <= 1e6:
                usage()
        elif opt == "-o":
            self.origin = val
        elif opt == "-p":
            self.protocols = val
        elif opt == "-u":
            self.unixsock = val
        elif opt == "-a":
            self.auth = val
        elif opt == "-T":
            self.stamp = True
        elif opt == "-k":
            self.insecure = True


def usage(msg=None):
    if msg:
        print("pyclient: " + msg, file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(1)


def warn(msg):
    print("pyclient: " + msg, file=sys.stderr, flush=True)


class Out:
    """One line per event on stdout, flushed at once."""

    def __init__(self, stamp):
        self.stamp = stamp
        self.broken = False
        self.file = open(1, "wb", closefd=False)  # sys.stdout may be None

    def line(self, text):
        prefix = "%d " % (time.time_ns() // 1000) if self.stamp else ""
        data = prefix + text.replace("\n", "\\n") + "\n"
        try:
            self.file.write(data.encode("utf-8", "surrogateescape"))
            self.file.flush()
        except OSError as e:
            if not self.broken:
                self.broken = True
                warn("write(stdout): " + e.strerror)


class State:
    """What the tasks share."""

    def __init__(self, opts):
        self.opts = opts
        self.out = Out(opts.stamp)
        self.queue = asyncio.Queue()
        self.ws = None
        self.opened = False
        self.close_queued = False


# ---------------------------------------------------------------- stdin

def arg_after(line, word):
    """The argument if line is `word` or `word ARG`, else None."""
    if line == word:
        return b""
    if line.startswith(word + b" "):
        return line[len(word) + 1:]
    return None


def text(data):
    return data.decode("utf-8", "replace")


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def frag_chunks(msg, n):
    """n frames on the wire: send() adds an empty final frame itself."""
    k = n - 1
    size = len(msg)
    return [msg[i * size // k:(i + 1) * size // k] for i in range(k)]


def cut_reason(reason):
    raw = reason.encode("utf-8")
    if len(raw) <= MAX_REASON:
        return reason
    warn("close reason cut to %d bytes" % MAX_REASON)
    return raw[:MAX_REASON].decode("utf-8", "ignore")


def valid_close_code(code):
    return code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                    1011, 1012, 1013, 1014) or 3000 <= code < 5000


def parse_close(arg):
    if not arg:
        return ("close", 1000, "")
    code, _, reason = arg.partition(b" ")
    if not code.isdigit() or not valid_close_code(int(code)):
        warn("bad close code: " + text(arg))
        return None
    return ("close", int(code), cut_reason(text(reason)))


def parse_frag(arg):
    count, sep, msg = arg.partition(b" ")
    if not count.isdigit() or not 1 <= int(count) <= 1000000:
        warn("bad frag count: " + text(arg))
        return None
    return ("frag", int(count), text(msg))


async def parse_line(line):
    """A command tuple for the sender, or None."""
    arg = arg_after(line, b"send")
    if arg is not None:
        return ("text", text(arg))
    arg = arg_after(line, b"sendfile")
    if arg:
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(None, read_file,
                                              os.fsdecode(arg))
        except OSError as e:
            warn("open/read(%s): %s" % (os.fsdecode(arg), e.strerror))
            return None
        return ("text", text(data))
    arg = arg_after(line, b"binary")
    if arg is not None:
        return ("binary", bytes(arg))
    arg = arg_after(line, b"frag")
    if arg is not None:
        return parse_frag(arg)
    arg = arg_after(line, b"close")
    if arg is not None:
        return parse_close(arg)
    warn("unknown command: " + text(line))
    return None


async def handle_line(st, line):
    if line.endswith(b"\n"):
        line = line[:-1]
    if not line:
        return
    if st.close_queued:
        warn("ignored after close: " + text(line))
        return
    cmd = await parse_line(line)
    if cmd is None:
        return
    st.close_queued = cmd[0] == "close"
    st.queue.put_nowait(cmd)


async def pipe_lines(loop):
    """Lines from a pipe, FIFO, socket or tty on fd 0, via the event loop."""
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    pipe = os.fdopen(0, "rb", buffering=0, closefd=False)
    blocking = os.get_blocking(0)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            yield line
    finally:
        transport.close()
        os.set_blocking(0, blocking)    # fd 0 may be shared with a shell


def pollable(fd):
    """Can epoll watch fd?  Not regular files, nor /dev/null."""
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        with select.epoll() as ep:
            ep.register(fd, select.EPOLLIN)
        return True
    except PermissionError:
        return False


async def file_lines(loop):
    """Lines from a regular file (or /dev/null) on fd 0, in a thread."""
    f = os.fdopen(0, "rb", closefd=False)
    while True:
        line = await loop.run_in_executor(None, f.readline)
        if not line:
            return
        yield line


async def read_stdin(st):
    loop = asyncio.get_running_loop()
    try:
        watch = pollable(0)
    except OSError as e:
        warn("stdin: " + e.strerror)
    else:
        lines = pipe_lines(loop) if watch else file_lines(loop)
        try:
            async for line in lines:
                await handle_line(st, line)
        except (OSError, ValueError) as e:
            warn("read(stdin): %s" % e)
    if not st.close_queued:
        st.close_queued = True
        st.queue.put_nowait(("close", 1000, ""))


# ---------------------------------------------------------------- websocket

class NoRedirectProtocol(websockets.client.WebSocketClientProtocol):
    """Report a redirect as "status 3xx", as wsclient does, not follow it."""

    async def read_http_response(self):
        self.last_response = await super().read_http_response()
        return self.last_response

    async def handshake(self, *args, **kwargs):
        try:
            return await super().handshake(*args, **kwargs)
        except websockets.exceptions.RedirectHandshake:
            raise websockets.exceptions.InvalidStatusCode(
                *self.last_response) from None


def connect_args(opts):
    kw = dict(ping_interval=None, max_size=None, compression=None,
              open_timeout=None, create_protocol=NoRedirectProtocol)
    if opts.origin is not None:
        kw["origin"] = opts.origin
    if opts.auth is not None:
        token = base64.b64encode(opts.auth.encode()).decode()
        kw["extra_headers"] = {"Authorization": "Basic " + token}
    if opts.protocols is not None:
        kw["subprotocols"] = [p.strip() for p in opts.protocols.split(",")
                              if p.strip()]
    if opts.uri.secure and opts.insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        kw["ssl"] = ctx
    return kw


async def open_ws(opts):
    kw = connect_args(opts)
    if opts.unixsock is not None:
        return await websockets.unix_connect(opts.unixsock, opts.url, **kw)
    return await websockets.connect(opts.url, **kw)


async def send_one(ws, cmd):
    """Send one command; False once the close has been sent."""
    kind = cmd[0]
    if kind == "close":
        await ws.close(cmd[1], cmd[2])
        return False
    if kind == "frag" and cmd[1] > 1:
        await ws.send(frag_chunks(cmd[2], cmd[1]))
    elif kind == "frag":
        await ws.send(cmd[2])
    else:
        await ws.send(cmd[1])
    return True


async def sender(st):
    try:
        while await send_one(st.ws, await st.queue.get()):
            pass
    except websockets.exceptions.ConnectionClosed:
        pass


async def receiver(st):
    try:
        while True:
            msg = await st.ws.recv()
            if isinstance(msg, str):
                st.out.line(msg)
            else:
                st.out.line("binary %d" % len(msg))
    except websockets.exceptions.ConnectionClosed:
        pass


async def session(st):
    """Connect, run until the connection ends; returns the exit status."""
    try:
        st.ws = await open_ws(st.opts)
    except websockets.exceptions.InvalidStatusCode as e:
        st.out.line("status %d" % e.status_code)
        st.out.line("error %s" % e)
        return 1
    except (OSError, websockets.exceptions.WebSocketException,
            asyncio.TimeoutError) as e:
        st.out.line("error %s" % (str(e) or type(e).__name__))
        return 1
    st.opened = True
    st.out.line("open proto=%s" % (st.ws.subprotocol or ""))
    send_task = asyncio.create_task(sender(st))
    try:
        await receiver(st)
        await st.ws.wait_closed()
    finally:
        send_task.cancel()
        await asyncio.gather(send_task, return_exceptions=True)
    st.out.line("close %d %s" % (st.ws.close_code or 1006,
                                 st.ws.close_reason or ""))
    return 0


async def amain(opts):
    loop = asyncio.get_running_loop()
    st = State(opts)
    stop = loop.create_future()

    def halt(why):
        if not stop.done():
            stop.set_result(why)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, halt, "signal")
    loop.call_later(opts.timeout, halt, "timeout")
    stdin_task = asyncio.create_task(read_stdin(st))
    ws_task = asyncio.create_task(session(st))
    await asyncio.wait([ws_task, stop], return_when=asyncio.FIRST_COMPLETED)
    if ws_task.done():
        status = ws_task.result()
    elif stop.result() == "timeout":
        st.out.line("timeout")
        status = 2
    else:
        status = 0 if st.opened else 1
    if st.ws is not None and st.ws.transport is not None:
        st.ws.transport.abort()
    for task in (stdin_task, ws_task):
        task.cancel()
    await asyncio.gather(stdin_task, ws_task, return_exceptions=True)
    return status


def guard_std_fds():
    """A closed fd 0, 1 or 2 would be reused by asyncio: put /dev/null there."""
    for fd in range(3):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)


def main():
    guard_std_fds()
    opts = Opts(sys.argv[1:])
    if os.environ.get("WSCLIENT_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    sys.exit(asyncio.run(amain(opts)))


if __name__ == "__main__":
    main()
