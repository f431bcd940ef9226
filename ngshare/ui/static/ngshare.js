/* ngshare pages: small helpers on top of server-rendered HTML (pages work without them).
   - ngshare.post(url, fields): a form POST with the page's XSRF token (and dev ?user=);
     a redirect answer (what page forms send back) counts as success;
   - ngshare.url(path): a URL under the prefix, keeping the dev identity;
   - tables with class "sortable" get sort buttons in their headers, and a filter box
     when they carry data-filter. */
"use strict";
(function () {
  const body = document.body;
  const prefix = body.dataset.prefix || "/";
  const devUser = body.dataset.user || "";

  function url(path, query) {
    const u = new URL(path.startsWith("/") ? path : prefix + path, window.location.origin);
    if (devUser && !u.searchParams.has("user")) u.searchParams.set("user", devUser);
    for (const [k, v] of Object.entries(query || {})) u.searchParams.set(k, v);
    return u.pathname + u.search;
  }

  async function post(path, fields) {
    const form = new URLSearchParams(fields || {});
    form.set("_xsrf", body.dataset.xsrf || "");
    const response = await fetch(url(path), {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual", // a page's form answers with a redirect back: that is success
      headers: { "X-XSRFToken": body.dataset.xsrf || "" },
      body: form,
    });
    const redirected = response.type === "opaqueredirect";
    let data = null;
    if (!redirected) {
      try { data = await response.clone().json(); } catch (e) { data = null; }
    }
    return { ok: response.ok || redirected, status: response.status, data: data, response: response };
  }

  function cellValue(row, index) {
    const cell = row.cells[index];
    if (!cell) return "";
    const key = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    const number = Number(key);
    return key !== "" && !Number.isNaN(number) ? number : key.toLowerCase();
  }

  function makeSortable(table) {
    const headers = table.tHead ? Array.from(table.tHead.rows[0].cells) : [];
    headers.forEach(function (th, index) {
      if (th.dataset.nosort !== undefined) return;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        for (const tbody of table.tBodies) {
          const rows = Array.from(tbody.rows);
          rows.sort(function (a, b) {
            const x = cellValue(a, index), y = cellValue(b, index);
            const order = x < y ? -1 : x > y ? 1 : 0;
            return ascending ? order : -order;
          });
          rows.forEach(function (r) { tbody.appendChild(r); });
        }
      });
    });
  }

  function makeFilterable(table) {
    const label = document.createElement("label");
    label.className = "table-filter";
    label.textContent = (table.dataset.filter || "Filter") + " ";
    const input = document.createElement("input");
    input.type = "search";
    input.addEventListener("input", function () {
      const needle = input.value.trim().toLowerCase();
      for (const tbody of table.tBodies) {
        for (const row of tbody.rows) {
          row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
        }
      }
    });
    label.appendChild(input);
    const wrap = table.closest(".table-wrap") || table;
    wrap.parentNode.insertBefore(label, wrap);
  }

  document.querySelectorAll("table.sortable").forEach(makeSortable);
  document.querySelectorAll("table[data-filter]").forEach(makeFilterable);

  window.ngshare = { url: url, post: post, prefix: prefix, devUser: devUser };
})();
