// The HR app's only script (served from the package): instant what-if rescoring and
// "try this suggestion". Without it the what-if form still works as a plain form.
"use strict";

(function () {
  const form = document.getElementById("whatif");
  if (!form) return;
  const output = document.getElementById("whatif-result");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const selects = Array.from(form.querySelectorAll("select"));
  let pending = 0;

  function typed(select) {
    const value = select.value;
    if (select.dataset.type === "integer") return parseInt(value, 10);
    if (select.dataset.type === "number") return parseFloat(value);
    if (select.dataset.type === "boolean") return value === "True" || value === "true";
    return value;
  }

  function describe(answer) {
    const side = answer.decision ? "above" : "below";
    return answer.percent + " (" + answer.risk_band + " risk, " + side +
      " the decision threshold of " + answer.threshold + "; " + answer.change + " from now)";
  }

  async function rescore() {
    const changes = {};
    for (const select of selects) changes[select.name] = typed(select);
    const ticket = ++pending;
    output.textContent = "Rescoring…";
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
        body: JSON.stringify({ changes: changes }),
      });
      const answer = await response.json();
      if (ticket !== pending) return;
      output.textContent = response.ok ? describe(answer) : "Could not rescore: " + JSON.stringify(answer.detail);
      output.dataset.probability = response.ok ? String(answer.probability) : "";
    } catch (error) {
      if (ticket === pending) output.textContent = "Could not rescore (the server did not answer).";
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    rescore();
  });
  for (const select of selects) select.addEventListener("change", rescore);

  for (const button of document.querySelectorAll("button.apply")) {
    button.addEventListener("click", function () {
      const changes = JSON.parse(button.dataset.changes);
      for (const select of selects) {
        select.value = Object.prototype.hasOwnProperty.call(changes, select.name)
          ? String(changes[select.name]) : select.dataset.current;
      }
      rescore();
      form.scrollIntoView({ behavior: "smooth", block: "start" });
      selects[0].focus({ preventScroll: true });
    });
  }
})();
