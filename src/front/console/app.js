// The console's entry point: sign-in, sign-out and the hash router that
// picks a screen. The keys live only in this tab's sessionStorage; every
// screen receives a `Client` that signs with them.

import { ApiError, Client, clearCredentials, loadCredentials, saveCredentials } from "./s3.js";
import { currentRoute, errorBox, h, show } from "./ui.js";
import { renderBuckets, renderBucketSettings } from "./buckets.js";
import { renderObjects } from "./objects.js";
import { renderEditor } from "./editor.js";
import { renderStatus, renderUsers } from "./status.js";
import { renderPicOps } from "./picops.js";

const DEFAULT_REGION = "us-east-1";

/** Checks keys with ListBuckets; a server that expects another region names it, and we retry once. */
async function tryKeys(accessKey, secretKey, region) {
  const client = new Client({ accessKey, secretKey, region });
  try {
    const list = await client.listBuckets();
    return { client, owner: list.owner };
  } catch (e) {
    const m = e instanceof ApiError && e.code === "AuthorizationHeaderMalformed" && /expecting "([^"]+)"/.exec(e.detail);
    if (m && m[1] !== region) return tryKeys(accessKey, secretKey, m[1]);
    throw e;
  }
}

function renderSignIn(error) {
  const err = h("div", { id: "signin-error" }, error ? errorBox(error) : null);
  const access = h("input", { id: "access-key", name: "access-key", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = h("input", { id: "secret-key", name: "secret-key", type: "password", autocomplete: "current-password", required: true });
  const region = h("input", { id: "region", name: "region", value: DEFAULT_REGION, spellcheck: "false" });
  const button = h("button", { type: "submit", id: "signin" }, "Sign in");
  const form = h("form", { class: "card signin", novalidate: true },
    h("h1", {}, "Sign in"),
    h("p", { class: "hint" }, "Your keys stay in this tab (sessionStorage). Requests are signed here: the secret itself is never sent."),
    h("label", { for: "access-key" }, "Access key"), access,
    h("label", { for: "secret-key" }, "Secret key"), secret,
    h("details", {}, h("summary", {}, "Region"), h("label", { for: "region" }, "Region of the signature scope"), region),
    button, err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    button.textContent = "Signing in…";
    err.replaceChildren();
    try {
      const { client, owner } = await tryKeys(access.value.trim(), secret.value, region.value.trim() || DEFAULT_REGION);
      saveCredentials({ ...client.creds, owner });
      route();
    } catch (e) {
      err.replaceChildren(errorBox(e instanceof ApiError ? e
        : { code: "NetworkError", detail: String(e.message || e) }));
    } finally {
      button.disabled = false;
      button.textContent = "Sign in";
    }
  });
  show(form);
  access.focus();
}

function signOut() {
  clearCredentials();
  location.hash = "#/";
  route();
}

/** Shows the screen of the current hash. */
export async function route() {
  const creds = loadCredentials();
  const nav = document.getElementById("nav");
  nav.hidden = !creds;
  if (!creds) {
    renderSignIn();
    return;
  }
  document.getElementById("who").textContent = creds.accessKey + (creds.owner && creds.owner !== creds.accessKey ? ` (${creds.owner})` : "");
  const client = new Client(creds);
  const hash = location.hash || "#/";
  // Which screen is drawn, once it is: scripts (and the browser test)
  // wait for it rather than for an element the last screen also had.
  delete document.body.dataset.view;
  const { parts, query } = currentRoute();
  for (const a of nav.querySelectorAll("a")) {
    const target = a.getAttribute("href").replace(/^#\//, "");
    const here = (parts[0] || "") === target || (target === "" && parts[0] === "b");
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    switch (parts[0]) {
      case "b":
        await renderObjects(client, parts[1], query);
        break;
      case "s":
        await renderBucketSettings(client, parts[1]);
        break;
      case "editor":
        await renderEditor(client, parts[1] || "", parts[2] || "");
        break;
      case "picops":
        await renderPicOps(client, parts[1] || "");
        break;
      case "status":
        await renderStatus(client);
        break;
      case "users":
        await renderUsers(client);
        break;
      default:
        await renderBuckets(client);
    }
  } catch (e) {
    show(h("h1", {}, "Something went wrong"), errorBox(e instanceof ApiError ? e : { code: "Error", detail: String(e.message || e) }));
  }
  if ((location.hash || "#/") === hash) document.body.dataset.view = hash;
}

document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
