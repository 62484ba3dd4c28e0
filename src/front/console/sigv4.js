// AWS Signature Version 4 in the browser, through WebCrypto: header
// signing for fetch/XHR requests and query presigning for links. The
// canonical request follows the S3 rules: the path is encoded once
// (slashes kept), query names and values are RFC 3986-encoded and sorted.

const enc = new TextEncoder();

/** Lowercase hex of bytes. */
export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a string or bytes, as hex. */
export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

async function hmac(key, msg) {
  const k = await crypto.subtle.importKey(
    "raw", typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(msg)));
}

/** RFC 3986 encoding as S3 wants it; `/` kept when `keepSlash`. */
export function uriEncode(s, keepSlash = false) {
  const e = encodeURIComponent(s).replace(/[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return keepSlash ? e.replace(/%2F/g, "/") : e;
}

/** The encoded path of a bucket and key (either may be empty). */
export function objectPath(bucket, key) {
  if (!bucket) return "/";
  return "/" + uriEncode(bucket) + (key ? "/" + uriEncode(key, true) : "");
}

/**
 * The query string for `params`, a list of `[name, value]` pairs where a
 * `null` value writes the name alone (`?acl`, COS's `?imageMogr2/...`).
 * The same encoding is what the canonical request uses, so the server
 * decodes exactly what was signed.
 */
export function queryString(params) {
  return params
    .map(([k, v]) => (v === null || v === undefined ? uriEncode(k) : uriEncode(k) + "=" + uriEncode(v)))
    .join("&");
}

function canonicalQuery(params) {
  return params
    .map(([k, v]) => [uriEncode(k), uriEncode(v ?? "")])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => k + "=" + v)
    .join("&");
}

function stamp(date) {
  const iso = date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { amz: iso, day: iso.slice(0, 8) };
}

async function signingKey(secret, day, region) {
  let k = await hmac("AWS4" + secret, day);
  k = await hmac(k, region);
  k = await hmac(k, "s3");
  return hmac(k, "aws4_request");
}

async function signature(creds, day, amz, scope, canonical) {
  const toSign = ["AWS4-HMAC-SHA256", amz, scope, await sha256Hex(canonical)].join("\n");
  return hex(await hmac(await signingKey(creds.secretKey, day, creds.region), toSign));
}

/**
 * Signs a request: returns the headers to send (`Authorization`,
 * `x-amz-date`, `x-amz-content-sha256` and the given ones).
 * `headers` are signed too, names lowercase. `host` is the page's.
 */
export async function signHeaders({ method, path, params = [], headers = {}, payloadHash, creds, host, date = new Date() }) {
  const { amz, day } = stamp(date);
  const all = { ...headers, host, "x-amz-content-sha256": payloadHash, "x-amz-date": amz };
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  // Values as the canonical request has them: trimmed, inner runs of spaces as one.
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), String(v).trim().replace(/ +/g, " ")]));
  const canonical = [
    method, path, canonicalQuery(params),
    names.map((n) => n + ":" + lower[n] + "\n").join(""),
    names.join(";"), payloadHash,
  ].join("\n");
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const sig = await signature(creds, day, amz, scope, canonical);
  const out = { ...headers, "x-amz-content-sha256": payloadHash, "x-amz-date": amz };
  out.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${sig}`;
  return out;
}

/** A presigned URL (query signing, `UNSIGNED-PAYLOAD`), valid `expires` seconds. */
export async function presign({ method = "GET", path, params = [], creds, host, origin, expires, date = new Date() }) {
  const { amz, day } = stamp(date);
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const q = [
    ...params,
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${creds.accessKey}/${scope}`],
    ["X-Amz-Date", amz],
    ["X-Amz-Expires", String(expires)],
    ["X-Amz-SignedHeaders", "host"],
  ];
  const canonical = [method, path, canonicalQuery(q), `host:${host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n");
  const sig = await signature(creds, day, amz, scope, canonical);
  return `${origin}${path}?${queryString([...q, ["X-Amz-Signature", sig]])}`;
}
