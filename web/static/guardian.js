// Guardian's pages: the little they need beyond htmx. No inline script
// anywhere (the Content-Security-Policy forbids it), so everything a
// page does in the browser is here or in htmx.
(function () {
  "use strict";

  // The browser's time zone, for pages shown to a person who has not set
  // one: the hub formats times in it.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("guardian-tz=" + tz) < 0) {
      document.cookie = "guardian-tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=strict";
    }
  } catch (e) { /* no Intl: times stay in UTC */ }

  // Errors of htmx requests: the hub answers them with the notice to
  // show (HX-Retarget #notice); anything else says that it failed.
  document.addEventListener("htmx:responseError", function (ev) {
    var n = document.getElementById("notice");
    if (n) { n.textContent = n.getAttribute("data-failed") || "The request failed."; }
  });
  document.addEventListener("htmx:sendError", function () {
    var n = document.getElementById("notice");
    if (n) { n.textContent = n.getAttribute("data-offline") || "The hub cannot be reached."; }
  });

  // Buttons that ask before they act: data-confirm holds the question.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);
})();
