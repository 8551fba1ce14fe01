/* leadscore website tracker (first party, served by leadscore at /t.js).
 *
 * <script async src="https://LEADSCORE/t.js" data-key="lsk_..."></script>
 *
 * Records page views (url, referrer, title, UTM parameters), form submissions
 * (form id; an email field identifies the visitor) and clicks on elements marked
 * data-leadscore-track. Keeps an anonymous id in a first-party cookie. Sends
 * nothing when Do Not Track / Global Privacy Control is on, or without consent:
 *   leadscore('consent', false)   stop, forget the cookie
 *   leadscore('consent', true)    start (with data-consent="pending" on the tag)
 *   leadscore('track', type, {properties})   an event of an allowed type
 *   leadscore('identify', 'ada@example.com')
 * Calls made before this file loaded are queued by the stub in docs/connect.md.
 */
(function () {
  "use strict";
  var w = window, d = document, n = navigator;
  var tag = d.currentScript || d.querySelector("script[data-key][src*='/t.js']");
  if (!tag || w.__leadscoreLoaded) return;
  w.__leadscoreLoaded = true;
  var key = tag.getAttribute("data-key");
  // Relative to this file, so a leadscore behind a path prefix (/leadscore/t.js) works.
  var endpoint = tag.getAttribute("data-endpoint") || new URL("v1/collect", tag.src).href;
  var COOKIE = tag.getAttribute("data-cookie") || "_lsid";
  var consent = tag.getAttribute("data-consent") !== "pending";
  var dnt = n.doNotTrack === "1" || w.doNotTrack === "1" || n.globalPrivacyControl === true;
  var queue = [], timer = null;

  function uuid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 3) | 8).toString(16);
    });
  }
  function readCookie() {
    var m = d.cookie.match(new RegExp("(?:^|; )" + COOKIE + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function writeCookie(value, days) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    d.cookie = COOKIE + "=" + encodeURIComponent(value) + "; Max-Age=" + days * 86400 +
      "; Path=/; SameSite=Lax" + secure;
  }
  function visitor() {
    var id = readCookie() || uuid();
    writeCookie(id, 395); // refreshed on every visit; browsers cap cookies at 400 days
    return id;
  }
  function active() { return consent && !dnt && !!key; }

  function send(body) {
    var text = JSON.stringify(body);
    // sendBeacon survives the page being left (a form submit); text/plain keeps it a
    // simple request (no CORS preflight). fetch keepalive when the beacon is refused.
    if (n.sendBeacon && n.sendBeacon(endpoint, text)) return;
    if (w.fetch) {
      w.fetch(endpoint, {
        method: "POST", body: text, keepalive: true, credentials: "omit",
        headers: { "Content-Type": "text/plain" }
      }).catch(function () {});
    }
  }
  function flush(identifyEmail) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!active() || (!queue.length && !identifyEmail)) { queue = []; return; }
    var body = { key: key, anonymous_id: visitor(), events: queue.splice(0, 50) };
    if (identifyEmail) body.identify = { email: identifyEmail };
    send(body);
    if (queue.length) flush();
  }
  function track(type, props, now) {
    if (!active()) return;
    queue.push({ event_id: uuid(), type: type, properties: props || {} });
    if (now) flush(); else if (!timer) timer = setTimeout(flush, 300);
  }

  function pageProps() {
    var props = { url: location.pathname, page_url: location.href, title: d.title };
    if (d.referrer) props.referrer = d.referrer;
    var params = new URLSearchParams(location.search);
    ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (p) {
      if (params.get(p)) props[p] = params.get(p);
    });
    return props;
  }
  function pageView() { track("page_view", pageProps()); }

  function formEmail(form) {
    var fields = form.querySelectorAll("input");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i], name = (f.name || f.id || "").toLowerCase();
      if ((f.type === "email" || name.indexOf("email") >= 0) && /^[^@\s]+@[^@\s]+$/.test(f.value.trim())) {
        return f.value.trim();
      }
    }
    return null;
  }
  d.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || form.nodeName !== "FORM" || form.hasAttribute("data-leadscore-ignore")) return;
    var id = form.getAttribute("data-leadscore-form") || form.id || form.getAttribute("name") ||
      form.getAttribute("action") || "form";
    // Only the form's id and the email leave the page, never the other fields.
    track("form_submit", { form: id, url: location.pathname, page_url: location.href });
    flush(formEmail(form));
  }, true);
  d.addEventListener("click", function (e) {
    var el = e.target && e.target.closest ? e.target.closest("[data-leadscore-track]") : null;
    if (!el) return;
    var props = { name: el.getAttribute("data-leadscore-track") || "", url: location.pathname };
    if (el.href) props.link = el.href;
    var text = (el.textContent || "").trim();
    if (text) props.text = text.slice(0, 200);
    track("click", props, true); // the link may leave the page: send now
  }, true);
  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState === "hidden") flush();
  });

  var api = function (command, a, b) {
    if (command === "consent") {
      consent = a !== false;
      if (!consent) { queue = []; writeCookie("", 0); } else pageView();
    } else if (command === "track") {
      track(String(a), b);
    } else if (command === "identify") {
      if (active()) { flush(String(a)); }
    } else if (command === "page") {
      pageView();
    }
  };
  var pending = (w.leadscore && w.leadscore.q) || [];
  w.leadscore = api;
  var consentCall = false;
  for (var i = 0; i < pending.length; i++) {
    if (pending[i][0] === "consent") consentCall = true;
    api.apply(null, pending[i]);
  }
  if (!consentCall) pageView();
})();
