// TLS and authentication end to end: the config block → resolveRedisConfig (password from an
// env var, CA from a file) → RedisConnection → a store, against real TLS / requirepass servers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisConfigSchema } from '../../dataplane/src/config/redis-schema.ts';
import { isStoreUnavailable } from '../../dataplane/src/stores/errors.ts';
import { RedisClaimStore } from '../../dataplane/src/stores/redis/claims.ts';
import { RedisConnection } from '../../dataplane/src/stores/redis/client.ts';
import { resolveRedisConfig } from '../../dataplane/src/stores/redis/config.ts';
import {
  makeTestCertificates,
  type RedisServer,
  startRedisServer,
  type TestCertificates,
  TLS_TEST_SERVER_NAME,
} from '../helpers/redis-server.ts';

let dir: string;
let certs: TestCertificates;
let server: RedisServer | undefined;
let conn: RedisConnection | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ait-redis-tls-'));
  certs = await makeTestCertificates(dir);
}, 30_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await conn?.close();
  conn = undefined;
  await server?.cleanup();
  server = undefined;
});

function connectFrom(raw: unknown, env: Record<string, string> = {}): RedisConnection {
  const { connection } = resolveRedisConfig(RedisConfigSchema.parse(raw), { env });
  return new RedisConnection({ ...connection, commandTimeoutMs: 500, connectTimeoutMs: 1000 });
}

describe('TLS', () => {
  it('connects with the configured CA and server name, and serves the stores', async () => {
    server = await startRedisServer({ tls: certs });
    conn = connectFrom({
      host: '127.0.0.1',
      port: server.port,
      tls: { enabled: true, caFile: certs.caFile, serverName: TLS_TEST_SERVER_NAME },
    });
    await conn.ready(5000);
    const claims = new RedisClaimStore({ connection: conn });
    expect((await claims.tryClaim('app', 'job', 'me', 1000)).claimed).toBe(true);
  });

  it('refuses a server whose certificate the CA does not sign', async () => {
    server = await startRedisServer({ tls: certs });
    const otherDir = mkdtempSync(path.join(dir, 'other-'));
    const other = await makeTestCertificates(otherDir);
    conn = connectFrom({
      host: '127.0.0.1',
      port: server.port,
      tls: { enabled: true, caFile: other.caFile, serverName: TLS_TEST_SERVER_NAME },
    });
    await expect(conn.ready(1500)).rejects.toSatisfy(isStoreUnavailable);
    const claims = new RedisClaimStore({ connection: conn });
    await expect(claims.tryClaim('app', 'job', 'me', 1000)).rejects.toSatisfy(isStoreUnavailable);
  });
});

describe('password', () => {
  it('authenticates with the password from the environment variable the config names', async () => {
    server = await startRedisServer({ password: 'correct horse' });
    conn = connectFrom(
      { port: server.port, passwordEnv: 'AIT_REDIS_PASSWORD' },
      { AIT_REDIS_PASSWORD: 'correct horse' },
    );
    await conn.ready(5000);
    expect(await conn.ping()).toBeGreaterThanOrEqual(0);
  });

  it('a wrong password makes calls fail as unavailable, without the password in the error', async () => {
    server = await startRedisServer({ password: 'correct horse' });
    const pwFile = path.join(dir, 'pw');
    writeFileSync(pwFile, 'battery staple\n');
    conn = connectFrom({ port: server.port, passwordFile: pwFile });
    await expect(conn.ready(1500)).rejects.toSatisfy(isStoreUnavailable);
    const claims = new RedisClaimStore({ connection: conn });
    const err = await claims.tryClaim('app', 'job', 'me', 1000).catch((e: unknown) => e);
    expect(isStoreUnavailable(err)).toBe(true);
    expect(String((err as Error).message)).not.toContain('battery');
  });
});
