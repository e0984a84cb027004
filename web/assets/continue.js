/* The page of a continue link (the SMS fallback's): "Continue here" attaches this browser
 * to the conversation (POST to the same signed address, the visitor token in the
 * X-Deflect-Visitor header as the widget sends it — the GET spends nothing, so link
 * previewers cannot) and opens the widget on it, history included. Texts in the browser's
 * language. */
(function () {
  "use strict";
  var I18n = window.DeflectI18n;
  if (I18n) I18n.load("widget", navigator.languages || [navigator.language]).then(function () { I18n.apply(document); }, function () {});
  var offer = document.getElementById("offer");
  var button = document.getElementById("continue-here");
  var err = document.getElementById("continue-error");
  if (!button) return;
  function token() {
    var t = null;
    try { t = localStorage.getItem("deflect.visitor"); } catch (e) {}
    if (!t) {
      var a = new Uint8Array(32), abc = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
      crypto.getRandomValues(a);
      t = "";
      for (var i = 0; i < a.length; i++) t += abc[a[i] % abc.length];
      try { localStorage.setItem("deflect.visitor", t); } catch (e) {}
    }
    return t;
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    err.textContent = "";
    fetch(location.pathname + location.search, { method: "POST", headers: { "x-deflect-visitor": token() } })
      .then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) throw new Error((b.error && b.error.message) || String(r.status));
          return b;
        });
      })
      .then(function (b) {
        try { localStorage.setItem("deflect." + b.site + ".conversation", String(b.conversation_id)); } catch (e) {}
        offer.hidden = true;
        var s = document.createElement("script");
        s.src = "/widget.js";
        s.setAttribute("data-site", b.site);
        s.onload = function () { if (window.DeflectLoader) window.DeflectLoader.button.click(); };
        document.body.appendChild(s);
      })
      .catch(function (e) {
        err.textContent = e.message;
        button.disabled = false;
      });
  });
})();
