// The Pic-Operations tester: an upload carrying Tencent's `Pic-Operations`
// header (rules JSON, docs/cos.md), the `UploadResult` it answers, and
// every object the rules wrote, each shown through a signed GET.

import { ApiError, parseXml, xmlAll, xmlText } from "./s3.js";
import { errorBox, h, link, show, size } from "./ui.js";

const EXAMPLE = {
  is_pic_info: 1,
  rules: [
    { fileid: "thumbs/w200.png", rule: "imageMogr2/thumbnail/200x/format/png" },
    { fileid: "thumbs/half.webp", rule: "imageMogr2/thumbnail/!50p/format/webp" },
  ],
};

let urls = [];

/** The XML with one element per line, for reading. */
function pretty(xml) {
  let depth = 0;
  return xml.replace(/>\s*</g, ">\n<").split("\n").map((line) => {
    if (/^<\//.test(line)) depth = Math.max(0, depth - 1);
    const out = "  ".repeat(depth) + line;
    if (/^<[^!?/][^>]*[^/]>$/.test(line) && !/<\/[^>]+>$/.test(line)) depth += 1;
    return out;
  }).join("\n");
}

export async function renderPicOps(client, bucket) {
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
  const { buckets } = await client.listBuckets();
  if (!bucket && buckets.length) bucket = buckets[0].name;
  const bucketSel = h("select", { id: "picops-bucket" },
    buckets.map((b) => h("option", { value: b.name, selected: b.name === bucket }, b.name)));
  const file = h("input", { type: "file", id: "picops-file", accept: "image/*" });
  const key = h("input", { id: "picops-key", spellcheck: "false", placeholder: "uploads/photo.jpg" });
  const rules = h("textarea", { id: "picops-rules", rows: 9, spellcheck: "false" });
  rules.value = JSON.stringify(EXAMPLE, null, 2);
  const send = h("button", { type: "submit", id: "picops-send" }, "Upload with these rules");
  const result = h("div", { id: "picops-result" });
  file.addEventListener("change", () => {
    if (file.files[0] && !key.value) key.value = file.files[0].name;
  });
  const form = h("form", { class: "card" },
    h("div", { class: "row" },
      h("label", { for: "picops-bucket" }, "Bucket"), bucketSel,
      h("label", { for: "picops-file" }, "File"), file),
    h("div", { class: "row" }, h("label", { for: "picops-key" }, "Key"), key),
    h("label", { for: "picops-rules" }, "Pic-Operations (JSON)"), rules,
    h("p", { class: "hint" }, "A fileid without a leading / is relative to the key's folder. Up to 5 rules; ",
      h("code", {}, "style/<name>"), " names a style of the bucket."),
    send);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    let header;
    try {
      header = JSON.stringify(JSON.parse(rules.value));
    } catch (e) {
      result.replaceChildren(errorBox({ code: "InvalidJSON", detail: e.message }));
      return;
    }
    if (!file.files[0] || !key.value.trim()) {
      result.replaceChildren(errorBox({ code: "Missing", detail: "Choose a file and a key." }));
      return;
    }
    if (/[^\x20-\x7e]/.test(header)) {
      result.replaceChildren(errorBox({ code: "InvalidHeader", detail: "An HTTP header carries ASCII only: write other characters as \\u escapes." }));
      return;
    }
    send.disabled = true;
    try {
      const f = file.files[0];
      const b = bucketSel.value;
      const r = await client.send("PUT", b, key.value.trim(), {
        body: f, headers: { "pic-operations": header, "content-type": f.type || "application/octet-stream" },
      });
      const text = await r.text();
      await showResult(client, b, text, result);
    } catch (e) {
      result.replaceChildren(errorBox(e instanceof ApiError ? e : { code: "Error", detail: String(e.message || e) }));
    } finally {
      send.disabled = false;
    }
  });
  show(h("h1", {}, "Pic-Operations tester"),
    h("p", { class: "hint" }, "Tencent COS persistent processing at upload time (docs/cos.md): the original is stored, then each rule writes one processed object."),
    form, result);
}

async function showResult(client, bucket, text, box) {
  const doc = parseXml(text);
  const outputs = xmlAll(doc, "Object").map((o) => ({
    key: xmlText(o, "Key"), format: xmlText(o, "Format"), width: xmlText(o, "Width"),
    height: xmlText(o, "Height"), size: Number(xmlText(o, "Size")),
  }));
  const original = doc && xmlText(xmlAll(doc, "OriginalInfo")[0], "Key");
  const list = h("ul", { class: "outputs", id: "picops-outputs" });
  box.replaceChildren(
    h("section", { class: "card" }, h("h2", {}, "UploadResult"), h("pre", { class: "xml" }, pretty(text))),
    h("section", { class: "card" }, h("h2", {}, "Outputs"),
      original ? h("p", {}, "Original: ", h("a", { href: link(["b", bucket], { prefix: original.replace(/[^/]*$/, "") }) }, original)) : null,
      outputs.length ? list : h("p", { class: "muted" }, "No rule wrote anything.")));
  for (const o of outputs) {
    const img = h("img", { class: "thumb big", alt: `Output ${o.key}` });
    const a = h("a", { href: "#", class: "button small" }, "Open (presigned)");
    list.append(h("li", { dataset: { key: o.key } }, img,
      h("div", {}, h("code", {}, o.key), h("div", { class: "muted" }, `${o.format}, ${o.width}×${o.height}, ${size(o.size)}`), a)));
    client.presign(bucket, o.key, 3600).then((u) => { a.href = u; a.target = "_blank"; a.rel = "noopener"; });
    client.send("GET", bucket, o.key).then(async (r) => {
      const u = URL.createObjectURL(await r.blob());
      urls.push(u);
      img.src = u;
    }, () => img.replaceWith(h("span", { class: "thumb none" }, "—")));
  }
}
