// The demo page's server: the static files of examples/demo/web/, /config.json (where the data
// plane is, which app key and channel), and POST /auth, which signs a private-channel
// subscription with the app secret so the secret never reaches the browser (the HMAC of
// docs/protocol.md 3.1, as an app's own auth endpoint would). Loopback only.
//
//   node examples/demo/server.ts [--port 6080] [--ws ws://127.0.0.1:6001] [--channel private-ai-demo]
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

export interface DemoServerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly wsUrl: string;
  readonly key: string;
  readonly secret: string;
  readonly channel: string;
  /** Channels /auth signs; everything else is refused. */
  readonly channelPrefix?: string;
}

export interface DemoServer {
  readonly url: string;
  close(): Promise<void>;
}

const WEB = new URL('./web/', import.meta.url);
const FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/v2-client.js': 'v2-client.js',
};
const TYPES: Readonly<Record<string, string>> = { html: 'text/html; charset=utf-8', js: 'text/javascript' };
const MAX_BODY = 4096;

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > MAX_BODY) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** The subscription signature, or an error message for a request we will not sign. */
export function signSubscription(
  o: Pick<DemoServerOptions, 'key' | 'secret' | 'channelPrefix'>,
  body: unknown,
): { auth: string } | { error: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const socketId = b['socket_id'];
  const channel = b['channel_name'];
  if (typeof socketId !== 'string' || !/^\d+\.\d+$/.test(socketId)) return { error: 'socket_id must be "<n>.<n>"' };
  const prefix = o.channelPrefix ?? 'private-ai-';
  if (typeof channel !== 'string' || !channel.startsWith(prefix) || channel.length > 200) {
    return { error: `channel_name must start with ${prefix}` };
  }
  const sig = createHmac('sha256', o.secret).update(`${socketId}:${channel}`).digest('hex');
  return { auth: `${o.key}:${sig}` };
}

async function handle(o: DemoServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'GET' && path === '/config.json') {
    send(res, 200, JSON.stringify({ wsUrl: o.wsUrl, key: o.key, channel: o.channel }));
    return;
  }
  if (req.method === 'POST' && path === '/auth') {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      send(res, 400, JSON.stringify({ error: 'the body must be JSON {socket_id, channel_name}' }));
      return;
    }
    const r = signSubscription(o, body);
    send(res, 'error' in r ? 403 : 200, JSON.stringify(r));
    return;
  }
  const file = FILES[path];
  if (req.method === 'GET' && file) {
    const text = await readFile(new URL(file, WEB), 'utf8');
    send(res, 200, text, TYPES[file.split('.').pop() as string]);
    return;
  }
  send(res, 404, JSON.stringify({ error: 'not found' }));
}

export async function startDemoServer(o: DemoServerOptions): Promise<DemoServer> {
  const server: Server = createServer((req, res) => {
    handle(o, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: 'internal error' }));
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '6080' },
      ws: { type: 'string', default: 'ws://127.0.0.1:6001' },
      key: { type: 'string', default: 'app-key' },
      secret: { type: 'string', default: 'app-secret' },
      channel: { type: 'string', default: 'private-ai-demo' },
    },
  });
  const s = await startDemoServer({
    port: Number(values.port),
    wsUrl: values.ws as string,
    key: values.key as string,
    secret: values.secret as string,
    channel: values.channel as string,
  });
  console.log(`demo page: ${s.url}`);
}
