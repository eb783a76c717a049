// The console's own script: CSRF on every htmx request, errors shown in the notice area,
// the sign-in page's wait for the scan. Page-specific behaviour lives in its own file.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function notice(html, kind) {
    var box = document.getElementById("notice");
    if (!box) return;
    box.className = "notice " + (kind || "error");
    box.innerHTML = html;
    box.hidden = false;
    if (kind === "ok") {
      window.clearTimeout(box._timer);
      box._timer = window.setTimeout(function () { box.hidden = true; }, 4000);
    }
  }
  window.wenmingNotice = notice;

  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // htmx leaves 4xx/5xx answers unswapped: show ours (a Chinese fragment) in the notice area.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status >= 400) {
      evt.detail.shouldSwap = false;
      var type = xhr.getResponseHeader("Content-Type") || "";
      notice(type.indexOf("text/html") === 0 ? xhr.responseText : "<p>操作失败（" + xhr.status + "），请稍后重试</p>");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    notice("<p>网络连接失败，操作未完成，请检查网络后重试</p>");
  });

  // Forms that ask before they act: <form data-confirm="...">.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      evt.preventDefault();
    }
  }, true);

  function waitForScan(state) {
    var url = state.dataset.wait;
    var stopped = false;
    function poll() {
      if (stopped) return;
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
        if (resp.status === 200) {
          return resp.json().then(function (body) { window.location.assign(body.next || "/console/"); });
        }
        if (resp.status === 410) {
          stopped = true;
          state.textContent = "二维码已过期，请点击“刷新二维码”";
          return;
        }
        window.setTimeout(poll, 1500);
      }).catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var state = document.getElementById("login-state");
    if (state && state.dataset.wait) waitForScan(state);
    var box = document.getElementById("notice");
    if (box && !box.innerHTML.trim()) box.hidden = true;
  });
})();
