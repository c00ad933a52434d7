// A stand-in for an S3-compatible object store, limited to what pre-signed cache URLs do (GET, HEAD,
// PUT of one object), that verifies every request's AWS Signature V4 query signature the way S3
// does — written from the SigV4 specification, independently of the presigner under test — and
// answers with S3's status codes and XML errors. Faults can be injected per test.
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredObject {
  data: Buffer;
  lastModified: Date;
  etag: string;
  metadata: Record<string, string>;
}

export interface S3Request {
  method: string;
  key: string;
  status: number;
}

export class S3StandIn {
  readonly accessKey = 'AKIAPODRUNNERTEST01';
  readonly secretKey = 'podrunner/test/secret+key=0123456789abcdef';
  readonly region = 'eu-west-1';
  readonly bucket = 'runner-cache';
  readonly objects = new Map<string, StoredObject>();
  readonly requests: S3Request[] = [];
  /** Cut the connection after this many bytes of the next N PUT bodies. */
  dropPut: { bytes: number; times: number } | undefined;
  readonly #server: Server;
  url = '';

  private constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) xmlError(res, 500, 'InternalError', String(error));
        else res.destroy();
      });
    });
  }

  static async start(): Promise<S3StandIn> {
    const s3 = new S3StandIn();
    await new Promise<void>((resolve) => s3.#server.listen(0, '127.0.0.1', resolve));
    s3.url = `http://127.0.0.1:${(s3.#server.address() as AddressInfo).port}`;
    return s3;
  }

  get address(): string {
    return new URL(this.url).host;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const method = req.method ?? 'GET';
    const prefix = `/${this.bucket}/`;
    const record = (status: number, key: string) => this.requests.push({ method, key, status });
    if (!rawPath.startsWith(prefix)) {
      req.resume();
      record(404, rawPath);
      return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    }
    const key = decodeURIComponent(rawPath.slice(prefix.length));
    const denied = this.#verify(method, rawPath, query, req);
    if (denied) {
      req.resume();
      record(403, key);
      return xmlError(res, 403, denied.code, denied.message);
    }
    if (method === 'PUT') {
      const length = req.headers['content-length'];
      if (length === undefined) {
        req.resume();
        record(411, key);
        return xmlError(res, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
      }
      const chunks: Buffer[] = [];
      let received = 0;
      const drop = this.dropPut && this.dropPut.times > 0 ? this.dropPut : undefined;
      if (drop) drop.times--;
      const complete = await new Promise<boolean>((resolve) => {
        req.on('data', (c: Buffer) => {
          chunks.push(c);
          received += c.length;
          if (drop && received >= drop.bytes) {
            req.socket.destroy();
            resolve(false);
          }
        });
        req.on('end', () => resolve(true));
        req.on('close', () => resolve(false));
      });
      // S3 stores an object only when the whole declared body arrived.
      if (!complete || received !== Number(length)) {
        record(400, key);
        return;
      }
      const data = Buffer.concat(chunks);
      const metadata: Record<string, string> = {};
      for (const [h, v] of Object.entries(req.headers))
        if (h.startsWith('x-amz-meta-') && typeof v === 'string') metadata[h.slice(11)] = v;
      const etag = `"${createHash('md5').update(data).digest('hex')}"`;
      this.objects.set(key, { data, lastModified: new Date(), etag, metadata });
      record(200, key);
      res.writeHead(200, { etag });
      res.end();
      return;
    }
    req.resume();
    const object = this.objects.get(key);
    if (!object) {
      record(404, key);
      if (method === 'HEAD') {
        res.writeHead(404);
        res.end();
        return;
      }
      return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    record(200, key);
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-length': object.data.length,
      etag: object.etag,
      'last-modified': object.lastModified.toUTCString(),
    };
    for (const [k, v] of Object.entries(object.metadata)) headers[`x-amz-meta-${k}`] = v;
    res.writeHead(200, headers);
    res.end(method === 'HEAD' ? undefined : object.data);
  }

  /** SigV4 query-string authentication (presigned URL) check; undefined when the request is genuine. */
  #verify(
    method: string,
    rawPath: string,
    query: URLSearchParams,
    req: IncomingMessage,
  ): { code: string; message: string } | undefined {
    const algorithm = query.get('X-Amz-Algorithm');
    const credential = query.get('X-Amz-Credential');
    const date = query.get('X-Amz-Date');
    const expires = query.get('X-Amz-Expires');
    const signedHeaders = query.get('X-Amz-SignedHeaders');
    const signature = query.get('X-Amz-Signature');
    if (!algorithm || !credential || !date || !expires || !signedHeaders || !signature) {
      return { code: 'AccessDenied', message: 'Anonymous access is forbidden' };
    }
    if (algorithm !== 'AWS4-HMAC-SHA256')
      return { code: 'AuthorizationQueryParametersError', message: 'unsupported algorithm' };
    const [accessKey, day, region, service, terminal] = credential.split('/');
    if (accessKey !== this.accessKey)
      return {
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
      };
    if (
      region !== this.region ||
      service !== 's3' ||
      terminal !== 'aws4_request' ||
      day !== date.slice(0, 8)
    ) {
      return {
        code: 'AuthorizationQueryParametersError',
        message: 'Error parsing the X-Amz-Credential parameter',
      };
    }
    const issued = Date.parse(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    if (!Number.isFinite(issued) || Number(expires) > 604_800)
      return { code: 'AuthorizationQueryParametersError', message: 'bad X-Amz-Date or X-Amz-Expires' };
    if (Date.now() > issued + Number(expires) * 1000)
      return { code: 'AccessDenied', message: 'Request has expired' };
    const headerNames = signedHeaders.split(';');
    if (!headerNames.includes('host')) return { code: 'AccessDenied', message: 'host must be signed' };
    const canonicalHeaders = headerNames
      .map((h) => {
        const value = req.headers[h];
        return `${h}:${(Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ')}\n`;
      })
      .join('');
    const canonicalQuery = [...query.entries()]
      .filter(([k]) => k !== 'X-Amz-Signature')
      .map(([k, v]) => [encode(k), encode(v)] as const)
      .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonicalRequest = [
      method,
      rawPath,
      canonicalQuery,
      canonicalHeaders,
      signedHeaders,
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const scope = `${day}/${region}/s3/aws4_request`;
    const stringToSign = [
      'AWS4-HMAC-SHA256',
      date,
      scope,
      createHash('sha256').update(canonicalRequest).digest('hex'),
    ].join('\n');
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const signingKey = hmac(hmac(hmac(hmac(`AWS4${this.secretKey}`, day!), region!), 's3'), 'aws4_request');
    const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
    if (expected !== signature) {
      return {
        code: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
    }
    return undefined;
  }
}

function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}
