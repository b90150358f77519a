#!/usr/bin/python3
"""sessions.py - many wstaskd sessions through a load balancer, for
tests/cluster/cluster.t (python3-websockets 10.4, asyncio API).

  sessions.py ids N SEED
      N session ids like the browser client makes (UUID version 4), from a
      fixed seed so that the figures of a run can be reproduced.

  sessions.py map [-c CONC] [-t SECS] URL IDFILE
      For each id of IDFILE: connect to URL?session=ID, wait for `ready`,
      run the `backend` handler (it prints the instance's $BACKEND), close
      with 1000.  Prints "ID BACKEND" per id, or "ID error TEXT".  At most
      CONC connections at once (default 30); SECS bounds the whole run
      (default 60).  Exit 0 if every id got its backend, else 1.

  sessions.py hold [-t SECS] URL IDFILE
      One connection per id, all kept open (keep IDFILE short).  Each one
      runs `backend`, then starts batch "hold": one `sleep` task of 60 s
      (it records its pid in $WT_DIR/records).  Prints "ID open BACKEND"
      as each one has its task started, then "opened N".  While they are open, "ID close CODE" whenever the
      server closes one.  Commands on stdin, one a line:
        ask    run `backend` again on every connection still open (which
               cancels its "hold" batch, reason replaced) and print
               "ID answer BACKEND" for each, then "asked N"
        (EOF)  close every open connection with 1000, print "ID closed
               CODE" for each, then "bye", and exit 0
      SECS (default 120) bounds the whole run: then exit 2.
"""

import asyncio
import getopt
import json
import os
import random
import sys
import uuid

import websockets
import websockets.exceptions

STEP_SECS = 10          # bound on each connect / ready / result wait
HOLD_TASK_SECS = 60     # the task each held session runs


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def read_ids(path):
    with open(path, encoding="ascii") as f:
        return [line.strip() for line in f if line.strip()]


def url_for(base, sid):
    return "%s?session=%s" % (base, sid)


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), STEP_SECS))


async def wait_type(ws, want):
    """Messages until one of type `want`; returns it."""
    while True:
        m = await recv_json(ws)
        if m.get("type") == want:
            return m
        if m.get("type") == "error":
            raise RuntimeError("error event: %s" % json.dumps(m))


async def run_backend(ws, batch, inbox=None):
    """Runs the `backend` handler as batch `batch`, returns its value."""
    await ws.send(json.dumps({"type": "run", "batch": batch,
                              "tasks": ["backend"]}))
    while True:
        if inbox is None:
            m = await recv_json(ws)
        else:
            m = await asyncio.wait_for(inbox.get(), STEP_SECS)
            if m is None:
                raise RuntimeError("closed while waiting for the result")
        if m.get("type") == "result" and m.get("batch") == batch:
            if not m.get("ok"):
                raise RuntimeError("backend failed: %s" % json.dumps(m))
            return m.get("value")
        if m.get("type") == "error":
            raise RuntimeError("error event: %s" % json.dumps(m))


async def open_session(base, sid):
    ws = await websockets.connect(url_for(base, sid), open_timeout=STEP_SECS,
                                  close_timeout=5, max_size=None)
    try:
        ready = await wait_type(ws, "ready")
        if ready.get("session") != sid:
            raise RuntimeError("ready for %r" % ready.get("session"))
    except BaseException:
        await ws.close()
        raise
    return ws


# ---------------------------------------------------------------- map

async def map_one(base, sid, sem):
    async with sem:
        try:
            ws = await open_session(base, sid)
            try:
                backend = await run_backend(ws, "who")
            finally:
                await ws.close(1000)
            out("%s %s" % (sid, backend))
            return True
        except (OSError, asyncio.TimeoutError, RuntimeError,
                websockets.exceptions.WebSocketException) as e:
            out("%s error %s" % (sid, (str(e) or type(e).__name__)
                                 .replace("\n", " ")))
            return False


async def do_map(base, ids, conc, secs):
    sem = asyncio.Semaphore(conc)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(map_one(base, sid, sem) for sid in ids)), secs)
    except asyncio.TimeoutError:
        out("timeout")
        return 2
    return 0 if all(results) else 1


# ---------------------------------------------------------------- hold

class Held:
    def __init__(self, sid, ws):
        self.sid = sid
        self.ws = ws
        self.inbox = asyncio.Queue()
        self.open = True

    async def reader(self):
        try:
            async for raw in self.ws:
                self.inbox.put_nowait(json.loads(raw))
        except websockets.exceptions.ConnectionClosed:
            pass
        if self.open:
            self.open = False
            out("%s close %s" % (self.sid, self.ws.close_code))
        self.inbox.put_nowait(None)


async def hold_one(base, sid):
    ws = await open_session(base, sid)
    h = Held(sid, ws)
    backend = await run_backend(ws, "who")
    await ws.send(json.dumps({"type": "run", "batch": "hold", "tasks": [
        {"task": "sleep", "args": HOLD_TASK_SECS}]}))
    await wait_type(ws, "started")
    out("%s open %s" % (sid, backend))
    asyncio.get_running_loop().create_task(h.reader())
    return h


async def ask(held, n):
    async def one(h):
        try:
            value = await run_backend(h.ws, "ask%d" % n, h.inbox)
            out("%s answer %s" % (h.sid, value))
        except (RuntimeError, asyncio.TimeoutError,
                websockets.exceptions.WebSocketException) as e:
            out("%s error %s" % (h.sid, str(e) or type(e).__name__))
    live = [h for h in held if h.open]
    await asyncio.gather(*(one(h) for h in live))
    out("asked %d" % len(live))


async def hold_main(base, ids):
    held = await asyncio.gather(*(hold_one(base, sid) for sid in ids))
    out("opened %d" % len(held))
    loop = asyncio.get_running_loop()
    n = 0
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip() == "ask":
            n += 1
            await ask(held, n)
    for h in held:
        if h.open:
            h.open = False
            await h.ws.close(1000)
            out("%s closed %s" % (h.sid, h.ws.close_code))
    out("bye")
    return 0


async def do_hold(base, ids, secs):
    try:
        return await asyncio.wait_for(hold_main(base, ids), secs)
    except asyncio.TimeoutError:
        out("timeout")
        # The stdin reader thread may be blocked in readline: do not wait.
        os._exit(2)


# ---------------------------------------------------------------- main

def usage():
    sys.stderr.write(__doc__)
    sys.exit(64)


def main(argv):
    if not argv:
        usage()
    cmd, argv = argv[0], argv[1:]
    try:
        opts, args = getopt.getopt(argv, "c:t:")
    except getopt.GetoptError:
        usage()
    opts = dict(opts)
    if cmd == "ids" and len(args) == 2:
        rng = random.Random(int(args[1]))
        for _ in range(int(args[0])):
            out(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        return 0
    if cmd == "map" and len(args) == 2:
        return asyncio.run(do_map(args[0], read_ids(args[1]),
                                  int(opts.get("-c", 30)),
                                  float(opts.get("-t", 60))))
    if cmd == "hold" and len(args) == 2:
        return asyncio.run(do_hold(args[0], read_ids(args[1]),
                                   float(opts.get("-t", 120))))
    usage()
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
