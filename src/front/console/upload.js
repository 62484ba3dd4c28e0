// Uploads from the browser: XMLHttpRequest (fetch cannot report upload
// progress), signed with `UNSIGNED-PAYLOAD` so a large file is never read
// to be hashed. Files from MULTIPART_THRESHOLD on go multipart (one
// PART_SIZE part at a time); cancelling aborts the request in flight and
// the multipart upload.

import { errorOf, esc, parseXml, xmlText } from "./s3.js";

export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
export const PART_SIZE = 8 * 1024 * 1024;

class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.code = "Cancelled";
    this.detail = "The upload was cancelled.";
  }
}

/** Sends one signed request with XHR; resolves with the XHR once 2xx. */
function xhrSend(prepared, method, body, onProgress, upload) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    upload.xhr = xhr;
    xhr.open(method, prepared.url);
    for (const [k, v] of Object.entries(prepared.headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded); };
    xhr.onload = () => {
      upload.xhr = null;
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
      else {
        const headers = new Headers();
        for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
          const i = line.indexOf(":");
          if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
        }
        reject(errorOf(xhr.status, headers, xhr.responseText));
      }
    };
    xhr.onerror = () => { upload.xhr = null; reject({ code: "NetworkError", detail: "the connection failed" }); };
    xhr.onabort = () => { upload.xhr = null; reject(new Cancelled()); };
    xhr.send(body);
  });
}

/** One file's upload; `onProgress(loadedBytes)` as it goes. */
export class Upload {
  constructor(client, bucket, key, file, onProgress) {
    Object.assign(this, { client, bucket, key, file, onProgress });
    this.cancelled = false;
    this.xhr = null;
    this.uploadId = null;
    this.multipart = file.size >= MULTIPART_THRESHOLD;
  }

  cancel() {
    this.cancelled = true;
    if (this.xhr) this.xhr.abort();
  }

  check() {
    if (this.cancelled) throw new Cancelled();
  }

  async start() {
    const type = this.file.type || "application/octet-stream";
    if (!this.multipart) {
      const p = await this.client.prepare("PUT", this.bucket, this.key, { headers: { "content-type": type } });
      this.check();
      await xhrSend(p, "PUT", this.file, this.onProgress, this);
      return;
    }
    try {
      const doc = await this.client.xml("POST", this.bucket, this.key, {
        params: [["uploads", null]], headers: { "content-type": type },
      });
      this.uploadId = xmlText(doc, "UploadId");
      const parts = [];
      let done = 0;
      for (let n = 1, off = 0; off < this.file.size; n += 1, off += PART_SIZE) {
        this.check();
        const chunk = this.file.slice(off, Math.min(off + PART_SIZE, this.file.size));
        const params = [["partNumber", String(n)], ["uploadId", this.uploadId]];
        const p = await this.client.prepare("PUT", this.bucket, this.key, { params });
        const xhr = await xhrSend(p, "PUT", chunk, (loaded) => this.onProgress(done + loaded), this);
        parts.push([n, xhr.getResponseHeader("ETag")]);
        done += chunk.size;
        this.onProgress(done);
      }
      this.check();
      const body = "<CompleteMultipartUpload>"
        + parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${esc(e)}</ETag></Part>`).join("")
        + "</CompleteMultipartUpload>";
      const r = await this.client.send("POST", this.bucket, this.key, {
        params: [["uploadId", this.uploadId]], body, headers: { "content-type": "application/xml" },
      });
      // A completion can fail after its 200 (the error is in the body).
      const doc2 = parseXml(await r.text());
      if (doc2 && doc2.documentElement.localName === "Error") {
        throw errorOf(500, r.headers, new XMLSerializer().serializeToString(doc2));
      }
    } catch (e) {
      if (this.uploadId) {
        await this.client.send("DELETE", this.bucket, this.key, { params: [["uploadId", this.uploadId]] }).catch(() => {});
      }
      throw e;
    }
  }
}
