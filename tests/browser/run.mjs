// tests/browser/run.mjs -- the browser client (www/) in a real browser.
//
// Starts its own wstaskd (127.0.0.1, port 0, tests/handlers) and Debian's
// chromium through playwright-core, and checks the five scenarios of issue
// 4 both in the page (the DOM) and in the process table (/proc):
//
//   1. 12 tasks, limit 3: rows go queued -> running -> ok, never more than
//      3 handlers alive, the progress bar reaches 12/12.
//   2. Run again mid-batch: the first batch's rows show cancelled and every
//      one of its processes is gone before the new batch's first row runs;
//      then Stop cancels the new batch.
//   3. A second page takes the session id over: the first shows the notice,
//      its handlers are gone; "Take it back" works the other way round.
//   4. Closing a page mid-batch: its handlers are gone within 2 s.
//   5. Reloading mid-batch: the old batch's processes are gone, the new page
//      is ready with the same session id.
//   6. (beyond the five) Network loss, through a TCP proxy the test
//      cuts for 2 s: the page shows the close, retries with a growing
//      back-off, and is ready again by itself.
//
//   7. (issue 13, SPEC 7.3) progress bars, live logs, the live log switch
//      and the beforeunload confirmation, with the progress and log
//      events handed to the page's own message handler.
//   8. (issue 14, SPEC 8.4) titles and descriptions, the form built from an
//      args schema, the page's checks, bad_args shown at its field.
//   9. (SPEC 8.5) a second wstaskd with --credentials: alice sees the
//      handler whose manifest names her, bob does not.
//  10. scenario 7 end to end: real progress and log events from the daemon.
//
// Output: TAP on stdout. Screenshots, the daemon's log and the handlers'
// records go to $BROWSER_OUT (default build/browser-out/). Run it as
// `build/tests/reaper node tests/browser/run.mjs` (make check-browser) so
// that anything left behind is an error.
//
// How the timing checks work: a sampler reads /proc every ~10 ms and
// remembers every handler process (a descendant of a worker) with its
// WSTASK_SESSION/BATCH/TASK_ID (from /proc/PID/environ) and when it was
// last seen. The page reports every row state and connection state change
// at once (a MutationObserver calling an exposed binding); the moments that
// matter (a new batch's first row turns running, a page turns ready or is
// taken over) trigger an immediate /proc check of the old batch's pids.
// The sleep handler also records its own start time (µs) in $WT_DIR/records.

import { chromium } from "playwright-core";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD = process.env.WSTASKD_BUILD || "build";
const OUT = path.resolve(ROOT, process.env.BROWSER_OUT || `${BUILD}/browser-out`);
const WT_DIR = path.join(OUT, "wt");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = 15000;		// ms, for anything the page should do
const DEADLINE = 300000;	// ms, for the whole run

const now = () => performance.timeOrigin + performance.now();	// epoch ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- TAP ---------------------------------------------------------------

let tests = 0, failures = 0;
// diag is printed only when the check fails.
function ok(cond, name, diag) {
	tests++;
	if (!cond) failures++;
	console.log(`${cond ? "ok" : "not ok"} ${tests} - ${name}`);
	if (!cond && diag !== undefined && diag !== "")
		for (const line of String(diag).split("\n"))
			console.log(`#   ${line}`);
	return cond;
}
const note = (text) => console.log(`# ${text}`);

// ---- the process table -------------------------------------------------

let daemon = null;		// the wstaskd child process
const procs = new Map();	// pid -> {pid, session, batch, task, first, last}
let maxAlive = new Map();	// "session/batch" -> most tasks seen alive at once

function readStat() {
	const stat = new Map();
	for (const name of fs.readdirSync("/proc")) {
		if (!/^[0-9]+$/.test(name))
			continue;
		let s;
		try {
			s = fs.readFileSync(`/proc/${name}/stat`, "utf8");
		} catch {
			continue;	// gone meanwhile
		}
		const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
		// fields 3 (state), 4 (ppid) and 22 (starttime, which tells a
		// reused pid from the process we saw)
		stat.set(Number(name), { state: f[0], ppid: Number(f[1]), start: f[19] });
	}
	return stat;
}

function readEnv(pid) {
	try {
		const env = {};
		for (const kv of fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
			const i = kv.indexOf("=");
			if (i > 0)
				env[kv.slice(0, i)] = kv.slice(i + 1);
		}
		return env;
	} catch {
		return {};
	}
}

// One sample: every process below a worker (workers are the daemon's
// children) is a handler process, or one of its descendants.
function sample() {
	if (!daemon || daemon.exitCode !== null)
		return;
	const t = now();
	const stat = readStat();
	const depth = (pid) => {
		for (let d = 0, p = pid; d < 64; d++) {
			if (p === daemon.pid)
				return d;
			const s = stat.get(p);
			if (!s || s.ppid <= 1)
				return -1;
			p = s.ppid;
		}
		return -1;
	};
	const alive = new Map();
	for (const pid of stat.keys()) {
		if (depth(pid) < 2)
			continue;
		let p = procs.get(pid);
		if (!p || p.start !== stat.get(pid).start) {
			p = { pid, first: t, start: stat.get(pid).start };
			procs.set(pid, p);
		}
		p.last = t;
		if (!p.batch) {	// not exec'd yet, or a zombie: try again later
			const env = readEnv(pid);
			if (env.WSTASK_BATCH !== undefined) {
				p.session = env.WSTASK_SESSION;
				p.batch = env.WSTASK_BATCH;
				p.task = env.WSTASK_TASK_ID;
			}
		}
		if (p.batch) {
			const key = `${p.session}/${p.batch}`;
			if (!alive.has(key))
				alive.set(key, new Set());
			alive.get(key).add(p.task);
		}
	}
	for (const [key, set] of alive)
		maxAlive.set(key, Math.max(maxAlive.get(key) || 0, set.size));
}

// The records the sleep handler writes: start PID SESSION BATCH ID USEC.
function records(session, batch) {
	let text = "";
	try {
		text = fs.readFileSync(path.join(WT_DIR, "records"), "utf8");
	} catch {
		return [];
	}
	return text.split("\n").map((l) => l.split(" ")).filter((f) => f.length === 6 && f[2] === session && f[3] === batch)
	    .map((f) => ({ kind: f[0], pid: Number(f[1]), id: f[4], t: Number(f[5]) / 1000 }));
}

// Every pid known to belong to a batch: from the sampler and the records.
function pidsOf(session, batch) {
	const pids = new Set();
	for (const p of procs.values())
		if (p.session === session && p.batch === batch)
			pids.add(p.pid);
	for (const r of records(session, batch))
		pids.add(r.pid);
	return [...pids];
}
// Those that still exist (a zombie exists until it is reaped).
// Those that still exist (a zombie exists until it is reaped): the same
// process the sampler saw (same start time), or, for a pid known only from
// the records, any process below our daemon. pid_max is 32768 here and
// other test suites run beside this one, so a pid may well be reused.
function existing(pids) {
	const stat = readStat();
	const below = (pid) => {
		for (let d = 0, p = pid; d < 64 && stat.has(p); d++, p = stat.get(p).ppid)
			if (p === daemon.pid)
				return true;
		return false;
	};
	return pids.filter((pid) => stat.has(pid) &&
	    (procs.get(pid)?.start ? procs.get(pid).start === stat.get(pid).start : below(pid)));
}
const lastSeen = (pids) => Math.max(0, ...pids.map((pid) => procs.get(pid)?.last || 0));

async function waitUntil(what, cond, timeout = WAIT) {
	const end = Date.now() + timeout;
	for (;;) {
		const v = cond();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what}`);
		await sleep(10);
	}
}

// ---- the daemon ----------------------------------------------------------

// A wstaskd on 127.0.0.1, port 0, logging to OUT/NAME.log: {child, url}.
async function spawnDaemon(name, tasks, more = []) {
	const log = path.join(OUT, `${name}.log`);
	const fd = fs.openSync(log, "w");
	const args = ["-l", "127.0.0.1:0", "-t", tasks, "-w", "www",
	    "--pass-env", "WT_DIR", "-v", ...more];
	if (process.getuid() === 0)
		args.push("--allow-root");
	const child = spawn(path.join(ROOT, BUILD, "wstaskd"), args,
	    { cwd: ROOT, env: { ...process.env, WT_DIR }, stdio: ["ignore", fd, fd] });
	fs.closeSync(fd);
	child.exited = new Promise((r) => child.on("exit", r));
	const port = await waitUntil(`${name}'s event=listen line`, () => {
		if (child.exitCode !== null)
			throw new Error(`${name} exited with ${child.exitCode}: see ${log}`);
		const m = /event=listen addr=127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(log, "utf8"));
		return m && Number(m[1]);
	}, 10000);
	return { child, url: `http://127.0.0.1:${port}` };
}

async function startDaemon() {
	const d = await spawnDaemon("wstaskd", "tests/handlers");
	daemon = d.child;
	return d.url;
}

async function stopChild(child) {
	if (!child || child.exitCode !== null || child.signalCode !== null)
		return;
	child.kill("SIGTERM");
	const t = setTimeout(() => child.kill("SIGKILL"), 10000);
	await child.exited;
	clearTimeout(t);
}
const stopDaemon = () => stopChild(daemon);

// ---- the browser ---------------------------------------------------------

// Runs in every page before its scripts: reports each row's and the
// connection's state changes to the test at once, with the page's time.
function observer() {
	const t = () => performance.timeOrigin + performance.now();
	const sid = () => sessionStorage.getItem("wstask-session");
	const row = (tr, extra) => ({ kind: "row", t: t(), sid: sid(),
	    batch: tr.closest("tbody")?.dataset.batch, id: tr.dataset.id, ...extra });
	new MutationObserver((list) => {
		for (const m of list) {
			if (m.type === "childList") {
				for (const n of m.addedNodes) {
					if (n.nodeType !== 1)
						continue;
					const trs = n.matches("tr[data-id]") ? [n] : n.querySelectorAll("tr[data-id]");
					for (const tr of trs)
						window.wtNote(row(tr, { added: tr.dataset.state }));
				}
			} else if (m.target.id === "conn") {
				window.wtNote({ kind: "conn", t: t(), sid: sid(), state: m.target.dataset.state,
				    text: m.target.textContent });
			} else if (m.target.matches("tr[data-id]")) {
				window.wtNote(row(m.target, { old: m.oldValue, now: m.target.dataset.state }));
			}
		}
	}).observe(document, { subtree: true, childList: true, attributes: true,
	    attributeFilter: ["data-state"], attributeOldValue: true });
}

const notes = [];		// everything the pages reported
let hooks = [];			// one-shot {pred, fn}, run when a note arrives
const pageName = new Map();

function onNote(page, n) {
	n.page = pageName.get(page) || "?";
	n.got = now();
	notes.push(n);
	for (const h of hooks)
		if (!h.done && h.pred(n)) {
			h.done = true;
			h.fn(n);
		}
	hooks = hooks.filter((h) => !h.done);
}
function hook(pred) {
	const h = { pred };
	h.fired = new Promise((r) => { h.fn = (n) => r({ note: n, ...h.check?.(n) }); });
	hooks.push(h);
	return h;
}

// A row's states in order, from the notes: its state when added, then
// the old value of every change, then its state now.
function rowStates(sid, batch, id, final) {
	const seq = [];
	for (const n of notes) {
		if (n.kind !== "row" || n.sid !== sid || n.batch !== batch || n.id !== id)
			continue;
		if (n.added !== undefined && !seq.length)
			seq.push(n.added);
		else if (n.old !== undefined && n.old !== seq.at(-1))
			seq.push(n.old);
	}
	if (final !== seq.at(-1))
		seq.push(final);
	return seq;
}

async function openPage(context, name, url) {
	const page = await context.newPage();
	pageName.set(page, name);
	page.on("pageerror", (e) => ok(false, `${name}: no error in the page`, e.stack || e.message));
	await page.goto(url);
	await page.waitForSelector("#conn[data-state=ready]", { timeout: WAIT });
	return page;
}

const sid = (page) => page.$eval("#session", (e) => e.value);
const rowsIn = (page, batch) => page.$$eval(`#tasks tbody[data-batch="${batch}"] tr[data-id]`,
    (trs) => trs.map((tr) => ({ id: tr.dataset.id, state: tr.dataset.state })));
const waitRows = (page, batch, state, n) => page.waitForFunction(([b, s, k]) =>
    document.querySelectorAll(`#tasks tbody[data-batch="${b}"] tr[data-state="${s}"]`).length >= k,
    [batch, state, n], { timeout: WAIT });
const tbodies = (page) => page.$$eval("#tasks tbody[data-batch]", (l) => l.map((b) => b.dataset.batch));

// Fills the editor, presses Run (or Ctrl+Enter), and returns the name of
// the batch the server accepted.
async function runBatch(page, tasks, limit, { keyboard = false } = {}) {
	const before = new Set(await tbodies(page));
	await page.check("#mode-json");
	await page.fill("#batch", JSON.stringify(tasks));
	await page.fill("#limit", String(limit));
	if (keyboard) {
		await page.focus("#batch");
		await page.keyboard.press("Control+Enter");
	} else {
		await page.click("#run");
	}
	const h = await page.waitForFunction((old) => [...document.querySelectorAll("#tasks tbody[data-batch]")]
	    .map((b) => b.dataset.batch).find((b) => !old.includes(b)), [...before], { timeout: WAIT });
	return h.jsonValue();
}

const sleeps = (n, secs) => Array.from({ length: n }, () => ({ task: "sleep", args: secs }));

// Waits until n tasks of the batch run, in the page and in /proc (their
// start records written), and returns the batch's pids.
async function running(page, batch, n) {
	const s = await sid(page);
	await waitRows(page, batch, "running", n);
	await waitUntil(`${n} start records of ${batch}`,
	    () => records(s, batch).filter((r) => r.kind === "start").length >= n);
	await sleep(50);	// let the sampler see them (sh and its sleep)
	return pidsOf(s, batch);
}

// Full-page screenshots, scrolled to the top so that the sticky header is
// drawn at the top.
async function shot(page, file, opts = {}) {
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({ path: path.join(OUT, file), fullPage: true, ...opts });
}
const ms = (x) => `${x.toFixed(1)} ms`;

// ---- the scenarios -----------------------------------------------------------

async function scenario1(p1) {
	note("scenario 1: 12 tasks with limit 3");
	const s = await sid(p1);
	const tasks = Array.from({ length: 12 }, () => ({ task: "conc", args: 0.6 }));
	const t0 = now();
	const b = await runBatch(p1, tasks, 3);
	await p1.waitForFunction(() => document.getElementById("progress").value >= 4 &&
	    document.querySelector("#tasks tbody tr[data-state=running]"), null, { timeout: WAIT });
	await shot(p1, "1-mid-batch.png");
	await p1.waitForFunction(() => /^12 \/ 12 done$/.test(document.getElementById("progress-text").textContent),
	    null, { timeout: 30000 });
	note(`batch ${b} took ${ms(now() - t0)} in the page`);
	await shot(p1, "1-end.png");

	const rows = await rowsIn(p1, b);
	ok(rows.length === 12 && rows.every((r) => r.state === "ok"), "1: 12 rows, all ok",
	    JSON.stringify(rows));
	const bad = rows.map((r) => ({ id: r.id, seq: rowStates(s, b, r.id, r.state) }))
	    .filter((r) => r.seq.join(",") !== "queued,running,ok");
	ok(bad.length === 0, "1: every row went queued -> running -> ok", JSON.stringify(bad));
	const prog = await p1.$eval("#progress", (e) => [e.value, e.max]);
	const text = await p1.textContent("#progress-text");
	ok(prog[0] === 12 && prog[1] === 12, `1: the progress bar reached 12/12 ("${text}")`, JSON.stringify(prog));
	const summary = await p1.textContent("#summary");
	ok(/done .*12 ok, 0 failed/.test(summary), "1: the batch summary is shown", summary);

	let conc = [];
	try {
		conc = fs.readFileSync(path.join(WT_DIR, "concurrency"), "utf8").trim().split("\n").map(Number);
	} catch { /* checked below */ }
	ok(conc.length === 12 && Math.max(...conc) === 3,
	    `1: the handlers saw at most 3 running (max ${Math.max(...conc)} over ${conc.length} starts)`, conc.join(" "));
	const seen = maxAlive.get(`${s}/${b}`) || 0;
	ok(seen === 3, `1: /proc never showed more than 3 tasks alive (max ${seen})`);
	ok(existing(pidsOf(s, b)).length === 0, "1: no handler process left");

	// Keyboard: Enter on a value preview shows the whole result.
	await p1.focus(`#tasks tbody[data-batch="${b}"] tr[data-id="0"] button.preview`);
	await p1.keyboard.press("Enter");
	const full = await p1.$eval(`#tasks tbody[data-batch="${b}"] tr[data-id="0"]`, (tr) => ({
		expanded: tr.querySelector("button.preview").getAttribute("aria-expanded"),
		text: tr.querySelector("pre.full").hidden ? "" : tr.querySelector("pre.full").textContent }));
	let parsed = null;
	try {
		parsed = JSON.parse(full.text);
	} catch { /* checked below */ }
	ok(full.expanded === "true" && parsed?.type === "result" && parsed.value === 0,
	    "1: Enter on a value preview expands the whole result JSON", full.text);
	await shot(p1, "1-expanded.png");
	await p1.keyboard.press("Enter");	// fold it again
}

async function scenario2(p1) {
	note("scenario 2: Run again mid-batch, then Stop");
	const s = await sid(p1);
	const a = await runBatch(p1, sleeps(9, 30), 3);
	const aPids = await running(p1, a, 3);
	await shot(p1, "2-mid-batch.png");

	// When the new batch's first row turns running, check /proc at once.
	const first = hook((n) => n.kind === "row" && n.sid === s && n.batch !== a && n.old === "queued");
	first.check = () => ({ left: existing(pidsOf(s, a)), at: now() });
	const tRun = now();
	await p1.click("#run");
	const { note: n, left } = await first.fired;
	const b = n.batch;
	note(`restart: ${a} -> ${b}; ${b}'s first row ran ${ms(n.t - tRun)} after the click`);

	const aRows = await rowsIn(p1, a);
	ok(aRows.length === 9 && aRows.every((r) => r.state === "cancelled"),
	    `2: the first batch's 9 rows show cancelled`, JSON.stringify(aRows));
	ok(left.length === 0, `2: none of ${a}'s ${pidsOf(s, a).length} processes exists when ${b}'s first row runs`,
	    `left: ${left}`);
	const seenLast = lastSeen(pidsOf(s, a));
	ok(seenLast > 0 && seenLast < n.t,
	    `2: ${a}'s processes were last seen ${ms(n.t - seenLast)} before ${b}'s first row ran`);
	await running(p1, b, 3);
	const bStart = Math.min(...records(s, b).filter((r) => r.kind === "start").map((r) => r.t));
	ok(seenLast < bStart, `2: and ${ms(bStart - seenLast)} before ${b}'s first handler recorded its start`);
	ok(records(s, a).filter((r) => r.kind === "end").length === 0, `2: none of ${a}'s tasks ran to its end`);
	const summary = await p1.textContent("#summary");
	ok((await tbodies(p1)).slice(0, 2).join() === `${b},${a}`, `2: the new batch is shown above the cancelled one`);
	await p1.setViewportSize({ width: 390, height: 844 });
	await shot(p1, "2-phone.png");
	await p1.setViewportSize({ width: 1280, height: 800 });
	note(`summary while ${b} runs: ${summary}`);

	// Stop: the batch is cancelled, and when the page says so it is gone.
	await p1.click("#stop");
	await p1.waitForFunction(() => / cancelled$/.test(document.getElementById("progress-text").textContent),
	    null, { timeout: WAIT });
	const bLeft = existing(pidsOf(s, b));
	const bRows = await rowsIn(p1, b);
	ok(bRows.every((r) => r.state === "cancelled") && bLeft.length === 0,
	    `2: Stop cancels ${b}: rows cancelled, its processes gone`, `rows ${JSON.stringify(bRows)} left ${bLeft}`);
	ok(/cancelled \(stopped\)/.test(await p1.textContent("#summary")), "2: the summary says it was stopped",
	    await p1.textContent("#summary"));
}

async function scenario3(context, url, p1) {
	note("scenario 3: a second page takes the session over");
	const s = await sid(p1);
	const c = await runBatch(p1, sleeps(6, 30), 3, { keyboard: true });
	const cPids = await running(p1, c, 3);
	ok(cPids.length >= 3, `3: ${c} started from the keyboard (Ctrl+Enter) with ${cPids.length} processes`);

	const p2 = await openPage(context, "p2", url);
	const taken = hook((n) => n.page === "p1" && n.kind === "conn" && n.state === "taken-over");
	taken.check = () => ({ left: existing(pidsOf(s, c)) });
	const granted = hook((n) => n.page === "p2" && n.kind === "conn" && n.state === "ready" && n.sid === s);
	granted.check = () => ({ left: existing(pidsOf(s, c)) });
	const t0 = now();
	await p2.fill("#session", s);
	await p2.press("#session", "Enter");
	const [tk, gr] = await Promise.all([taken.fired, granted.fired]);
	note(`take-over: p1 notified after ${ms(tk.note.t - t0)}, p2 ready after ${ms(gr.note.t - t0)}`);

	await p1.waitForSelector("#takeover", { state: "visible", timeout: WAIT });
	const notice = await p1.textContent("#takeover");
	const conn = await p1.textContent("#conn");
	ok(/taken over by another tab or window/.test(notice) && /4001/.test(conn),
	    "3: the first page shows the take-over notice and the 4001 close", `${conn}`);
	ok(tk.left.length === 0, `3: none of ${c}'s processes exists when p1 shows the notice`, `left: ${tk.left}`);
	ok(gr.left.length === 0, `3: none exists when p2 is ready`, `left: ${gr.left}`);
	ok((await rowsIn(p1, c)).every((r) => r.state === "cancelled"), `3: p1's rows of ${c} show cancelled`);
	ok(await p1.isDisabled("#run"), "3: Run is disabled on the page that lost its session");
	ok(/taken over from another connection/.test(await p2.textContent("#conn")),
	    "3: p2 says it took the session over", await p2.textContent("#conn"));
	await shot(p1, "3-takeover.png");

	// Take it back, with the keyboard; p2 gets the notice now.
	const back = hook((n) => n.page === "p1" && n.kind === "conn" && n.state === "ready");
	await p1.focus("#takeback");
	await p1.keyboard.press("Enter");
	await back.fired;
	await p2.waitForSelector("#takeover", { state: "visible", timeout: WAIT });
	ok(await p1.isHidden("#takeover"), "3: \"Take it back\" makes p1 ready again, p2 shows the notice");
	// No reconnect after 4001: p2 stays taken over.
	await sleep(1500);
	ok((await p2.getAttribute("#conn", "data-state")) === "taken-over", "3: p2 does not reconnect by itself");
	await shot(p2, "3-taken-back.png");
	await p2.close();
}

async function scenario4(context, url) {
	note("scenario 4: close a page mid-batch");
	const p3 = await openPage(context, "p3", url);
	const s = await sid(p3);
	const d = await runBatch(p3, sleeps(6, 30), 3);
	const pids = await running(p3, d, 3);
	const t0 = now();
	await p3.close();
	let gone = null;
	try {
		await waitUntil("the handlers to go", () => existing(pidsOf(s, d)).length === 0, 5000);
		gone = now() - t0;
	} catch { /* gone stays null */ }
	ok(gone !== null && gone < 2000, `4: all ${pids.length} handler processes gone ${gone === null ? "never" : ms(gone)} after the close`,
	    gone === null ? `left: ${existing(pidsOf(s, d))}` : "");
}

async function scenario5(p1) {
	note("scenario 5: reload mid-batch");
	const s = await sid(p1);
	const e = await runBatch(p1, sleeps(6, 30), 3);
	const pids = await running(p1, e, 3);
	const ready = hook((n) => n.page === "p1" && n.kind === "conn" && n.state === "ready");
	ready.check = () => ({ left: existing(pidsOf(s, e)) });
	// SPEC 7.3: leaving while a batch runs asks first; accepted here.
	let asked = "";
	p1.once("dialog", (d) => {
		asked = d.type();
		d.accept();
	});
	const t0 = now();
	await p1.reload();
	const r = await ready.fired;
	ok(asked === "beforeunload", `5: reloading mid-batch asked first (dialog: ${asked || "none"})`);
	note(`reload: ready again ${ms(r.note.t - t0)} after the reload began`);
	ok(r.left.length === 0, `5: none of ${e}'s ${pids.length} processes exists when the new page is ready`,
	    `left: ${r.left}`);
	ok((await sid(p1)) === s && r.note.sid === s, "5: the reloaded page kept its session id");
	ok((await p1.getAttribute("#conn", "data-state")) === "ready", "5: the new page is ready",
	    await p1.textContent("#conn"));
	// And it works: a short batch runs to its end.
	const f = await runBatch(p1, sleeps(3, 0.2), 3);
	await p1.waitForFunction(() => / done$/.test(document.getElementById("progress-text").textContent),
	    null, { timeout: WAIT });
	ok((await rowsIn(p1, f)).every((x) => x.state === "ok"), `5: the reloaded page runs a new batch (${f})`);
	await shot(p1, "5-after-reload.png");
}

// A TCP proxy in front of the daemon, whose "network" the test can cut:
// every connection through it is dropped and new ones are refused until it
// listens again.
let proxy = null;
function makeProxy(target) {
	const socks = new Set();
	const server = net.createServer((c) => {
		const up = net.connect(target, "127.0.0.1");
		for (const x of [c, up]) {
			socks.add(x);
			x.on("close", () => socks.delete(x));
			x.on("error", () => {});
		}
		c.pipe(up);
		up.pipe(c);
	});
	const cut = () => new Promise((r) => {
		for (const x of socks)
			x.destroy();
		server.listening ? server.close(() => r()) : r();
	});
	return {
		listen: (port = 0) => new Promise((r) => server.listen(port, "127.0.0.1", () => r(server.address().port))),
		cut, close: cut,
	};
}

async function scenario6(context, url) {
	note("scenario 6: network loss, then the page reconnects by itself");
	proxy = makeProxy(Number(new URL(url).port));
	const port = await proxy.listen();
	const p4 = await openPage(context, "p4", `http://127.0.0.1:${port}/`);
	const s = await sid(p4);
	const g = await runBatch(p4, sleeps(6, 30), 3);
	const pids = await running(p4, g, 3);
	const t0 = now();
	await proxy.cut();
	await p4.waitForSelector("#conn[data-state=closed]", { timeout: WAIT });
	const text = await p4.textContent("#conn");
	ok(/^closed 1006 .*retrying in \d+ s/.test(text), `6: the page shows the lost connection: "${text}"`);
	ok((await rowsIn(p4, g)).every((r) => r.state === "cancelled"), `6: the page shows ${g} cancelled`);
	let gone = null;
	try {
		await waitUntil("the handlers to go", () => existing(pidsOf(s, g)).length === 0, 5000);
		gone = now() - t0;
	} catch { /* gone stays null */ }
	ok(gone !== null && gone < 2000, `6: the server dropped ${g}: its ${pids.length} processes gone ` +
	    `${gone === null ? "never" : ms(gone)} after the cut`, `left: ${existing(pidsOf(s, g))}`);
	await sleep(Math.max(0, 2000 - (now() - t0)));	// 2 s without network
	await proxy.listen(port);
	await p4.waitForSelector("#conn[data-state=ready]", { timeout: 40000 });
	const back = now() - t0;
	// The attempts ("connecting" after the cut), and the back-off: the
	// wait from each close to the next attempt.
	const conn = notes.filter((n) => n.page === "p4" && n.kind === "conn" && n.t > t0);
	const tries = conn.filter((n) => n.state === "connecting").map((n) => n.t);
	const waits = conn.flatMap((n, i) => n.state === "closed" && conn[i + 1]?.state === "connecting" ?
	    [conn[i + 1].t - n.t] : []);
	note(`6: reconnect attempts at +${tries.map((t) => Math.round(t - t0)).join(", +")} ms; ready at +${Math.round(back)} ms`);
	ok(tries.length >= 3 && waits.length === tries.length && waits.every((d, i) => i === 0 || d > waits[i - 1] * 1.2),
	    `6: it retried ${tries.length} times, each wait longer than the last (${waits.map((d) => Math.round(d)).join(", ")} ms)`);
	ok((await sid(p4)) === s && /^ready/.test(await p4.textContent("#conn")),
	    "6: it is ready again, with the same session id, without any click");
	await shot(p4, "6-reconnected.png");
	await p4.close();
	await proxy.close();
}

// ---- progress, live logs, forms, users (issues 13 and 14) -------------------

// Runs in every page before its scripts: keeps every WebSocket the page
// opens in window.wtSockets, so that a test can hand events to the page's
// own message handler (inject) or swallow one message it sends (mute).
function socketSpy() {
	const Native = window.WebSocket;
	window.wtSockets = [];
	window.WebSocket = class extends Native {
		constructor(...a) {
			super(...a);
			window.wtSockets.push(this);
		}
	};
}
const inject = (page, events) => page.evaluate((evs) => {
	const sock = window.wtSockets.at(-1);
	for (const e of evs)
		sock.onmessage(new MessageEvent("message", { data: JSON.stringify(e) }));
}, events);
// The next message the page sends does not reach the server; returns it.
const mute = (page) => page.evaluate(() => {
	const sock = window.wtSockets.at(-1);
	window.wtMuted = new Promise((r) => {
		sock.send = (data) => {
			delete sock.send;	// the prototype's again
			r(JSON.parse(data));
		};
	});
});
const muted = (page) => page.evaluate(() => window.wtMuted);

const rowSel = (b, id) => `#tasks tbody[data-batch="${b}"] tr[data-id="${id}"]`;
const sentRuns = (page) => page.$eval("#events", (e) => e.textContent.split("\n")
    .filter((l) => l.startsWith(">> ")).map((l) => JSON.parse(l.slice(3))));

// Scenario 7: the page's side of SPEC 7.3, with progress and log events
// handed to the page's own message handler (the daemon of this branch does
// not send them yet; scenario 10 is the same end to end).
async function scenario7(context, url) {
	note("scenario 7: progress bars, live logs and the leave confirmation (events injected)");
	const p = await openPage(context, "p5", url);
	const s = await sid(p);
	await p.check("#live-log");
	const b = await runBatch(p, sleeps(4, 30), 4);
	await running(p, b, 4);
	const run = (await sentRuns(p)).at(-1);
	ok(run.log === true && run.batch === b, "7: with the live log switch on, the run says \"log\":true",
	    JSON.stringify(run));
	ok(await p.$$eval(`#tasks tbody[data-batch="${b}"] details.log`, (l) => l.length) === 4,
	    "7: each running task of a batch run with the live log has a log to open");

	const lines = Array.from({ length: 1205 }, (_, i) => ({ type: "log", batch: b, id: "0", line: `copying file ${i + 1}` }));
	await inject(p, [
		{ type: "progress", batch: b, id: "0", data: { done: 3, total: 10, message: "copying files" } },
		{ type: "progress", batch: b, id: "1", data: { done: 7, total: 10 } },
		{ type: "progress", batch: b, id: "2", data: "warming up" },
		{ type: "progress", batch: b, id: "3", data: { phase: 2 } },
		...lines,
		{ type: "log", batch: b, id: "1", line: "connecting to db1" },
		{ type: "log", batch: b, id: "1", line: "connected; 3 tables to check" },
		{ type: "progress", batch: b, id: "1", data: { done: 8, total: 10, message: "table 2 of 3" } },
	]);
	const row = (id) => p.$eval(rowSel(b, id), (tr) => ({
		kind: tr.dataset.progress,
		bar: tr.querySelector(".prog progress") && [tr.querySelector(".prog progress").value,
		    tr.querySelector(".prog progress").max, tr.querySelector(".prog progress").getAttribute("aria-label")],
		text: tr.querySelector(".prog-text")?.textContent,
		log: tr.querySelector("details.log summary")?.textContent,
		kept: tr.querySelector("pre.log-lines")?.textContent.split("\n").filter(Boolean),
		cut: tr.querySelector(".log-cut")?.hidden ? "" : tr.querySelector(".log-cut")?.textContent,
	}));
	const r0 = await row("0"), r1 = await row("1"), r2 = await row("2"), r3 = await row("3");
	ok(r0.kind === "bar" && r0.bar[0] === 3 && r0.bar[1] === 10 && r0.text === "3 / 10 · copying files",
	    "7: {done,total,message}: a bar at 3 of 10 with the message", JSON.stringify(r0));
	ok(/3 of 10/.test(r0.bar[2]), "7: the bar has an accessible name", r0.bar[2]);
	ok(r1.kind === "bar" && r1.bar[0] === 8 && r1.text === "8 / 10 · table 2 of 3",
	    "7: a newer progress event replaces the bar", JSON.stringify(r1));
	ok(r2.kind === "text" && r2.text === "warming up", "7: a string is shown as text", JSON.stringify(r2));
	ok(r3.kind === "text" && r3.text === '{"phase":2}', "7: another value is shown as JSON text", JSON.stringify(r3));
	ok(r0.log === "Live log: 1205 lines" && r0.kept.length === 1000 && r0.kept[0] === "copying file 206" &&
	    r0.kept.at(-1) === "copying file 1205", "7: a log of 1205 lines keeps the last 1000 in the page",
	    JSON.stringify({ log: r0.log, n: r0.kept.length, first: r0.kept[0] }));
	ok(/first 205 lines are not kept/.test(r0.cut), "7: and says that it dropped 205", r0.cut);
	ok(r1.log === "Live log: 2 lines", "7: another task's log counts its own lines", r1.log);

	await p.click(`${rowSel(b, "1")} details.log summary`);
	const open1 = await p.$eval(`${rowSel(b, "1")} details.log`, (d) => d.open && d.querySelector("pre").textContent);
	ok(open1 === "connecting to db1\nconnected; 3 tables to check\n", "7: a click opens a task's live log",
	    JSON.stringify(open1));
	// An open log at its end follows new lines.
	const end0 = () => p.$eval(`${rowSel(b, "0")} pre.log-lines`, (e) => ({
		atEnd: e.scrollTop + e.clientHeight >= e.scrollHeight - 4 && e.scrollHeight > e.clientHeight,
		n: e.childNodes.length, last: e.lastChild.textContent }));
	await p.click(`${rowSel(b, "0")} details.log summary`);
	const e0 = await end0();
	await inject(p, Array.from({ length: 50 }, (_, i) => ({ type: "log", batch: b, id: "0", line: `copying file ${1206 + i}` })));
	await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
	const e1 = await end0();
	ok(e0.atEnd && e1.atEnd && e1.n === 1000 && e1.last === "copying file 1255\n",
	    "7: an opened log shows its end and follows new lines, still 1000 kept", JSON.stringify([e0, e1]));
	ok(await p.isVisible("#leave-note") && /leaving or reloading this page cancels it/.test(await p.textContent("#leave-note")),
	    "7: while the batch runs the page says that leaving cancels it");
	await shot(p, "7-progress-mid-run.png");
	await p.setViewportSize({ width: 390, height: 844 });
	ok(await fits(p), "7: bars and logs fit a 390 px wide phone");
	await shot(p, "7-progress-phone.png");
	await p.setViewportSize({ width: 1280, height: 800 });

	// Leaving asks first: dismissed, the page and its batch stay.
	let asked = "";
	p.once("dialog", (d) => {
		asked = d.type();
		d.dismiss();
	});
	await p.evaluate(() => location.reload());
	await waitUntil("the beforeunload dialog", () => asked, 5000).catch(() => {});
	await sleep(300);
	ok(asked === "beforeunload" && (await rowsIn(p, b)).every((r) => r.state === "running") &&
	    existing(pidsOf(s, b)).length >= 4, `7: a reload asks first; declined, the batch runs on (dialog: ${asked || "none"})`);

	// Stop: no question any more, and a finished task's bar gives way
	// to its value while its log stays.
	await p.click("#stop");
	await p.waitForFunction(() => / cancelled$/.test(document.getElementById("progress-text").textContent),
	    null, { timeout: WAIT });
	ok(await p.isHidden("#leave-note"), "7: with nothing running the leave note is gone");
	const c = await runBatch(p, sleeps(1, 1), 1);
	await waitRows(p, c, "running", 1);
	await inject(p, [{ type: "progress", batch: c, id: "0", data: { done: 1, total: 2 } },
	    { type: "log", batch: c, id: "0", line: "half way" }]);
	await waitRows(p, c, "ok", 1);
	const done = await p.$eval(rowSel(c, "0"), (tr) => ({ kind: tr.dataset.progress ?? "", hidden: tr.querySelector(".prog").hidden,
	    log: tr.querySelector("details.log summary")?.textContent, val: tr.querySelector(".val button")?.textContent }));
	ok(done.kind === "" && done.hidden && done.log === "Live log: 1 line" && /slept/.test(done.val),
	    "7: after its result a task shows its value, no bar, and keeps its log", JSON.stringify(done));
	asked = "";
	p.once("dialog", (d) => {
		asked = d.type();
		d.dismiss();
	});
	await p.reload();
	ok(asked === "", "7: with nothing running a reload does not ask", asked);
	await p.waitForSelector("#conn[data-state=ready]", { timeout: WAIT });
	ok(await p.isChecked("#live-log"), "7: the live log switch is kept for the tab");
	await p.uncheck("#live-log");
	const d = await runBatch(p, sleeps(1, 0.2), 1);
	await waitRows(p, d, "ok", 1);
	ok((await sentRuns(p)).at(-1).log === undefined && !(await p.$(`${rowSel(d, "0")} details.log`)),
	    "7: with the switch off, no \"log\" is sent and no log is shown");
	await p.close();
}

// The page's own checks (www/form.js), rule by rule, as SPEC 8.2 words
// them: [what, schema, value, expected [path, message pattern] or null].
const PAGE_CHECKS = [
	["type integer takes 3", { type: "integer" }, 3, null],
	["type integer refuses 3.5", { type: "integer" }, 3.5, ["", /whole number/]],
	["type number takes 3.5", { type: "number" }, 3.5, null],
	["a list of types", { type: ["string", "null"] }, null, null],
	["a list of types refuses others", { type: ["string", "null"] }, 1, ["", /must be text or null/]],
	["enum (JSON equality, any member order)", { enum: [{ a: 1, b: 2 }] }, { b: 2, a: 1 }, null],
	["enum refuses others", { enum: ["a", "b"] }, "c", ["", /one of "a", "b"/]],
	["const", { const: 5 }, 6, ["", /must be 5/]],
	["minimum", { minimum: 2 }, 1, ["", /less than the minimum 2/]],
	["maximum", { maximum: 2 }, 3, ["", /greater than the maximum 2/]],
	["exclusiveMinimum", { exclusiveMinimum: 2 }, 2, ["", /greater than 2/]],
	["exclusiveMaximum", { exclusiveMaximum: 2 }, 2, ["", /less than 2/]],
	["minLength counts code points", { minLength: 2 }, "😀😀", null],
	["maxLength counts code points", { maxLength: 1 }, "😀😀", ["", /at most 1 character \(has 2\)/]],
	["pattern is unanchored", { pattern: "b+" }, "abbc", null],
	["pattern with a POSIX class", { pattern: "^[[:digit:]]+$" }, "12a", ["", /pattern/]],
	["items, with the index in the pointer", { items: { type: "string" } }, ["a", 2], ["/1", /text/]],
	["minItems", { minItems: 2 }, [1], ["", /at least 2 items/]],
	["maxItems", { maxItems: 1 }, [1, 2], ["", /at most 1 item /]],
	["required", { required: ["a/b"] }, {}, ["/a~1b", /required/]],
	["properties, escaped in the pointer", { properties: { "x~y": { type: "integer" } } }, { "x~y": "1" }, ["/x~0y", /whole number/]],
	["additionalProperties false", { properties: {}, additionalProperties: false }, { z: 1 }, ["/z", /not allowed/]],
	["additionalProperties as a schema", { additionalProperties: { type: "boolean" } }, { z: 1 }, ["/z", /true or false/]],
	["nested pointers", { properties: { a: { items: { properties: { b: { maximum: 1 } } } } } },
	    { a: [{ b: 0 }, { b: 2 }] }, ["/a/1/b", /maximum 1/]],
	["annotations are not rules", { title: "t", description: "d", default: 1, examples: [1] }, "x", null],
];

async function pageChecks(p) {
	const got = await p.evaluate((cases) => cases.map(([, s, v]) => window.WstaskForm.check(s, v)), PAGE_CHECKS);
	PAGE_CHECKS.forEach(([what, , , want], i) => {
		const e = got[i][0];
		const good = want === null ? got[i].length === 0 : e && e.path === want[0] && want[1].test(e.message);
		ok(good, `8: page check: ${what}`, JSON.stringify(got[i]));
	});
}

const field = (key) => `#args-form [data-key="${key}"]`;
const fits = (p) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

// Scenario 8: a handler's manifest (GET /handlers/NAME) in the page: its
// title and description, a form from its args schema, the page's checks,
// and the server's bad_args shown at the field its pointer names.
async function scenario8(context, url) {
	note("scenario 8: forms from args schemas, checks, bad_args at its field");
	const p = await openPage(context, "p6", url);
	ok(await p.isChecked("#mode-form") && await p.isVisible("#args-form") && await p.isHidden("#batch"),
	    "8: a new tab starts with the form");
	await pageChecks(p);
	await p.selectOption("#handler", "formdemo");
	await p.waitForSelector('#args-form[data-handler="formdemo"]', { timeout: WAIT });
	ok(await p.textContent("#handler-title") === "Deploy (form demo)" &&
	    /Prints its arguments back/.test(await p.textContent("#handler-desc")),
	    "8: the handler's title and description are shown");
	await p.waitForFunction(() => document.getElementById("handler-list").dataset.count, null, { timeout: WAIT });
	const names = JSON.parse(await (await fetch(`${url}/handlers`)).text());
	const list = await p.$$eval("#handler-list-items dt", (l) => l.map((x) => x.textContent));
	ok(list.length === names.length && list.includes("Count with progress (countup)"),
	    `8: "All handlers" lists the ${names.length} handlers with their titles`, list.join(" | "));
	ok(await p.$eval('#handler option[value="formdemo"]', (o) => o.textContent) === "Deploy (form demo) (formdemo)",
	    "8: the handler select shows titles");

	const form = await p.evaluate(() => {
		const f = (k) => document.querySelector(`#args-form [data-key="${k}"]`);
		const inp = (k) => f(k).querySelector("input, select");
		const label = (k) => f(k).querySelector("label, legend").textContent;
		return {
			service: [inp("service").type, inp("service").value, label("service"), inp("service").getAttribute("aria-required")],
			replicas: [inp("replicas").type, inp("replicas").value, inp("replicas").min, inp("replicas").max, inp("replicas").step],
			ratio: [inp("ratio").type, inp("ratio").value, inp("ratio").step],
			env: [inp("env").tagName, [...inp("env").options].map((o) => o.text), inp("env").selectedOptions[0].text],
			dry: [inp("dry_run").type, inp("dry_run").checked],
			hosts: [f("hosts").tagName, [...f("hosts").querySelectorAll("li input")].map((i) => i.value)],
			notify: [f("notify").tagName, inp("notify").value, label("notify"),
			    f("notify").querySelector('[data-key="on_failure_only"] input').checked],
			help: f("service").querySelector(".help").textContent,
			labelled: [...document.querySelectorAll("#args-form input, #args-form select")]
			    .every((i) => i.labels.length === 1 && i.labels[0].textContent.trim() !== ""),
		};
	});
	ok(form.service.join() === "text,web,Service *,true", "8: a string: a text field with its default, marked required", form.service.join());
	ok(form.replicas.join() === "number,2,1,10,1", "8: an integer: a number field with min, max and step 1", form.replicas.join());
	ok(form.ratio.join() === "number,0.25,any", "8: a number: a number field, any step", form.ratio.join());
	ok(form.env[0] === "SELECT" && form.env[1].join() === "staging,production" && form.env[2] === "staging",
	    "8: an enum: a select with its choices, the default chosen", JSON.stringify(form.env));
	ok(form.dry.join() === "checkbox,true", "8: a boolean: a checkbox, checked by its default", form.dry.join());
	ok(form.hosts[0] === "FIELDSET" && form.hosts[1].join() === "a.example", "8: an array: a list of rows from its default",
	    JSON.stringify(form.hosts));
	ok(form.notify[0] === "FIELDSET" && form.notify[1] === "ops@example.com" && form.notify[3] === false,
	    "8: an object: a nested fieldset with its own defaults", JSON.stringify(form.notify));
	ok(/Lower-case letters.*2 to 30 characters.*Must match/.test(form.help), "8: the rules are said under the field", form.help);
	ok(form.labelled, "8: every control has a label");

	// The list's rows: minItems 1, maxItems 4.
	const hostButtons = () => p.$eval(field("hosts"), (f) => ({ n: f.querySelectorAll("li").length,
	    add: f.querySelector("button.add").disabled, remove: [...f.querySelectorAll("button.remove")].map((b) => b.disabled) }));
	const h0 = await hostButtons();
	for (let i = 0; i < 3; i++)
		await p.click(`${field("hosts")} button.add`);
	const h1 = await hostButtons();
	ok(h0.n === 1 && h0.remove[0] && !h0.add && h1.n === 4 && h1.add && h1.remove.every((x) => !x),
	    "8: rows: Remove is off at minItems, Add is off at maxItems", JSON.stringify([h0, h1]));
	await p.fill(`${field("hosts")} li:nth-child(2) input`, "b.example");
	await p.click(`${field("hosts")} li:nth-child(4) button.remove`);
	await p.click(`${field("hosts")} li:nth-child(3) button.remove`);
	await shot(p, "8-form.png");
	await p.setViewportSize({ width: 390, height: 844 });
	ok(await fits(p), "8: the form fits a 390 px wide phone");
	await shot(p, "8-form-phone.png");
	await p.setViewportSize({ width: 1280, height: 800 });

	// The page's own check: nothing is sent, each error at its field.
	await p.fill(`${field("service")} input`, "Bad Name!");
	await p.fill(`${field("replicas")} input`, "20");
	await p.fill(`${field("notify")} [data-key="email"] input`, "nobody");
	const before = (await sentRuns(p)).length;
	await p.click("#run");
	await p.waitForSelector("#form-error:not([hidden])", { timeout: WAIT });
	const errs = await p.$$eval("#args-form .invalid", (l) => l.map((f) => [f.dataset.key, f.querySelector(":scope > .field-error").textContent,
	    f.querySelector("input, select").getAttribute("aria-invalid")]));
	ok((await sentRuns(p)).length === before, "8: an invalid form sends nothing");
	const errOf = (k) => errs.find((e) => e[0] === k) || [];
	ok(errs.length === 3 && /does not match the pattern/.test(errOf("service")[1]) &&
	    /20 is greater than the maximum 10/.test(errOf("replicas")[1]) && /does not match/.test(errOf("email")[1]) &&
	    errs.every((e) => e[2] === "true"), "8: each bad value is shown next to its field (aria-invalid)", JSON.stringify(errs));
	ok(/3 fields need fixing: nothing was sent/.test(await p.textContent("#form-error")), "8: and the form says so",
	    await p.textContent("#form-error"));
	ok(await p.evaluate(() => document.activeElement?.closest("[data-key]")?.dataset.key) === "service",
	    "8: the first bad field has the focus");
	await shot(p, "8-field-error.png");

	// Fixed: two copies run, with exactly the form's values.
	await p.fill(`${field("service")} input`, "api");
	await p.fill(`${field("replicas")} input`, "3");
	await p.fill(`${field("notify")} [data-key="email"] input`, "ops@example.com");
	await p.selectOption(`${field("env")} select`, { label: "production" });
	await p.fill("#copies", "2");
	const tb = new Set(await tbodies(p));
	await p.click("#run");
	const b = await (await p.waitForFunction((old) => [...document.querySelectorAll("#tasks tbody[data-batch]")]
	    .map((x) => x.dataset.batch).find((x) => !old.includes(x)), [...tb], { timeout: WAIT })).jsonValue();
	await waitRows(p, b, "ok", 2);
	const want = { service: "api", replicas: 3, ratio: 0.25, env: "production", dry_run: true,
	    hosts: ["a.example", "b.example"], notify: { email: "ops@example.com", on_failure_only: false } };
	const values = await p.$$eval(`#tasks tbody[data-batch="${b}"] pre.full`, (l) => l.map((x) => JSON.parse(x.textContent).value));
	ok(values.length === 2 && values.every((v) => JSON.stringify(v) === JSON.stringify(want)),
	    "8: the fixed form runs its copies with the form's values", JSON.stringify(values));
	ok(await p.isHidden("#form-error") && !(await p.$("#args-form .invalid")), "8: the marks are gone");

	// "Add to JSON": the JSON editor gets the form's tasks.
	await p.click("#form-to-json");
	let json = null;
	try {
		json = JSON.parse(await p.inputValue("#batch"));
	} catch { /* checked below */ }
	ok(await p.isChecked("#mode-json") && await p.isVisible("#batch") && Array.isArray(json) &&
	    json.slice(-2).every((t) => t.task === "formdemo" && JSON.stringify(t.args) === JSON.stringify(want)),
	    "8: Add to JSON switches to the editor with the form's tasks", JSON.stringify(json));

	// The server's check, through the JSON editor (not checked in the
	// page): args that are not an object. The branch's stub does this one.
	const be = await runBadArgs(p, [{ task: "formdemo", args: 5 }]);
	ok(be.summary.includes("(bad_args)") && be.mode && be.marked.length === 1 && be.marked[0][0] === "root" &&
	    be.marked[0][1] !== "", "8: the server's bad_args for args \"\" is shown at the form as a whole (end to end)",
	    JSON.stringify(be));

	// A field's pointer: the server's message for a batch the server does
	// not see (the page's run is muted and the error handed back).
	const two = [{ task: "formdemo", args: { service: "web", replicas: 2, env: "staging" } },
	    { id: "db", task: "formdemo", args: { service: "db", replicas: 120, env: "staging", hosts: ["x", ""] } }];
	await refuse(p, two, "db", "/replicas", "120 is greater than the maximum 10");
	await p.waitForSelector(`${field("replicas")}.invalid`, { timeout: WAIT });
	const fe = await p.evaluate(() => ({
		err: document.querySelector('#args-form [data-key="replicas"] .field-error').textContent,
		ptr: document.querySelector('#args-form [data-key="replicas"]').dataset.ptr,
		service: document.querySelector('#args-form [data-key="service"] input').value,
		value: document.querySelector('#args-form [data-key="replicas"] input').value,
		hosts: [...document.querySelectorAll('#args-form [data-key="hosts"] li input')].map((i) => i.value),
		form: document.getElementById("form-error").textContent,
		focus: document.activeElement?.closest("[data-key]")?.dataset.key,
	}));
	ok(fe.err === "120 is greater than the maximum 10" && fe.ptr === "/replicas" && fe.focus === "replicas",
	    "8: bad_args /replicas is shown next to that field, which has the focus", JSON.stringify(fe));
	ok(fe.service === "db" && fe.value === "120" && fe.hosts.join() === "x," && /task db's args at \/replicas/.test(fe.form),
	    "8: the form shows the task the server named (task db), loaded from the JSON", JSON.stringify(fe));
	await shot(p, "8-bad-args.png");
	await refuse(p, two, "db", "/hosts/1", "length 0 is less than minLength 1");
	await p.waitForSelector(`${field("hosts")} .invalid`, { timeout: WAIT }).catch(() => {});
	const rowErr = await p.$$eval(`${field("hosts")} .invalid`, (l) => l.map((f) => [f.closest("li") &&
	    [...f.closest("ol").children].indexOf(f.closest("li")), f.querySelector(".field-error").textContent]));
	ok(JSON.stringify(rowErr) === '[[1,"length 0 is less than minLength 1"]]' && !(await p.$(`${field("replicas")}.invalid`)),
	    "8: a pointer into a list (/hosts/1) marks that row, and the older mark is gone", JSON.stringify(rowErr));

	// After the merge of the real checker: the same through the server.
	const se = await runBadArgs(p, [{ task: "formdemo", args: { service: "web", replicas: 120, env: "staging" } }]);
	ok(se.marked.some((m) => m[0] === "replicas"), "8: the server's bad_args /replicas (end to end) is shown at that field",
	    JSON.stringify(se));
	await p.close();
}

// Runs tasks from the JSON editor, but the server never sees them: it
// "answers" bad_args for task at path (the message as the server makes it).
async function refuse(p, tasks, task, ptr, rule) {
	await p.check("#mode-json");
	await p.fill("#batch", JSON.stringify(tasks));
	await mute(p);
	await p.click("#run");
	const msg = await muted(p);
	await inject(p, [{ type: "error", code: "bad_args", batch: msg.batch, task, path: ptr,
	    message: `task ${task}: ${ptr || "args"}: ${rule}` }]);
}

// Sends tasks from the JSON editor and waits for the refusal; returns what
// the page shows then.
async function runBadArgs(p, tasks) {
	await p.check("#mode-json");
	await p.fill("#batch", JSON.stringify(tasks));
	const before = await p.textContent("#summary");
	await p.click("#run");
	await p.waitForFunction((b) => document.getElementById("summary").textContent !== b &&
	    !/^Sent/.test(document.getElementById("summary").textContent), before, { timeout: WAIT });
	await p.waitForFunction(() => /bad_args/.test(document.getElementById("summary").textContent) &&
	    document.querySelector("#args-form .invalid"), null, { timeout: 5000 }).catch(() => {});
	return {
		summary: await p.textContent("#summary"),
		mode: await p.isChecked("#mode-form"),
		marked: await p.$$eval("#args-form .invalid", (l) => l.map((f) => [f.classList.contains("root") ? "root" : f.dataset.key,
		    f.querySelector(":scope > .field-error").textContent])),
	};
}

// Scenario 9: users (SPEC 8.5). A wstaskd with --credentials (hashes by
// openssl passwd -6) and a handler whose manifest names only alice.
async function scenario9() {
	note("scenario 9: alice sees her handler, bob does not");
	const dir = path.join(OUT, "users-handlers");
	fs.mkdirSync(dir);
	fs.chmodSync(dir, 0o755);
	for (const h of ["echo", "secret"])
		fs.copyFileSync(path.join(ROOT, "tests/handlers/echo"), path.join(dir, h));
	fs.chmodSync(path.join(dir, "echo"), 0o755);
	fs.chmodSync(path.join(dir, "secret"), 0o755);
	fs.writeFileSync(path.join(dir, "secret.json"), JSON.stringify({ title: "Only Alice",
	    description: "Echoes its args; only alice may run it.", users: ["alice"],
	    args: { type: "object", properties: { word: { type: "string", default: "hi" } } } }));
	const hash = (pw) => execFileSync("openssl", ["passwd", "-6", pw], { encoding: "utf8" }).trim();
	const creds = path.join(OUT, "credentials");
	fs.writeFileSync(creds, `alice:${hash("a-pw")}\nbob:${hash("b-pw")}\n`, { mode: 0o600 });
	const d = await spawnDaemon("wstaskd-users", dir, ["--credentials", creds]);
	const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BROWSER_ARGS });
	try {
		const seen = {};
		for (const [user, pw] of [["alice", "a-pw"], ["bob", "b-pw"]]) {
			const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 },
			    httpCredentials: { username: user, password: pw, send: "always" } });
			const p = await openPage(ctx, user, d.url);
			await p.waitForFunction(() => document.getElementById("handler-list").dataset.count, null, { timeout: WAIT });
			seen[user] = {
				options: await p.$$eval("#handler option", (o) => o.map((x) => x.textContent)),
				list: await p.$$eval("#handler-list-items dt", (l) => l.map((x) => x.textContent)),
			};
			await p.click("#handler-list summary");
			await shot(p, `9-${user}.png`);
			if (user === "alice") {
				await p.selectOption("#handler", "secret");
				await p.waitForSelector('#args-form[data-handler="secret"]', { timeout: WAIT });
				await p.click("#run");
				await p.waitForFunction(() => / done$/.test(document.getElementById("progress-text").textContent),
				    null, { timeout: WAIT });
				seen.alice.ran = await p.$eval("#tasks tbody[data-batch] pre.full", (x) => JSON.parse(x.textContent).value);
			}
			await ctx.close();
		}
		ok(JSON.stringify(seen.alice.options) === '["echo","Only Alice (secret)"]' && seen.alice.list.length === 2,
		    "9: alice sees echo and her handler, with its title", JSON.stringify(seen.alice));
		ok(JSON.stringify(seen.alice.ran) === '{"word":"hi"}', "9: and runs it from its form", JSON.stringify(seen.alice.ran));
		ok(JSON.stringify(seen.bob.options) === '["echo"]' && seen.bob.list.length === 1,
		    "9: bob sees only echo", JSON.stringify(seen.bob));
	} finally {
		await browser.close();
		await stopChild(d.child);
	}
	ok(d.child.exitCode === 0, "9: the users' wstaskd exited with status 0");
}

// Scenario 10: SPEC 7.3 end to end, the
// daemon's own progress and log events from tests/handlers/countup and
// tests/handlers/logsteps.
async function scenario10(context, url) {
	note(`scenario 10: progress and live log end to end`);
	const p = await openPage(context, "p7", url);
	await p.check("#live-log");
	const b = await runBatch(p, [{ task: "countup", args: { steps: 20, delay: 0.2 } },
	    { task: "logsteps", args: { lines: 30, delay: 0.1 } }], 2);
	const quick = WAIT;
	const bar = await p.waitForFunction((s) => {
		const tr = document.querySelector(s);
		return tr?.dataset.progress === "bar" && tr.querySelector(".prog-text").textContent;
	}, rowSel(b, "0"), { timeout: quick }).then((h) => h.jsonValue()).catch(() => "");
	ok(/^\d+ \/ 20 · (step \d+ of 20|finished)$/.test(bar), `10: the countup handler's row shows a bar ("${bar}")`, "");
	const text = await p.$eval(rowSel(b, "1"), (tr) => tr.dataset.progress === "text" && tr.querySelector(".prog-text").textContent);
	ok(text === "working", "10: the logsteps handler's text progress is shown", String(text));
	if (bar) {
		await p.click(`${rowSel(b, "1")} details.log summary`);
		await p.waitForFunction((s) => document.querySelector(`${s} .prog progress`)?.value >= 5, rowSel(b, "0"),
		    { timeout: WAIT }).catch(() => {});	// a bar a quarter full, a log of some lines
		await shot(p, "10-e2e-progress.png");
	}
	await p.waitForFunction(() => / done$/.test(document.getElementById("progress-text").textContent), null, { timeout: 20000 });
	const log = await p.$eval(rowSel(b, "1"), (tr) => ({ sum: tr.querySelector("details.log summary")?.textContent,
	    lines: tr.querySelector("pre.log-lines")?.textContent.split("\n").filter(Boolean) }));
	ok(log.sum === "Live log: 30 lines" && log.lines[0] === "log line 1 of 30 from task 1" &&
	    log.lines.at(-1) === "log line 30 of 30 from task 1", "10: the task's 30 stderr lines are in its live log, in order",
	    JSON.stringify(log));
	const after = await p.$eval(rowSel(b, "0"), (tr) => tr.dataset.progress ?? "none");
	ok(after === "none", "10: after its result the bar is gone");
	await p.close();
}

const BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// ---- main ----------------------------------------------------------------------

async function main() {
	fs.rmSync(OUT, { recursive: true, force: true });
	fs.mkdirSync(WT_DIR, { recursive: true });
	// playwright's and chromium's temporary files: here, not in /tmp
	process.env.TMPDIR = path.join(OUT, "tmp");
	fs.mkdirSync(process.env.TMPDIR);
	const url = await startDaemon();
	note(`wstaskd pid ${daemon.pid} at ${url}`);
	const sampler = setInterval(sample, 10);
	let context = null;
	try {
		context = await chromium.launchPersistentContext(path.join(OUT, "profile"), {
			executablePath: CHROMIUM,
			headless: true,
			viewport: { width: 1280, height: 800 },
			args: BROWSER_ARGS,
		});
		await context.exposeBinding("wtNote", (src, n) => onNote(src.page, n));
		await context.addInitScript(observer);
		await context.addInitScript(socketSpy);
		for (const p of context.pages())
			await p.close();	// the persistent context's blank first page

		const p1 = await openPage(context, "p1", url);
		ok(true, `the page is ready (${await p1.textContent("#conn")})`);
		const handlers = await p1.$$eval("#handler option", (o) => o.map((x) => x.value));
		ok(handlers.includes("sleep") && handlers.includes("conc"), "the handler list has the server's handlers",
		    handlers.join(" "));
		const scenarios = [() => scenario1(p1), () => scenario2(p1), () => scenario3(context, url, p1),
		    () => scenario4(context, url), () => scenario5(p1), () => scenario6(context, url),
		    () => scenario7(context, url), () => scenario8(context, url), () => scenario9(),
		    () => scenario10(context, url)];
		// BROWSER_SCENARIOS=7,8 runs only those (while working on them).
		const only = (process.env.BROWSER_SCENARIOS || "").split(",").filter(Boolean).map(Number);
		for (const [i, run] of scenarios.entries())
			if (!only.length || only.includes(i + 1))
				await run();
	} finally {
		clearInterval(sampler);
		if (proxy)
			await proxy.close();
		if (context)
			await context.close().catch((e) => ok(false, "the browser closes", e.message));
		await stopDaemon();
	}
	ok(daemon.exitCode === 0, `wstaskd exited with status 0 on SIGTERM (${daemon.exitCode ?? daemon.signalCode})`);
	const left = existing([...procs.keys()]);
	ok(left.length === 0, "no handler process is left", left.join(" "));
}

const watchdog = setTimeout(() => {
	console.log(`Bail out! the run took more than ${DEADLINE / 1000} s`);
	if (daemon && daemon.exitCode === null)
		daemon.kill("SIGKILL");
	process.exit(1);
}, DEADLINE);

try {
	await main();
} catch (e) {
	ok(false, "the run completes", e.stack || String(e));
	if (daemon && daemon.exitCode === null) {
		daemon.kill("SIGKILL");
		await daemon.exited;
	}
}
clearTimeout(watchdog);
console.log(`1..${tests}`);
console.log(failures ? `# FAILED ${failures} of ${tests}; output in ${OUT}` : `# PASS all ${tests}; output in ${OUT}`);
process.exitCode = failures ? 1 : 0;
