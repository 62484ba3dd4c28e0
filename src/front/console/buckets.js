// The bucket screens: the list (create, delete) and one bucket's settings
// (public or private, its styles, its image settings).

import { ApiError } from "./s3.js";
import { errorBox, h, link, show, toast } from "./ui.js";

function asError(e) {
  return e instanceof ApiError ? e : { code: "Error", detail: String(e.message || e) };
}

export async function renderBuckets(client) {
  const { buckets } = await client.listBuckets();
  const status = h("div", { id: "bucket-error" });
  const name = h("input", { id: "new-bucket", name: "bucket", placeholder: "new-bucket-name", required: true, spellcheck: "false", pattern: "[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]" });
  const form = h("form", { class: "inline", id: "create-bucket" },
    h("label", { for: "new-bucket" }, "New bucket"), name,
    h("button", { type: "submit" }, "Create"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.replaceChildren();
    try {
      await client.createBucket(name.value.trim());
      toast(`Bucket ${name.value.trim()} created`);
      await renderBuckets(client);
    } catch (e) {
      status.replaceChildren(errorBox(asError(e)));
    }
  });
  const rows = buckets.map((b) => h("tr", { dataset: { bucket: b.name } },
    h("td", {}, h("a", { href: link(["b", b.name]), class: "bucket-link" }, b.name)),
    h("td", { class: "muted" }, b.created ? new Date(b.created).toLocaleString() : ""),
    h("td", { class: "actions" },
      h("a", { href: link(["s", b.name]), class: "button small" }, "Settings"),
      h("button", {
        type: "button", class: "small danger delete-bucket",
        "aria-label": `Delete bucket ${b.name}`,
        onclick: async () => {
          if (!confirm(`Delete bucket ${b.name}? It must be empty.`)) return;
          status.replaceChildren();
          try {
            await client.deleteBucket(b.name);
            toast(`Bucket ${b.name} deleted`);
            await renderBuckets(client);
          } catch (e) {
            status.replaceChildren(errorBox(asError(e)));
          }
        },
      }, "Delete"))));
  show(
    h("h1", {}, "Buckets"),
    form, status,
    buckets.length
      ? h("table", { class: "list", id: "buckets" },
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Created"), h("th", {}, h("span", { class: "sr" }, "Actions")))),
        h("tbody", {}, rows))
      : h("p", { class: "muted", id: "buckets" }, "No buckets yet."),
  );
}

export async function renderBucketSettings(client, bucket) {
  const main = show(h("h1", {}, "Bucket ", h("code", {}, bucket)),
    h("p", {}, h("a", { href: link(["b", bucket]) }, "← Objects")));
  // Access.
  const accessStatus = h("span", { id: "acl-state", class: "pill" }, "…");
  const accessErr = h("div");
  const setAcl = async (acl) => {
    accessErr.replaceChildren();
    try {
      await client.setBucketAcl(bucket, acl);
      accessStatus.textContent = acl;
      toast(`${bucket} is now ${acl}`);
    } catch (e) {
      accessErr.replaceChildren(errorBox(asError(e)));
    }
  };
  main.append(h("section", { class: "card" },
    h("h2", {}, "Access"),
    h("p", {}, "Anonymous reads: ", accessStatus),
    h("div", { class: "row" },
      h("button", { type: "button", id: "make-public", onclick: () => setAcl("public-read") }, "Make public (public-read)"),
      h("button", { type: "button", id: "make-private", onclick: () => setAcl("private") }, "Make private")),
    accessErr));
  client.bucketAcl(bucket).then((a) => { accessStatus.textContent = a; },
    (e) => accessErr.replaceChildren(errorBox(asError(e))));

  // Styles.
  const stylesBox = h("div", { id: "styles" }, "Loading…");
  main.append(h("section", { class: "card" },
    h("h2", {}, "Styles"),
    h("p", { class: "hint" }, "Create and edit them in the ", h("a", { href: link(["editor", bucket]) }, "style editor"), "."),
    stylesBox));
  const loadStyles = async () => {
    try {
      const styles = await client.styles(bucket);
      stylesBox.replaceChildren(styles.length
        ? h("table", { class: "list" },
          h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Processing"), h("th", {}, h("span", { class: "sr" }, "Actions")))),
          h("tbody", {}, styles.map((s) => h("tr", { dataset: { style: s.name } },
            h("td", {}, s.name), h("td", {}, h("code", {}, s.content)),
            h("td", { class: "actions" },
              h("a", { class: "button small", href: link(["editor", bucket], { style: s.name }) }, "Edit"),
              h("button", {
                type: "button", class: "small danger", "aria-label": `Delete style ${s.name}`,
                onclick: async () => {
                  if (!confirm(`Delete style ${s.name}?`)) return;
                  try {
                    await client.deleteStyle(bucket, s.name);
                    await loadStyles();
                  } catch (e) { stylesBox.append(errorBox(asError(e))); }
                },
              }, "Delete"))))))
        : h("p", { class: "muted" }, "No styles."));
    } catch (e) {
      stylesBox.replaceChildren(errorBox(asError(e)));
    }
  };
  loadStyles();

  // Image settings.
  const area = h("textarea", { id: "image-config", rows: 8, spellcheck: "false", "aria-label": "Image settings (JSON)" });
  const cfgErr = h("div");
  main.append(h("section", { class: "card" },
    h("h2", {}, "Image settings"),
    h("p", { class: "hint" }, "Separators (", h("code", {}, "- _ / ! @!"), "), source protection, metadata policy and ",
      h("code", {}, "auto_format"), ", as the ", h("code", {}, "?x-imgbucket-image-config"), " API stores them."),
    area,
    h("div", { class: "row" },
      h("button", {
        type: "button", id: "save-image-config",
        onclick: async () => {
          cfgErr.replaceChildren();
          try {
            JSON.parse(area.value);
          } catch (e) {
            cfgErr.replaceChildren(errorBox({ code: "InvalidJSON", detail: e.message }));
            return;
          }
          try {
            await client.putImageConfig(bucket, area.value);
            toast("Image settings saved");
          } catch (e) { cfgErr.replaceChildren(errorBox(asError(e))); }
        },
      }, "Save settings")),
    cfgErr));
  client.imageConfig(bucket).then((c) => { area.value = JSON.stringify(c, null, 2); },
    (e) => cfgErr.replaceChildren(errorBox(asError(e))));
}
