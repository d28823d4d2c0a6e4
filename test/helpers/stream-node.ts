// A real data-plane node (startNode: engine, pipeline, REST, ops) on loopback for the streaming
// suites, plus what a test needs to drive it: signed REST calls, channel auth, V2/V1 sockets.
import { createHmac } from 'node:crypto';
import { type NodeOptions, type RunningNode, startNode } from '../../dataplane/src/server/node.ts';
import {
  ADMIN_TOKEN,
  APP,
  type HttpResult,
  http,
  signed,
  silentLogger,
  testConfig,
} from '../integration/rest-helpers.ts';
import { TestWsClient } from './ws-client.ts';

export { APP };

export interface StreamNode {
  node: RunningNode;
  port: number;
  /** Signed REST call against the node (the path is used exactly as given: percent-encode it). */
  rest(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  /** POST /apps/{id}/events */
  publish(body: Record<string, unknown>): Promise<HttpResult>;
  /** POST …/messages/{ms}/{action} */
  mutate(channel: string, messageSerial: string, action: string, body: Record<string, unknown>): Promise<HttpResult>;
  /** A socket with connection_established received; `query` e.g. { protocol: '2', append_mode: 'full' }. */
  socket(query?: Record<string, string>): Promise<TestWsClient & { socketId: string }>;
  /** HMAC auth for a private channel subscription. */
  auth(socketId: string, channel: string): string;
  /** An admin API call on the ops port (bearer token). */
  admin(method: string, path: string, body?: unknown): Promise<HttpResult>;
  stop(): Promise<void>;
}

export const AI_CONFIG = {
  aiTransport: { enabled: true, channelPrefixes: ['private-ai-'], orphanTtlMs: 60_000 },
};

export function messagePath(channel: string, ms: string, tail = ''): string {
  return `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(ms)}${tail}`;
}

export async function startStreamNode(
  overrides: Record<string, unknown> = {},
  opts: Omit<NodeOptions, 'logger'> = {},
): Promise<StreamNode> {
  const node = await startNode(testConfig({ ...AI_CONFIG, ...overrides }), { logger: silentLogger(), ...opts });
  const port = node.publicAddress.port;
  const rest = (method: string, target: string, body?: unknown, headers?: Record<string, string>) => {
    // A query in the target is signed with the request (PROTOCOL.md 2.5).
    const [path, query] = target.split('?', 2) as [string, string | undefined];
    const params = Object.fromEntries(new URLSearchParams(query ?? ''));
    return signed(port, method, path, body, { params, ...(headers && { headers }) });
  };
  return {
    node,
    port,
    rest,
    publish: (body) => rest('POST', `/apps/${APP.id}/events`, body),
    mutate: (channel, ms, action, body) => rest('POST', messagePath(channel, ms, `/${action}`), body),
    async socket(query = { protocol: '2' }) {
      const q = new URLSearchParams(query).toString();
      return TestWsClient.established(`ws://127.0.0.1:${port}/app/${APP.key}?${q}`);
    },
    auth(socketId, channel) {
      return `${APP.key}:${createHmac('sha256', APP.secret).update(`${socketId}:${channel}`).digest('hex')}`;
    },
    admin: (method, path, body) =>
      http({
        port: node.opsAddress.port,
        method,
        path,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      }),
    stop: () => node.stop({ drain: false }),
  };
}

/** Subscribes a socket to a private channel with HMAC auth; returns the ack (or error) frame. */
export async function subscribePrivate(
  sn: StreamNode,
  c: TestWsClient & { socketId: string },
  channel: string,
  extra: Record<string, unknown> = {},
  prefix = 'sockudo',
) {
  return c.subscribe(channel, { auth: sn.auth(c.socketId, channel), ...extra }, prefix);
}

export function parseData(f: { data?: unknown }): Record<string, unknown> {
  return typeof f.data === 'string'
    ? (JSON.parse(f.data) as Record<string, unknown>)
    : (f.data as Record<string, unknown>);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signs a socket in as `id` (pusher:signin over HMAC), optionally with a capability object. */
export async function signin(
  c: TestWsClient & { socketId: string },
  id: string,
  capabilities?: Record<string, string[]>,
): Promise<void> {
  const userData = JSON.stringify(capabilities ? { id, capabilities } : { id });
  const sig = createHmac('sha256', APP.secret).update(`${c.socketId}::user::${userData}`).digest('hex');
  c.send({ event: 'sockudo:signin', data: { user_data: userData, auth: `${APP.key}:${sig}` } });
  await c.waitForEvent(/signin_success$/);
}
