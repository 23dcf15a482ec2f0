/* sspr.js: small additions to pages that work fully without it.
 *
 * It acts only on the data-sspr-* attributes the templates render (_macros.html),
 * which also carry its words, translated on the server:
 *   data-sspr-reveal="Show password"   a show/hide button after a password input
 *   data-sspr-check="/password-check"  the live check of a new password, with
 *     data-sspr-ok (the words when nothing is wrong) and data-sspr-username
 *     (the name it must not contain, where the form holds no username input)
 *   data-sspr-code="6"                 a code input: a paste with spaces or dashes
 *     is cleaned, and the form is sent once all the digits are in
 *
 * No inline script or handler (the CSP is script-src 'self'), no framework, no build step.
 */
(function () {
  "use strict";

  // Ask the server only once the typing pauses.
  const CHECK_DELAY_MS = 400;
  // What a code may be pasted with, as the server also accepts: spaces, tabs, no-break spaces, dashes.
  const CODE_SEPARATORS = /[\s\u00a0\-\u2010-\u2015]/g;

  function reveal(input) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reveal";
    button.textContent = input.dataset.ssprReveal;
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-controls", input.id);
    button.addEventListener("click", () => {
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", String(show));
    });
    if (input.form) {
      // Masked again before it is sent: browsers may keep what text inputs held in their form history.
      input.form.addEventListener("submit", () => {
        input.type = "password";
        button.setAttribute("aria-pressed", "false");
      });
    }
    const wrap = document.createElement("div");
    wrap.className = "reveal-wrap";
    input.before(wrap);
    wrap.append(input, button);
  }

  function usernameFor(input) {
    const field = input.form && input.form.elements.namedItem("username");
    if (field && typeof field.value === "string") {
      return field.value;
    }
    return input.dataset.ssprUsername || "";
  }

  function showProblems(region, input, problems) {
    region.replaceChildren();
    if (problems === null) {
      return;
    }
    if (problems.length === 0) {
      const ok = document.createElement("p");
      ok.className = "ok";
      ok.textContent = input.dataset.ssprOk;
      region.append(ok);
      return;
    }
    const list = document.createElement("ul");
    for (const problem of problems) {
      const item = document.createElement("li");
      item.textContent = problem.message;
      list.append(item);
    }
    region.append(list);
  }

  function check(input) {
    const region = document.createElement("div");
    region.id = input.id + "-check";
    region.className = "check";
    region.setAttribute("aria-live", "polite");
    (input.closest(".reveal-wrap") || input).after(region);
    const described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", described ? described + " " + region.id : region.id);

    let timer = 0;
    let pending = null;
    const ask = () => {
      if (pending) {
        pending.abort();
      }
      if (!input.value) {
        showProblems(region, input, null);
        return;
      }
      const body = new URLSearchParams();
      body.set("csrf_token", input.form.elements.namedItem("csrf_token").value);
      body.set("password", input.value);
      body.set("username", usernameFor(input));
      const asked = new AbortController();
      pending = asked;
      fetch(input.dataset.ssprCheck, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: asked.signal,
      })
        .then((response) => (response.ok ? response.json() : { problems: null }))
        .then((answer) => showProblems(region, input, answer.problems))
        // Aborted by newer typing, refused (too many checks) or offline: the meter falls
        // silent, and the form's own check still speaks when it is sent.
        .catch(() => {
          if (!asked.signal.aborted) {
            showProblems(region, input, null);
          }
        });
    };
    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, CHECK_DELAY_MS);
    });
  }

  function code(input) {
    const whole = new RegExp("^[0-9]{" + Number(input.dataset.ssprCode) + "}$");
    // After a wrong code the page shows an error, and the next code is sent by the
    // user's own press: every wrong try counts towards the flow's limit.
    let autoSubmit = input.getAttribute("aria-invalid") !== "true" && input.form !== null;
    input.addEventListener("input", () => {
      const cleaned = input.value.replace(CODE_SEPARATORS, "");
      if (cleaned !== input.value) {
        input.value = cleaned;
      }
      if (autoSubmit && whole.test(cleaned)) {
        // Once per page load: a code corrected after this is sent by the button.
        autoSubmit = false;
        input.form.requestSubmit(input.form.querySelector("[type=submit]"));
      }
    });
  }

  document.querySelectorAll("input[data-sspr-reveal]").forEach(reveal);
  // A new password and its confirmation are both new-password inputs: the first one gets the check.
  document.querySelectorAll("form").forEach((form) => {
    const first = form.querySelector("input[data-sspr-check]");
    if (first) {
      check(first);
    }
  });
  document.querySelectorAll("input[data-sspr-code]").forEach(code);
})();
