#!/usr/bin/python3
"""fakewstaskd - a scripted WebSocket server that plays a wstaskd for wstask.

Usage: fakewstaskd.py [-P PROTO] [-S STATUS] [-t SECS] PORTFILE LOG SCRIPT

It listens on 127.0.0.1 (a free port, written to PORTFILE once it is
listening), takes one connection and plays SCRIPT, one command a line:

  send TEXT        one text frame (JSON events, or anything: a bad server)
  recv TYPE        wait for a client message whose "type" is TYPE
  sleep SECS       wait
  close CODE [R]   the closing handshake with CODE and reason R
  drop             cut the TCP connection, no close frame
  # ...            a comment

Every message the client sends goes to LOG, one a line, as received.
-P selects the subprotocol (default wstask.v1, "none" selects none), -S
answers the upgrade with that HTTP status instead, -t bounds the whole run
(default 30 s).  It exits after the script's connection has ended.
"""

import asyncio
import getopt
import http
import json
import os
import sys

import websockets
import websockets.server


class Player:
    def __init__(self, script, log, proto, status):
        self.script = script
        self.log = log
        self.proto = proto
        self.status = status
        self.done = asyncio.Event()

    async def process_request(self, path, headers):
        if self.status:
            return (http.HTTPStatus(self.status), [], b"refused\n")
        return None

    async def recv_until(self, ws, want):
        while True:
            msg = await ws.recv()
            with open(self.log, "a") as f:
                f.write(msg + "\n")
            try:
                if json.loads(msg).get("type") == want:
                    return
            except (ValueError, AttributeError):
                pass

    async def play(self, ws, path):
        try:
            for line in self.script:
                cmd, _, arg = line.partition(" ")
                if cmd == "send":
                    await ws.send(arg)
                elif cmd == "recv":
                    await self.recv_until(ws, arg)
                elif cmd == "sleep":
                    await asyncio.sleep(float(arg))
                elif cmd == "close":
                    code, _, reason = arg.partition(" ")
                    await ws.close(int(code), reason)
                elif cmd == "drop":
                    ws.transport.abort()
                    break
            await ws.wait_closed()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self.done.set()


async def main():
    opts, args = getopt.getopt(sys.argv[1:], "P:S:t:")
    o = dict(opts)
    portfile, log, script_path = args
    with open(script_path) as f:
        script = [l.rstrip("\n") for l in f
                  if l.strip() and not l.startswith("#")]
    open(log, "w").close()
    p = Player(script, log, o.get("-P", "wstask.v1"), int(o.get("-S", 0)))
    server = await websockets.server.serve(
        p.play, "127.0.0.1", 0, process_request=p.process_request,
        subprotocols=None if p.proto == "none" else [p.proto],
        ping_interval=None)
    port = server.sockets[0].getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    try:
        if p.status:
            await asyncio.sleep(float(o.get("-t", 30)))
        else:
            await asyncio.wait_for(p.done.wait(), float(o.get("-t", 30)))
    except asyncio.TimeoutError:
        pass
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
