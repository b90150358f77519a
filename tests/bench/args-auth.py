#!/usr/bin/python3
"""args-auth.py - the costs of SPEC 8 in `make bench`.

1. Checking args: a run of 1,000 tasks whose handler has a 10-property
   args schema, against the same run of a handler without one: the time
   from sending the run to its `accepted` (validation happens in between),
   per task, beside the cost of spawning a task (the static no-op's
   posix_spawn time, measured here too).
2. Connect -> ready with basic auth, per hash method (yescrypt, bcrypt
   cost 10, sha512crypt) and without auth: the hash's cost, by design.

Usage: args-auth.py WSTASKD NOP_HANDLER  (run under tests/reaper; WSTASKD's
directory has tests/unit_schema).
"""
import asyncio, base64, json, os, shutil, signal, statistics, subprocess
import sys, tempfile, time

import websockets

ROUNDS = 15


def schema10():
    props = {
        "name": {"type": "string", "minLength": 1, "maxLength": 64,
                 "pattern": "^[a-z][a-z0-9-]*$"},
        "count": {"type": "integer", "minimum": 1, "maximum": 1000},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "mode": {"enum": ["fast", "slow", "safe"]},
        "dry": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 16},
                 "maxItems": 8},
        "owner": {"type": "object", "properties": {"uid": {"type": "integer"}},
                  "required": ["uid"]},
        "note": {"type": ["string", "null"], "maxLength": 200},
        "level": {"const": 3},
        "path": {"type": "string", "pattern": "^/"},
    }
    return {"type": "object", "properties": props, "required": ["name"],
            "additionalProperties": False}


ARGS = {"name": "web-1", "count": 10, "ratio": 0.5, "mode": "safe",
        "dry": False, "tags": ["a", "b"], "owner": {"uid": 1000},
        "note": None, "level": 3, "path": "/srv"}


def start(wstaskd, tasks, extra):
    log = open(os.path.join(tasks, "daemon.log"), "w")
    p = subprocess.Popen([wstaskd, "-l", "127.0.0.1:0", "-t", tasks, "-w", "",
                          "--allow-root", "--max-batch", "1000", "--limit", "1",
                          "--spare", "4", "-v"] + extra, stderr=log)
    for _ in range(500):
        with open(log.name) as f:
            for line in f:
                if "event=listen addr=127.0.0.1:" in line:
                    return p, int(line.rsplit(":", 1)[1])
        time.sleep(0.01)
    p.kill()
    sys.exit("wstaskd did not start")


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(10)


async def validate_ms(port):
    """Alternating runs of the two handlers: p50 ms from send to accepted."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/stream?session=v",
                                  max_size=None) as ws:
        json.loads(await ws.recv())                     # ready
        times = {"plain": [], "checked": []}
        for i in range(2 * ROUNDS):
            handler = "plain" if i % 2 else "checked"
            tasks = [{"task": handler, "args": ARGS} for _ in range(1000)]
            msg = json.dumps({"type": "run", "batch": f"b{i}", "tasks": tasks})
            t0 = time.perf_counter()
            await ws.send(msg)
            while True:
                ev = json.loads(await ws.recv())
                if ev["type"] in ("accepted", "error"):
                    break
            times[handler].append((time.perf_counter() - t0) * 1000)
            if ev["type"] == "error":
                sys.exit(f"refused: {ev}")
            await ws.send(json.dumps({"type": "cancel"}))
            while json.loads(await ws.recv())["type"] != "cancelled":
                pass
        return (statistics.median(times["checked"]),
                statistics.median(times["plain"]))


async def ready_ms(port, auth, n):
    hdrs = {}
    if auth:
        hdrs["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        async with websockets.connect(f"ws://127.0.0.1:{port}/stream?session=a{i}",
                                      extra_headers=hdrs) as ws:
            json.loads(await ws.recv())
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def spawn_us(nop, n=500):
    """posix_spawn + waitpid of the no-op, as wstaskd starts a task."""
    t0 = time.perf_counter()
    for _ in range(n):
        os.waitpid(os.posix_spawn(nop, [nop], {}), 0)
    return (time.perf_counter() - t0) * 1e6 / n


def validator_us(unit):
    """The validator alone: tests/unit_schema's own bench (best of 10)."""
    out = subprocess.run([unit, "--bench", "1000"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("schema_validate:"):
            return float(line.split(",")[1].split()[0])
    return float("nan")


def main():
    wstaskd, nop = sys.argv[1], sys.argv[2]
    d = tempfile.mkdtemp(prefix="wstaskd-bench-")
    try:
        for h in ("plain", "checked"):
            shutil.copy(nop, os.path.join(d, h))
        with open(os.path.join(d, "checked.json"), "w") as f:
            json.dump({"args": schema10()}, f)
        p, port = start(wstaskd, d, [])
        try:
            checked, plain = asyncio.run(validate_ms(port))
        finally:
            stop(p)
        spawn = spawn_us(nop)
        unit = validator_us(os.path.join(os.path.dirname(wstaskd), "tests",
                                         "unit_schema"))
        print(f"args check, 10-property schema: {unit:.2f} us a task (validator "
              f"alone); a spawn of the no-op {spawn:.0f} us: ratio "
              f"{unit / spawn:.4f}")
        print(f"  end to end, 1000 tasks: run -> accepted p50 {checked:.1f} ms "
              f"with the schema, {plain:.1f} ms without: "
              f"{(checked - plain):+.2f} us a task (reading the manifest and "
              f"compiling its schema once a run included; noisy)")
        hashes = {
            "yescrypt": subprocess.run(["mkpasswd", "-m", "yescrypt", "pw"],
                                       capture_output=True, text=True).stdout.strip(),
            "bcrypt-10": subprocess.run(["htpasswd", "-nbB", "-C", "10", "u", "pw"],
                                        capture_output=True, text=True
                                        ).stdout.strip().split(":", 1)[1],
            "sha512crypt": subprocess.run(["openssl", "passwd", "-6", "pw"],
                                          capture_output=True, text=True).stdout.strip(),
        }
        creds = os.path.join(d, "credentials")
        with open(creds, "w") as f:
            for user, h in hashes.items():
                f.write(f"{user}:{h}\n")
        os.chmod(creds, 0o600)
        p, port = start(wstaskd, d, [])
        try:
            base = asyncio.run(ready_ms(port, None, 20))
        finally:
            stop(p)
        p, port = start(wstaskd, d, ["--credentials", creds])
        try:
            for user in hashes:
                ms = asyncio.run(ready_ms(port, f"{user}:pw", 10))
                print(f"connect -> ready with basic auth, {user}: p50 {ms:.1f} ms "
                      f"(without auth {base:.2f} ms)")
        finally:
            stop(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
