// The console's API client: every request is an ordinary public API call
// (S3, the style and image-settings APIs, the admin API), signed here with
// the keys of the tab's sessionStorage. Errors become `ApiError`s carrying
// the vendor's code and message from the response body.

import { objectPath, presign, queryString, sha256Hex, signHeaders } from "./sigv4.js";

const KEY = "imgbucket.console.credentials";
export const UNSIGNED = "UNSIGNED-PAYLOAD";

/** An error answer: HTTP status, the vendor's code and message, and extras. */
export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.detail = message;
    this.extra = extra;
  }
}

/** Parses XML text (`null` when it is not XML). */
export function parseXml(text) {
  if (!text || !text.trimStart().startsWith("<")) return null;
  const doc = new DOMParser().parseFromString(text, "application/xml");
  return doc.querySelector("parsererror") ? null : doc;
}

/** The text of the first descendant element named `name` (namespace-blind). */
export function xmlText(node, name) {
  const el = node && node.getElementsByTagNameNS("*", name)[0];
  return el ? el.textContent : null;
}

/** Every descendant element named `name`. */
export function xmlAll(node, name) {
  return node ? Array.from(node.getElementsByTagNameNS("*", name)) : [];
}

/**
 * The error of a failed answer, in whichever envelope its dialect uses:
 * S3/OSS/COS XML (`Code`, `Message`, OSS `EC`, COS's `X-ErrNo` header) or
 * US3 JSON (`RetCode`, `ErrMsg`).
 */
export function errorOf(status, headers, text) {
  const extra = {};
  const errno = headers.get("x-errno");
  if (errno) extra.errno = errno;
  const cosCode = headers.get("x-cos-error-code");
  if (cosCode) extra.cosCode = cosCode;
  const doc = parseXml(text);
  if (doc) {
    const ec = xmlText(doc, "EC");
    if (ec) extra.ec = ec;
    const rid = xmlText(doc, "RequestId");
    if (rid) extra.requestId = rid;
    return new ApiError(status, xmlText(doc, "Code") || `HTTP ${status}`,
      xmlText(doc, "Message") || "", extra);
  }
  try {
    const j = JSON.parse(text);
    if (j && typeof j === "object") {
      if ("RetCode" in j) extra.retCode = j.RetCode;
      return new ApiError(status, j.Code || (j.RetCode !== undefined ? `RetCode ${j.RetCode}` : `HTTP ${status}`),
        j.ErrMsg || j.Message || j.message || j.error || text, extra);
    }
  } catch (_) { /* not JSON either */ }
  return new ApiError(status, `HTTP ${status}`, text || headers.get("content-type") || "no body");
}

/** The stored credentials, or null. */
export function loadCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return c && c.accessKey && c.secretKey ? c : null;
  } catch (_) {
    return null;
  }
}

export function saveCredentials(c) {
  sessionStorage.setItem(KEY, JSON.stringify(c));
}

export function clearCredentials() {
  sessionStorage.clear();
}

/** A signed client for this origin. */
export class Client {
  constructor(creds) {
    this.creds = creds;
    this.host = location.host;
    this.origin = location.origin;
  }

  /** The signed URL and headers of a request, without sending it. */
  async prepare(method, bucket, key, { params = [], headers = {}, payloadHash = UNSIGNED, path = null } = {}) {
    path = path || objectPath(bucket, key);
    const signed = await signHeaders({
      method, path, params, headers, payloadHash, creds: this.creds, host: this.host,
    });
    const qs = queryString(params);
    return { url: this.origin + path + (qs ? "?" + qs : ""), headers: signed };
  }

  /**
   * Sends a signed request and returns the `Response` (body unread) when it
   * succeeded; throws `ApiError` otherwise. A string body is hashed and
   * signed; a Blob body is sent as `UNSIGNED-PAYLOAD`.
   */
  async send(method, bucket, key, { params = [], headers = {}, body = null, signal, path = null } = {}) {
    const payloadHash = typeof body === "string" ? await sha256Hex(body) : body ? UNSIGNED : await sha256Hex("");
    const req = await this.prepare(method, bucket, key, { params, headers, payloadHash, path });
    const resp = await fetch(req.url, { method, headers: req.headers, body, signal, cache: "no-store" });
    if (!resp.ok && resp.status !== 304) {
      throw errorOf(resp.status, resp.headers, await resp.text());
    }
    return resp;
  }

  /** A request whose answer is XML: the parsed document (or null when empty). */
  async xml(method, bucket, key, opts) {
    const r = await this.send(method, bucket, key, opts);
    return parseXml(await r.text());
  }

  /** A presigned URL for `key`. */
  presign(bucket, key, expires, params = [], method = "GET") {
    return presign({
      method, path: objectPath(bucket, key), params, creds: this.creds,
      host: this.host, origin: this.origin, expires,
    });
  }

  // --- S3 ---

  async listBuckets() {
    const doc = await this.xml("GET", "", "");
    const owner = xmlText(doc, "DisplayName") || xmlText(doc, "ID") || "";
    const buckets = xmlAll(doc, "Bucket").map((b) => ({
      name: xmlText(b, "Name"), created: xmlText(b, "CreationDate"),
    }));
    return { owner, buckets };
  }

  async createBucket(name) {
    await this.send("PUT", name, "");
  }

  async deleteBucket(name) {
    await this.send("DELETE", name, "");
  }

  /** `public-read` or `private`, read from the bucket's ACL grants. */
  async bucketAcl(name) {
    const doc = await this.xml("GET", name, "", { params: [["acl", null]] });
    const pub = xmlAll(doc, "Grant").some((g) =>
      (xmlText(g, "URI") || "").endsWith("/global/AllUsers") && /READ/.test(xmlText(g, "Permission") || ""));
    return pub ? "public-read" : "private";
  }

  async setBucketAcl(name, acl) {
    await this.send("PUT", name, "", { params: [["acl", null]], headers: { "x-amz-acl": acl } });
  }

  /** One page of a listing: folders (common prefixes), objects and the next token. */
  async list(bucket, { prefix = "", token = null, maxKeys = 100 } = {}) {
    const params = [["list-type", "2"], ["delimiter", "/"], ["prefix", prefix], ["max-keys", String(maxKeys)], ["encoding-type", "url"]];
    if (token) params.push(["continuation-token", token]);
    const doc = await this.xml("GET", bucket, "", { params });
    const dec = (s) => (s === null ? s : decodeURIComponent(s.replace(/\+/g, " ")));
    return {
      folders: xmlAll(doc, "CommonPrefixes").map((p) => dec(xmlText(p, "Prefix"))),
      objects: xmlAll(doc, "Contents").map((c) => ({
        key: dec(xmlText(c, "Key")), size: Number(xmlText(c, "Size")),
        modified: xmlText(c, "LastModified"), etag: xmlText(c, "ETag"),
      })),
      next: xmlText(doc, "IsTruncated") === "true" ? xmlText(doc, "NextContinuationToken") : null,
    };
  }

  async head(bucket, key) {
    const r = await this.send("HEAD", bucket, key);
    return r.headers;
  }

  async deleteObject(bucket, key) {
    await this.send("DELETE", bucket, key);
  }

  // --- the admin API (/-/admin/users, docs/users.md) ---

  /** A signed admin request; the JSON answer (null when empty). */
  async admin(method, name = "", params = []) {
    const path = "/-/admin/users" + (name ? "/" + encodeURIComponent(name) : "");
    const r = await this.send(method, "", "", { params, path });
    const text = await r.text();
    return text ? JSON.parse(text) : null;
  }

  // --- image settings and styles (docs/styles.md) ---

  async imageConfig(bucket) {
    const r = await this.send("GET", bucket, "", { params: [["x-imgbucket-image-config", null]] });
    return r.json();
  }

  async putImageConfig(bucket, json) {
    await this.send("PUT", bucket, "", {
      params: [["x-imgbucket-image-config", null]], body: json,
      headers: { "content-type": "application/json" },
    });
  }

  /** Every style of the bucket (OSS ListStyle: name, content, times). */
  async styles(bucket) {
    const doc = await this.xml("GET", bucket, "", { params: [["style", null]] });
    return xmlAll(doc, "Style").map((s) => ({
      name: xmlText(s, "Name"), content: xmlText(s, "Content"), modified: xmlText(s, "LastModifyTime"),
    }));
  }

  /** Saves a style through the API of `dialect` (`oss`, `cos` or `us3`). */
  async putStyle(bucket, name, content, dialect) {
    if (dialect === "cos") {
      const body = `<AddStyle><StyleName>${esc(name)}</StyleName><StyleBody>${esc(content)}</StyleBody></AddStyle>`;
      await this.send("PUT", bucket, "", { params: [["style", null]], body, headers: { "content-type": "application/xml" } });
    } else if (dialect === "us3") {
      await this.send("PUT", bucket, "", { params: [["iopstyle", null], ["styleName", name]], body: content, headers: { "content-type": "text/plain" } });
    } else {
      const body = `<Style><Content>${esc(content)}</Content></Style>`;
      await this.send("PUT", bucket, "", { params: [["style", null], ["styleName", name]], body, headers: { "content-type": "application/xml" } });
    }
  }

  async deleteStyle(bucket, name) {
    await this.send("DELETE", bucket, "", { params: [["style", null], ["styleName", name]] });
  }
}

/** Escapes text for an XML element. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]);
}

/**
 * The query parameters of a processing string in a dialect: OSS
 * `x-oss-process=<value>` (a leading `x-oss-process=` is accepted), COS
 * the string as one valueless key, US3 `iopcmd=...&k=v` as written.
 */
export function processParams(dialect, text) {
  const t = text.trim();
  if (dialect === "oss") {
    return [["x-oss-process", t.replace(/^\??x-oss-process=/, "")]];
  }
  if (dialect === "us3") {
    return t.replace(/^\?/, "").split("&").filter(Boolean).map((p) => {
      const i = p.indexOf("=");
      return i < 0 ? [p, null] : [p.slice(0, i), p.slice(i + 1)];
    });
  }
  return [[t.replace(/^\?/, ""), null]];
}

/** The dialect a processing string is written in, guessed from its start. */
export function detectDialect(text) {
  const t = text.trim().replace(/^\?/, "");
  if (/^(x-oss-process=)?image\//.test(t) || /^(x-oss-process=)?style\//.test(t)) return "oss";
  if (/^(iopcmd|iopstyle)=/.test(t)) return "us3";
  return "cos";
}
