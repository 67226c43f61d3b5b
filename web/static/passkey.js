// Guardian's passkeys: the browser's half of the WebAuthn ceremonies
// (web/passkeys.go has the hub's). One button starts each:
//
//   #passkey-signin    the second factor at sign-in (factor page); its
//                      requests carry the sign-in form's token in the
//                      Guardian-Form-Token header (data-form-token).
//   #passkey-register  "Add a passkey" (account page), the submit button
//                      of a form with the new passkey's name; its requests
//                      carry the session's CSRF token (data-csrf).
//
// Each: POST data-options → the options JSON, binary members as
// base64url → navigator.credentials.get/create → the credential as JSON
// (PublicKeyCredential.toJSON's shape, base64url again) → POST
// data-finish → {"redirect": "/…"} on success, or {"error", "detail",
// "redirect"?, "link"?} already in the person's language. The button's
// data-working, data-unsupported, data-cancelled and data-failed hold the
// messages of the browser's side, translated by the page. No inline code
// anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  function fromB64url(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buf) {
    if (!buf) { return undefined; }
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var o = { type: d.type, id: fromB64url(d.id) };
      if (d.transports) { o.transports = d.transports; }
      return o;
    });
  }

  // decodeOptions turns the hub's options into navigator.credentials'
  // argument.
  function decodeOptions(json, kind) {
    var pk = Object.assign({}, json.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    if (kind === "create") {
      pk.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
      pk.excludeCredentials = descriptors(pk.excludeCredentials);
    } else {
      pk.allowCredentials = descriptors(pk.allowCredentials);
    }
    var arg = { publicKey: pk };
    if (json.mediation) { arg.mediation = json.mediation; }
    return arg;
  }

  // encodeCredential is the credential as go-webauthn's parser reads it.
  function encodeCredential(cred) {
    var r = cred.response, out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) { out.authenticatorAttachment = cred.authenticatorAttachment; }
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) { out.response.userHandle = toB64url(r.userHandle); }
    }
    return out;
  }

  function status() { return document.getElementById("passkey-status"); }

  function say(text, isError) {
    var s = status();
    if (!s) { return; }
    s.textContent = text || "";
    s.classList.toggle("error", !!isError);
  }

  // showError shows the hub's refusal, and a link to start again when the
  // hub says so.
  function showError(btn, ans) {
    var s = status();
    say((ans && ans.error) || btn.getAttribute("data-failed"), true);
    if (s && ans && ans.detail && ans.detail !== ans.error) {
      var d = document.createElement("span");
      d.className = "detail";
      d.textContent = " " + ans.detail;
      s.appendChild(d);
    }
    if (s && ans && ans.redirect && ans.link) {
      var a = document.createElement("a");
      a.href = ans.redirect;
      a.textContent = ans.link;
      s.appendChild(document.createTextNode(" "));
      s.appendChild(a);
      btn.disabled = true;
    }
  }

  // post sends JSON and reads the hub's JSON answer; an answer that is no
  // JSON (a session that ended went to the sign-in page) is followed.
  function post(url, headers, body) {
    var h = Object.assign({ "Content-Type": "application/json", "Accept": "application/json" }, headers);
    return fetch(url, { method: "POST", headers: h, body: JSON.stringify(body || {}), credentials: "same-origin" })
      .then(function (resp) {
        var ct = resp.headers.get("Content-Type") || "";
        if (ct.indexOf("application/json") !== 0) {
          if (resp.redirected) { window.location.assign(resp.url); }
          return { ok: false, ans: null };
        }
        return resp.json().then(function (ans) { return { ok: resp.ok, ans: ans }; });
      });
  }

  function ceremony(btn, kind, headers, name) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(btn.getAttribute("data-unsupported"), true);
      return;
    }
    btn.disabled = true;
    say(btn.getAttribute("data-working"), false);
    var first = kind === "create" ? { name: name } : {};
    post(btn.getAttribute("data-options"), headers, first).then(function (res) {
      if (!res.ok) { throw { ans: res.ans }; }
      var arg = decodeOptions(res.ans, kind);
      return navigator.credentials[kind](arg).catch(function (e) {
        throw { browser: e };
      });
    }).then(function (cred) {
      var c = encodeCredential(cred);
      return post(btn.getAttribute("data-finish"), headers, kind === "create" ? { name: name, credential: c } : c);
    }).then(function (res) {
      if (!res.ok || !res.ans.redirect) { throw { ans: res.ans }; }
      window.location.assign(res.ans.redirect);
    }).catch(function (e) {
      btn.disabled = false;
      if (e && e.browser) {
        var n = e.browser.name;
        say(btn.getAttribute(n === "NotAllowedError" || n === "AbortError" ? "data-cancelled" : "data-failed"), true);
      } else {
        showError(btn, e && e.ans);
      }
    });
  }

  var signin = document.getElementById("passkey-signin");
  if (signin) {
    signin.addEventListener("click", function () {
      ceremony(signin, "get", { "Guardian-Form-Token": signin.getAttribute("data-form-token") });
    });
  }

  var register = document.getElementById("passkey-register");
  if (register && register.form) {
    register.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var field = register.form.elements.namedItem("name");
      ceremony(register, "create", { "Guardian-CSRF-Token": register.getAttribute("data-csrf") }, field ? field.value.trim() : "");
    });
  }
})();
