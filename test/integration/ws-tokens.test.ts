// V2 capability tokens on live sockets: connect, grants (decision 8), expiry, refresh, revocation.
import { afterEach, describe, expect, it } from 'vitest';
import { channelAuthSignature, issueCapabilityToken } from '../../dataplane/src/auth/index.ts';
import { TEST_APP } from '../helpers/config.ts';
import { startTestNode, type TestNode } from '../helpers/test-node.ts';
import { TestWsClient } from '../helpers/ws-client.ts';

let node: TestNode;
const sockets: TestWsClient[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await node?.close();
});

function token(opts: {
  clientId?: string;
  capabilities?: Record<string, string[]>;
  ttlSeconds?: number;
  jti?: string;
  app?: { key: string; secret: string };
  nowMs?: number;
}): Promise<string> {
  return issueCapabilityToken(opts.app ?? TEST_APP, {
    clientId: opts.clientId ?? 'client-1',
    // The claim maps channel pattern → operations (PROTOCOL.md 2.4).
    capabilities: opts.capabilities ?? { 'private-ai-*': ['subscribe', 'publish'] },
    ttlSeconds: opts.ttlSeconds ?? 600,
    jti: opts.jti,
    nowMs: opts.nowMs ?? Date.now(),
  });
}

async function connect(t: string): Promise<TestWsClient & { socketId: string }> {
  const c = await TestWsClient.established(node.wsUrl({ protocol: '2', token: t }));
  sockets.push(c);
  return c;
}

async function refused(t: string): Promise<{ code: number; frames: TestWsClient['frames'] }> {
  const c = await TestWsClient.connect(node.wsUrl({ protocol: '2', token: t }));
  sockets.push(c);
  const close = await c.waitClose();
  return { code: close.code, frames: c.frames };
}

describe('token at connect', () => {
  it('lets a granted private channel be joined without HMAC and denies the rest', async () => {
    node = await startTestNode();
    const c = await connect(await token({}));
    expect(await c.subscribe('private-ai-1')).toMatchObject({ event: 'sockudo_internal:subscription_succeeded' });
    expect((await c.subscribe('private-other')).data).toEqual({
      code: 4009,
      message: 'Authentication error: Authentication signature required for this channel',
    });
    // Token connections start from empty allow-lists: a public channel needs a grant too.
    expect((await c.subscribe('public-news')).data).toMatchObject({ code: 4009 });
    // A valid HMAC does not override a missing capability.
    const auth = `app-key:${channelAuthSignature('app-secret', c.socketId, 'private-other')}`;
    expect((await c.subscribe('private-other', { auth })).data).toMatchObject({
      code: 4009,
      message: 'Not permitted: subscribe not granted for this channel',
    });
    expect(c.closeInfo).toBeUndefined();
  });

  it('joins presence with a presence grant; the member id is the token client id', async () => {
    node = await startTestNode();
    const c = await connect(
      await token({
        clientId: 'agent-7',
        capabilities: { 'presence-*': ['subscribe', 'presence'] },
      }),
    );
    const ack = await c.subscribe('presence-room', { channel_data: JSON.stringify({ user_id: 'spoofed' }) });
    expect(JSON.parse(ack.data as string)).toEqual({
      presence: { ids: ['agent-7'], hash: { 'agent-7': null }, count: 1 },
    });
    const noPresence = await connect(await token({ capabilities: { 'presence-*': ['subscribe'] } }));
    expect((await noPresence.subscribe('presence-room')).data).toMatchObject({ code: 4009 });
  });

  it.each([
    ['forged (wrong secret)', () => token({ app: { key: 'app-key', secret: 'forged' } })],
    ['for another app', () => token({ app: { key: 'other-key', secret: 'other-secret' } })],
    ['expired', () => token({ ttlSeconds: 60, nowMs: Date.now() - 10 * 60_000 })],
    ['not a JWT', async () => 'not-a-token'],
  ])('refuses a token %s: error 4009 then close 4009, before connection_established', async (_n, make) => {
    node = await startTestNode({
      apps: [TEST_APP, { id: 'other-id', key: 'other-key', secret: 'other-secret' }],
    });
    const r = await refused(await make());
    expect(r.code).toBe(4009);
    expect(r.frames).toHaveLength(1);
    expect(r.frames[0]).toMatchObject({ event: 'sockudo:error', data: { code: 4009 } });
    expect((r.frames[0]?.data as { message?: string } | undefined)?.message).toMatch(/^Invalid capability token: /);
    expect(await node.metric('connection_errors_total', { error_type: 'token_invalid' })).toBe(1);
  });

  it('fails closed on a revoked token at connect', async () => {
    node = await startTestNode();
    await node.revocations.revoke({ appId: 'app-id', jti: 'j-revoked', ttlMs: 60_000 }, Date.now());
    const r = await refused(await token({ jti: 'j-revoked' }));
    expect(r.code).toBe(4009);
    expect(r.frames[0]?.data).toMatchObject({ message: 'Invalid capability token: token revoked' });
  });
});

describe('token lifecycle on a live socket', () => {
  it('sends token_expired 40142 at exp, then closes 4009 when not refreshed', async () => {
    node = await startTestNode({}, { engine: { tokenExpiryGraceMs: 300 } });
    const c = await connect(await token({ ttlSeconds: 1 }));
    const expired = await c.waitForEvent('sockudo:token_expired', 3000);
    expect(expired.data).toEqual({ code: 40142, reason: 'expired' });
    const close = await c.waitClose(3000);
    expect(close).toEqual({ code: 4009, reason: 'capability token expired' });
  });

  it('refreshes with sockudo:auth (auth_success) and survives the expiry', async () => {
    node = await startTestNode({}, { engine: { tokenExpiryGraceMs: 1500 } });
    const c = await connect(await token({ ttlSeconds: 1 }));
    await c.waitForEvent('sockudo:token_expired', 3000);
    const fresh = await token({ ttlSeconds: 600, jti: 'j-2' });
    c.send({ event: 'sockudo:auth', data: { token: fresh } });
    const ok = await c.waitForEvent('sockudo:auth_success');
    expect(ok.data).toMatchObject({ client_id: 'client-1', jti: 'j-2' });
    expect(typeof (ok.data as { exp: number }).exp).toBe('number');
    expect(ok.message_id).toBeDefined();
    await new Promise((r) => setTimeout(r, 1800));
    expect(c.closeInfo).toBeUndefined();
  });

  it('refuses a refresh that changes the client id, without closing', async () => {
    node = await startTestNode();
    const c = await connect(await token({}));
    c.send({ event: 'sockudo:auth', data: { token: await token({ clientId: 'someone-else' }) } });
    const err = await c.waitForEvent('sockudo:error');
    expect(err.data).toEqual({ code: 4009, message: 'Token refresh failed: client_id cannot change' });
    c.send({ event: 'sockudo:auth', data: JSON.stringify({ token: 'garbage' }) });
    expect((await c.waitForEvent('sockudo:error')).data).toMatchObject({ code: 4009 });
    expect(c.closeInfo).toBeUndefined();
  });

  it('applies a revocation to live sockets: token_expired 40160 then close 4009', async () => {
    node = await startTestNode();
    const a = await connect(await token({ jti: 'j-a' }));
    const b = await connect(await token({ jti: 'j-b', clientId: 'client-2' }));
    expect(node.engine.applyRevocation('app-id', { jti: 'j-a' })).toBe(1);
    expect((await a.waitForEvent('sockudo:token_expired')).data).toEqual({ code: 40160, reason: 'revoked' });
    expect((await a.waitClose()).code).toBe(4009);
    expect(node.engine.applyRevocation('app-id', { clientId: 'client-2' })).toBe(1);
    expect((await b.waitClose()).code).toBe(4009);
    expect(node.engine.applyRevocation('other-app', { clientId: 'client-2' })).toBe(0);
    expect(node.engine.connectionCount()).toBe(0);
  });

  it('terminates a token user by client id', async () => {
    node = await startTestNode();
    const a = await connect(await token({ clientId: 'u-9' }));
    expect(node.engine.terminateUserConnections('app-id', 'u-9')).toBe(1);
    expect((await a.waitClose()).code).toBe(4009);
  });
});
