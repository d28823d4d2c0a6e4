// Where the engine finds its open connections: by socket id, by app (quotas, counts), and by
// verified identity (user/client id and token jti) for terminate and revoke. Every key is
// scoped by app id (STANDARDS I1). Closing sockets are no longer in the index.
import type { Connection } from './connection.ts';

export class ConnectionIndex {
  /** Open connections by socket id, in connect order (drain closes the oldest first). */
  readonly bySocketId = new Map<string, Connection>();
  readonly #byApp = new Map<string, Set<Connection>>();
  /** `${appId}\n${userId}` → sockets. */
  readonly #byUser = new Map<string, Set<Connection>>();
  /** `${appId}\n${jti}` → sockets. */
  readonly #byJti = new Map<string, Set<Connection>>();

  get size(): number {
    return this.bySocketId.size;
  }

  add(conn: Connection): void {
    this.bySocketId.set(conn.socketId, conn);
    setAdd(this.#byApp, conn.appId, conn);
  }

  remove(conn: Connection): void {
    this.setIdentity(conn, undefined, undefined);
    this.bySocketId.delete(conn.socketId);
    setDelete(this.#byApp, conn.appId, conn);
  }

  /** Re-indexes a connection under its verified user id and token jti. */
  setIdentity(conn: Connection, userId: string | undefined, jti: string | undefined): void {
    const keys = conn.indexKeys;
    if (keys.userId !== userId) {
      if (keys.userId !== undefined) setDelete(this.#byUser, `${conn.appId}\n${keys.userId}`, conn);
      if (userId !== undefined) setAdd(this.#byUser, `${conn.appId}\n${userId}`, conn);
    }
    if (keys.jti !== jti) {
      if (keys.jti !== undefined) setDelete(this.#byJti, `${conn.appId}\n${keys.jti}`, conn);
      if (jti !== undefined) setAdd(this.#byJti, `${conn.appId}\n${jti}`, conn);
    }
    conn.indexKeys = { userId, jti };
  }

  countForApp(appId: string): number {
    return this.#byApp.get(appId)?.size ?? 0;
  }

  countsByApp(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [appId, set] of this.#byApp) out[appId] = set.size;
    return out;
  }

  /** A snapshot (callers close sockets while iterating). */
  byUser(appId: string, userId: string): Connection[] {
    return [...(this.#byUser.get(`${appId}\n${userId}`) ?? [])];
  }

  byJti(appId: string, jti: string): Connection[] {
    return [...(this.#byJti.get(`${appId}\n${jti}`) ?? [])];
  }
}

function setAdd<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function setDelete<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
