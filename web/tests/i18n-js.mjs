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
const root = { querySelectorAll: () => [button, input, unknown] };
I18n.apply(root);
assert.equal(button.childNodes[0].data, "Minhas conversas ", "the text replaced, its spacing kept");
assert.equal(button.childNodes[1], count, "the count element kept");
assert.equal(input.attrs.placeholder, "Nome, número ou texto");
assert.equal(input.attrs.title, undefined, "an unknown id leaves the attribute alone");
assert.equal(unknown.textContent, "English", "an unknown id leaves the page's text");

// Another instance is independent.
const other = I18n.create();
assert.equal(other.t("nav-mine"), "nav-mine");

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
