// The style editor: an image object, a processing string in any of the
// three dialects, and the result beside the original as one types
// (debounced; a signed GET of the processed image), with its size,
// format, bytes and the server's processing time (`Server-Timing:
// process;dur=`). Errors show the dialect's own code and message. Beside
// it, the same pipeline written in each dialect where that dialect can say
// it, or why it cannot (`?x-imgbucket-explain`). The string can be saved
// as a style through the chosen dialect's API.

import { ApiError, detectDialect, processParams } from "./s3.js";
import { currentRoute, debounce, errorBox, h, isImage, link, show, size, toast } from "./ui.js";

const DIALECTS = {
  oss: { label: "Alibaba OSS (x-oss-process)", example: "image/resize,w_200" },
  cos: { label: "Tencent COS (imageMogr2…)", example: "imageMogr2/thumbnail/200x" },
  us3: { label: "UCloud US3 (iopcmd)", example: "iopcmd=thumbnail&type=4&width=200" },
};

let urls = [];

function asError(e) {
  return e instanceof ApiError ? e : { code: "Error", detail: String(e.message || e) };
}

/** The processing time of a `Server-Timing` header, in ms, or null. */
export function processTime(header) {
  if (!header) return null;
  for (const metric of header.split(",")) {
    const [name, ...params] = metric.trim().split(";");
    if (name.trim() !== "process") continue;
    for (const p of params) {
      const [k, v] = p.trim().split("=");
      if (k === "dur" && v !== undefined && !Number.isNaN(Number(v))) return Number(v);
    }
  }
  return null;
}

/** A pane showing one image (or a JSON/text answer) and its figures. */
function pane(title, id) {
  const img = h("img", { alt: title, class: "preview-img", hidden: true });
  const text = h("pre", { class: "preview-text", hidden: true });
  const facts = h("dl", { class: "facts", id: `${id}-facts` });
  const box = h("figure", { class: "pane", id },
    h("figcaption", {}, title), h("div", { class: "frame" }, img, text), facts);
  const fact = (k, v, cls) => [h("dt", {}, k), h("dd", { class: cls }, v)];
  return {
    box,
    clear() { img.hidden = true; text.hidden = true; facts.replaceChildren(); img.removeAttribute("src"); },
    async fill(resp, extra = {}) {
      const blob = await resp.blob();
      const type = resp.headers.get("content-type") || blob.type || "—";
      const timing = processTime(resp.headers.get("server-timing"));
      const rows = () => [
        ...fact("Size", img.hidden ? "—" : `${img.naturalWidth}×${img.naturalHeight}`, "dims"),
        ...fact("Format", type, "type"),
        ...fact("Bytes", `${size(blob.size)} (${blob.size})`, "bytes"),
        ...(extra.timing ? fact("Processing", timing === null ? "—" : `${timing} ms`, "timing") : []),
      ];
      // Stored types are not always right (`binary/octet-stream` from
      // some uploaders): anything that is not text is tried as an image.
      if (!/^(text\/|application\/(json|xml))/.test(type)) {
        const url = URL.createObjectURL(blob);
        urls.push(url);
        text.hidden = true;
        await new Promise((resolve) => {
          img.onload = () => { img.hidden = false; resolve(); };
          img.onerror = () => { img.hidden = true; text.hidden = false; text.textContent = `The browser cannot show ${type}.`; resolve(); };
          img.src = url;
        });
      } else {
        img.hidden = true;
        text.hidden = false;
        text.textContent = await blob.text();
      }
      facts.replaceChildren(...rows());
      box.dataset.width = img.hidden ? "" : String(img.naturalWidth);
      box.dataset.height = img.hidden ? "" : String(img.naturalHeight);
    },
  };
}

export async function renderEditor(client, bucket, key) {
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
  const { query } = currentRoute();
  const { buckets } = await client.listBuckets();
  if (!bucket && buckets.length) bucket = buckets[0].name;

  const bucketSel = h("select", { id: "editor-bucket" },
    buckets.map((b) => h("option", { value: b.name, selected: b.name === bucket }, b.name)));
  bucketSel.addEventListener("change", () => { location.hash = link(["editor", bucketSel.value]); });
  const keyInput = h("input", { id: "editor-key", list: "editor-keys", value: key, spellcheck: "false", placeholder: "photo.jpg" });
  const keyList = h("datalist", { id: "editor-keys" });
  const keyForm = h("form", { class: "inline" },
    h("label", { for: "editor-bucket" }, "Bucket"), bucketSel,
    h("label", { for: "editor-key" }, "Image"), keyInput, keyList,
    h("button", { type: "submit", class: "small" }, "Open"));
  keyForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = link(["editor", bucketSel.value, keyInput.value.trim()]);
  });

  const dialect = h("select", { id: "dialect", "aria-label": "Dialect" },
    h("option", { value: "auto" }, "Detect from the text"),
    Object.entries(DIALECTS).map(([k, d]) => h("option", { value: k }, d.label)));
  const input = h("input", { id: "process", class: "process", spellcheck: "false", autocomplete: "off", placeholder: DIALECTS.oss.example, "aria-describedby": "dialect-used" });
  const used = h("span", { id: "dialect-used", class: "pill" }, "");
  const err = h("div", { id: "editor-error", "aria-live": "polite" });
  const original = pane("Original", "original");
  const processed = pane("Processed", "processed");
  processed.box.setAttribute("aria-live", "polite");
  const styleName = h("input", { id: "style-name", spellcheck: "false", placeholder: "thumb", pattern: "[A-Za-z0-9_.\\-]{1,63}" });
  const saveErr = h("div", { id: "save-error" });
  const stylesBox = h("div", { id: "editor-styles" });
  const spellings = h("section", { id: "explain", class: "card", "aria-live": "polite", hidden: true });

  const effective = () => (dialect.value === "auto" ? detectDialect(input.value) : dialect.value);
  let seq = 0;
  // The pipeline in every dialect; an unparsable string shows nothing
  // here (the preview shows its error).
  const explain = async (d, text, mine) => {
    try {
      const params = [["x-imgbucket-explain", null], ...processParams(d, text)];
      const doc = await (await client.send("GET", bucket, key, { params })).json();
      if (mine !== seq) return;
      spellings.replaceChildren(
        h("h2", {}, "The same in each dialect"),
        h("dl", { class: "spellings" }, Object.entries(DIALECTS).flatMap(([k, info]) => {
          const sp = (doc.spellings || {})[k] || {};
          const rules = (sp.rules || []).length ? h("p", { class: "hint" }, sp.rules.join(" ")) : null;
          const body = typeof sp.text === "string"
            ? [h("code", { class: "spelling" }, sp.text), " ",
              h("button", { type: "button", class: "small link", "aria-label": `Use the ${k.toUpperCase()} spelling`, onclick: () => {
                dialect.value = k;
                input.value = sp.text;
                preview();
              } }, "Use")]
            : [h("span", { class: "muted" }, "Cannot be written here:"),
              h("ul", { class: "reasons" }, (sp.errors || []).map((e) => h("li", {}, e)))];
          return [h("dt", {}, info.label), h("dd", { dataset: { dialect: k } }, body, rules)];
        })));
      spellings.hidden = false;
    } catch {
      if (mine === seq) {
        spellings.hidden = true;
        spellings.replaceChildren();
      }
    }
  };
  const preview = async () => {
    const text = input.value.trim();
    const d = effective();
    used.textContent = text ? DIALECTS[d].label : "";
    err.replaceChildren();
    if (!text || !key) {
      processed.clear();
      spellings.hidden = true;
      return;
    }
    const mine = ++seq;
    explain(d, text, mine);
    processed.box.classList.add("busy");
    try {
      const r = await client.send("GET", bucket, key, { params: processParams(d, text) });
      if (mine !== seq) return;
      await processed.fill(r, { timing: true });
      processed.box.dataset.process = text;
    } catch (e) {
      if (mine !== seq) return;
      processed.clear();
      err.replaceChildren(errorBox(asError(e)));
    } finally {
      if (mine === seq) processed.box.classList.remove("busy");
    }
  };
  const later = debounce(preview, 300);
  input.addEventListener("input", later);
  dialect.addEventListener("change", preview);

  const examples = h("div", { class: "row examples" }, "Examples: ",
    Object.entries(DIALECTS).map(([k, d]) => h("button", {
      type: "button", class: "small link", onclick: () => { dialect.value = k; input.value = d.example; preview(); },
    }, d.example)));

  const loadStyles = async () => {
    if (!bucket) return;
    try {
      const styles = await client.styles(bucket);
      stylesBox.replaceChildren(styles.length
        ? h("ul", { class: "styles" }, styles.map((s) => h("li", { dataset: { style: s.name } },
          h("strong", {}, s.name), " ", h("code", {}, s.content), " ",
          h("button", { type: "button", class: "small", "aria-label": `Edit style ${s.name}`, onclick: () => {
            styleName.value = s.name;
            dialect.value = detectDialect(s.content);
            input.value = s.content;
            preview();
            input.focus();
          } }, "Edit"),
          h("button", { type: "button", class: "small danger", "aria-label": `Delete style ${s.name}`, onclick: async () => {
            if (!confirm(`Delete style ${s.name}?`)) return;
            try {
              await client.deleteStyle(bucket, s.name);
              toast(`Style ${s.name} deleted`);
              await loadStyles();
            } catch (e) { saveErr.replaceChildren(errorBox(asError(e))); }
          } }, "Delete"))))
        : h("p", { class: "muted" }, "No styles in this bucket yet."));
      const wanted = query.get("style");
      const s = wanted && styles.find((x) => x.name === wanted);
      if (s && !input.value) {
        styleName.value = s.name;
        dialect.value = detectDialect(s.content);
        input.value = s.content;
        preview();
      }
    } catch (e) {
      stylesBox.replaceChildren(errorBox(asError(e)));
    }
  };

  const save = h("button", { type: "button", id: "save-style", onclick: async () => {
    saveErr.replaceChildren();
    const name = styleName.value.trim();
    const text = input.value.trim();
    if (!name || !text) {
      saveErr.replaceChildren(errorBox({ code: "Missing", detail: "Give the style a name and a processing string." }));
      return;
    }
    const d = effective();
    const content = d === "oss" ? text.replace(/^\??x-oss-process=/, "") : text.replace(/^\?/, "");
    try {
      await client.putStyle(bucket, name, content, d);
      toast(`Style ${name} saved (${d.toUpperCase()} API)`);
      await loadStyles();
    } catch (e) {
      saveErr.replaceChildren(errorBox(asError(e)));
    }
  } }, "Save as style");

  show(
    h("h1", {}, "Style editor"),
    keyForm,
    h("div", { class: "card" },
      h("div", { class: "row" }, h("label", { for: "dialect" }, "Dialect"), dialect, used),
      h("label", { for: "process" }, "Processing string"), input, examples, err),
    h("div", { class: "panes" }, original.box, processed.box),
    spellings,
    h("section", { class: "card" },
      h("h2", {}, "Save as a style"),
      h("div", { class: "row" }, h("label", { for: "style-name" }, "Name"), styleName, save),
      h("p", { class: "hint" }, "Saved through the API of the dialect shown above (OSS PutStyle, COS AddStyle or US3 ?iopstyle)."),
      saveErr,
      h("h3", {}, "Styles of ", bucket || "—"),
      stylesBox),
  );

  if (!bucket) {
    err.replaceChildren(h("p", {}, "Create a bucket and upload an image first."));
    return;
  }
  // Suggest the image keys of the bucket's first page.
  client.list(bucket, { prefix: "", maxKeys: 200 }).then((page) => {
    keyList.replaceChildren(...page.objects.filter((o) => isImage(o.key)).map((o) => h("option", { value: o.key })));
    if (!key) {
      const first = page.objects.find((o) => isImage(o.key));
      if (first) location.hash = link(["editor", bucket, first.key]);
    }
  }, () => {});
  loadStyles();
  if (key) {
    try {
      original.fill(await client.send("GET", bucket, key));
    } catch (e) {
      err.replaceChildren(errorBox(asError(e)));
    }
    input.focus();
  }
}
