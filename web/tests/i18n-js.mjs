// The browser side of the languages (web/assets/i18n.js) under plain node (no npm package):
//   node web/tests/i18n-js.mjs [served.json]
// With a file (e.g. `curl localhost:8080/i18n/inbox/nl.json > nl.json`), it also formats
// every message of it. Exits non-zero on the first failure.
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";

const here = new URL(".", import.meta.url);
const source = readFileSync(new URL("../assets/i18n.js", here), "utf8");

// Served in the compiler's shape (see web/src/i18n.rs, a_plural_message_compiles…).
const served = {
  bundle: "inbox", language: "pt", languages: ["en", "pt"], fallback: [],
  messages: {
    "nav-mine": "Minhas conversas",
    "list-count": [{ select: "n", default: "other", variants: {
      "0": ["Nenhuma conversa"], one: [{ var: "n" }, " conversa"], other: [{ var: "n" }, " conversas"] } }],
    "status": [{ select: "status", default: "other", variants: { queued: ["Na fila"], other: [{ var: "status" }] } }],
    "search.placeholder": "Nome, número ou texto",
  },
};

function fresh(json) {
  const requested = [];
  globalThis.window = {};
  globalThis.fetch = async (url) => { requested.push(url); return { ok: true, json: async () => json }; };
  new Function(source)();
  return { I18n: globalThis.window.DeflectI18n, requested };
}

const { I18n, requested } = fresh(served);
assert.equal(I18n.lang, null);
assert.equal(await I18n.load("inbox", ["pt-BR", undefined, "bad tag!", "en"]), "pt");
assert.deepEqual(requested, ["/i18n/inbox/pt-BR,en.json"], "unusable tags are left out");
assert.equal(I18n.lang, "pt");
assert.equal(I18n.t("nav-mine"), "Minhas conversas");
assert.equal(I18n.t("list-count", { n: 0 }), "Nenhuma conversa", "an exact number first");
// CLDR: in Portuguese 1 is "one", 2 and 1000 are "other"; numbers formatted for pt.
assert.equal(I18n.t("list-count", { n: 1 }), "1 conversa");
assert.equal(I18n.t("list-count", { n: 1000 }), "1.000 conversas");
assert.equal(I18n.t("status", { status: "queued" }), "Na fila", "a string's own key");
assert.equal(I18n.t("status", { status: "closed" }), "closed", "else the default");
assert.equal(I18n.t("list-count", {}), "{ $n } conversas", "a missing variable is visible");
assert.equal(I18n.t("no-such-id"), "no-such-id", "an unknown id is shown, never blank");

// apply() over a few fake elements: own text replaced, child elements kept, attributes set.
const text = (data) => ({ nodeType: 3, data });
function el(attrs, kids = []) {
  const e = { attrs, childNodes: kids, textContent: null,
    get children() { return kids.filter((k) => k.nodeType === 1); },
    get firstChild() { return kids[0] || null; },
    getAttribute: (k) => (k in attrs ? attrs[k] : null), hasAttribute: (k) => k in attrs,
    setAttribute: (k, v) => { attrs[k] = v; }, insertBefore: (n) => kids.unshift(n), nodeType: 1 };
  kids.forEach((k, i) => { k.nextSibling = kids[i + 1] || null; });
  Object.defineProperty(e, "textContent", { set(v) { kids.length = 0; kids.push(text(v)); }, get() { return kids.map((k) => k.data || "").join(""); } });
  return e;
}
const count = el({ class: "count" });
const button = el({ "data-i18n": "nav-mine" }, [text("My conversations "), count]);
const input = el({ "data-i18n-attr": "placeholder:search.placeholder; title:no-such-id" });
const unknown = el({ "data-i18n": "no-such-id" }, []);
unknown.textContent = "English";
// Arguments from data-i18n-args; a broken value formats without them.
const counted = el({ "data-i18n": "list-count", "data-i18n-args": '{"n": 1}' });
const broken = el({ "data-i18n": "list-count", "data-i18n-args": "{n: 1" });
const root = { querySelectorAll: () => [button, input, unknown, counted, broken] };
I18n.apply(root);
assert.equal(button.childNodes[0].data, "Minhas conversas ", "the text replaced, its spacing kept");
assert.equal(button.childNodes[1], count, "the count element kept");
assert.equal(input.attrs.placeholder, "Nome, número ou texto");
assert.equal(input.attrs.title, undefined, "an unknown id leaves the attribute alone");
assert.equal(unknown.textContent, "English", "an unknown id leaves the page's text");
assert.equal(counted.textContent, "1 conversa", "the arguments of data-i18n-args");
assert.equal(broken.textContent, "{ $n } conversas", "unreadable arguments: none, visibly");

// Another instance is independent.
const other = I18n.create();
assert.equal(other.t("nav-mine"), "nav-mine");

// Every id the inbox's pages ask for is in the English catalog (a typo would show as the id).
{
  const ftl = readFileSync(new URL("../i18n/en/inbox.ftl", here), "utf8");
  const known = new Set();
  let last = null;
  for (const line of ftl.split("\n")) {
    const m = /^([a-z][a-z0-9-]*)\s*=/.exec(line), a = /^\s+\.([a-z][a-z0-9-]*)\s*=/.exec(line);
    if (m) { last = m[1]; known.add(last); } else if (a && last) known.add(last + "." + a[1]);
  }
  const asked = new Map();
  const ask = (id, file) => { if (!asked.has(id)) asked.set(id, file); };
  for (const file of ["inbox.js", "inbox-keys.js", "inbox-contact.js", "inbox-reports.js", "inbox-settings.js", "inbox-webhooks.js", "inbox-phone.js"]) {
    const js = readFileSync(new URL("../assets/" + file, here), "utf8");
    for (const m of js.matchAll(/\bt\(\s*"([^"]+)"/g)) ask(m[1], file);
    for (const m of js.matchAll(/\bt\([^()"]*\?\s*"([a-z0-9.-]+)"\s*:\s*"([a-z0-9.-]+)"/g)) { ask(m[1], file); ask(m[2], file); }
    // Ids kept in tables (the settings' labels, the reports' columns) and built ids.
    for (const m of js.matchAll(/"((?:settings?|reports|webhooks|admin|board)-[a-z0-9-]+(?:\.[a-z]+)?)"/g)) ask(m[1], file);
  }
  const html = readFileSync(new URL("../assets/inbox.html", here), "utf8");
  for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) ask(m[1], "inbox.html");
  for (const m of html.matchAll(/data-i18n-attr="([^"]+)"/g)) for (const pair of m[1].split(";")) ask(pair.split(":")[1].trim(), "inbox.html");
  const missing = [...asked].filter(([id]) => !known.has(id)).map(([id, file]) => file + ": " + id);
  assert.deepEqual(missing, [], "ids the pages ask for that en/inbox.ftl lacks");
  assert.ok(asked.size > 300, "the pages' ids were found (" + asked.size + ")");
}

// A real served file: every message formats to non-empty text with made-up arguments.
if (process.argv[2]) {
  const real = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const { I18n: r } = fresh(real);
  await r.load(real.bundle, [real.language]);
  for (const id of Object.keys(real.messages)) {
    for (const n of [0, 1, 2, 5, 21]) {
      const args = new Proxy({}, { get: (_, k) => (k === "n" || k === "count" ? n : "X") });
      const s = r.t(id, args);
      assert.ok(s.length > 0 && !s.includes("{ $"), `${id} with ${n}: ${s}`);
    }
  }
  console.log(`${Object.keys(real.messages).length} messages of ${real.bundle}/${real.language} format`);
}
console.log("i18n.js: ok");
