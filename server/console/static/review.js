// 审核: deciding from the keyboard or the mouse without reloading the page.
// A decision posts the card's form and swaps in the card the server answers with (decided, or
// refused with the reason on it); then the next pending card takes focus.
(function () {
  "use strict";

  var ACTION_KEYS = { a: "approve", r: "reject", v: "view", j: "next", k: "prev" };
  var MAX_BATCH = 100; // what one 批量通过 takes (the API's limit too)

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function notice(html, kind) {
    if (window.wenmingNotice) window.wenmingNotice(html, kind);
  }

  function grid() {
    return document.getElementById("queue");
  }

  function allCards() {
    var box = grid();
    return box ? Array.prototype.slice.call(box.querySelectorAll(".sub")) : [];
  }

  function pendingCards() {
    return allCards().filter(function (card) { return card.dataset.pending === "1"; });
  }

  function cardOf(node) {
    return node && node.closest ? node.closest(".sub") : null;
  }

  function focusCard(card) {
    if (!card) return;
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function isTyping(node) {
    if (!node || !node.tagName) return false;
    var tag = node.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || node.isContentEditable) return true;
    return tag === "INPUT" && ["checkbox", "radio", "button", "submit"].indexOf(node.type) < 0;
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function adopt(node) {
    return document.adoptNode(node);
  }

  // -- moving between cards --------------------------------------------------------------

  function columns() {
    var cards = allCards();
    if (!cards.length) return 1;
    var top = cards[0].offsetTop;
    var n = 0;
    while (n < cards.length && cards[n].offsetTop === top) n += 1;
    return Math.max(n, 1);
  }

  function step(from, delta) {
    var cards = allCards();
    if (!cards.length) return;
    var at = from ? cards.indexOf(from) : -1;
    if (at < 0) {
      focusCard(pendingCards()[0] || cards[0]);
      return;
    }
    var next = Math.min(Math.max(at + delta, 0), cards.length - 1);
    focusCard(cards[next]);
  }

  // After a decision: the next pending card, else an earlier one, else the next page.
  function focusAfter(card) {
    var cards = allCards();
    var at = cards.indexOf(card);
    var later = cards.slice(at + 1).filter(function (c) { return c.dataset.pending === "1"; });
    var earlier = cards.slice(0, Math.max(at, 0)).filter(function (c) { return c.dataset.pending === "1"; });
    if (later.length) return focusCard(later[0]);
    var more = document.querySelector("#more .load-more");
    if (more) return loadMore(more, true);
    if (earlier.length) return focusCard(earlier[0]);
    var done = document.getElementById("page-done");
    if (done) {
      done.hidden = false;
      done.tabIndex = -1;
      done.focus();
    }
  }

  function countDecided(n) {
    var total = document.getElementById("pending-total");
    if (total && n) total.textContent = String(Math.max(0, parseInt(total.textContent, 10) - n));
  }

  // -- deciding ----------------------------------------------------------------------------

  function post(form, data) {
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "HX-Request": "true" },
    }).then(function (resp) {
      var redirect = resp.headers.get("HX-Redirect");
      if (redirect) {
        window.location.assign(redirect);
        return null;
      }
      return resp.text().then(function (html) {
        var type = resp.headers.get("Content-Type") || "";
        return { status: resp.status, html: html, isHtml: type.indexOf("text/html") === 0 };
      });
    });
  }

  function failed(answer) {
    if (!answer) return;
    notice(answer.isHtml ? answer.html : "<p>操作失败（" + answer.status + "），请稍后重试</p>");
  }

  function decide(form, submitter) {
    var card = cardOf(form);
    if (!card || card.dataset.busy === "1") return;
    card.dataset.busy = "1";
    card.setAttribute("aria-busy", "true");
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    post(form, data).then(function (answer) {
      if (!answer) return;
      var fresh = answer.isHtml ? parse(answer.html).querySelector(".sub") : null;
      if (!fresh || fresh.id !== card.id) {
        card.dataset.busy = "";
        card.removeAttribute("aria-busy");
        failed(answer);
        return;
      }
      fresh = adopt(fresh);
      card.replaceWith(fresh);
      if (fresh.dataset.pending === "1") {
        // Refused (a reason missing, 服务时长 out of bounds, or the task closed): the card says why; stay on it.
        var reason = fresh.querySelector("form.reject:not([hidden]) input[type=text]") ||
          fresh.querySelector('form.decide [aria-invalid="true"]');
        (reason || fresh).focus();
        return;
      }
      countDecided(1);
      updatePicked();
      focusAfter(fresh);
    }).catch(function () {
      card.dataset.busy = "";
      card.removeAttribute("aria-busy");
      notice("<p>网络连接失败，操作未完成，请检查网络后重试</p>");
    });
  }

  function approve(card) {
    var form = card.querySelector("form.decide");
    if (form) decide(form, form.querySelector('button[name="decision"]'));
  }

  function openReject(card) {
    var form = card.querySelector("form.reject");
    if (!form) return;
    form.hidden = false;
    var toggle = card.querySelector(".reject-open");
    if (toggle) toggle.setAttribute("aria-expanded", "true");
    var checked = form.querySelector("input[type=radio]:checked");
    (checked || form.querySelector("input[type=radio]")).focus();
  }

  function closeReject(card) {
    var form = card.querySelector("form.reject");
    if (!form) return;
    form.hidden = true;
    var toggle = card.querySelector(".reject-open");
    if (toggle) toggle.setAttribute("aria-expanded", "false");
    focusCard(card);
  }

  function rejectKeys(evt, form) {
    var card = cardOf(form);
    if (evt.key === "Escape") {
      evt.preventDefault();
      closeReject(card);
      return;
    }
    var typing = isTyping(evt.target);
    if (!typing && /^[1-9]$/.test(evt.key)) {
      var radio = form.querySelector('input[type=radio][data-key="' + evt.key + '"]');
      if (radio) {
        evt.preventDefault();
        radio.checked = true;
        radio.focus();
      }
      return;
    }
    if (evt.key === "Enter" && evt.target.tagName !== "BUTTON") {
      evt.preventDefault();
      decide(form);
    }
  }

  // -- 全选 and 批量通过 ---------------------------------------------------------------------

  function picks() {
    return pendingCards().map(function (card) { return card.querySelector(".pick input"); }).filter(Boolean);
  }

  function updatePicked() {
    var label = document.getElementById("picked");
    var all = document.getElementById("select-all");
    var boxes = picks();
    var n = boxes.filter(function (box) { return box.checked; }).length;
    if (label) label.textContent = n ? "已选 " + n + " 条" : "";
    if (all) {
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }

  function batch(form) {
    var data = new FormData(form);
    var picked = data.getAll("ids").length;
    if (!picked) {
      notice("<p>请先勾选要通过的提交</p>");
      return;
    }
    if (picked > MAX_BATCH) {
      notice("<p>一次最多批量通过 " + MAX_BATCH + " 条，已选 " + picked + " 条，请减少勾选</p>");
      return;
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    post(form, data).then(function (answer) {
      button.disabled = false;
      if (!answer) return;
      if (answer.status >= 400) return failed(answer);
      var doc = parse(answer.html);
      var decided = 0;
      Array.prototype.forEach.call(doc.querySelectorAll(".batch-cards .sub"), function (fresh) {
        var old = document.getElementById(fresh.id);
        if (!old) return;
        if (old.dataset.pending === "1" && fresh.dataset.pending !== "1") decided += 1;
        old.replaceWith(adopt(fresh));
      });
      countDecided(decided);
      var result = document.getElementById("batch-result");
      var summary = doc.getElementById("batch-summary");
      if (result && summary) result.replaceChildren(adopt(summary));
      updatePicked();
      var next = pendingCards()[0];
      if (next) focusCard(next);
      else focusAfter(allCards()[allCards().length - 1]);
    }).catch(function () {
      button.disabled = false;
      notice("<p>网络连接失败，操作未完成，请检查网络后重试</p>");
    });
  }

  // -- 下一页 ----------------------------------------------------------------------------------

  function loadMore(link, focusFirst) {
    if (link.dataset.loading === "1") return;
    link.dataset.loading = "1";
    fetch(link.href, { credentials: "same-origin", headers: { "HX-Request": "true" } }).then(function (resp) {
      return resp.text().then(function (html) { return { ok: resp.ok, html: html }; });
    }).then(function (answer) {
      link.dataset.loading = "";
      if (!answer.ok) return notice(answer.html);
      var doc = parse(answer.html);
      var box = grid();
      var added = Array.prototype.slice.call(doc.querySelectorAll(".sub")).map(adopt);
      added.forEach(function (card) { box.appendChild(card); });
      var pager = doc.getElementById("more");
      var current = document.getElementById("more");
      if (pager && current) current.replaceWith(adopt(pager));
      updatePicked();
      if (focusFirst) {
        var first = added.filter(function (c) { return c.dataset.pending === "1"; })[0];
        if (first) focusCard(first);
        else focusAfter(allCards()[allCards().length - 1]);
      }
    }).catch(function () {
      link.dataset.loading = "";
      notice("<p>网络连接失败，请检查网络后重试</p>");
    });
  }

  // -- the large view ----------------------------------------------------------------------

  var view = { photos: [], index: 0, card: null };

  function showPhoto(i) {
    var n = view.photos.length;
    view.index = ((i % n) + n) % n;
    var thumb = view.photos[view.index];
    var img = document.getElementById("viewer-img");
    img.src = thumb.dataset.display;
    img.alt = "第 " + (view.index + 1) + " 张照片（显示尺寸）";
    document.getElementById("viewer-count").textContent = (view.index + 1) + " / " + n;
    document.getElementById("viewer-taken").textContent = thumb.dataset.taken ? "拍摄于 " + thumb.dataset.taken : "无拍摄时间";
    var original = document.getElementById("viewer-original");
    original.href = thumb.dataset.original || "#";
    original.hidden = !thumb.dataset.original;
    document.getElementById("viewer-prev").disabled = n < 2;
    document.getElementById("viewer-next").disabled = n < 2;
  }

  function openViewer(card, i) {
    var dialog = document.getElementById("viewer");
    var photos = Array.prototype.slice.call(card.querySelectorAll(".thumb")).filter(function (t) {
      return t.dataset.display;
    });
    if (!dialog || !photos.length) return;
    view.photos = photos;
    view.card = card;
    var who = card.querySelector(".who");
    var task = card.querySelector(".task");
    document.getElementById("viewer-who").textContent =
      (who ? who.textContent.trim() : "") + (task ? " · " + task.textContent.trim() : "");
    showPhoto(i || 0);
    dialog.showModal();
    var next = document.getElementById("viewer-next");
    (next.disabled ? document.getElementById("viewer-close") : next).focus();
  }

  function wireViewer() {
    var dialog = document.getElementById("viewer");
    if (!dialog) return;
    document.getElementById("viewer-prev").addEventListener("click", function () { showPhoto(view.index - 1); });
    document.getElementById("viewer-next").addEventListener("click", function () { showPhoto(view.index + 1); });
    document.getElementById("viewer-close").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("click", function (evt) {
      if (evt.target === dialog) dialog.close(); // the backdrop
    });
    dialog.addEventListener("keydown", function (evt) {
      if (evt.key === "ArrowRight" || evt.key === "ArrowDown") { evt.preventDefault(); showPhoto(view.index + 1); }
      if (evt.key === "ArrowLeft" || evt.key === "ArrowUp") { evt.preventDefault(); showPhoto(view.index - 1); }
    });
    dialog.addEventListener("close", function () {
      document.getElementById("viewer-img").removeAttribute("src");
      if (view.card && view.card.isConnected) focusCard(view.card);
    });
  }

  // -- wiring ------------------------------------------------------------------------------

  function onKey(evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey || evt.defaultPrevented) return;
    var dialog = document.getElementById("viewer");
    if (dialog && dialog.open) return; // its own keys (arrows, Esc)
    var target = evt.target;
    var rejectForm = target.closest ? target.closest("form.reject") : null;
    if (rejectForm) return rejectKeys(evt, rejectForm);
    if (isTyping(target)) return;
    var card = cardOf(target);
    var key = evt.key.length === 1 ? evt.key.toLowerCase() : evt.key;
    var action = ACTION_KEYS[key];
    if (key === "ArrowRight") action = "next";
    if (key === "ArrowLeft") action = "prev";
    if (key === "ArrowDown") action = "down";
    if (key === "ArrowUp") action = "up";
    if ((key === "Enter" || key === " ") && card && target === card) action = "view";
    if (!action) return;
    if (!card && ["next", "prev", "down", "up"].indexOf(action) < 0) return;
    if (card && !grid()) return;
    evt.preventDefault();
    if (action === "next") step(card, 1);
    else if (action === "prev") step(card, -1);
    else if (action === "down") step(card, columns());
    else if (action === "up") step(card, -columns());
    else if (action === "view") openViewer(card, 0);
    else if (card.dataset.pending !== "1" || card.dataset.busy === "1") return;
    else if (action === "approve") approve(card);
    else if (action === "reject") openReject(card);
  }

  function onClick(evt) {
    var target = evt.target;
    var thumb = target.closest(".thumb");
    if (thumb) {
      var card = cardOf(thumb);
      var thumbs = Array.prototype.slice.call(card.querySelectorAll(".thumb"));
      return openViewer(card, thumbs.indexOf(thumb));
    }
    var open = target.closest(".reject-open");
    if (open) return openReject(cardOf(open));
    var cancel = target.closest(".reject-cancel");
    if (cancel) return closeReject(cardOf(cancel));
    var more = target.closest("#more .load-more");
    if (more && grid()) {
      evt.preventDefault();
      loadMore(more, false);
    }
  }

  function onSubmit(evt) {
    var form = evt.target;
    if (evt.defaultPrevented) return;
    if (form.id === "batch-form") {
      evt.preventDefault();
      return batch(form);
    }
    if (cardOf(form) && (form.classList.contains("decide") || form.classList.contains("reject"))) {
      evt.preventDefault();
      decide(form, evt.submitter);
    }
  }

  function onChange(evt) {
    var target = evt.target;
    if (target.id === "f-campaign" && target.form) {
      target.form.submit(); // the filter applies at once; its button stays for those without scripts
      return;
    }
    if (target.id === "select-all") {
      picks().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.id === "select-all" || target.closest(".pick")) updatePicked();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("change", onChange);
    if (!grid()) return;
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    document.addEventListener("submit", onSubmit);
    wireViewer();
    updatePicked();
    var first = pendingCards()[0];
    if (first && (!document.activeElement || document.activeElement === document.body)) focusCard(first);
  });
})();
