// The console's only script: copy buttons and a confirmation before destructive forms.
// Everything works without it (the secret can be selected and copied by hand).
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var text = document.getElementById(button.dataset.copy).textContent;
  navigator.clipboard.writeText(text).then(function () {
    button.textContent = "Copied";
  }, function () {
    button.textContent = "Select the text and copy it";
  });
});
document.addEventListener("submit", function (event) {
  var message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
