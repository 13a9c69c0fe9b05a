/* The idle time-out, said before it happens and survived when it does.
 *
 * The server ends a session after data-session-idle seconds without a request. Two minutes
 * before, this page says so and offers to stay signed in. Once the time is up, what was typed
 * stays on the page: pressing Save first asks the server whether this browser is signed in
 * (someone may have signed in again in another tab), and only then posts, with that session's
 * CSRF token. Signed out, nothing is sent and the page says what to do. */
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-session-idle"), 10);
  var stateUrl = body.getAttribute("data-session-url");
  if (!idle || !stateUrl) {
    return;
  }
  function warnBefore() {
    return Math.min(120, Math.floor(idle / 2));
  }
  function idleText() {
    return idle >= 120 ? Math.round(idle / 60) + " minutes" : idle + " seconds";
  }
  var deadline = 0;
  var expired = false;
  var timers = [];

  var banner = document.createElement("section");
  banner.className = "alert alert-warning session-banner";
  banner.setAttribute("role", "alertdialog");
  banner.setAttribute("aria-labelledby", "session-banner-text");
  banner.setAttribute("tabindex", "-1");
  banner.hidden = true;
  var text = document.createElement("p");
  text.id = "session-banner-text";
  var stay = document.createElement("button");
  stay.type = "button";
  stay.className = "btn btn-primary btn-small";
  stay.textContent = "Stay signed in";
  var signIn = document.createElement("a");
  signIn.className = "btn btn-small";
  signIn.href = body.getAttribute("data-login-url");
  signIn.target = "_blank";
  signIn.rel = "noopener";
  signIn.textContent = "Sign in again in a new tab";
  banner.append(text, stay, " ", signIn);
  var main = document.getElementById("main");
  main.insertBefore(banner, main.firstChild);

  function clock(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function clear() {
    timers.forEach(function (t) { clearTimeout(t); clearInterval(t); });
    timers = [];
  }

  function restart() {
    clear();
    expired = false;
    banner.hidden = true;
    deadline = Date.now() + idle * 1000;
    timers.push(setTimeout(warn, (idle - warnBefore()) * 1000));
    timers.push(setTimeout(end, idle * 1000));
  }

  function warn() {
    function say() {
      text.textContent = "You will be signed out in " + clock((deadline - Date.now()) / 1000) +
        " after " + idleText() + " without activity. Anything typed on this page and not yet saved stays here.";
    }
    say();
    timers.push(setInterval(say, 1000));
    stay.hidden = false;
    signIn.hidden = true;
    banner.hidden = false;
  }

  function end(note) {
    clear();
    expired = true;
    text.textContent = (note ? note + " " : "") + "You were signed out after " + idleText() +
      " without activity. What you typed on this page is still here but not saved: sign in " +
      "again in a new tab, then come back and press Save.";
    stay.hidden = true;
    signIn.hidden = false;
    banner.hidden = false;
    // Focus moves to the message after a press of Save, or when nothing has focus; never out of
    // a field someone is typing in when the time runs out (the alertdialog role is announced).
    var active = document.activeElement;
    if (note || !active || active === document.body) {
      banner.focus();
    }
  }

  function ask() {
    return fetch(stateUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  function signedIn(state) {
    if (!state || !state.signed_in) {
      return false;
    }
    document.querySelectorAll('input[name="csrfmiddlewaretoken"]').forEach(function (input) {
      input.value = state.csrf_token;
    });
    idle = state.idle_seconds || idle;  // the server's setting, should it differ from the page's
    restart();
    return true;
  }

  stay.addEventListener("click", function () {
    ask().then(function (state) {
      if (!signedIn(state)) {
        end();
      }
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!expired || (form.method || "").toLowerCase() !== "post" || form.hasAttribute("data-session-skip")) {
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    ask().then(function (state) {
      if (signedIn(state)) {
        form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      } else {
        end("Not sent.");
      }
    });
  }, true);

  restart();
})();
