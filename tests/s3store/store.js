#!/usr/bin/env node
// The archive tests' object store: s3rver (which does not check signatures) behind a front
// that does, with AWS's own signer (@smithy/signature-v4). The front answers 403 to a request
// whose signature or payload hash is wrong, 400 to a Content-MD5 that does not match the body,
// and forwards the rest to s3rver unchanged. Each request is logged on stderr: "store: ok
// METHOD URL" or "store: STATUS CODE why". Canonical forms are S3's: the path is decoded and
// re-encoded (everything but A-Za-z0-9-_.~ and '/'), the query sorted, a bare "?uploads"
// taken as "uploads=", so a client that signs what it sends differently is caught.
//
//   node store.js --port P --dir DIR [--bucket B]... [--key ID --secret S] [--delay MS]
// --delay holds every request MS milliseconds before forwarding it (a slow store).
// Prints "ready P" on stdout once both servers listen. Stops on SIGTERM/SIGINT.
'use strict';
const crypto = require('crypto');
const http = require('http');
const S3rver = require('s3rver');
const { SignatureV4 } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');

function parseArgs(argv) {
  const a = { port: 0, dir: '', buckets: [], key: 'S3RVER', secret: 'S3RVER', delay: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--port') a.port = Number(v);
    else if (argv[i] === '--dir') a.dir = v;
    else if (argv[i] === '--bucket') a.buckets.push(v);
    else if (argv[i] === '--key') a.key = v;
    else if (argv[i] === '--secret') a.secret = v;
    else if (argv[i] === '--delay') a.delay = Number(v);
    else throw new Error('unknown argument ' + argv[i]);
  }
  if (!a.dir) throw new Error('--dir is required');
  return a;
}

// The Hash interface the signer takes, over node's crypto (the signer does the SigV4 work).
class Sha256 {
  constructor(secret) {
    this.h = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256');
  }
  update(data) { this.h.update(typeof data === 'string' ? Buffer.from(data) : data); }
  digest() { return Promise.resolve(new Uint8Array(this.h.digest())); }
}

const s3Encode = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function canonicalPath(raw) {
  return raw.split('/').map((seg) => s3Encode(decodeURIComponent(seg))).join('/');
}

function parseQuery(raw) {
  const q = {};
  if (!raw) return q;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    q[k] = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
  }
  return q;
}

function parseAuth(h) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(h || '');
  if (!m) return null;
  return { key: m[1], date: m[2], region: m[3], signed: m[4].split(';'), signature: m[5] };
}

function amzDate(s) {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(s || '');
  return m ? new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

// Why the request must be refused, or null when it is good.
async function verify(req, body, cfg) {
  const auth = parseAuth(req.headers['authorization']);
  if (!auth) return [403, 'AccessDenied', 'no SigV4 Authorization header'];
  if (auth.key !== cfg.key) return [403, 'InvalidAccessKeyId', 'unknown access key ' + auth.key];
  const date = amzDate(req.headers['x-amz-date']);
  if (!date) return [403, 'AccessDenied', 'no x-amz-date'];
  const claimed = req.headers['x-amz-content-sha256'];
  if (!claimed) return [400, 'InvalidRequest', 'missing x-amz-content-sha256'];
  if (claimed !== 'UNSIGNED-PAYLOAD' &&
      claimed !== crypto.createHash('sha256').update(body).digest('hex'))
    return [400, 'XAmzContentSHA256Mismatch', 'x-amz-content-sha256 does not match the body'];
  const md5 = req.headers['content-md5'];
  if (md5 && md5 !== crypto.createHash('md5').update(body).digest('base64'))
    return [400, 'BadDigest', 'Content-MD5 does not match the body'];
  const headers = {};
  for (const name of auth.signed) {
    if (req.headers[name] === undefined) return [403, 'AccessDenied', 'signed header missing: ' + name];
    headers[name] = String(req.headers[name]).trim().replace(/\s+/g, ' ');
  }
  const [rawPath, rawQuery] = req.url.split(/\?(.*)/s);
  const request = new HttpRequest({
    method: req.method, protocol: 'http:', hostname: 'store', path: canonicalPath(rawPath),
    query: parseQuery(rawQuery), headers, body,
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: cfg.key, secretAccessKey: cfg.secret }, region: auth.region,
    service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false,
  });
  const signed = await signer.sign(request, { signingDate: date, signableHeaders: new Set(auth.signed) });
  const want = /Signature=([0-9a-f]{64})/.exec(signed.headers['authorization'])[1];
  if (want !== auth.signature) return [403, 'SignatureDoesNotMatch', 'signature does not match'];
  return null;
}

function refuse(res, [status, code, message]) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
  process.stderr.write(`store: ${status} ${code} ${message}\n`);
}

function forward(req, body, res, backPort) {
  const out = http.request({ host: '127.0.0.1', port: backPort, method: req.method, path: req.url,
                             headers: req.headers }, (back) => {
    res.writeHead(back.statusCode, back.headers);
    back.pipe(res);
  });
  out.on('error', (e) => refuse(res, [502, 'BadGateway', e.message]));
  out.end(body);
}

async function main() {
  const cfg = parseArgs(process.argv.slice(2));
  const store = new S3rver({ port: 0, address: '127.0.0.1', directory: cfg.dir, silent: true,
                             configureBuckets: cfg.buckets.map((name) => ({ name, configs: [] })) });
  const back = await store.run();
  const front = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      let why;
      try { why = await verify(req, body, cfg); } catch (e) { why = [403, 'AccessDenied', String(e)]; }
      if (why) return refuse(res, why);
      process.stderr.write(`store: ok ${req.method} ${req.url}\n`);
      setTimeout(() => forward(req, body, res, back.port), cfg.delay);
    });
  });
  front.listen(cfg.port, '127.0.0.1', () => process.stdout.write(`ready ${front.address().port}\n`));
  const stop = () => { front.close(); store.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { process.stderr.write('store: ' + e.stack + '\n'); process.exit(1); });
