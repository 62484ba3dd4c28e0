// Small DOM helpers shared by the screens. Every text goes in through
// `textContent` (never `innerHTML`), so a key or an error message cannot
// inject markup.

/** Builds an element: `h("a", {href: "#"}, "text", child)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the main area's content and moves focus to its heading. */
export function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  const first = main.querySelector("h1");
  if (first) {
    first.tabIndex = -1;
    first.focus({ preventScroll: true });
  }
  return main;
}

/** A short message at the bottom of the screen. */
export function toast(text, kind = "info") {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.className = `toast show ${kind}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = "toast"; }, 4000);
}

/** An error box: the vendor code in bold, its message, and extras. */
export function errorBox(err) {
  if (!err) return h("div", { class: "error", role: "alert", hidden: true });
  const extra = err.extra || {};
  const bits = [];
  if (extra.ec) bits.push(`EC ${extra.ec}`);
  if (extra.errno) bits.push(`X-ErrNo ${extra.errno}`);
  if (extra.cosCode) bits.push(`x-cos-error-code ${extra.cosCode}`);
  if (extra.retCode !== undefined) bits.push(`RetCode ${extra.retCode}`);
  if (err.status) bits.push(`HTTP ${err.status}`);
  return h("div", { class: "error", role: "alert" },
    h("strong", { class: "code" }, err.code || err.name || "Error"), " ",
    h("span", { class: "message" }, err.detail ?? err.message),
    bits.length ? h("div", { class: "meta" }, bits.join(" · ")) : null);
}

/** Bytes in a short human form. */
export function size(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Whether a key looks like an image the server can process. */
export function isImage(key) {
  return /\.(jpe?g|png|gif|webp|bmp|tiff?|heic|heif|avif)$/i.test(key);
}

/** The hash route's parts: `#/b/name?prefix=x` → {parts: ["b","name"], query}. */
export function currentRoute() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  return {
    parts: path.split("/").filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(qs || ""),
  };
}

/** A hash link to a route. */
export function link(parts, query = {}) {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const qs = q.toString();
  return "#/" + parts.map(encodeURIComponent).join("/") + (qs ? "?" + qs : "");
}

/** Calls `fn` once `ms` have passed without another call. */
export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
