// The objects of one bucket: folders by prefix (ListObjectsV2 with
// `delimiter=/`, one page at a time with its continuation token), uploads
// by drop or file picker, and per object a thumbnail the server makes,
// download, presigned link, headers and delete.

import { ApiError } from "./s3.js";
import { Upload } from "./upload.js";
import { errorBox, h, isImage, link, show, size, toast } from "./ui.js";

const PAGE = 50;
/** Object URLs of the thumbnails shown, revoked when the list is redrawn. */
let thumbUrls = [];

function asError(e) {
  return e instanceof ApiError ? e : { code: e.code || "Error", detail: e.detail || String(e.message || e) };
}

/** Fetches thumbnails a few at a time (signed GETs of a server-side resize). */
function loadThumbs(client, bucket, imgs) {
  const queue = imgs.slice();
  const worker = async () => {
    while (queue.length) {
      const [img, key] = queue.shift();
      if (!img.isConnected) continue;
      try {
        const r = await client.send("GET", bucket, key, { params: [["x-oss-process", "image/resize,w_96"]] });
        const url = URL.createObjectURL(await r.blob());
        thumbUrls.push(url);
        img.src = url;
      } catch (_) {
        img.replaceWith(h("span", { class: "thumb none", title: "no preview" }, "—"));
      }
    }
  };
  for (let i = 0; i < 3; i += 1) worker();
}

function crumbs(bucket, prefix) {
  const parts = prefix.split("/").filter(Boolean);
  const out = [h("a", { href: link(["b", bucket]) }, bucket)];
  let acc = "";
  for (const p of parts) {
    acc += p + "/";
    out.push(" / ", h("a", { href: link(["b", bucket], { prefix: acc }) }, p));
  }
  return h("nav", { class: "crumbs", "aria-label": "Folder" }, out);
}

export async function renderObjects(client, bucket, query) {
  const prefix = query.get("prefix") || "";
  const token = query.get("token");
  const page = await client.list(bucket, { prefix, token, maxKeys: PAGE });
  for (const u of thumbUrls) URL.revokeObjectURL(u);
  thumbUrls = [];
  const status = h("div", { id: "object-error" });
  const detail = h("div", { id: "object-detail" });
  const reload = () => renderObjects(client, bucket, query);

  // Uploads.
  const picker = h("input", { type: "file", id: "file-input", multiple: true, class: "sr" });
  const uploads = h("ul", { class: "uploads", id: "uploads", "aria-label": "Uploads" });
  const startUploads = (files) => {
    let pending = files.length;
    for (const file of files) {
      const key = prefix + file.name;
      const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": `Upload of ${file.name}` });
      const state = h("span", { class: "state" }, "uploading");
      const cancel = h("button", { type: "button", class: "small", "aria-label": `Cancel upload of ${file.name}` }, "Cancel");
      const item = h("li", { dataset: { key } }, h("span", { class: "name" }, file.name), " ",
        h("span", { class: "muted" }, size(file.size)), bar, state, cancel);
      uploads.append(item);
      const up = new Upload(client, bucket, key, file, (n) => { bar.value = n; });
      if (up.multipart) state.textContent = "uploading (multipart)";
      cancel.addEventListener("click", () => up.cancel());
      up.start().then(() => {
        bar.value = bar.max;
        state.textContent = "done";
        item.classList.add("done");
      }, (e) => {
        state.textContent = e.code === "Cancelled" ? "cancelled" : "failed";
        item.classList.add("failed");
        if (e.code !== "Cancelled") item.append(errorBox(asError(e)));
      }).finally(() => {
        cancel.remove();
        pending -= 1;
        if (pending === 0) {
          toast(`Uploads finished`);
          // Redraw the listing, keeping the upload list on screen.
          renderObjects(client, bucket, query).then(() => {
            const fresh = document.getElementById("uploads");
            if (fresh) fresh.replaceWith(uploads);
          });
        }
      });
    }
  };
  picker.addEventListener("change", () => { startUploads(Array.from(picker.files)); picker.value = ""; });
  const drop = h("div", { class: "drop", id: "drop-zone", tabindex: 0, role: "button", "aria-label": "Upload files: drop them here or press Enter to choose" },
    "Drop files here, or ", h("label", { for: "file-input", class: "link" }, "choose files"), prefix ? ` (into ${prefix})` : "");
  drop.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); picker.click(); } });
  for (const t of ["dragenter", "dragover"]) drop.addEventListener(t, (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    startUploads(Array.from(ev.dataTransfer.files));
  });

  // New folder: S3 has none; a prefix exists once something is under it.
  const folderName = h("input", { id: "folder-name", placeholder: "folder name", spellcheck: "false" });
  const folderForm = h("form", { class: "inline" }, h("label", { for: "folder-name" }, "Open folder"), folderName,
    h("button", { type: "submit", class: "small" }, "Open"));
  folderForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const n = folderName.value.trim().replace(/^\/+|\/+$/g, "");
    if (n) location.hash = link(["b", bucket], { prefix: prefix + n + "/" });
  });

  // Listing.
  const imgs = [];
  const rows = [];
  for (const f of page.folders) {
    rows.push(h("tr", { class: "folder" },
      h("td", {}, h("span", { class: "thumb folder-icon", "aria-hidden": "true" }, "dir")),
      h("td", {}, h("a", { href: link(["b", bucket], { prefix: f }) }, f.slice(prefix.length))),
      h("td", {}), h("td", {}), h("td", {})));
  }
  for (const o of page.objects) {
    let thumb = h("span", { class: "thumb none" }, "");
    if (isImage(o.key)) {
      thumb = h("img", { class: "thumb", alt: "", width: 48, height: 48 });
      imgs.push([thumb, o.key]);
    }
    const actions = h("td", { class: "actions" },
      h("button", { type: "button", class: "small download", "aria-label": `Download ${o.key}`, onclick: async () => {
        const url = await client.presign(bucket, o.key, 300, [["response-content-disposition", `attachment; filename="${o.key.split("/").pop().replace(/"/g, "")}"`]]);
        const a = h("a", { href: url, download: "" });
        document.body.append(a);
        a.click();
        a.remove();
      } }, "Download"),
      h("button", { type: "button", class: "small info", "aria-label": `Details of ${o.key}`, onclick: () => showDetail(client, bucket, o.key, detail) }, "Details"),
      isImage(o.key) ? h("a", { class: "button small", href: link(["editor", bucket, o.key]) }, "Style editor") : null,
      h("button", { type: "button", class: "small danger delete-object", "aria-label": `Delete ${o.key}`, onclick: async () => {
        if (!confirm(`Delete ${o.key}?`)) return;
        try {
          await client.deleteObject(bucket, o.key);
          toast(`${o.key} deleted`);
          await reload();
        } catch (e) { status.replaceChildren(errorBox(asError(e))); }
      } }, "Delete"));
    rows.push(h("tr", { dataset: { key: o.key }, class: "object" },
      h("td", {}, thumb),
      h("td", {}, h("button", { type: "button", class: "link key", onclick: () => showDetail(client, bucket, o.key, detail) }, o.key.slice(prefix.length))),
      h("td", { class: "num" }, size(o.size)),
      h("td", { class: "muted" }, o.modified ? new Date(o.modified).toLocaleString() : ""),
      actions));
  }
  const pager = h("div", { class: "row pager" },
    token ? h("a", { class: "button small", href: link(["b", bucket], { prefix }) }, "First page") : null,
    page.next ? h("a", { class: "button small", id: "next-page", href: link(["b", bucket], { prefix, token: page.next }) }, "Next page") : null);

  show(
    h("h1", {}, "Objects in ", h("code", {}, bucket)),
    h("div", { class: "row" }, crumbs(bucket, prefix), h("a", { class: "button small", href: link(["s", bucket]) }, "Bucket settings")),
    drop, picker, uploads, status,
    h("div", { class: "split" },
      rows.length
        ? h("table", { class: "list objects", id: "objects" },
          h("thead", {}, h("tr", {}, h("th", {}, h("span", { class: "sr" }, "Preview")), h("th", {}, "Name"), h("th", {}, "Size"), h("th", {}, "Modified"), h("th", {}, h("span", { class: "sr" }, "Actions")))),
          h("tbody", {}, rows))
        : h("p", { class: "muted", id: "objects" }, prefix ? "Nothing under this prefix." : "This bucket is empty."),
      detail),
    pager, folderForm,
  );
  loadThumbs(client, bucket, imgs);
}

/** The object's headers (HEAD) and a presigned link with a chosen expiry. */
async function showDetail(client, bucket, key, box) {
  box.replaceChildren(h("p", {}, "Loading…"));
  let headers;
  try {
    headers = await client.head(bucket, key);
  } catch (e) {
    box.replaceChildren(errorBox(asError(e)));
    return;
  }
  const rows = [];
  headers.forEach((v, k) => rows.push(h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))));
  const expiry = h("select", { id: "presign-expiry" },
    h("option", { value: "900" }, "15 minutes"), h("option", { value: "3600", selected: true }, "1 hour"),
    h("option", { value: "86400" }, "1 day"), h("option", { value: "604800" }, "7 days"));
  const out = h("input", { id: "presigned-url", readonly: true, "aria-label": "Presigned link", spellcheck: "false" });
  const make = async () => {
    out.value = await client.presign(bucket, key, Number(expiry.value));
    out.select();
  };
  const copy = h("button", { type: "button", class: "small", onclick: async () => {
    if (!out.value) await make();
    try {
      await navigator.clipboard.writeText(out.value);
      toast("Link copied");
    } catch (_) {
      out.select();
      toast("Select the link and copy it (the clipboard is not available here)");
    }
  } }, "Copy");
  box.replaceChildren(h("section", { class: "card detail" },
    h("h2", {}, key),
    h("table", { class: "kv", id: "object-headers" }, h("tbody", {}, rows)),
    h("h3", {}, "Presigned link"),
    h("div", { class: "row" }, h("label", { for: "presign-expiry" }, "Valid for"), expiry,
      h("button", { type: "button", class: "small", id: "make-link", onclick: make }, "Make link"), copy),
    out));
  box.querySelector("h2").tabIndex = -1;
  box.querySelector("h2").focus();
}
