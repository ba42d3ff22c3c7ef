(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("details.check"));
  var selects = document.querySelectorAll("#filters select[data-attr]");
  var search = document.getElementById("search");
  var sort = document.getElementById("sort");
  var passing = document.getElementById("passing");
  var block = document.getElementById("dr-images");
  var images = block ? JSON.parse(block.textContent) : {};

  // Embedded images are in one block, once each; every <img> showing one points at it.
  function show(root) {
    root.querySelectorAll("img[data-img]").forEach(function (img) {
      img.src = images[img.dataset.img] || "";
    });
  }
  show(document);

  // A failing check's body stays text in one JSON block until its row is first opened.
  var bodyBlock = document.getElementById("dr-bodies");
  var bodies = bodyBlock ? JSON.parse(bodyBlock.textContent) : [];
  function fill(row) {
    if (row.dataset.body === undefined) { return; }
    row.insertAdjacentHTML("beforeend", bodies[Number(row.dataset.body)]);
    delete row.dataset.body;
    show(row);
  }
  rows.forEach(function (row) {
    row.addEventListener("toggle", function () { if (row.open) { fill(row); } });
  });

  // Passing and skipped checks come as data; their rows are built when first wanted.
  var pending = document.getElementById("dr-passing");
  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text) { el.textContent = text; }
    return el;
  }
  // The same id as the report's Python side gives a row: "check-" and the id, percent-encoded.
  function anchor(id) {
    return "check-" + encodeURIComponent(id).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function passingRow(entry) {
    var row = element("details", "check outcome-" + entry[2]);
    row.id = anchor(entry[0]);
    row.dataset.id = entry[0]; row.dataset.kind = entry[1]; row.dataset.outcome = entry[2];
    row.dataset.triage = "none"; row.dataset.share = "0"; row.dataset.duration = entry[3];
    row.dataset.search = (entry[0] + " " + entry[6].join(" ")).toLowerCase();
    var summary = element("summary");
    var mark = element("span", "mark");
    if (entry[2] === "passed") { mark.appendChild(element("span", "tick", "\u2713")); }
    var title = element("span");
    title.appendChild(element("span", "row-id", entry[0]));
    title.appendChild(element("span", "badge", entry[1]));
    title.appendChild(element("span", "badge outcome-" + entry[2], entry[2]));
    var figs = element("span", "row-figs num");
    figs.appendChild(element("span", "variable", entry[3] + " s"));
    summary.append(mark, title, figs);
    var body = element("div", "body");
    body.appendChild(element("div", "mono", entry[4] === entry[5] ? entry[4] : entry[4] + " \u00b7 " + entry[5]));
    entry[6].forEach(function (line) { body.appendChild(element("div", "group-ok", line)); });
    row.append(summary, body);
    return row;
  }
  function buildPassing() {
    if (!pending) { return; }
    var box = document.getElementById("passing-rows");
    var fragment = document.createDocumentFragment();
    JSON.parse(pending.textContent).forEach(function (entry) {
      var row = passingRow(entry);
      rows.push(row);
      fragment.appendChild(row);
    });
    box.appendChild(fragment);
    pending.remove();
    pending = null;
  }
  if (passing) {
    passing.addEventListener("toggle", function () { if (passing.open) { buildPassing(); } });
  }

  function matches(row, text) {
    var ok = true;
    selects.forEach(function (sel) {
      if (!sel.value) { return; }
      var have = (row.dataset[sel.dataset.attr] || "").split(" ");
      if (have.indexOf(sel.value) < 0) { ok = false; }
    });
    return ok && (!text || row.dataset.search.indexOf(text) >= 0 ||
                  row.dataset.id.toLowerCase().indexOf(text) >= 0);
  }

  function apply() {
    buildPassing();
    var shown = 0, passingShown = 0, text = search.value.trim().toLowerCase();
    rows.forEach(function (row) {
      var ok = matches(row, text);
      row.hidden = !ok;
      if (ok) {
        shown += 1;
        if (passing && passing.contains(row)) { passingShown += 1; }
      }
    });
    document.getElementById("shown-count").textContent = String(shown);
    var narrowed = text || Array.prototype.some.call(selects, function (s) { return s.value; });
    if (passing && narrowed && passingShown) { passing.open = true; }
    var params = new URLSearchParams();
    selects.forEach(function (sel) { if (sel.value) { params.set(sel.dataset.attr, sel.value); } });
    if (text) { params.set("q", text); }
    if (sort.value) { params.set("sort", sort.value); }
    var query = params.toString();
    history.replaceState(null, "", query ? "#" + query : location.pathname + location.search);
  }

  function order() {
    var key = sort.value;
    buildPassing();
    [document.getElementById("failing"), document.getElementById("passing-rows")].forEach(function (box) {
      if (!box) { return; }
      var list = Array.prototype.filter.call(box.children, function (el) {
        return el.matches("details.check");
      });
      list.sort(function (a, b) {
        if (key === "share") { return Number(b.dataset.share) - Number(a.dataset.share); }
        if (key === "duration") { return Number(b.dataset.duration) - Number(a.dataset.duration); }
        if (key === "id") { return a.dataset.id < b.dataset.id ? -1 : a.dataset.id > b.dataset.id ? 1 : 0; }
        return rows.indexOf(a) - rows.indexOf(b);
      });
      list.forEach(function (el) { box.appendChild(el); });
    });
  }

  // A link to a check (#check-...) opens it, even inside the folded passing checks.
  function reveal() {
    var id = location.hash.slice(1);
    if (!id || id.indexOf("=") >= 0) { return; }
    buildPassing();
    var target = document.getElementById(id);
    if (!target) {
      try { target = document.getElementById(decodeURIComponent(id)); } catch (e) { target = null; }
    }
    if (!target) { return; }
    if (passing && passing.contains(target)) { passing.open = true; }
    if (target.matches("details.check")) { target.hidden = false; target.open = true; fill(target); }
    target.scrollIntoView();
  }

  var initial = new URLSearchParams(location.hash.indexOf("=") >= 0 ? location.hash.slice(1) : "");
  selects.forEach(function (sel) {
    var wanted = initial.get(sel.dataset.attr);
    if (wanted) { sel.value = wanted; }
    sel.addEventListener("change", apply);
  });
  search.value = initial.get("q") || "";
  sort.value = initial.get("sort") || "";
  search.addEventListener("input", apply);
  sort.addEventListener("change", function () { order(); apply(); });
  if (location.hash.indexOf("=") >= 0) { order(); apply(); }
  window.addEventListener("hashchange", reveal);
  reveal();
  // once images have their size the row may have moved: bring it back under the bar
  window.addEventListener("load", function () { if (location.hash.indexOf("=") < 0) { reveal(); } });

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".views button");
    if (button) {
      var group = button.closest(".group");
      group.querySelectorAll(".views button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
      group.querySelectorAll(".view").forEach(function (v) {
        v.hidden = v.dataset.view !== button.dataset.view;
      });
      return;
    }
    var thumb = event.target.closest("a.thumb");
    if (thumb) { event.preventDefault(); zoom(thumb); }
  });

  // Zoom: the image at its own size, scrolled so the changed area is in the middle.
  function zoom(thumb) {
    var dialog = document.getElementById("zoom");
    var stage = dialog.querySelector(".zoom-stage");
    stage.innerHTML = "";
    var img = thumb.querySelector("img").cloneNode();
    stage.appendChild(img);
    var marks = thumb.querySelector("svg");
    if (marks) { stage.appendChild(marks.cloneNode(true)); }
    document.getElementById("zoom-caption").textContent = img.alt;
    dialog.showModal();
    function centre() {
      var box = (thumb.dataset.focus || "").split(",").map(Number);
      var scroller = dialog.querySelector(".zoom-scroll");
      if (box.length === 4) {
        scroller.scrollLeft = box[0] + box[2] / 2 - scroller.clientWidth / 2;
        scroller.scrollTop = box[1] + box[3] / 2 - scroller.clientHeight / 2;
      }
    }
    if (img.complete) { centre(); } else { img.addEventListener("load", centre); }
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    var view = input.closest(".view");
    if (!view) { return; }
    if (input.classList.contains("slider-input")) {
      view.querySelector(".slider-top").style.clipPath = "inset(0 " + (100 - input.value) + "% 0 0)";
      view.querySelector(".handle").style.left = input.value + "%";
    } else if (input.classList.contains("overlay-input")) {
      view.querySelector(".overlay-top").style.opacity = String(input.value / 100);
    }
  });
}());
