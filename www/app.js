// A minimal client of wstask.v1: one session id per tab (kept across
// reloads), Run sends the batch (again: restarts it), Stop cancels.
"use strict";
(function () {
	const $ = (id) => document.getElementById(id);
	let id = sessionStorage.getItem("wstask-session");
	if (!id) {
		id = crypto.randomUUID();
		sessionStorage.setItem("wstask-session", id);
	}
	$("session").value = id;
	const scheme = location.protocol === "https:" ? "wss:" : "ws:";
	let ws = null;

	function log(line) {
		$("log").textContent += line + "\n";
	}

	function connect() {
		ws = new WebSocket(scheme + "//" + location.host + "/stream?session=" +
		    encodeURIComponent($("session").value));
		$("state").textContent = "connecting";
		ws.onmessage = (e) => {
			const m = JSON.parse(e.data);
			if (m.type === "ready")
				$("state").textContent = "ready";
			log(e.data);
		};
		ws.onclose = (e) => {
			$("state").textContent = "closed " + e.code +
			    (e.code === 4001 ? " (taken over by another tab)" : "");
		};
	}

	$("run").onclick = () => {
		let tasks;
		try {
			tasks = JSON.parse($("tasks").value);
		} catch (err) {
			log("not JSON: " + err.message);
			return;
		}
		ws.send(JSON.stringify({ type: "run", tasks: tasks }));
	};
	$("stop").onclick = () => ws.send(JSON.stringify({ type: "cancel" }));
	$("session").onchange = () => {
		sessionStorage.setItem("wstask-session", $("session").value);
		ws.close();
		connect();
	};
	connect();
})();
