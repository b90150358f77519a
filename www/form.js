// Forms built from a handler's "args" schema (SPEC 8.2, 8.4), and the same
// checks the server makes, so that a bad value is shown next to its field
// before anything is sent.  Used by app.js as window.WstaskForm:
//
//   const form = WstaskForm.build(schema, value, label)
//       form.el               the <fieldset> (or field) to insert
//       form.collect()        {value, errors}: value undefined = no args
//       form.mark(ptr, text)  shows text next to the field ptr names
//                             (the nearest one that exists)
//       form.clear()          removes every mark
//   WstaskForm.check(schema, value) -> [{path, message}]
//
// Every field box has a p.field-error; a marked box has class "invalid",
// data-ptr (the RFC 6901 pointer into args that the error named) and its
// control aria-invalid.  The JSON editor in app.js is not checked here: it is the
// way to send anything, and the server checks it.
"use strict";
(() => {
	// ---- JSON Pointer (RFC 6901) ---------------------------------------

	const ptrEsc = (k) => String(k).replace(/~/g, "~0").replace(/\//g, "~1");
	const ptrJoin = (ptr, k) => `${ptr}/${ptrEsc(k)}`;
	const ptrSplit = (ptr) => ptr === "" ? [] :
	    ptr.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));

	// ---- the checks (the server's rules, SPEC 8.2) ---------------------

	const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
	// Equal as JSON values: object members in any order.
	function canon(v) {
		if (Array.isArray(v))
			return `[${v.map(canon).join(",")}]`;
		if (isObj(v))
			return `{${Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",")}}`;
		return JSON.stringify(v);
	}
	const same = (a, b) => canon(a) === canon(b);
	const typesOf = (s) => s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
	const TYPE_OK = {
		null: (v) => v === null, boolean: (v) => typeof v === "boolean",
		integer: (v) => Number.isInteger(v), number: (v) => typeof v === "number",
		string: (v) => typeof v === "string", array: Array.isArray, object: isObj,
	};
	const TYPE_NAME = {
		null: "null", boolean: "true or false", integer: "a whole number",
		number: "a number", string: "text", array: "a list", object: "an object",
	};
	const plural = (n, word) => n === 1 ? word : `${word}s`;
	const show = (v) => typeof v === "string" ? `"${v}"` : JSON.stringify(v);

	// A POSIX extended regular expression as a JavaScript one: the
	// character classes ([:alpha:] ...) are the only common syntax that
	// differs.  null when it does not translate: the server checks it.
	const CLASSES = {
		alpha: "A-Za-z", digit: "0-9", alnum: "A-Za-z0-9", upper: "A-Z", lower: "a-z",
		space: " \\t\\n\\r\\f\\v", blank: " \\t", xdigit: "0-9A-Fa-f", punct: "!-\\/:-@\\[-`{-~",
		cntrl: "\\x00-\\x1f\\x7f", print: "\\x20-\\x7e", graph: "\\x21-\\x7e",
	};
	const regexes = new Map();
	function ere(pattern) {
		if (!regexes.has(pattern)) {
			let re = null;
			try {
				re = new RegExp(pattern.replace(/\[:([a-z]+):\]/g, (m, c) => CLASSES[c] ?? m));
			} catch {
				// left to the server
			}
			regexes.set(pattern, re);
		}
		return regexes.get(pattern);
	}

	function checkNumber(s, v, bad) {
		if (typeof s.minimum === "number" && v < s.minimum)
			bad(`${v} is less than the minimum ${s.minimum}`);
		else if (typeof s.maximum === "number" && v > s.maximum)
			bad(`${v} is greater than the maximum ${s.maximum}`);
		else if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum)
			bad(`${v} must be greater than ${s.exclusiveMinimum}`);
		else if (typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum)
			bad(`${v} must be less than ${s.exclusiveMaximum}`);
	}

	function checkString(s, v, bad) {
		const n = [...v].length;	// code points, as the server counts
		const re = typeof s.pattern === "string" ? ere(s.pattern) : null;
		if (typeof s.minLength === "number" && n < s.minLength)
			bad(`at least ${s.minLength}${plural(s.minLength, " character")} (has ${n})`);
		else if (typeof s.maxLength === "number" && n > s.maxLength)
			bad(`at most ${s.maxLength}${plural(s.maxLength, " character")} (has ${n})`);
		else if (re && !re.test(v))
			bad(`does not match the pattern ${s.pattern}`);
	}

	function checkArray(s, v, ptr, errs, bad) {
		if (typeof s.minItems === "number" && v.length < s.minItems)
			bad(`at least ${s.minItems}${plural(s.minItems, " item")} (has ${v.length})`);
		else if (typeof s.maxItems === "number" && v.length > s.maxItems)
			bad(`at most ${s.maxItems}${plural(s.maxItems, " item")} (has ${v.length})`);
		if (isObj(s.items))
			v.forEach((x, i) => walk(s.items, x, ptrJoin(ptr, i), errs));
	}

	function checkObject(s, v, ptr, errs) {
		const props = isObj(s.properties) ? s.properties : {};
		for (const k of Array.isArray(s.required) ? s.required : [])
			if (!Object.hasOwn(v, k))
				errs.push({ path: ptrJoin(ptr, k), message: "required" });
		for (const [k, x] of Object.entries(v)) {
			if (isObj(props[k]))
				walk(props[k], x, ptrJoin(ptr, k), errs);
			else if (s.additionalProperties === false)
				errs.push({ path: ptrJoin(ptr, k), message: `"${k}" is not allowed here` });
			else if (isObj(s.additionalProperties))
				walk(s.additionalProperties, x, ptrJoin(ptr, k), errs);
		}
	}

	// Every failure, not only the first: each is shown at its field.
	function walk(s, v, ptr, errs) {
		const bad = (message) => errs.push({ path: ptr, message });
		const types = typesOf(s);
		if (types.length && !types.some((t) => TYPE_OK[t]?.(v)))
			return bad(`must be ${types.map((t) => TYPE_NAME[t] ?? t).join(" or ")}`);
		if (s.const !== undefined && !same(v, s.const))
			return bad(`must be ${show(s.const)}`);
		if (Array.isArray(s.enum) && !s.enum.some((e) => same(v, e)))
			return bad(`must be one of ${s.enum.map(show).join(", ")}`);
		if (typeof v === "number")
			checkNumber(s, v, bad);
		else if (typeof v === "string")
			checkString(s, v, bad);
		else if (Array.isArray(v))
			checkArray(s, v, ptr, errs, bad);
		else if (isObj(v))
			checkObject(s, v, ptr, errs);
	}

	function check(schema, value) {
		const errs = [];
		if (isObj(schema))
			walk(schema, value === undefined ? null : value, "", errs);
		return errs;
	}

	// ---- the fields ------------------------------------------------------
	//
	// A field is {el, control, get(ptr, errs), child(token), mark(text),
	// clear()}; get returns undefined for "leave it out".

	let uid = 0;
	const el = (tag, props = {}, ...kids) => {
		const e = Object.assign(document.createElement(tag), props);
		e.append(...kids);
		return e;
	};

	// The constraints in words, shown under the field.
	function hint(s) {
		const h = [];
		if (typeof s.description === "string")
			h.push(s.description);
		const range = (lo, hi, unit) => lo !== undefined && hi !== undefined ? `${lo} to ${hi}${unit(hi)}` :
		    lo !== undefined ? `at least ${lo}${unit(lo)}` : hi !== undefined ? `at most ${hi}${unit(hi)}` : "";
		const num = s.minimum !== undefined && s.maximum !== undefined ? [`${s.minimum} to ${s.maximum}`] : [
			s.minimum !== undefined && `at least ${s.minimum}`,
			s.exclusiveMinimum !== undefined && `more than ${s.exclusiveMinimum}`,
			s.maximum !== undefined && `at most ${s.maximum}`,
			s.exclusiveMaximum !== undefined && `less than ${s.exclusiveMaximum}`,
		];
		const bounds = num.filter(Boolean).join(", ");
		if (typesOf(s).includes("integer"))
			h.push(`A whole number${bounds ? ", " + bounds : ""}.`);
		else if (bounds)
			h.push(`A number, ${bounds}.`);
		const len = range(s.minLength, s.maxLength, (n) => plural(n, " character"));
		if (len)
			h.push(`${len[0].toUpperCase()}${len.slice(1)}.`);
		if (typeof s.pattern === "string")
			h.push(`Must match ${s.pattern}.`);
		const items = range(s.minItems, s.maxItems, (n) => plural(n, " item"));
		if (items)
			h.push(`${items[0].toUpperCase()}${items.slice(1)}.`);
		return h.join(" ");
	}

	// The box around a field: label, control, hint and error place.
	function box(s, label, required, control, { after = false } = {}) {
		const id = `wf${++uid}`;
		control.id = id;
		const lab = el("label", { htmlFor: id }, label);	// a text node even when empty
		if (required && label !== "") {	// not on a list's items
			lab.append(el("span", { className: "req", textContent: " *", title: "required" }));
			control.setAttribute("aria-required", "true");
		}
		const help = hint(s);
		const helpEl = el("p", { className: "help", id: `${id}-h`, textContent: help, hidden: !help });
		const err = el("p", { className: "field-error", id: `${id}-e`, hidden: true });
		control.setAttribute("aria-describedby", `${id}-h ${id}-e`);
		const row = after ? el("div", { className: "check" }, control, lab) : el("div", { className: "line" }, lab, control);
		const e = el("div", { className: "field" }, row, helpEl, err);
		return { el: e, control, err };
	}

	function marker(f) {
		f.mark = (text) => {
			f.err.textContent = text;
			f.err.hidden = false;
			f.el.classList.add("invalid");
			f.control.setAttribute("aria-invalid", "true");
		};
		f.clear = () => {
			f.err.textContent = "";
			f.err.hidden = true;
			f.el.classList.remove("invalid");
			f.control.removeAttribute("aria-invalid");
		};
		f.child = f.child || (() => null);
		return f;
	}

	// What to do with an empty input: null when the type allows it,
	// else left out (when not required).
	const nullable = (s) => typesOf(s).includes("null");

	function textField(s, value, label, required) {
		const input = el("input", { type: "text", spellcheck: false, autocapitalize: "off", autocomplete: "off" });
		input.value = typeof value === "string" ? value : "";
		const f = box(s, label, required, input);
		f.get = () => input.value === "" && !required ? (nullable(s) ? null : undefined) : input.value;
		return marker(f);
	}

	function numberField(s, value, label, required) {
		const integer = typesOf(s).includes("integer");
		const input = el("input", { type: "number", inputMode: integer ? "numeric" : "decimal" });
		input.step = integer ? "1" : "any";
		if (typeof s.minimum === "number")
			input.min = s.minimum;
		if (typeof s.maximum === "number")
			input.max = s.maximum;
		if (typeof value === "number")
			input.value = String(value);
		const f = box(s, label, required, input);
		f.get = (ptr, errs) => {
			if (input.validity.badInput) {
				errs.push({ path: ptr, message: "not a number" });
				return undefined;
			}
			if (input.value === "") {
				if (nullable(s))
					return null;
				if (required)
					errs.push({ path: ptr, message: "required" });
				return undefined;
			}
			return Number(input.value);
		};
		return marker(f);
	}

	function boolField(s, value, label, required) {
		const input = el("input", { type: "checkbox", checked: value === true });
		const f = box(s, label, required, input, { after: true });
		f.get = () => input.checked;
		return marker(f);
	}

	function enumField(s, value, label, required) {
		const choices = s.const !== undefined ? [s.const] : s.enum;
		const sel = el("select");
		if (!required)
			sel.append(new Option("(not set)", ""));
		choices.forEach((c, i) => sel.append(new Option(typeof c === "string" ? c : JSON.stringify(c), String(i))));
		const at = choices.findIndex((c) => value !== undefined && same(c, value));
		sel.value = at >= 0 ? String(at) : required ? "0" : "";
		const f = box(s, label, required, sel);
		f.get = () => sel.value === "" ? undefined : choices[Number(sel.value)];
		return marker(f);
	}

	// Any JSON value, for a schema the form cannot draw (no type, several
	// types): typed as JSON; with loose, text that is not JSON is a string.
	function jsonField(s, value, label, required, loose = false) {
		const input = el("input", { type: "text", spellcheck: false, autocapitalize: "off", autocomplete: "off",
		    className: "json", placeholder: loose ? "none" : "JSON" });
		input.value = value === undefined ? "" : JSON.stringify(value);
		const f = box(s, label, required, input);
		f.get = (ptr, errs) => {
			const t = input.value.trim();
			if (t === "") {
				if (required && !loose)
					errs.push({ path: ptr, message: "required (as JSON)" });
				return undefined;
			}
			try {
				return JSON.parse(t);
			} catch {
				if (!loose)
					errs.push({ path: ptr, message: "not valid JSON" });
				return loose ? t : undefined;
			}
		};
		return marker(f);
	}

	function group(s, label, required) {
		const id = `wf${++uid}`;
		const legend = el("legend", {}, label);
		if (required && label !== "")
			legend.append(el("span", { className: "req", textContent: " *", title: "required" }));
		const help = hint(s);
		const fs = el("fieldset", { className: "group" }, legend,
		    el("p", { className: "help", id: `${id}-h`, textContent: help, hidden: !help }));
		const err = el("p", { className: "field-error", id: `${id}-e`, hidden: true });
		fs.setAttribute("aria-describedby", `${id}-h ${id}-e`);
		fs.append(err);
		return { el: fs, control: fs, err };
	}

	function objectField(s, value, label, required) {
		const f = group(s, label, required);
		const props = s.properties;
		const need = Array.isArray(s.required) ? s.required : [];
		const v = isObj(value) ? value : {};
		const kids = new Map();
		for (const [k, sub] of Object.entries(props)) {
			const kid = field(isObj(sub) ? sub : {}, v[k] !== undefined ? v[k] : sub?.default,
			    sub?.title || k, need.includes(k));
			kid.el.dataset.key = k;
			kids.set(k, kid);
			f.el.append(kid.el);
		}
		// Members the form has no field for (from a task loaded from the
		// JSON editor) are kept as they are.
		const extra = Object.fromEntries(Object.entries(v).filter(([k]) => !kids.has(k)));
		f.get = (ptr, errs) => {
			const out = { ...extra };
			for (const [k, kid] of kids) {
				const x = kid.get(ptrJoin(ptr, k), errs);
				if (x !== undefined)
					out[k] = x;
			}
			return out;
		};
		f.child = (t) => kids.get(t) || null;
		f.walk = (fn) => {
			fn(f);
			kids.forEach((kid) => kid.walk ? kid.walk(fn) : fn(kid));
		};
		return marker(f);
	}

	function arrayField(s, value, label, required) {
		const f = group(s, label, required);
		const item = isObj(s.items) ? s.items : {};
		const list = el("ol", { className: "items" });
		const add = el("button", { type: "button", className: "add", textContent: `Add ${item.title || "item"}` });
		f.el.append(list, add);
		const rows = [];
		const min = typeof s.minItems === "number" ? s.minItems : 0;
		const max = typeof s.maxItems === "number" ? s.maxItems : Infinity;
		const renumber = () => {
			rows.forEach((r, i) => {
				r.kid.el.querySelector("label, legend").firstChild.textContent = `${item.title || label} ${i + 1}`;
				r.remove.setAttribute("aria-label", `Remove ${item.title || label} ${i + 1}`);
				r.remove.disabled = rows.length <= min;
			});
			add.disabled = rows.length >= max;
		};
		const addRow = (v) => {
			const kid = field(item, v, "", true);
			const remove = el("button", { type: "button", className: "remove", textContent: "Remove" });
			const li = el("li", {}, kid.el, remove);
			const r = { kid, remove, li };
			remove.onclick = () => {
				rows.splice(rows.indexOf(r), 1);
				li.remove();
				renumber();
				(rows.at(-1)?.remove ?? add).focus();
			};
			rows.push(r);
			list.append(li);
		};
		const start = Array.isArray(value) ? value : [];
		start.forEach(addRow);
		while (rows.length < min)
			addRow(item.default);
		add.onclick = () => {
			addRow(item.default);
			renumber();
			rows.at(-1).kid.control.focus();
		};
		renumber();
		f.get = (ptr, errs) => rows.map((r, i) => r.kid.get(ptrJoin(ptr, i), errs));
		f.child = (t) => /^(0|[1-9][0-9]*)$/.test(t) ? rows[Number(t)]?.kid || null : null;
		f.walk = (fn) => {
			fn(f);
			rows.forEach((r) => r.kid.walk ? r.kid.walk(fn) : fn(r.kid));
		};
		return marker(f);
	}

	// The field for schema s, starting from value (a default or the value
	// being edited again).
	function field(s, value, label, required) {
		const types = typesOf(s).filter((t) => t !== "null");
		const one = types.length === 1 ? types[0] : null;
		if (Array.isArray(s.enum) || s.const !== undefined)
			return enumField(s, value, label, required);
		if (one === "string")
			return textField(s, value, label, required);
		if (one === "integer" || one === "number")
			return numberField(s, value, label, required);
		if (one === "boolean")
			return boolField(s, value, label, required);
		if (one === "array")
			return arrayField(s, value, label, required);
		if (one === "object" && isObj(s.properties))
			return objectField(s, value, label, required);
		return jsonField(s, value, label, required);
	}

	// The form for a handler's args schema (none: one optional JSON field,
	// where plain text is sent as a string, as before there were schemas).
	function build(schema, value, label = "Arguments") {
		const root = isObj(schema) ? field(schema, value !== undefined ? value : schema.default, label, true) :
		    jsonField({ description: "Any JSON value, or text (sent as a string). Empty: no args." }, value, "Args", false, true);
		root.el.classList.add("root");
		root.el.querySelector(".req")?.remove();	// args are always there
		const all = () => {
			const list = [];
			root.walk ? root.walk((f) => list.push(f)) : list.push(root);
			return list;
		};
		const at = (ptr) => {
			let f = root;
			let exact = true;
			for (const t of ptrSplit(ptr)) {
				const c = f.child(t);
				if (!c) {
					exact = false;
					break;
				}
				f = c;
			}
			return { f, exact };
		};
		const api = {
			el: root.el,
			clear: () => all().forEach((f) => f.clear()),
			mark(ptr, text) {
				const { f, exact } = at(ptr);
				const prev = f.err.hidden ? "" : f.err.textContent + " ";
				f.mark(prev + (exact ? text : `${ptr}: ${text}`));
				f.el.dataset.ptr = ptr;
				return f;
			},
			collect() {
				const errs = [];
				const value = root.get("", errs);
				// The form's own complaints first; one per field.
				const seen = new Set(errs.map((e) => e.path));
				if (isObj(schema))
					errs.push(...check(schema, value).filter((e) => !seen.has(e.path)));
				return { value, errors: errs };
			},
		};
		return api;
	}

	window.WstaskForm = { build, check };
})();
