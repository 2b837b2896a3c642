/* Leaderboard site behaviour, vanilla JS with no dependencies (pages open from file://):
   - sortable tables: click (or Enter on) a column header; numbers sort numerically, empty cells go last;
   - provenance: click (or Enter on) a measured value to open its record's provenance in a side panel;
   - row filter: show all rows, paper rows only, or measured (and reference) rows only. */
(function () {
  "use strict";

  function sortKey(cell, type) {
    if (!cell) return null;
    var s = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    s = (s || "").trim();
    if (s === "") return null;
    if (type === "num") {
      var x = parseFloat(s);
      return isNaN(x) ? null : x;
    }
    return s;
  }

  function sortBy(table, idx, th) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var type = th.getAttribute("data-type") || "text";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.setAttribute("aria-sort", "none"); });
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
      return { row: r, i: i, key: sortKey(r.cells[idx], type) };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        return a.key === b.key ? a.i - b.i : (a.key === null ? 1 : -1);
      }
      var c = type === "num" ? a.key - b.key
        : String(a.key).localeCompare(String(b.key), undefined, { numeric: true, sensitivity: "base" });
      if (c === 0) return a.i - b.i;
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    th.setAttribute("aria-sort", dir);
  }

  function onKey(fn) {
    return function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fn(e); }
    };
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, idx) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      th.title = "Sort by " + th.textContent.trim();
      var go = function () { sortBy(table, idx, th); };
      th.addEventListener("click", go);
      th.addEventListener("keydown", onKey(go));
    });
  });

  var dataEl = document.getElementById("provenance-data");
  var data = dataEl ? JSON.parse(dataEl.textContent) : { labels: [], strings: [], items: {} };
  var panel = document.getElementById("provenance");
  var selected = null;

  function closePanel() {
    if (panel) panel.hidden = true;
    if (selected) selected.classList.remove("selected");
    selected = null;
  }

  function openPanel(cell) {
    var item = data.items[cell.getAttribute("data-prov")];
    if (!item || !panel) return;
    document.getElementById("provenance-title").textContent = item.title;
    var dl = document.getElementById("provenance-fields");
    while (dl.firstChild) dl.removeChild(dl.firstChild);
    if (item.reference) {
      var rt = document.createElement("dt"); rt.textContent = "Row";
      var rd = document.createElement("dd"); rd.textContent = "reference (a yardstick, not a tokenizer result)";
      dl.appendChild(rt); dl.appendChild(rd);
    }
    item.fields.forEach(function (f) {
      var dt = document.createElement("dt"); dt.textContent = data.labels[f[0]];
      var dd = document.createElement("dd"); dd.textContent = data.strings[f[1]];
      dl.appendChild(dt); dl.appendChild(dd);
    });
    if (selected) selected.classList.remove("selected");
    selected = cell;
    cell.classList.add("selected");
    panel.hidden = false;
  }

  document.addEventListener("click", function (e) {
    var cell = e.target.closest ? e.target.closest("[data-prov]") : null;
    if (cell) { openPanel(cell); return; }
    if (e.target.closest && e.target.closest(".provenance .close")) closePanel();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { closePanel(); return; }
    var cell = e.target.closest ? e.target.closest("[data-prov]") : null;
    if (cell && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openPanel(cell); }
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (btn) {
    btn.addEventListener("click", function () {
      var want = btn.getAttribute("data-filter");
      Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (b) {
        b.classList.toggle("on", b === btn);
      });
      Array.prototype.forEach.call(document.querySelectorAll("table.leaderboard tbody tr"), function (tr) {
        var kind = tr.getAttribute("data-kind");
        var show = want === "all" || kind === want || (want === "measured" && kind === "reference");
        tr.hidden = !show;
      });
    });
  });
})();
