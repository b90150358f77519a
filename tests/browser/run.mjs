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
import { spawn } from "node:child_process";
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
const DEADLINE = 180000;	// ms, for the whole run

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

async function startDaemon() {
	const log = path.join(OUT, "wstaskd.log");
	const fd = fs.openSync(log, "w");
	const args = ["-l", "127.0.0.1:0", "-t", "tests/handlers", "-w", "www",
	    "--pass-env", "WT_DIR", "-v"];
	if (process.getuid() === 0)
		args.push("--allow-root");
	daemon = spawn(path.join(ROOT, BUILD, "wstaskd"), args,
	    { cwd: ROOT, env: { ...process.env, WT_DIR }, stdio: ["ignore", fd, fd] });
	fs.closeSync(fd);
	daemon.exited = new Promise((r) => daemon.on("exit", r));
	const port = await waitUntil("wstaskd's event=listen line", () => {
		if (daemon.exitCode !== null)
			throw new Error(`wstaskd exited with ${daemon.exitCode}: see ${log}`);
		const m = /event=listen addr=127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(log, "utf8"));
		return m && Number(m[1]);
	}, 10000);
	return `http://127.0.0.1:${port}`;
}

async function stopDaemon() {
	if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null)
		return;
	daemon.kill("SIGTERM");
	const t = setTimeout(() => daemon.kill("SIGKILL"), 10000);
	await daemon.exited;
	clearTimeout(t);
}

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
	const t0 = now();
	await p1.reload();
	const r = await ready.fired;
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
			args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
		});
		await context.exposeBinding("wtNote", (src, n) => onNote(src.page, n));
		await context.addInitScript(observer);
		for (const p of context.pages())
			await p.close();	// the persistent context's blank first page

		const p1 = await openPage(context, "p1", url);
		ok(true, `the page is ready (${await p1.textContent("#conn")})`);
		const handlers = await p1.$$eval("#preset-handler option", (o) => o.map((x) => x.value));
		ok(handlers.includes("sleep") && handlers.includes("conc"), "the presets list the server's handlers",
		    handlers.join(" "));
		await scenario1(p1);
		await scenario2(p1);
		await scenario3(context, url, p1);
		await scenario4(context, url);
		await scenario5(p1);
		await scenario6(context, url);
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
