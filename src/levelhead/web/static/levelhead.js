// levelhead web app: keyboard shortcuts of the review page (digits label, n next, u undo).
// Served from the package; the page's Content-Security-Policy allows no inline script.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  var target = event.target;
  if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT")) return;
  var form = document.getElementById("label-form");
  if (/^[1-9]$/.test(event.key) && form) {
    var button = form.querySelector('button[data-key="' + event.key + '"]');
    if (button) { event.preventDefault(); button.click(); }
  } else if (event.key === "n") {
    var skip = document.getElementById("skip");
    if (skip) { event.preventDefault(); window.location.assign(skip.href); }
  } else if (event.key === "u") {
    var undo = document.getElementById("undo-form");
    if (undo) { event.preventDefault(); undo.requestSubmit(); }
  }
});
// One submit per label: a held key must not send the same label twice.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
});
