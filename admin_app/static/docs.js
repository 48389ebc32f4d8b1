/* /docs: "Get a token" and "Try it" for each operation of the API description.
 * Plain JS, no library, nothing loaded from elsewhere; the token stays in this page
 * (never stored). */
(function () {
  "use strict";

  var root = document.getElementById("api-docs");
  if (!root) return;
  var tokenInput = document.getElementById("access-token");
  var tokenStatus = document.getElementById("token-status");
  var tokenForm = document.getElementById("token-form");

  function show(el, text) {
    if (el) el.textContent = text;
  }

  if (tokenForm) {
    tokenForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = {
        username: tokenForm.elements.username.value,
        password: tokenForm.elements.password.value
      };
      show(tokenStatus, "asking…");
      fetch("/api/v1/auth/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit"
      })
        .then(function (r) {
          return r.json().then(function (data) {
            return { ok: r.ok, status: r.status, data: data };
          });
        })
        .then(function (res) {
          if (res.ok && res.data.access_token) {
            tokenInput.value = res.data.access_token;
            tokenForm.elements.password.value = "";
            show(tokenStatus, "token set: valid for " + res.data.expires_in + " s");
          } else {
            var msg = res.data && res.data.error ? res.data.error.message : "refused";
            show(tokenStatus, "no token (" + res.status + "): " + msg);
          }
        })
        .catch(function (err) {
          show(tokenStatus, "no token: " + err);
        });
    });
  }

  function buildUrl(form) {
    var path = form.getAttribute("data-path");
    var query = [];
    var inputs = form.querySelectorAll("input[data-in]");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      var value = input.value;
      if (input.getAttribute("data-in") === "path") {
        path = path.replace("{" + input.name + "}", encodeURIComponent(value));
      } else if (input.getAttribute("data-in") === "query" && value !== "") {
        var parts = value.split(",");
        for (var j = 0; j < parts.length; j++) {
          query.push(encodeURIComponent(input.name) + "=" + encodeURIComponent(parts[j].trim()));
        }
      }
    }
    return path + (query.length ? "?" + query.join("&") : "");
  }

  function render(form, status, url, text, contentType) {
    var result = form.querySelector(".result");
    result.hidden = false;
    show(result.querySelector(".status"), status);
    show(result.querySelector(".url"), url);
    var out = text;
    if (contentType && contentType.indexOf("json") >= 0) {
      try {
        out = JSON.stringify(JSON.parse(text), null, 2);
      } catch (e) {
        out = text;
      }
    } else if (contentType && contentType.indexOf("spreadsheet") >= 0) {
      out = "(an Excel file: " + text.length + " bytes)";
    }
    show(result.querySelector(".response"), out.length > 50000 ? out.slice(0, 50000) + "\n…" : out);
  }

  var forms = root.querySelectorAll("form.try");
  for (var k = 0; k < forms.length; k++) {
    forms[k].addEventListener("submit", function (e) {
      e.preventDefault();
      var form = e.currentTarget;
      var method = form.getAttribute("data-method");
      var url = buildUrl(form);
      var headers = { Accept: "application/json" };
      var token = tokenInput ? tokenInput.value.trim() : "";
      if (token) headers.Authorization = "Bearer " + token;
      var init = { method: method, headers: headers, credentials: "omit" };
      var body = form.querySelector("textarea[name=__body]");
      if (body && body.value.trim() !== "") {
        headers["Content-Type"] = "application/json";
        init.body = body.value;
      }
      render(form, "sending…", method + " " + url, "", "");
      fetch(url, init)
        .then(function (r) {
          return r.text().then(function (text) {
            render(form, r.status + " " + r.statusText, method + " " + url, text, r.headers.get("Content-Type") || "");
          });
        })
        .catch(function (err) {
          render(form, "failed", method + " " + url, String(err), "");
        });
    });
  }
})();
