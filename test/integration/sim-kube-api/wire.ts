// A small HTTP client for wire-level assertions: the exact status, headers and JSON bodies.
import { Agent, request } from 'undici';

export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export class Wire {
  private readonly base: string;
  private readonly agent = new Agent();

  constructor(base: string) {
    this.base = base;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<WireResponse> {
    const res = await request(`${this.base}${path}`, {
      method: method as 'GET',
      dispatcher: this.agent,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.call('GET', path, undefined, headers);
  }

  /** Opens a watch and collects its events until it ends or `stop` is called. */
  async watch(path: string, headers: Record<string, string> = {}) {
    const controller = new AbortController();
    const res = await request(`${this.base}${path}`, {
      dispatcher: this.agent,
      headers,
      signal: controller.signal,
    });
    const events: { type: string; object: Record<string, unknown> }[] = [];
    const waiters: { n: number; resolve: () => void }[] = [];
    const ended = (async () => {
      let buffer = '';
      try {
        for await (const chunk of res.body) {
          buffer += (chunk as Buffer).toString();
          let nl = buffer.indexOf('\n');
          while (nl >= 0) {
            events.push(JSON.parse(buffer.slice(0, nl)));
            buffer = buffer.slice(nl + 1);
            nl = buffer.indexOf('\n');
          }
          for (const w of [...waiters]) if (events.length >= w.n) w.resolve();
        }
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      }
      return buffer;
    })();
    return {
      status: res.statusCode,
      headers: res.headers,
      events,
      ended,
      /** Resolves once `n` events have arrived. */
      waitFor(n: number): Promise<void> {
        if (events.length >= n) return Promise.resolve();
        return new Promise((resolve) => waiters.push({ n, resolve }));
      },
      stop: () => controller.abort(),
    };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
