// Server status (a few headline figures parsed from `/-/metrics`) and,
// for admins, users and their keys (the admin API under `/-/admin/users`).

import { ApiError } from "./s3.js";
import { errorBox, h, show, toast } from "./ui.js";

/** Parses Prometheus text: a list of {name, labels, value}. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

const sum = (ms, name) => ms.filter((m) => m.name === name).reduce((a, m) => a + m.value, 0);
const has = (ms, name) => ms.some((m) => m.name === name);

export async function renderStatus() {
  const box = h("div", { id: "status" }, "Loading…");
  show(h("h1", {}, "Server status"), box);
  const token = sessionStorage.getItem("imgbucket.console.metrics-token") || "";
  const r = await fetch("/-/metrics", { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: "no-store" });
  if (r.status === 401 || r.status === 403) {
    const input = h("input", { id: "metrics-token", type: "password", "aria-label": "Metrics token" });
    const form = h("form", { class: "inline" }, h("label", { for: "metrics-token" }, "Bearer token"), input, h("button", { type: "submit" }, "Use"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem("imgbucket.console.metrics-token", input.value);
      renderStatus();
    });
    box.replaceChildren(h("p", {}, "This server asks a bearer token for /-/metrics ([metrics] token)."), form);
    return;
  }
  const ms = parseMetrics(await r.text());
  const first = await sampleRate(ms, token);
  const build = ms.find((m) => m.name === "imgbucket_build_info");
  const start = ms.find((m) => m.name === "process_start_time_seconds");
  const hits = sum(ms, "imgbucket_variant_cache_hits_total");
  const misses = sum(ms, "imgbucket_variant_cache_misses_total");
  const figures = [
    ["Version", build ? build.labels.version || "—" : "—"],
    ["Uptime", start ? `${Math.round((Date.now() / 1000 - start.value) / 60)} min` : "—"],
    ["Requests per second", first === null ? "—" : first.toFixed(1)],
    ["Requests since start", String(sum(ms, "imgbucket_requests_total"))],
    ["Variant cache hit rate", hits + misses ? `${((100 * hits) / (hits + misses)).toFixed(1)} %` : "—"],
    ["Processing: running / slots", `${sum(ms, "imgbucket_processing_running")} / ${sum(ms, "imgbucket_processing_slots")}`],
    ["Processing queue", has(ms, "imgbucket_processing_queued") ? String(sum(ms, "imgbucket_processing_queued")) : "—"],
    ["Open connections", has(ms, "imgbucket_connections_open") ? String(sum(ms, "imgbucket_connections_open")) : "—"],
  ];
  box.replaceChildren(h("table", { class: "kv" }, h("tbody", {},
    figures.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))))),
  h("p", { class: "hint" }, "From ", h("a", { href: "/-/metrics" }, "/-/metrics"), "; docs/monitoring.md explains each metric."));
}

/** Requests per second over two seconds (a second scrape). */
async function sampleRate(before, token) {
  await new Promise((r) => setTimeout(r, 2000));
  const r = await fetch("/-/metrics", { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: "no-store" }).catch(() => null);
  if (!r || !r.ok) return null;
  const after = parseMetrics(await r.text());
  // The two scrapes are requests too; they are not the load.
  return Math.max(0, (sum(after, "imgbucket_requests_total") - sum(before, "imgbucket_requests_total") - 1) / 2);
}

export async function renderUsers(client) {
  const box = h("div", { id: "users" });
  const shown = h("div", { id: "new-keys" });
  show(h("h1", {}, "Users and keys"), shown, box);
  let list;
  try {
    list = await client.admin("GET");
  } catch (e) {
    box.replaceChildren(errorBox(e instanceof ApiError ? e : { code: "Error", detail: String(e) }),
      h("p", {}, "Only the admin key may manage users (docs/users.md)."));
    return;
  }
  const once = (keys, what) => shown.replaceChildren(h("section", { class: "card keys", role: "alert" },
    h("h2", {}, `${what}: ${keys.name}`),
    h("p", {}, "Shown once: copy the secret now."),
    h("table", { class: "kv" }, h("tbody", {},
      h("tr", {}, h("th", {}, "Access key"), h("td", {}, h("code", {}, keys.access_key))),
      h("tr", {}, h("th", {}, "Secret key"), h("td", {}, h("code", {}, keys.secret_key)))))));
  const act = async (fn) => {
    try {
      await fn();
      await renderUsersList();
    } catch (e) {
      box.prepend(errorBox(e instanceof ApiError ? e : { code: "Error", detail: String(e) }));
    }
  };
  const name = h("input", { id: "user-name", spellcheck: "false", required: true });
  const form = h("form", { class: "inline" }, h("label", { for: "user-name" }, "New user"), name, h("button", { type: "submit" }, "Create with a key"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(async () => { once(await client.admin("PUT", name.value.trim()), "New user"); name.value = ""; });
  });
  const renderUsersList = async () => {
    list = await client.admin("GET");
    box.replaceChildren(form, h("table", { class: "list" },
      h("thead", {}, h("tr", {}, h("th", {}, "User"), h("th", {}, "Access key"), h("th", {}, "From"), h("th", {}, h("span", { class: "sr" }, "Actions")))),
      h("tbody", {}, (list.users || []).map((u) => h("tr", {},
        h("td", {}, u.name, u.admin ? " (admin)" : ""), h("td", {}, h("code", {}, u.access_key)), h("td", {}, String(u.origin)),
        h("td", { class: "actions" }, u.admin ? null : [
          h("button", { type: "button", class: "small", onclick: () => act(async () => once(await client.admin("POST", u.name, [["rotate", null]]), "New key")) }, "New key"),
          h("button", { type: "button", class: "small danger", onclick: () => {
            if (confirm(`Remove ${u.name} and revoke its key?`)) act(async () => { await client.admin("DELETE", u.name); toast(`${u.name} removed`); });
          } }, "Remove")]))))));
  };
  await renderUsersList();
}
