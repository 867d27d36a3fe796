// Times: the server writes UTC; show each in the viewer's zone, keeping UTC on hover.
"use strict";
function ztdLocalTimes(root) {
  root.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.textContent = when.toLocaleString();
    }
  });
}
document.addEventListener("DOMContentLoaded", function () { ztdLocalTimes(document); });
document.addEventListener("htmx:afterSwap", function (event) { ztdLocalTimes(event.detail.elt || document); });
document.addEventListener("htmx:oobAfterSwap", function (event) { ztdLocalTimes(event.detail.target || document); });

// `make run` prints a sign-in link with the token in the fragment (never sent to a server,
// so it stays out of logs): sign in with it at once, and drop it from the address bar.
document.addEventListener("DOMContentLoaded", function () {
  var match = /^#token=(.+)$/.exec(window.location.hash);
  var field = document.getElementById("token");
  if (match && field) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
    field.value = decodeURIComponent(match[1]);
    field.form.submit();
  }
});
