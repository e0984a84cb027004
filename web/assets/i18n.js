/* deflect texts by language: loads a bundle's messages (/i18n/{bundle}/{languages}.json,
 * compiled from web/i18n/LANG/BUNDLE.ftl by the server) and formats them with the browser's
 * Intl.PluralRules and Intl.NumberFormat. No build step; safe on other sites' pages (one
 * global, window.DeflectI18n, never touching the page's own lang).
 *
 *   I18n.load("inbox", [agent.language, ...navigator.languages]) → Promise of the language
 *   I18n.t("list-count", { n: 3 })   → "3 conversations" (the id itself when unknown)
 *   I18n.apply(root)                 → translates [data-i18n="id"] (the element's own text,
 *                                      keeping its child elements) and
 *                                      [data-i18n-attr="placeholder:id;title:id"], with the
 *                                      arguments of data-i18n-args='{"n": 2}' if any
 *   I18n.lang                        → "nl" (null before load)
 *   I18n.create()                    → another, independent instance */
(function () {
  "use strict";
  if (window.DeflectI18n) return;
  var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };

  function create() {
    var messages = {}, plural = null, number = null;
    var self = { lang: null, languages: [], create: create };

    // base: the gateway's origin when loaded into another site's page (the widget).
    self.load = function (bundle, languages, base) {
      var tags = (languages || []).filter(function (l) { return typeof l === "string" && /^[A-Za-z0-9_-]{1,35}$/.test(l); });
      var url = (base || "") + "/i18n/" + bundle + "/" + (tags.slice(0, 12).join(",") || "en") + ".json";
      return fetch(url, { credentials: "omit" }).then(function (r) {
        if (!r.ok) throw new Error("texts not available (" + r.status + ")");
        return r.json();
      }).then(function (j) {
        messages = j.messages || {};
        self.lang = j.language;
        self.languages = j.languages || [];
        try { plural = new Intl.PluralRules(j.language); number = new Intl.NumberFormat(j.language); }
        catch (e) { plural = null; number = null; }
        return j.language;
      });
    };

    // A variable's value: numbers formatted for the language; a missing one shown as { $name }.
    function value(v, name) {
      if (v === undefined || v === null) return "{ $" + name + " }";
      if (typeof v === "number") return number ? number.format(v) : String(v);
      return String(v);
    }
    // The variant for a value: its exact key (a number, a string), its plural category, the default.
    function pick(s, v) {
      var vs = s.variants;
      if (v !== undefined && v !== null && has(vs, String(v))) return vs[String(v)];
      if (typeof v === "number" && plural) { var c = plural.select(v); if (has(vs, c)) return vs[c]; }
      return vs[s["default"]] || [];
    }
    function format(parts, args) {
      if (typeof parts === "string") return parts;
      var out = "";
      for (var i = 0; i < parts.length; i++) {
        var p = parts[i];
        if (typeof p === "string") out += p;
        else if (has(p, "var")) out += value(args[p["var"]], p["var"]);
        else if (has(p, "select")) out += format(pick(p, args[p.select]), args);
      }
      return out;
    }

    self.has = function (id) { return has(messages, id); };
    self.t = function (id, args) { return has(messages, id) ? format(messages[id], args || {}) : id; };
    self.number = function (n) { return number ? number.format(n) : String(n); };

    // The element's own text: its first non-blank text node (the whitespace around kept), or
    // all its text when it has no child elements.
    function setText(el, text) {
      if (!el.children.length) { el.textContent = text; return; }
      for (var n = el.firstChild; n; n = n.nextSibling) {
        if (n.nodeType === 3 && n.data.trim()) {
          var m = /^(\s*)[\s\S]*?(\s*)$/.exec(n.data);
          n.data = m[1] + text + m[2];
          return;
        }
      }
      el.insertBefore(document.createTextNode(text + " "), el.firstChild);
    }
    // Unknown ids leave the element as it is (the page's English).
    self.apply = function (root) {
      root = root || document;
      var all = Array.prototype.slice.call(root.querySelectorAll("[data-i18n],[data-i18n-attr]"));
      if (root.getAttribute && (root.hasAttribute("data-i18n") || root.hasAttribute("data-i18n-attr"))) all.unshift(root);
      all.forEach(function (el) {
        var id = el.getAttribute("data-i18n"), args;
        try { args = JSON.parse(el.getAttribute("data-i18n-args") || "{}"); } catch (e) { args = {}; }
        if (id && has(messages, id)) setText(el, self.t(id, args));
        (el.getAttribute("data-i18n-attr") || "").split(";").forEach(function (pair) {
          var at = pair.indexOf(":"), name = pair.slice(0, at).trim(), key = pair.slice(at + 1).trim();
          if (at > 0 && key && has(messages, key)) el.setAttribute(name, self.t(key, args));
        });
      });
    };
    return self;
  }
  window.DeflectI18n = create();
})();
