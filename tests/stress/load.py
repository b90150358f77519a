#!/usr/bin/python3
"""load.py - load generator and hostile clients for tests/stress/*.t
(python3-websockets 10.4, asyncio API; raw sockets where a well-behaved
library would refuse to misbehave).

Every mode prints its figures as "key=value" lines (and "bad ..." lines
for anything unexpected) on stdout; the .t files check them.  Every loop
is bounded in count and in time.  Times are CLOCK_MONOTONIC, the clock of
tests/handlers/monorec, so client and handler records can be compared.

  storm     N clients open M connections in all over S session ids, each
            running a batch of monorec tasks; writes one JSON line per
            connection to --log.
  check     the invariant of SPEC 1 from monorec's records and the storm's
            connection log (run once every handler has ended).
  soak      S sessions connect, run, cancel, replace and leave in a loop,
            in phases; after each phase, a quiet point (only the spare
            workers left) where the supervisor's RSS and fd count are
            sampled.
  maxsess   N connection attempts at once: each is a session or a 503.
  idle      N TCP sockets that never send a byte; when does the daemon
            close each one?  A real session is run meanwhile.
  flood     `run` messages at a fixed rate on one connection, reading
            every event; another session runs batches meanwhile.
  raw       one hostile client, by scenario: utf8, utf8frag, bigmsg,
            fragbig, frag, noread, floodnoread.
"""

import argparse
import asyncio
import base64
import json
import os
import random
import re
import socket
import statistics
import struct
import sys
import threading
import time

import websockets
import websockets.exceptions

STEP = 20.0             # bound on any single wait for the daemon


def mono_us():
    return int(time.monotonic() * 1e6)


def say(*parts):
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def figures(prefix=None, **kv):
    for k, v in kv.items():
        if isinstance(v, float):
            v = "%.3f" % v
        say("%s%s=%s" % (prefix + "_" if prefix else "", k, v))


def pct(values, p):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# ---------------------------------------------------------------- /proc

def status_kb(pid, key):
    """A kB field of /proc/PID/status (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def fork_server(pid):
    """Whether pid is titled as a supervisor's fork server."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"fork server" in f.read()
    except OSError:
        return False


def children(ppid):
    """[(pid, state)] of the processes whose parent is ppid, but for the
    supervisor's fork server: its workers (and their zombies)."""
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == ppid and not fork_server(int(name)):
            kids.append((int(name), fields[0]))
    return kids


def worker_pid(log, session, timeout=STEP):
    """The pid the supervisor granted session to last, from its log."""
    pat = re.compile(r"event=grant session=%s pid=(\d+)" % re.escape(session))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid = None
        with open(log, errors="replace") as f:
            for line in f:
                m = pat.search(line)
                if m:
                    pid = int(m.group(1))
        if pid:
            return pid
        time.sleep(0.02)
    return None


def log_count(log, regex):
    pat = re.compile(regex)
    with open(log, errors="replace") as f:
        return sum(1 for line in f if pat.search(line))


class Sampler:
    """Samples VmRSS (and, for the supervisor, fds and workers) of some
    pids every `every` seconds in a thread; keeps the peaks."""

    def __init__(self, every=0.25, sup=None, pids=(), workers=False):
        self.every, self.sup, self.pids = every, sup, list(pids)
        self.workers = workers
        self.peak_rss = {}
        self.last_hwm = {}
        self.peak_fds = self.peak_workers = 0
        self.samples = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def add(self, pid):
        self.pids.append(pid)

    def once(self):
        self.samples += 1
        for pid in ([self.sup] if self.sup else []) + self.pids:
            rss = status_kb(pid, "VmRSS")
            if rss is not None:
                self.peak_rss[pid] = max(self.peak_rss.get(pid, 0), rss)
                hwm = status_kb(pid, "VmHWM")
                if hwm is not None:
                    self.last_hwm[pid] = hwm
        if self.sup:
            n = fd_count(self.sup)
            if n:
                self.peak_fds = max(self.peak_fds, n)
            if self.workers:
                self.peak_workers = max(self.peak_workers,
                                        len(children(self.sup)))

    def run(self):
        while not self.stop_ev.is_set():
            self.once()
            self.stop_ev.wait(self.every)

    def stop(self):
        self.stop_ev.set()
        self.thread.join(5)


def connect(url, **kw):
    args = dict(ping_interval=None, close_timeout=5, max_size=None,
                compression=None, open_timeout=STEP)
    args.update(kw)
    return websockets.connect(url, **args)


async def recv_json(ws, timeout=STEP):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, pred, timeout=STEP, seen=None):
    """Events until pred(event) holds; returns that event."""
    end = time.monotonic() + timeout
    while True:
        ev = await recv_json(ws, max(0.01, end - time.monotonic()))
        if seen is not None:
            seen.append(ev)
        if pred(ev):
            return ev


# ---------------------------------------------------------------- storm

def monorec_tasks(n, conn, run, clean):
    return [{"id": str(i), "task": "monorec",
             "args": {"conn": conn, "run": run, "clean": clean}}
            for i in range(n)]


async def storm_one(a, k):
    sid = "storm-%d" % (k % a.sessions)
    cid = "c%d" % k
    hello = random.random() < a.hello
    r = dict(conn=cid, session=sid, t_open=mono_us(), t_ready=None,
             t_end=None, code=None, reason="", we_closed=False,
             aborted=False, hello=hello, started=0, cancelled=None,
             err=None, events={})
    run = json.dumps({"type": "run", "batch": "b",
                      "tasks": monorec_tasks(a.tasks, cid, 30, a.clean)})
    try:
        ws = await connect(a.url if hello else
                           "%s?session=%s" % (a.url, sid))
    except Exception as e:     # anything: it is reported, not raised
        r["err"] = "connect: %s" % (repr(e))
        r["t_end"] = mono_us()
        return r
    try:
        if hello:
            await ws.send(json.dumps({"type": "hello", "session": sid}))
        await ws.send(run)
        hold_until = None
        give_up = time.monotonic() + a.wait
        while True:
            if hold_until is None:
                timeout = max(0.0, give_up - time.monotonic())
            else:
                timeout = max(0.0, hold_until - time.monotonic())
            try:
                ev = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            except asyncio.TimeoutError:
                if hold_until is None:
                    r["err"] = "no ready within %.0f s" % a.wait
                    ws.transport.abort()
                elif random.random() < a.abort:
                    r["aborted"] = True     # the client vanishes
                    ws.transport.abort()
                else:
                    r["we_closed"] = True
                    await ws.close(1000)
                break
            t = ev.get("type")
            r["events"][t] = r["events"].get(t, 0) + 1
            if t == "ready":
                r["t_ready"] = mono_us()
                hold_until = time.monotonic() + random.uniform(a.hold_min,
                                                               a.hold_max)
            elif t == "started":
                r["started"] += 1
            elif t == "cancelled":
                r["cancelled"] = ev.get("reason")
    except websockets.exceptions.ConnectionClosed:
        pass
    except Exception as e:
        r["err"] = "session: %r" % (e,)
    try:
        await asyncio.wait_for(ws.wait_closed(), 10)
    except asyncio.TimeoutError:
        r["err"] = r["err"] or "no close within 10 s"
        ws.transport.abort()
    r["code"], r["reason"] = ws.close_code, ws.close_reason
    r["t_end"] = mono_us()
    return r


def storm_outcome(r):
    if r["err"]:
        return "bad"
    if r["code"] == 4001:
        return "superseded_after_ready" if r["t_ready"] else \
            "superseded_before_ready"
    if r["we_closed"] and r["code"] == 1000 and r["t_ready"]:
        return "closed_by_client"
    if r["aborted"] and r["t_ready"]:
        return "aborted_by_client"
    return "bad"


async def storm(a):
    random.seed(a.seed)
    results = []
    state = {"next": 0}
    deadline = time.monotonic() + a.secs
    sampler = Sampler(0.25, sup=a.pid, workers=True).start() if a.pid \
        else None

    async def client():
        while state["next"] < a.conns and time.monotonic() < deadline:
            k = state["next"]
            state["next"] += 1
            results.append(await storm_one(a, k))
            await asyncio.sleep(random.uniform(0, a.think))

    t0 = time.monotonic()
    await asyncio.gather(*(client() for _ in range(a.clients)))
    dt = time.monotonic() - t0
    if sampler:
        sampler.stop()
    with open(a.log, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    outcome = {}
    for r in results:
        o = storm_outcome(r)
        outcome[o] = outcome.get(o, 0) + 1
        if o == "bad":
            say("bad conn=%s session=%s ready=%s code=%s reason=%r "
                "we_closed=%s err=%s events=%s" % (
                    r["conn"], r["session"], bool(r["t_ready"]), r["code"],
                    r["reason"], r["we_closed"], r["err"],
                    json.dumps(r["events"])))
    lat = [(r["t_end"] - r["t_open"]) / 1000 for r in results]
    figures("storm", clients=a.clients, conns=len(results),
            sessions=a.sessions, secs=dt, conns_per_s=len(results) / dt,
            ready=sum(1 for r in results if r["t_ready"]),
            started_events=sum(r["started"] for r in results),
            cancelled_superseded=sum(1 for r in results
                                     if r["cancelled"] == "superseded"),
            conn_ms_median=statistics.median(lat) if lat else 0,
            conn_ms_max=max(lat) if lat else 0)
    figures("storm", hello=sum(1 for r in results if r["hello"]))
    for o in ("superseded_after_ready", "closed_by_client",
              "aborted_by_client", "superseded_before_ready", "bad"):
        figures("storm", **{o: outcome.get(o, 0)})
    if sampler:
        figures("storm", sup_peak_rss_kb=sampler.peak_rss.get(a.pid, 0),
                sup_peak_fds=sampler.peak_fds,
                peak_workers=sampler.peak_workers)


# ---------------------------------------------------------------- check

def check(a):
    """The invariant, from the handlers' records and the clients' log."""
    tasks = {}
    for line in open(a.records):
        f = line.split()
        if len(f) != 8 or f[0] not in ("start", "term", "end"):
            continue
        kind, pid, sess, _batch, tid, usec, conn, ppid = f
        t = tasks.setdefault(int(pid), dict(session=sess, conn=conn, id=tid,
                                            ppid=int(ppid)))
        t[kind] = int(usec)
    conns = {}
    if a.log:
        for line in open(a.log):
            r = json.loads(line)
            conns[r["conn"]] = r
    bad = 0

    def violation(text):
        nonlocal bad
        bad += 1
        if bad <= 20:
            say("bad " + text)

    holders = {}                # (session, conn) -> [start, end, ppids]
    missing = term = 0
    for pid, t in tasks.items():
        if "start" not in t:
            violation("task pid=%d has records but no start" % pid)
            continue
        if "term" in t:
            term += 1
        if "end" not in t:
            missing += 1
            violation("task pid=%d session=%s conn=%s started but has no "
                      "end record (killed, not cleaned up?)" % (
                          pid, t["session"], t["conn"]))
            end = float("inf")
        else:
            end = t["end"]
        h = holders.setdefault((t["session"], t["conn"]),
                               [t["start"], end, set()])
        h[0] = min(h[0], t["start"])
        h[1] = max(h[1], end)
        h[2].add(t["ppid"])
    # One worker per holder, never shared.
    owner = {}
    for (sess, conn), (_s, _e, ppids) in holders.items():
        if len(ppids) != 1:
            violation("conn=%s: tasks of %d workers %s" % (conn, len(ppids),
                                                           sorted(ppids)))
        for p in ppids:
            if p in owner and owner[p] != conn:
                violation("worker %d ran tasks of %s and %s" % (
                    p, owner[p], conn))
            owner[p] = conn
    # Per session id: the holders' task intervals never overlap.
    overlaps = 0
    gaps = []
    by_session = {}
    for (sess, conn), h in holders.items():
        by_session.setdefault(sess, []).append((h[0], h[1], conn))
    for sess, ivs in sorted(by_session.items()):
        ivs.sort()
        prev_end, prev_conn = None, None
        for s, e, conn in ivs:
            if prev_end is not None:
                if s <= prev_end:
                    overlaps += 1
                    violation("session=%s: %s started at %d while %s ran "
                              "until %s" % (sess, conn, s, prev_conn,
                                            prev_end))
                else:
                    gaps.append((s - prev_end) / 1000)
            if prev_end is None or e > prev_end:
                prev_end, prev_conn = e, conn
    # A holder's ready comes after every earlier holder's tasks ended, and
    # only granted (ready) connections ran tasks.  The clients' clock gives
    # bounds only: X's ready was sent at some G in [X connected, X got
    # ready]; another holder Y ran from s to e, and either ended before G
    # (Y earlier) or started after it (Y later).  So it is a violation for
    # sure when Y ran through the whole of that window.
    late = ungranted = 0
    if conns:
        for (sess, conn), (s, e, _p) in holders.items():
            r = conns.get(conn)
            if r is None or not r["t_ready"]:
                ungranted += 1
                violation("conn=%s ran tasks but never got ready" % conn)
        for conn, r in conns.items():
            if not r["t_ready"]:
                continue
            for s, e, other in by_session.get(r["session"], []):
                if other != conn and s < r["t_open"] and e > r["t_ready"]:
                    late += 1
                    violation("conn=%s connected at %d and got ready at %d "
                              "while %s's tasks ran (%d..%s)" % (
                                  conn, r["t_open"], r["t_ready"], other, s,
                                  e))
    # Every worker that ran tasks was granted that session id.
    grants = set()
    if a.daemon_log:
        pat = re.compile(r"event=grant session=(\S+) pid=(\d+)")
        with open(a.daemon_log, errors="replace") as f:
            for line in f:
                m = pat.search(line)
                if m:
                    grants.add((m.group(1), int(m.group(2))))
        for (sess, conn), (_s, _e, ppids) in holders.items():
            for p in ppids:
                if (sess, p) not in grants:
                    ungranted += 1
                    violation("worker %d ran tasks of %s (%s) without a "
                              "grant in the log" % (p, sess, conn))
    figures("invariant", sessions=len(by_session), holders=len(holders),
            tasks=len(tasks), terms=term, missing_end=missing,
            overlaps=overlaps, ready_while_old_ran=late,
            ungranted=ungranted, violations=bad,
            handover_ms_min=min(gaps) if gaps else 0,
            handover_ms_median=statistics.median(gaps) if gaps else 0)
    if a.pids:
        with open(a.pids, "w") as f:
            f.write("".join("%d\n" % p for p in sorted(tasks)))


# ---------------------------------------------------------------- soak

class Soak:
    def __init__(self, a):
        self.a = a
        self.n = dict(conns=0, batches=0, started=0, cancels=0,
                      replaces=0, leaves=0, done=0, bad=0)
        self.phase_end = 0

    def bad(self, sid, text):
        self.n["bad"] += 1
        if self.n["bad"] <= 20:
            say("bad session=%s %s" % (sid, text))

    async def expect(self, ws, pred, what, seen):
        try:
            return await recv_until(ws, pred, STEP, seen)
        except asyncio.TimeoutError:
            raise RuntimeError("timeout waiting for " + what)

    async def iteration(self, sid, k):
        a = self.a
        kind = random.choices(["done", "cancel", "replace", "leave"],
                              [3, 3, 2, 2])[0]
        seen = []
        ws = await connect("%s?session=%s" % (a.url, sid))
        self.n["conns"] += 1
        try:
            await self.expect(ws, lambda e: e["type"] == "ready", "ready",
                              seen)

            def named(t, b):
                return lambda e: e["type"] == t and e.get("batch") == b

            def run(b, tasks):
                self.n["batches"] += 1
                return ws.send(json.dumps({"type": "run", "batch": b,
                                           "tasks": tasks}))

            slow = monorec_tasks(2, sid, 10, 0.05)
            if kind == "done":
                await run("d%s" % k, [{"task": "echo", "args": [k]},
                                      {"task": "monorec",
                                       "args": {"conn": sid, "run": 0.2}}])
                ev = await self.expect(ws, named("done", "d%s" % k), "done",
                                       seen)
                if ev["ok"] != 2:
                    self.bad(sid, "done: %s" % ev)
                self.n["done"] += 1
            else:
                await run("s%s" % k, slow)
                started = 0
                while started < 2:
                    await self.expect(ws, named("started", "s%s" % k),
                                      "started", seen)
                    started += 1
                if kind == "cancel":
                    self.n["cancels"] += 1
                    await ws.send('{"type":"cancel"}')
                    ev = await self.expect(ws, named("cancelled", "s%s" % k),
                                           "cancelled", seen)
                    if ev["reason"] != "cancel" or ev["started"] != 2:
                        self.bad(sid, "cancel: %s" % ev)
                elif kind == "replace":
                    self.n["replaces"] += 1
                    await run("r%s" % k, [{"task": "echo", "args": k}])
                    ev = await self.expect(ws, named("done", "r%s" % k),
                                           "done", seen)
                    old = [e for e in seen if e["type"] == "cancelled"]
                    if len(old) != 1 or old[0]["reason"] != "replaced":
                        self.bad(sid, "replace: %s" % old)
                    self.n["done"] += 1
                else:
                    self.n["leaves"] += 1
            await asyncio.sleep(random.uniform(0, a.pause))
        finally:
            await ws.close(1000)
        self.n["started"] += sum(1 for e in seen if e["type"] == "started")
        if ws.close_code != 1000:
            self.bad(sid, "%s: closed %s %r" % (kind, ws.close_code,
                                                 ws.close_reason))
        errs = [e for e in seen if e["type"] == "error"]
        if errs:
            self.bad(sid, "%s: %s" % (kind, errs))

    async def session(self, i):
        sid = "soak-%d" % i
        k = 0
        while time.monotonic() < self.phase_end and k < 100000:
            k += 1
            try:
                await asyncio.wait_for(self.iteration(sid, "%d-%d" % (
                    self.phase, k)), 4 * STEP)
            except Exception as e:
                self.bad(sid, "iteration: %r" % (e,))
            await asyncio.sleep(random.uniform(0, self.a.pause))

    def quiet(self):
        """Wait until only the spares are left; (rss, fds, workers)."""
        a = self.a
        end = time.monotonic() + 30
        last = None
        while time.monotonic() < end:
            kids = children(a.pid)
            fds = fd_count(a.pid)
            if len(kids) == a.spare and all(s != "Z" for _, s in kids):
                if last == fds:
                    return status_kb(a.pid, "VmRSS"), fds, len(kids)
                last = fds
            else:
                last = None
            time.sleep(0.3)
        return status_kb(a.pid, "VmRSS"), fd_count(a.pid), \
            len(children(a.pid))

    async def run(self):
        a = self.a
        random.seed(a.seed)
        phases = max(1, round(a.secs / a.phase))
        rss, fds, nw = self.quiet()
        say("quiet t=0 rss_kb=%s fds=%s workers=%s" % (rss, fds, nw))
        quiet = [(0, rss, fds, nw)]
        sampler = Sampler(0.5, sup=a.pid, workers=True).start()
        t0 = time.monotonic()
        for p in range(phases):
            self.phase = p
            self.phase_end = t0 + (p + 1) * a.secs / phases
            await asyncio.gather(*(self.session(i) for i in range(a.sessions)))
            t = time.monotonic() - t0
            rss, fds, nw = await asyncio.get_running_loop().run_in_executor(
                None, self.quiet)
            quiet.append((t, rss, fds, nw))
            say("quiet t=%.0f rss_kb=%s fds=%s workers=%s conns=%d" % (
                t, rss, fds, nw, self.n["conns"]))
        sampler.stop()
        dt = time.monotonic() - t0
        figures("soak", secs=dt, sessions=a.sessions, **self.n)
        figures("soak", sup_peak_rss_kb=sampler.peak_rss.get(a.pid, 0),
                sup_peak_fds=sampler.peak_fds,
                peak_workers=sampler.peak_workers)
        # First minute (a third of the run) against the last sample.
        ref = min(quiet[1:], key=lambda q: abs(q[0] - dt / 3))
        last = quiet[-1]
        figures("soak", ref_t=ref[0], ref_rss_kb=ref[1], ref_fds=ref[2],
                last_t=last[0], last_rss_kb=last[1], last_fds=last[2],
                last_workers=last[3], start_fds=quiet[0][2],
                start_rss_kb=quiet[0][1])


# ---------------------------------------------------------------- maxsess

async def maxsess(a):
    out = {}
    lat = []
    sample = []

    async def attempt(i):
        t0 = time.monotonic()
        what = None
        try:
            ws = await asyncio.wait_for(
                connect("%s?session=ms-%d" % (a.url, i)), a.timeout)
        except websockets.exceptions.InvalidStatusCode as e:
            what = "503" if e.status_code == 503 else "status_%d" % \
                e.status_code
        except asyncio.TimeoutError:
            what = "hang"
        except (ConnectionResetError, BrokenPipeError) as e:
            what = "reset"
            sample.append(repr(e))
        except Exception as e:
            what = "error"
            sample.append(repr(e))
        else:
            try:
                await recv_until(ws, lambda e: e["type"] == "ready",
                                 a.timeout)
                await ws.send('{"type":"run","tasks":["echo"]}')
                await recv_until(ws, lambda e: e["type"] == "done",
                                 a.timeout)
                what = "session"
                await asyncio.sleep(a.hold)
            except Exception as e:
                what = "broken_session"
                sample.append(repr(e))
            await ws.close(1000)
            if what == "session" and ws.close_code != 1000:
                what = "close_%s" % ws.close_code
        lat.append(time.monotonic() - t0)
        out[what] = out.get(what, 0) + 1

    t0 = time.monotonic()
    await asyncio.gather(*(attempt(i) for i in range(a.n)))
    figures("maxsess", attempts=a.n, secs=time.monotonic() - t0,
            max_attempt_s=max(lat))
    for k in ("session", "503"):
        out.setdefault(k, 0)
    for k, v in sorted(out.items()):
        figures("maxsess", **{k: v})
    for s in sample[:10]:
        say("bad " + s)


# ---------------------------------------------------------------- idle

async def probe(url, sid, timeout=STEP):
    """A whole little session: ready, a run of echo, done; its ms."""
    t0 = time.monotonic()
    ws = await connect("%s?session=%s" % (url, sid))
    try:
        await recv_until(ws, lambda e: e["type"] == "ready", timeout)
        await ws.send('{"type":"run","tasks":[{"task":"echo","args":1}]}')
        ev = await recv_until(ws, lambda e: e["type"] == "done", timeout)
        if ev["ok"] != 1:
            raise RuntimeError("probe: %s" % ev)
    finally:
        await ws.close(1000)
    return (time.monotonic() - t0) * 1000


def idle(a):
    """Blocking sockets and epoll, not asyncio: the times are taken right
    after each connect() and each EOF, with no event loop lag."""
    import selectors
    sampler = Sampler(0.2, sup=a.pid, workers=True).start() if a.pid \
        else None
    sel = selectors.DefaultSelector()
    opened = {}
    done = {}
    t0 = time.monotonic()
    for i in range(a.n):
        try:
            s = socket.create_connection((a.host, a.port), STEP)
        except OSError as e:
            done[i] = ("connect-error " + repr(e), 0)
            continue
        opened[i] = time.monotonic()
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    t_open = time.monotonic() - t0
    probe_box = {}

    def run_probe():
        try:
            probe_box["ms"] = asyncio.run(probe(a.url, "idle-probe"))
        except Exception as e:
            probe_box["err"] = repr(e)

    prober = threading.Thread(target=run_probe, daemon=True)
    prober.start()
    end = time.monotonic() + a.timeout
    while len(done) < a.n and time.monotonic() < end:
        for key, _ in sel.select(max(0.0, end - time.monotonic())):
            s, i = key.fileobj, key.data
            t = time.monotonic()
            try:
                data = s.recv(65536)
                kind = "eof" if data == b"" else "data"
            except (ConnectionResetError, BrokenPipeError):
                kind = "reset"
            except BlockingIOError:
                continue
            done[i] = (kind, t - opened[i])
            sel.unregister(s)
            s.close()
    for key in list(sel.get_map().values()):
        done[key.data] = ("open", a.timeout)
        key.fileobj.close()
    prober.join(STEP)
    if sampler:
        sampler.stop()
    probe_ms = probe_box.get("ms", -1)
    if "err" in probe_box or probe_ms < 0:
        say("bad probe: %s" % probe_box.get("err", "did not finish"))
    kinds = dict(eof=0, reset=0, open=0)
    for k, _ in done.values():
        kinds[k.split()[0]] = kinds.get(k.split()[0], 0) + 1
    secs = [t for k, t in done.values() if k in ("eof", "reset")]
    figures("idle", sockets=a.n, open_all_s=t_open,
            closed=len(secs), probe_ms=probe_ms,
            closed_s_min=min(secs) if secs else 0,
            closed_s_median=statistics.median(secs) if secs else 0,
            closed_s_max=max(secs) if secs else 0)
    for k, v in sorted(kinds.items()):
        figures("idle", **{"kind_" + k: v})
    if sampler:
        figures("idle", peak_workers=sampler.peak_workers,
                sup_peak_fds=sampler.peak_fds,
                sup_peak_rss_kb=sampler.peak_rss.get(a.pid, 0))


# ---------------------------------------------------------------- flood

async def flood(a):
    ws = await connect("%s?session=flood" % a.url)
    await recv_until(ws, lambda e: e["type"] == "ready")
    wpid = worker_pid(a.log, "flood")
    sampler = Sampler(0.05, pids=[wpid]).start()
    rss0 = status_kb(wpid, "VmRSS")
    events = {}             # batch -> [types]
    order = []              # (type, batch) of accepted / terminal events
    other = dict(n=0, ms=[], err=None)
    stop_other = asyncio.Event()
    total = int(a.rate * a.secs)
    last = "f%d" % (total - 1)
    last_done = asyncio.Event()
    errors = []

    async def reader():
        try:
            while True:
                ev = json.loads(await ws.recv())
                b = ev.get("batch")
                if ev["type"] == "error":
                    errors.append(ev)
                events.setdefault(b, []).append(ev)
                if ev["type"] in ("accepted", "done", "cancelled"):
                    order.append((ev["type"], b))
                if b == last and ev["type"] in ("done", "cancelled"):
                    last_done.set()
        except websockets.exceptions.ConnectionClosed:
            pass

    async def other_session():
        try:
            while not stop_other.is_set():
                other["ms"].append(await probe(a.url, "flood-other-%d" %
                                               other["n"]))
                other["n"] += 1
                await asyncio.sleep(0.05)
        except Exception as e:
            other["err"] = repr(e)

    rtask = asyncio.create_task(reader())
    otask = asyncio.create_task(other_session())
    tasks = json.dumps([{"task": "sleep", "args": a.task_secs}])
    t0 = time.monotonic()
    sent = 0
    give_up = t0 + a.secs * 5
    while sent < total and time.monotonic() < give_up:
        due = min(total, int((time.monotonic() - t0) * a.rate) + 1)
        while sent < due:
            await ws.send('{"type":"run","batch":"f%d","tasks":%s}' % (
                sent, tasks))
            sent += 1
        await asyncio.sleep(0.002)
    t_send = time.monotonic() - t0
    try:
        await asyncio.wait_for(last_done.wait(), 4 * STEP)
    except asyncio.TimeoutError:
        say("bad the last run %s got no done/cancelled" % last)
    t_all = time.monotonic() - t0
    stop_other.set()
    await asyncio.wait_for(otask, 2 * STEP)
    hwm = status_kb(wpid, "VmHWM")
    sampler.stop()
    await ws.close(1000)
    rtask.cancel()
    await asyncio.gather(rtask, return_exceptions=True)
    # Every run: accepted then done/cancelled, or cancelled (replaced,
    # started 0) without accepted; nothing after the terminal event; the
    # next accepted only after the previous batch's terminal event.
    n = dict(accepted=0, skipped=0, done=0, cancelled_running=0, lost=0,
             bad=0)

    def bad(text):
        n["bad"] += 1
        if n["bad"] <= 10:
            say("bad " + text)

    for i in range(sent):
        b = "f%d" % i
        evs = events.get(b, [])
        types = [e["type"] for e in evs]
        term = [e for e in evs if e["type"] in ("done", "cancelled")]
        if not term:
            n["lost"] += 1
            bad("%s: no done or cancelled (%s)" % (b, types))
            continue
        if len(term) > 1 or types[-1] not in ("done", "cancelled"):
            bad("%s: events after the end: %s" % (b, types))
        if "accepted" in types:
            n["accepted"] += 1
            if types[0] != "accepted":
                bad("%s: accepted is not first: %s" % (b, types))
            if term[0]["type"] == "done":
                n["done"] += 1
            elif term[0]["reason"] == "replaced":
                n["cancelled_running"] += 1
            else:
                bad("%s: %s" % (b, term[0]))
        else:
            t = term[0]
            if t["type"] == "cancelled" and t["reason"] == "replaced" and \
                    t["started"] == 0 and len(evs) == 1:
                n["skipped"] += 1
            else:
                bad("%s: not accepted, yet %s" % (b, types))
    running = None
    for typ, b in order:
        if typ == "accepted":
            if running is not None:
                bad("%s accepted while %s still ran" % (b, running))
            running = b
        elif b == running:
            running = None
    last_types = [e["type"] for e in events.get(last, [])]
    figures("flood", sent=sent, send_secs=t_send, rate=sent / t_send,
            all_secs=t_all, errors=len(errors),
            last_accepted_done=int(last_types[:1] == ["accepted"] and
                                   last_types[-1:] == ["done"]),
            worker_rss0_kb=rss0, worker_peak_rss_kb=sampler.peak_rss.get(
                wpid, 0), worker_hwm_kb=hwm or 0,
            other_sessions=other["n"],
            other_ms_median=statistics.median(other["ms"]) if other["ms"]
            else 0, other_ms_max=max(other["ms"]) if other["ms"] else 0,
            **n)
    if other["err"]:
        say("bad other session: " + other["err"])
    for e in errors[:5]:
        say("bad error event: %s" % e)


# ---------------------------------------------------------------- raw

class Raw:
    """A WebSocket client on a blocking socket that writes whatever frames
    it is told to, valid or not."""

    LIFE = 180.0        # no raw client reads for longer than this

    def __init__(self, host, port, path, rcvbuf=None, timeout=STEP):
        self.deadline = time.monotonic() + self.LIFE
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" % (
                            path, host, port, key)).encode())
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise RuntimeError("no end of the HTTP response head")
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError("no upgrade: %r" % head[:80])

    def fill(self):
        if time.monotonic() > self.deadline:
            raise socket.timeout("raw client lived %.0f s" % self.LIFE)
        data = self.s.recv(1 << 20)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def need(self, n):
        """n bytes (joined once: a 100 MB frame read by += would be
        quadratic)."""
        if len(self.buf) < n:
            parts, have = [self.buf], len(self.buf)
            while have < n:
                if time.monotonic() > self.deadline:
                    raise socket.timeout("raw client lived %.0f s" % self.LIFE)
                data = self.s.recv(min(max(n - have, 65536), 1 << 20))
                if not data:
                    raise EOFError("connection closed")
                parts.append(data)
                have += len(data)
            self.buf = b"".join(parts)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    @staticmethod
    def header(opcode, n, fin=True):
        b0 = (0x80 if fin else 0) | opcode
        if n < 126:
            return struct.pack("!BB", b0, 0x80 | n)
        if n < 65536:
            return struct.pack("!BBH", b0, 0x80 | 126, n)
        return struct.pack("!BBQ", b0, 0x80 | 127, n)

    @staticmethod
    def masked(payload, key):
        n = len(payload)
        if n == 0:
            return b""
        k = (key * (n // 4 + 1))[:n]
        return (int.from_bytes(payload, "big") ^
                int.from_bytes(k, "big")).to_bytes(n, "big")

    def frame(self, opcode, payload, fin=True):
        key = os.urandom(4)
        return self.header(opcode, len(payload), fin) + key + \
            self.masked(payload, key)

    def send(self, opcode, payload, fin=True):
        self.s.sendall(self.frame(opcode, payload, fin))

    def text(self, s):
        self.send(1, s.encode() if isinstance(s, str) else s)

    def recv(self):
        """(opcode, payload) of the next frame (server frames: unmasked,
        and we never need to join fragments of the server's events)."""
        b0, b1 = self.need(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack("!H", self.need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.need(8))[0]
        return b0 & 0x0f, self.need(n)

    def event(self):
        """The next text event, skipping pings (answered); None on close."""
        while True:
            op, data = self.recv()
            if op == 1:
                return json.loads(data)
            if op == 9:
                self.send(10, data)
            elif op == 8:
                self.close_payload = data
                return None

    def until(self, pred):
        while True:
            ev = self.event()
            if ev is None or pred(ev):
                return ev

    def close_code(self):
        """Read until the server's close frame; its code (or an error)."""
        try:
            while True:
                op, data = self.recv()
                if op == 8:
                    return struct.unpack("!H", data[:2])[0] if \
                        len(data) >= 2 else 1005
                if op == 9:
                    self.send(10, data)
        except (EOFError, ConnectionResetError) as e:
            return "eof(%s)" % type(e).__name__
        except socket.timeout:
            return "timeout"

    def answer_close(self, code):
        try:
            self.send(8, struct.pack("!H", code))
        except OSError:
            pass
        self.s.close()


def raw_session(a, sid, **kw):
    c = Raw(a.host, a.port, "/stream?session=%s" % sid, **kw)
    ev = c.event()
    if not ev or ev["type"] != "ready":
        raise RuntimeError("%s: no ready: %s" % (sid, ev))
    return c


def healthz(a):
    s = socket.create_connection((a.host, a.port), STEP)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while len(data) < 65536:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    return data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok\n")


def raw_utf8(a, frag):
    c = raw_session(a, "h-utf8" + ("frag" if frag else ""))
    if frag:
        # A valid start of a two-byte sequence, then an invalid byte in the
        # next fragment: only a validator that spans fragments sees it.
        c.send(1, b'{"type":"run","tasks":["echo"],"x":"\xc3', fin=False)
        c.send(0, b'\x28"}', fin=True)
    else:
        c.text(b'{"type":"run","tasks":["echo"],"x":"\xff\xfe"}')
    code = c.close_code()
    c.answer_close(1000)
    figures("utf8frag" if frag else "utf8", close=code,
            healthz=int(healthz(a)))


def raw_big(a, frags):
    """A 10 MB message (one frame, or fragments of 64 KiB summing over
    --max-message): close 1009; the worker's memory while it happened."""
    sid = "h-big%d" % frags
    c = raw_session(a, sid)
    wpid = worker_pid(a.log, sid)
    rss0, hwm0 = status_kb(wpid, "VmRSS"), status_kb(wpid, "VmHWM")
    sampler = Sampler(0.005, pids=[wpid]).start()
    size = a.size
    payload = b'"' + b"x" * (size - 2) + b'"'
    err = []

    def sender():
        try:
            if frags <= 1:
                key = os.urandom(4)
                c.s.sendall(Raw.header(1, size) + key)
                for i in range(0, size, 65536):
                    c.s.sendall(Raw.masked(payload[i:i + 65536], key))
            else:
                chunk = -(-size // frags)
                for i in range(frags):
                    part = payload[i * chunk:(i + 1) * chunk]
                    c.send(1 if i == 0 else 0, part, fin=(i == frags - 1))
        except OSError as e:
            err.append(type(e).__name__)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    code = c.close_code()
    hwm1 = status_kb(wpid, "VmHWM")
    c.answer_close(1000)
    t.join(STEP)
    sampler.stop()
    hwm1 = hwm1 or sampler.last_hwm.get(wpid, 0)
    figures("big%d" % frags, size=size, close=code, worker_rss0_kb=rss0,
            worker_hwm0_kb=hwm0, worker_hwm_kb=hwm1,
            worker_peak_rss_kb=sampler.peak_rss.get(wpid, 0),
            growth_kb=max(hwm1, sampler.peak_rss.get(wpid, 0)) - hwm0,
            sender=err[0] if err else "all-sent", healthz=int(healthz(a)))


def raw_frag(a):
    """A valid run in many fragments with a ping between them."""
    c = raw_session(a, "h-frag")
    msg = json.dumps({"type": "run", "batch": "fr",
                      "tasks": [{"task": "echo", "args": {"pad": "y" * 3000}}]
                      }).encode()
    n = a.frags
    chunk = -(-len(msg) // n)
    parts = [msg[i * chunk:(i + 1) * chunk] for i in range(n)]
    for i, p in enumerate(parts):
        c.send(1 if i == 0 else 0, p, fin=(i == len(parts) - 1))
        if i == len(parts) // 2:
            c.send(9, b"mid")       # control frames may come between
    pong = ok = 0
    while True:
        op, data = c.recv()
        if op == 10 and data == b"mid":
            pong = 1
        elif op == 9:
            c.send(10, data)
        elif op == 1:
            ev = json.loads(data)
            if ev["type"] == "result" and ev["ok"] and \
                    ev["value"] == {"pad": "y" * 3000}:
                ok = 1
            if ev["type"] in ("done", "error"):
                break
        elif op == 8:
            break
    c.answer_close(1000)
    figures("frag", fragments=len(parts), bytes=len(msg), result_ok=ok,
            pong=pong, done=int(ev.get("type") == "done"))


def raw_noread(a):
    """A batch whose results sum to NTASKS * BYTES; the client reads
    nothing for STALL seconds, then everything."""
    sid = "noread"
    c = raw_session(a, sid, rcvbuf=65536, timeout=4 * STEP)
    wpid = worker_pid(a.log, sid)
    rss0 = status_kb(wpid, "VmRSS")
    sampler = Sampler(0.1, pids=[wpid]).start()
    tasks = [{"task": "bigout", "args": a.bytes}] * a.ntasks
    c.text(json.dumps({"type": "run", "batch": "big", "limit": a.limit,
                       "tasks": tasks}))
    spawn = r"event=spawn session=%s " % sid
    time.sleep(a.stall / 2)
    spawned_mid = log_count(a.log, spawn)
    time.sleep(a.stall / 2)
    spawned_end = log_count(a.log, spawn)
    rss_stall = sampler.peak_rss.get(wpid, 0)
    rss_end_stall = status_kb(wpid, "VmRSS")
    t0 = time.monotonic()
    results = ok = nbytes = 0
    done = None
    while True:
        ev = c.event()
        if ev is None:
            break
        if ev["type"] == "result":
            results += 1
            if ev["ok"] and isinstance(ev["value"], str):
                ok += 1
                nbytes += len(ev["value"])
        elif ev["type"] == "done":
            done = ev
            break
    t_read = time.monotonic() - t0
    hwm = status_kb(wpid, "VmHWM")
    sampler.stop()
    c.answer_close(1000)
    figures("noread", tasks=a.ntasks, bytes_per_task=a.bytes,
            stall_s=a.stall, spawned_mid_stall=spawned_mid,
            spawned_end_stall=spawned_end, worker_rss0_kb=rss0,
            worker_peak_rss_stall_kb=rss_stall,
            worker_rss_end_stall_kb=rss_end_stall,
            worker_peak_rss_kb=sampler.peak_rss.get(wpid, 0),
            worker_hwm_kb=hwm or 0, results=results, ok=ok,
            value_bytes=nbytes, read_s=t_read,
            done_ok=done["ok"] if done else -1)


def raw_floodnoread(a):
    """`run` at RATE a second for SECS seconds (or until the socket blocks:
    flow control) from a client that reads nothing for STALL seconds; then
    it reads every event while the rest is sent."""
    sid = "floodnr"
    c = raw_session(a, sid, rcvbuf=65536, timeout=4 * STEP)
    wpid = worker_pid(a.log, sid)
    rss0 = status_kb(wpid, "VmRSS")
    sampler = Sampler(0.05, pids=[wpid]).start()
    total = int(a.rate * a.secs)
    tasks = json.dumps([{"task": "sleep", "args": 0.3}])
    state = dict(sent=0, err=None)

    def sender():
        t0 = time.monotonic()
        try:
            while state["sent"] < total:
                due = min(total, int((time.monotonic() - t0) * a.rate) + 1)
                while state["sent"] < due:
                    c.text('{"type":"run","batch":"f%d","tasks":%s}' % (
                        state["sent"], tasks))
                    state["sent"] += 1
                time.sleep(0.002)
        except OSError as e:
            state["err"] = repr(e)

    t = threading.Thread(target=sender, daemon=True)
    t0 = time.monotonic()
    t.start()
    time.sleep(a.stall)
    sent_stall = state["sent"]
    rss_stall = sampler.peak_rss.get(wpid, 0)
    last = "f%d" % (total - 1)
    terms = {}
    accepted = set()
    errors = 0
    while True:
        ev = c.event()
        if ev is None:
            break
        b = ev.get("batch")
        if ev["type"] == "error":
            errors += 1
        elif ev["type"] == "accepted":
            accepted.add(b)
        elif ev["type"] in ("done", "cancelled"):
            if b in terms:
                errors += 1
            terms[b] = ev
            if b == last:
                break
    t.join(STEP)
    hwm = status_kb(wpid, "VmHWM")
    sampler.stop()
    c.answer_close(1000)
    skipped = sum(1 for b, ev in terms.items() if b not in accepted and
                  ev["type"] == "cancelled" and ev["reason"] == "replaced"
                  and ev["started"] == 0)
    figures("floodnr", runs=total, secs=a.secs, stall_s=a.stall,
            sent_during_stall=sent_stall, all_s=time.monotonic() - t0,
            sender=state["err"] or "all-sent", worker_rss0_kb=rss0,
            worker_peak_rss_stall_kb=rss_stall,
            worker_peak_rss_kb=sampler.peak_rss.get(wpid, 0),
            worker_hwm_kb=hwm or 0, terminal=len(terms),
            accepted=len(accepted), skipped=skipped, errors=errors,
            last_done=int(terms.get(last, {}).get("type") == "done"))


def raw(a):
    if a.scenario == "utf8":
        raw_utf8(a, False)
    elif a.scenario == "utf8frag":
        raw_utf8(a, True)
    elif a.scenario == "bigmsg":
        raw_big(a, 1)
    elif a.scenario == "fragbig":
        raw_big(a, a.frags)
    elif a.scenario == "frag":
        raw_frag(a)
    elif a.scenario == "noread":
        raw_noread(a)
    elif a.scenario == "floodnoread":
        raw_floodnoread(a)


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)

    def common(sp, url=True):
        if url:
            sp.add_argument("--url", required=True)
        sp.add_argument("--pid", type=int, help="the supervisor's pid")
        sp.add_argument("--seed", type=int, default=5)

    sp = sub.add_parser("storm")
    common(sp)
    sp.add_argument("--clients", type=int, default=50)
    sp.add_argument("--conns", type=int, default=2000)
    sp.add_argument("--sessions", type=int, default=5)
    sp.add_argument("--tasks", type=int, default=3)
    sp.add_argument("--clean", type=float, default=0.1)
    sp.add_argument("--hold-min", type=float, default=0.05)
    sp.add_argument("--hold-max", type=float, default=0.5)
    sp.add_argument("--think", type=float, default=0.05)
    sp.add_argument("--hello", type=float, default=0.25,
                    help="share of connections naming the id by hello")
    sp.add_argument("--abort", type=float, default=0.2,
                    help="share of holders that vanish instead of closing")
    sp.add_argument("--wait", type=float, default=30)
    sp.add_argument("--secs", type=float, default=300)
    sp.add_argument("--log", required=True)

    sp = sub.add_parser("check")
    sp.add_argument("--records", required=True)
    sp.add_argument("--log")
    sp.add_argument("--daemon-log")
    sp.add_argument("--pids", help="write the recorded pids there")

    sp = sub.add_parser("soak")
    common(sp)
    sp.add_argument("--sessions", type=int, default=200)
    sp.add_argument("--secs", type=float, default=180)
    sp.add_argument("--phase", type=float, default=30)
    sp.add_argument("--pause", type=float, default=2.0)
    sp.add_argument("--spare", type=int, default=2)

    sp = sub.add_parser("maxsess")
    common(sp)
    sp.add_argument("--n", type=int, default=300)
    sp.add_argument("--hold", type=float, default=1.0)
    sp.add_argument("--timeout", type=float, default=STEP)

    sp = sub.add_parser("idle")
    common(sp, url=False)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--n", type=int, default=500)
    sp.add_argument("--timeout", type=float, default=10)

    sp = sub.add_parser("flood")
    common(sp)
    sp.add_argument("--log", required=True)
    sp.add_argument("--rate", type=float, default=10000)
    sp.add_argument("--secs", type=float, default=2)
    sp.add_argument("--task-secs", type=float, default=0.3)

    sp = sub.add_parser("raw")
    sp.add_argument("scenario", choices=["utf8", "utf8frag", "bigmsg",
                                         "fragbig", "frag", "noread",
                                         "floodnoread"])
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--log", required=True)
    sp.add_argument("--size", type=int, default=10 * 1000 * 1000)
    sp.add_argument("--frags", type=int, default=20)
    sp.add_argument("--ntasks", type=int, default=100)
    sp.add_argument("--bytes", type=int, default=1000000)
    sp.add_argument("--limit", type=int, default=4)
    sp.add_argument("--stall", type=float, default=6)
    sp.add_argument("--rate", type=float, default=10000)
    sp.add_argument("--secs", type=float, default=2)

    a = p.parse_args()
    if a.mode == "storm":
        asyncio.run(storm(a))
    elif a.mode == "check":
        check(a)
    elif a.mode == "soak":
        asyncio.run(Soak(a).run())
    elif a.mode == "maxsess":
        asyncio.run(maxsess(a))
    elif a.mode == "idle":
        a.url = "ws://%s:%d/stream" % (a.host, a.port)
        idle(a)
    elif a.mode == "flood":
        asyncio.run(flood(a))
    elif a.mode == "raw":
        raw(a)


if __name__ == "__main__":
    main()
