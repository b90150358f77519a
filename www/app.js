// The wstaskd browser client: a wstask.v1 client (see wstaskd(7)) in plain
// JavaScript.
//
//  - One session id per tab, kept in sessionStorage so that a reload keeps
//    it (and so supersedes the connection of the page it replaces).
//  - The WebSocket is always ws[s]://<this page's host>/stream?session=ID,
//    subprotocol wstask.v1.
//  - Run sends {"type":"run"} (with "log":true when the live log switch is
//    on); Run while a batch runs is a restart, which the server does (it
//    cancels the old batch first). Stop sends cancel.
//  - The batch comes from the form built from the handler's args schema
//    (form.js; checked here before it is sent) or from the JSON editor
//    (not checked here: the server does). A bad_args error loads the
//    task it names into the form and marks the field its pointer names.
//  - One table row per task: tr[data-id][data-state] inside
//    tbody[data-batch], state queued, running, ok, failed or cancelled;
//    while it runs, its progress (tr[data-progress] = bar or text) and,
//    for a batch run with the live log, details.log with its stderr lines.
//  - While a batch runs, leaving the page asks first (beforeunload): the
//    server cancels the batch of a connection that closes.
//  - After a close with 4001 (another tab took the session) or 1008 (the
//    server refused the id) the page waits for the user; after any other
//    close it reconnects with an exponential back-off.
"use strict";
(() => {
	const $ = (id) => document.getElementById(id);
	const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
	const KEEP_BATCHES = 3;		// batches shown in the table
	const KEEP_EVENTS = 300;	// lines in "Raw events"
	const PREVIEW_CHARS = 60;
	const KEEP_LOG_LINES = 1000;	// per task, in its live log (also said in index.html)
	const CLOSE_TEXT = {
		1000: "normal closure", 1001: "server shutting down",
		1006: "connection lost", 1007: "invalid text",
		1008: "bad session id", 1009: "message too big",
		4001: "taken over by another tab or window",
	};
	// Suggested args for handlers without an args schema; others get none.
	const ARGS_HINT = {
		sleep: "1", conc: "0.5", echo: '{"hello":"world"}',
		fail: "3", sha256: '{"text":"hello"}', "disk-usage": '"/"',
	};

	// ---- session id -------------------------------------------------

	// crypto.randomUUID() exists only in secure contexts (https, localhost):
	// elsewhere make the same kind of id from getRandomValues().
	function newId() {
		if (crypto.randomUUID)
			return crypto.randomUUID();
		const b = crypto.getRandomValues(new Uint8Array(16));
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
		return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
	}

	let sid = sessionStorage.getItem("wstask-session");
	if (!sid || !ID_RE.test(sid))
		sid = newId();
	sessionStorage.setItem("wstask-session", sid);
	$("session").value = sid;

	// ---- connection -------------------------------------------------

	let ws = null;		// the current socket; events of older ones are ignored
	let ready = false;	// the server granted the session
	let retries = 0;	// closes since the last ready, for the back-off
	let retryTimer = null;

	// The connection state: a short text, and details that a phone-width
	// screen leaves out (in span.conn-extra).
	function setConn(state, text, extra = "") {
		const more = document.createElement("span");
		more.className = "conn-extra";
		more.textContent = extra;
		$("conn").dataset.state = state;
		$("conn").replaceChildren(text, more);
		$("reconnect").hidden = state !== "closed";
		updateButtons();
	}

	function connect() {
		clearTimeout(retryTimer);
		retryTimer = null;
		drop();
		$("takeover").hidden = true;
		const scheme = location.protocol === "https:" ? "wss:" : "ws:";
		// Offering the subprotocol makes a server that does not speak
		// wstask.v1 fail the handshake rather than misread our messages.
		const sock = new WebSocket(`${scheme}//${location.host}/stream?session=${encodeURIComponent(sid)}`,
		    "wstask.v1");
		ws = sock;
		setConn("connecting", "connecting…", ` session ${sid}`);
		sock.onmessage = (e) => {
			if (sock !== ws)
				return;
			let m;
			try {
				m = JSON.parse(e.data);
			} catch {
				logEvent(`(not JSON) ${e.data}`);
				return;
			}
			onEvent(m, e.data);
		};
		sock.onclose = (e) => {
			if (sock === ws)
				onClose(e);
		};
	}

	// Forget the current socket (closing it if open) without reacting to
	// its close: used when the user changes the id or reconnects.
	function drop() {
		const old = ws;
		ws = null;
		ready = false;
		if (old) {
			old.close(1000);
			lostBatch("the page reconnected");
		}
	}

	function onClose(e) {
		ws = null;
		ready = false;
		const why = `closed ${e.code}` + (e.reason ? ` ${e.reason}` :
		    CLOSE_TEXT[e.code] ? ` (${CLOSE_TEXT[e.code]})` : "");
		lostBatch(`connection ${why}`);
		logEvent(`-- ${why}`);
		if (e.code === 4001) {
			// Another tab or window claimed this id: do not fight it.
			$("takeover").hidden = false;
			setConn("taken-over", why, ": this session was taken over by another tab or window");
			return;
		}
		if (e.code === 1008) {
			setConn("refused", why, `: the server refused session id ${sid}; enter another`);
			return;
		}
		// Anything else (network lost, server restarted): try again,
		// 0.5 s, 1 s, 2 s, ... up to 30 s, with some jitter.
		const delay = Math.min(30000, 500 * 2 ** retries++) * (0.8 + 0.4 * Math.random());
		setConn("closed", `${why}, retrying in ${Math.ceil(delay / 1000)} s`);
		retryTimer = setTimeout(connect, delay);
	}

	// Back online: do not wait out the back-off.
	window.addEventListener("online", () => {
		if (retryTimer)
			connect();
	});
	$("reconnect").onclick = connect;
	$("takeback").onclick = () => {
		connect();
		$("run").focus();
	};

	function send(msg) {
		ws.send(JSON.stringify(msg));
		logEvent(`>> ${JSON.stringify(msg)}`);
	}

	// ---- batches and the table --------------------------------------

	// name -> {name, total, done, ok, failed, state, tbody, head, rows: Map(id -> row)}
	const batches = new Map();
	const sent = new Map();	// runs sent, not yet accepted: name -> [{id, task}]
	let current = null;	// the batch the progress bar shows
	let seq = Number(sessionStorage.getItem("wstask-batch-seq")) || 0;

	// A task's id as the server names it: its "id" (an integer as its
	// decimal string), else its index in the batch.
	const taskId = (t, i) => t && typeof t === "object" && t.id !== undefined ? String(t.id) : String(i);
	const taskName = (t) => typeof t === "string" ? t : t && typeof t === "object" ? String(t.task ?? "?") : "?";

	function fmtMs(ms) {
		return ms < 999.5 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
	}

	function addRow(b, id, task) {
		const tr = document.createElement("tr");
		tr.dataset.id = id;
		tr.innerHTML = '<td class="id"></td><td class="c-handler"></td>' +
		    '<td><span class="state"></span></td><td class="num time"></td>' +
		    '<td class="value"><div class="val"></div><div class="prog" hidden></div></td>';
		tr.cells[0].textContent = id;
		tr.cells[1].textContent = task;
		const row = { id, tr, t0: 0, stateEl: tr.querySelector(".state"), timeEl: tr.cells[3],
		    valEl: tr.querySelector(".val"), progEl: tr.querySelector(".prog"), log: null };
		setState(row, "queued");
		b.tbody.append(tr);
		b.rows.set(id, row);
		return row;
	}

	function setState(row, state) {
		row.state = state;
		row.tr.dataset.state = state;
		row.stateEl.textContent = state;
	}

	function rowOf(b, id) {
		return b.rows.get(id) || addRow(b, id, "?");
	}

	// The value cell: a one-line preview in a button that shows the
	// whole result event, pretty-printed, below it.
	function setValue(row, m) {
		const text = m.ok ? JSON.stringify(m.value) : `${m.error}${m.value !== null ? " " + JSON.stringify(m.value) : ""}`;
		const btn = document.createElement("button");
		btn.type = "button";
		btn.className = "preview";
		btn.setAttribute("aria-expanded", "false");
		btn.title = "Show the whole result";
		btn.textContent = text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS - 1) + "…" : text;
		const pre = document.createElement("pre");
		pre.className = "full";
		pre.hidden = true;
		pre.textContent = JSON.stringify(m, null, 2);
		btn.onclick = () => {
			pre.hidden = !pre.hidden;
			btn.setAttribute("aria-expanded", String(!pre.hidden));
		};
		row.valEl.replaceChildren(btn, pre);
		row.progEl.hidden = true;	// progress is for running tasks
		row.progEl.replaceChildren();
		delete row.tr.dataset.progress;
	}

	// SPEC 7.1: {"done":N,"total":M,"message":S} (each optional) is a bar
	// when done and total are numbers; anything else is shown as text.
	function setProgress(row, d) {
		const obj = d !== null && typeof d === "object" && !Array.isArray(d);
		const msg = obj && typeof d.message === "string" ? d.message : "";
		const label = document.createElement("span");
		label.className = "prog-text";
		if (obj && typeof d.done === "number" && typeof d.total === "number") {
			const bar = document.createElement("progress");
			bar.max = d.total > 0 ? d.total : 1;
			bar.value = Math.min(Math.max(d.done, 0), bar.max);
			bar.setAttribute("aria-label", `Task ${row.id}: ${d.done} of ${d.total}`);
			label.textContent = `${d.done} / ${d.total}` + (msg ? ` · ${msg}` : "");
			row.progEl.replaceChildren(bar, label);
			row.tr.dataset.progress = "bar";
		} else {
			label.textContent = typeof d === "string" ? d : msg && Object.keys(d).length === 1 ? msg : JSON.stringify(d);
			row.progEl.replaceChildren(label);
			row.tr.dataset.progress = "text";
		}
		row.progEl.hidden = false;
	}

	// A task's live log (SPEC 7.2): a disclosure under its row's value,
	// made when the task starts; only the last KEEP_LOG_LINES lines stay.
	function makeLog(row) {
		const box = document.createElement("details");
		box.className = "log";
		box.innerHTML = '<summary></summary><p class="help log-cut" hidden></p><pre class="log-lines"></pre>';
		row.log = { box, sum: box.querySelector("summary"), cut: box.querySelector(".log-cut"),
		    pre: box.querySelector("pre"), lines: 0, kept: 0, follow: undefined };
		row.log.sum.textContent = "Live log: no lines yet";
		box.ontoggle = () => {
			if (box.open)
				row.log.pre.scrollTop = row.log.pre.scrollHeight;
		};
		row.tr.cells[4].append(box);
	}

	function addLogLine(row, line) {
		const log = row.log;
		const pre = log.pre;
		// An open log that is scrolled to its end follows new lines; the
		// layout is read once per frame, not per line.
		if (log.box.open && log.follow === undefined) {
			log.follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
			requestAnimationFrame(() => {
				if (log.follow)
					pre.scrollTop = pre.scrollHeight;
				log.follow = undefined;
			});
		}
		pre.append(`${line}\n`);
		log.lines++;
		if (++log.kept > KEEP_LOG_LINES) {
			pre.firstChild.remove();
			log.kept--;
			log.cut.textContent = `The first ${log.lines - log.kept} lines are not kept here: ` +
			    `the page keeps the last ${KEEP_LOG_LINES} lines of a task.`;
			log.cut.hidden = false;
		}
		log.sum.textContent = `Live log: ${log.lines} line${log.lines === 1 ? "" : "s"}`;
	}

	function updateProgress() {
		const b = current && batches.get(current);
		if (!b) return;
		$("progress").max = Math.max(b.total, 1);
		$("progress").value = b.total ? b.done : 1;
		$("progress-text").textContent = `${b.done} / ${b.total}` + (b.state === "running" ? "" : ` ${b.state}`);
		b.head.textContent = `Batch ${b.name}: ${b.state}, ${b.done} / ${b.total}` + (b.limit ? `, limit ${b.limit}` : "");
	}

	function summary(text) {
		$("summary").textContent = text;
	}

	function running() {
		return [...batches.values()].some((b) => b.state === "running") || sent.size > 0;
	}

	function updateButtons() {
		const busy = running();
		$("run").disabled = !ready;
		$("stop").disabled = !ready || !busy;
		$("run").textContent = busy ? "Restart" : "Run";
		$("leave-note").hidden = !busy;
	}

	// The end of a batch: a batch or task that did not finish is cancelled.
	function endBatch(b, state) {
		b.state = state;
		for (const row of b.rows.values()) {
			if (row.state !== "queued" && row.state !== "running")
				continue;
			if (row.state === "running")
				row.timeEl.textContent = fmtMs(performance.now() - row.t0);
			setState(row, "cancelled");
		}
		updateProgress();
		updateButtons();
	}

	// The connection ended with a batch running: the server cancels it.
	function lostBatch(why) {
		sent.clear();
		for (const b of batches.values())
			if (b.state === "running") {
				endBatch(b, "cancelled");
				summary(`Batch ${b.name} cancelled: ${why}.`);
			}
		updateButtons();
	}

	// ---- events from the server -------------------------------------

	function onEvent(m, raw) {
		logEvent(raw);
		const b = batches.get(m.batch);
		switch (m.type) {
		case "ready":
			ready = true;
			retries = 0;
			setConn("ready", "ready", ` · session ${m.session}` + (m.superseded ? " (taken over from another connection)" : ""));
			break;
		case "accepted": {
			const run = sent.get(m.batch) || { tasks: [], log: false };
			sent.delete(m.batch);
			const nb = { name: m.batch, total: m.tasks, done: 0, ok: 0, failed: 0, log: run.log,
			    limit: m.limit, state: "running", rows: new Map(),
			    tbody: document.createElement("tbody") };
			nb.tbody.dataset.batch = m.batch;
			nb.tbody.innerHTML = '<tr class="head"><th class="batch-head" colspan="5" scope="rowgroup"></th></tr>';
			nb.head = nb.tbody.querySelector("th");
			run.tasks.forEach((t) => addRow(nb, t.id, t.task));
			batches.set(m.batch, nb);
			$("no-batch")?.remove();
			$("tasks").tHead.after(nb.tbody);	// newest first
			for (const old of [...batches.values()].slice(0, -KEEP_BATCHES)) {
				old.tbody.remove();
				batches.delete(old.name);
			}
			current = m.batch;
			updateProgress();
			summary(`Batch ${m.batch} running: ${m.tasks} tasks, at most ${m.limit} at once.`);
			break;
		}
		case "started":
			if (b) {
				const row = rowOf(b, m.id);
				row.t0 = performance.now();
				setState(row, "running");
				if (b.log && !row.log)
					makeLog(row);
				tick();
			}
			break;
		case "progress":
			if (b && b.state === "running")
				setProgress(rowOf(b, m.id), m.data);
			break;
		case "log":
			if (b && b.state === "running") {
				const row = rowOf(b, m.id);
				if (!row.log)
					makeLog(row);
				addLogLine(row, typeof m.line === "string" ? m.line : JSON.stringify(m.line));
			}
			break;
		case "result":
			if (b) {
				const row = rowOf(b, m.id);
				setState(row, m.ok ? "ok" : "failed");
				row.timeEl.textContent = fmtMs(m.ms);
				setValue(row, m);
				b.done++;
				m.ok ? b.ok++ : b.failed++;
				updateProgress();
			}
			break;
		case "done":
			if (b) {
				endBatch(b, "done");
				summary(`Batch ${m.batch} done in ${fmtMs(m.ms)}: ${m.ok} ok, ${m.failed} failed.`);
			}
			break;
		case "cancelled": {
			const why = { replaced: "replaced by a new run", cancel: "stopped",
			    superseded: "the session was taken over", shutdown: "the server is shutting down" }[m.reason] || m.reason;
			if (b) {
				endBatch(b, "cancelled");
				summary(`Batch ${m.batch} cancelled (${why}): ${m.finished} finished, ` +
				    `${m.started - m.finished} killed, ${m.cancelled - (m.started - m.finished)} never started.`);
			} else if (sent.delete(m.batch)) {	// a run skipped for a newer one
				summary(`Run ${m.batch} skipped (${why}).`);
			}
			updateButtons();
			break;
		}
		case "error": {
			const run = m.batch !== undefined ? sent.get(m.batch) : undefined;
			if (m.batch !== undefined)
				sent.delete(m.batch);
			summary(`Refused: ${m.message} (${m.code}).`);
			if (m.code === "bad_args" && run)
				showBadArgs(m, run);
			else
				showBatchError(`The server refused it: ${m.message}`);
			updateButtons();
			break;
		}
		}
	}

	// Running rows show their time so far, updated while any task runs.
	let ticking = null;
	function tick() {
		if (ticking) return;
		ticking = setInterval(() => {
			let any = false;
			for (const b of batches.values())
				for (const row of b.rows.values())
					if (row.state === "running") {
						row.timeEl.textContent = fmtMs(performance.now() - row.t0);
						any = true;
					}
			if (!any) {
				clearInterval(ticking);
				ticking = null;
			}
		}, 200);
	}

	function logEvent(line) {
		const pre = $("events");
		const lines = (pre.textContent + line + "\n").split("\n");
		pre.textContent = lines.slice(-KEEP_EVENTS - 1).join("\n");
	}

	// ---- the batch editor and the buttons ---------------------------

	function showBatchError(text) {
		$("batch-error").textContent = text;
		$("batch-error").hidden = !text;
	}

	// The box holds a list of tasks, or an object with "tasks" (and maybe
	// "limit"). Returns {tasks, limit} or throws with a message.
	function parseBatch() {
		let v;
		try {
			v = JSON.parse($("batch").value);
		} catch (err) {
			throw new Error(`The batch is not valid JSON: ${err.message}`);
		}
		if (Array.isArray(v))
			v = { tasks: v };
		if (!v || typeof v !== "object" || !Array.isArray(v.tasks))
			throw new Error('The batch must be a list of tasks or an object with a "tasks" list.');
		return v;
	}

	// The editor in use, "form" or "json", kept for this tab.
	let mode = sessionStorage.getItem("wstask-mode") === "json" ? "json" : "form";
	function setMode(m) {
		mode = m;
		sessionStorage.setItem("wstask-mode", m);
		$(`mode-${m}`).checked = true;
		$("form-pane").hidden = m !== "form";
		$("json-pane").hidden = m !== "json";
		showBatchError("");
	}
	for (const m of ["form", "json"])
		$(`mode-${m}`).onchange = () => setMode(m);

	// ---- handlers and their forms (SPEC 8.4) ------------------------

	let form = null;	// the WstaskForm shown, for handler formFor
	let formFor = "";

	// GET /handlers/NAME: read again each time, as the server rereads
	// manifests (an edit needs no restart).
	function handlerInfo(name) {
		return fetch(`/handlers/${encodeURIComponent(name)}`, { cache: "no-store" })
			.then((r) => r.ok ? r.json() : { name })
			.catch(() => ({ name }));
	}

	function formError(text) {
		$("form-error").textContent = text;
		$("form-error").hidden = !text;
	}

	// Shows handler name (the one selected) with its title, description
	// and args form, starting from value (else the schema's defaults).
	// False when the selection changed meanwhile.
	async function showHandler(name, value) {
		const h = name ? await handlerInfo(name) : { name };
		if ($("handler").value !== name)
			return false;
		formFor = name;
		sessionStorage.setItem("wstask-handler", name);
		$("handler-title").textContent = h.title || name;
		$("handler-desc").textContent = h.description || "";
		$("handler-desc").hidden = !h.description;
		$("handler-progress").hidden = h.progress !== true;
		if (value === undefined && !h.args && ARGS_HINT[name] !== undefined)
			value = JSON.parse(ARGS_HINT[name]);
		form = WstaskForm.build(h.args, value);
		$("args-form").replaceChildren(form.el);
		$("args-form").dataset.handler = name;
		formError("");
		return true;
	}

	function copies() {
		return Math.min(1000, Math.max(1, Math.trunc(Number($("copies").value)) || 1));
	}

	// The tasks the form describes, or null after marking what is wrong:
	// nothing is sent then.
	function formTasks() {
		if (!form || !formFor) {
			formError("Choose a handler first.");
			return null;
		}
		form.clear();
		const { value, errors } = form.collect();
		if (errors.length) {
			for (const e of errors)
				form.mark(e.path, e.message);
			formError(`${errors.length === 1 ? "One field needs" : `${errors.length} fields need`} fixing: nothing was sent.`);
			$("args-form").querySelector(".invalid :is(input, select, button)")?.focus();
			return null;
		}
		formError("");
		return Array.from({ length: copies() }, () => value === undefined ? { task: formFor } : { task: formFor, args: value });
	}

	// SPEC 8.3: the server names the task and a JSON Pointer into its
	// args. That task is loaded into the form (where it came from the
	// JSON editor too) and the message shown at the field named.
	async function showBadArgs(m, run) {
		const t = run.tasks.find((x) => x.id === String(m.task));
		const sel = $("handler");
		if (t)
			sel.value = t.task;
		if (!t || sel.value !== t.task) {
			showBatchError(`The server refused it: ${m.message}`);
			return;
		}
		setMode("form");
		$("copies").value = "1";	// the form shows that one task
		if (!await showHandler(t.task, t.hasArgs ? t.args : undefined))
			return;
		const path = typeof m.path === "string" ? m.path : "";
		const prefix = `task ${m.task}: ${path || "args"}: `;
		form.mark(path, m.message.startsWith(prefix) ? m.message.slice(prefix.length) : m.message);
		formError(`The server refused batch ${m.batch}: task ${m.task}'s args ${path ? `at ${path}` : "as a whole"}. ` +
		    "The form shows that task's args: fix the marked field and run again.");
		$("args-form").querySelector(".invalid :is(input, select, button)")?.focus();
	}

	function run() {
		if (!ready)
			return;
		let spec;
		if (mode === "form") {
			const tasks = formTasks();
			if (!tasks)
				return;
			spec = { tasks };
		} else {
			try {
				spec = parseBatch();
			} catch (err) {
				showBatchError(err.message);
				$("batch").focus();
				return;
			}
		}
		const field = $("limit").value.trim();
		const limit = field !== "" ? Number(field) : spec.limit;
		if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
			showBatchError("The concurrency limit must be a whole number of at least 1.");
			$("limit").focus();
			return;
		}
		showBatchError("");
		form?.clear();	// marks of an earlier refusal
		formError("");
		const name = `b${++seq}`;	// names must be new on a connection
		sessionStorage.setItem("wstask-batch-seq", String(seq));
		const log = $("live-log").checked;
		sent.set(name, { log, tasks: spec.tasks.map((t, i) => {
			const obj = t !== null && typeof t === "object";
			return { id: taskId(t, i), task: taskName(t), hasArgs: obj && "args" in t, args: obj ? t.args : undefined };
		}) });
		const msg = { type: "run", batch: name, tasks: spec.tasks };
		if (limit !== undefined)
			msg.limit = limit;
		if (log)
			msg.log = true;
		const old = [...batches.values()].find((b) => b.state === "running");
		summary(old ? `Restarting: batch ${old.name} is being cancelled, then ${name} starts.` : `Sent batch ${name}.`);
		send(msg);
		updateButtons();
	}

	$("run").onclick = run;
	$("stop").onclick = () => {
		if (ready && running())
			send({ type: "cancel" });
	};
	document.addEventListener("keydown", (e) => {
		if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
			e.preventDefault();
			run();
		}
	});
	$("args-form").onsubmit = (e) => {	// Enter in a field
		e.preventDefault();
		run();
	};

	// The server cancels the batch of a connection that closes: ask first.
	window.addEventListener("beforeunload", (e) => {
		if (ready && running()) {
			e.preventDefault();
			e.returnValue = "";
		}
	});

	// Remember the editor's contents and the switches for this tab.
	for (const id of ["batch", "limit", "copies"]) {
		const saved = sessionStorage.getItem(`wstask-${id}`);
		if (saved !== null)
			$(id).value = saved;
		$(id).addEventListener("input", () => sessionStorage.setItem(`wstask-${id}`, $(id).value));
	}
	$("live-log").checked = sessionStorage.getItem("wstask-log") === "1";
	$("live-log").onchange = () => sessionStorage.setItem("wstask-log", $("live-log").checked ? "1" : "0");

	function writeBatch(tasks) {
		// One task per line: easy to read and to edit.
		$("batch").value = tasks.length ? "[\n" + tasks.map((t) => "  " + JSON.stringify(t)).join(",\n") + "\n]" : "[]";
		sessionStorage.setItem("wstask-batch", $("batch").value);
		showBatchError("");
	}

	// The form's tasks, added to the JSON editor's batch, which is then
	// shown: the way to mix handlers in one batch.
	$("form-to-json").onclick = () => {
		const more = formTasks();
		if (!more)
			return;
		let tasks = [];
		try {
			tasks = parseBatch().tasks;
		} catch {
			// not a batch yet: start a new one
		}
		writeBatch(tasks.concat(more));
		setMode("json");
		$("batch").focus();
	};
	$("form-reset").onclick = () => showHandler(formFor);
	$("handler").onchange = () => showHandler($("handler").value);

	// Every handler's title and description, in the list and the select.
	async function describeHandlers(names) {
		const infos = await Promise.all(names.map(handlerInfo));
		const list = $("handler-list-items");
		list.replaceChildren();
		for (const h of infos) {
			const opt = [...$("handler").options].find((o) => o.value === h.name);
			if (opt && h.title)
				opt.textContent = `${h.title} (${h.name})`;
			const dt = document.createElement("dt");
			dt.append(h.title || h.name);
			if (h.title) {
				const code = document.createElement("code");
				code.textContent = h.name;
				dt.append(" (", code, ")");
			}
			const dd = document.createElement("dd");
			dd.textContent = h.description || "No description.";
			list.append(dt, dd);
		}
		$("handler-list").dataset.count = String(infos.length);
		$("handler-list-count").textContent = String(infos.length);
	}

	fetch("/handlers", { cache: "no-store" })
		.then((r) => r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`)))
		.then(async (names) => {
			const sel = $("handler");
			sel.replaceChildren(...names.map((n) => new Option(n, n)));
			if (!names.length)
				sel.append(new Option("no handlers", ""));
			const saved = sessionStorage.getItem("wstask-handler");
			sel.value = names.includes(saved) ? saved : names.includes("sleep") ? "sleep" : names[0] || "";
			await showHandler(sel.value);
			if (!$("batch").value.trim() && sel.value) {
				const { value, errors } = form.collect();
				writeBatch([errors.length || value === undefined ? { task: sel.value } : { task: sel.value, args: value }]);
			}
			await describeHandlers(names);
		})
		.catch((err) => {
			$("handler").replaceChildren(new Option(`unavailable (${err.message})`, ""));
		});

	setMode(mode);

	// The session id field: Enter (or the button) switches to the id typed.
	$("session-form").onsubmit = (e) => {
		e.preventDefault();
		const input = $("session");
		const v = input.value.trim();
		input.setCustomValidity(ID_RE.test(v) ? "" : "1 to 128 characters of A-Z a-z 0-9 . _ : -");
		if (!input.reportValidity())
			return;
		if (v === sid && ws)
			return;
		sid = v;
		sessionStorage.setItem("wstask-session", sid);
		connect();
	};
	$("session").oninput = () => $("session").setCustomValidity("");
	$("session-new").onclick = () => {
		$("session").value = newId();
		$("session-form").requestSubmit();
	};

	connect();
})();
