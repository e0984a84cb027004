/* deflect chat widget loader. Embed with one line:
 *   <script src="https://chat.example.com/widget.js" data-site="www" async></script>
 * Optional: data-label="Chat with us" (the button's accessible name), data-color="#0b6e4f".
 * It adds a chat button; the chat itself (widget/chat.js) loads on the first click, or at
 * once when this browser has a conversation in progress. */
(function () {
  "use strict";
  var me = document.currentScript ||
    document.querySelector('script[src*="/widget.js"][data-site]');
  if (!me || window.DeflectLoader) return;
  var base = new URL(me.src, location.href).origin;
  var site = me.getAttribute("data-site") || "default";
  var color = me.getAttribute("data-color") || "#0b6e4f";
  var label = me.getAttribute("data-label") || "Chat with us";
  var btn = document.createElement("button");
  var state = 0; /* 0 idle, 1 loading, 2 ready */
  window.DeflectLoader = { base: base, site: site, color: color, button: btn };

  function load(open) {
    if (state === 2) { if (open) window.DeflectChat.toggle(); return; }
    if (open) btn.setAttribute("data-open", "1");
    if (state === 1) return;
    state = 1;
    btn.setAttribute("aria-busy", "true");
    // The texts by language first (i18n.js), then the chat.
    var texts = document.createElement("script");
    texts.src = base + "/i18n.js";
    texts.onload = texts.onerror = function () { document.head.appendChild(s); };
    var s = document.createElement("script");
    s.src = base + "/widget/chat.js";
    s.async = true;
    s.onload = function () {
      state = 2;
      btn.removeAttribute("aria-busy");
      window.DeflectChat.init(window.DeflectLoader);
      if (btn.getAttribute("data-open")) window.DeflectChat.toggle();
    };
    s.onerror = function () { state = 0; btn.removeAttribute("aria-busy"); };
    document.head.appendChild(texts);
  }

  function mount() {
    btn.type = "button";
    btn.id = "deflect-chat-button";
    btn.setAttribute("aria-label", label);
    btn.setAttribute("aria-haspopup", "dialog");
    btn.setAttribute("aria-expanded", "false");
    btn.title = label;
    btn.innerHTML = '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
      '<path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    var st = btn.style;
    st.position = "fixed"; st.right = "20px"; st.bottom = "20px"; st.zIndex = "2147483000";
    st.width = "60px"; st.height = "60px"; st.borderRadius = "50%"; st.border = "0";
    st.background = color; st.color = "#fff"; st.cursor = "pointer";
    st.boxShadow = "0 4px 14px rgba(0,0,0,.3)"; st.display = "flex";
    st.alignItems = "center"; st.justifyContent = "center"; st.padding = "0";
    btn.addEventListener("click", function () { load(true); });
    document.body.appendChild(btn);
    try {
      if (localStorage.getItem("deflect." + site + ".conversation")) load(false);
    } catch (e) { /* storage blocked: nothing to resume */ }
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
