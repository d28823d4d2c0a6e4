// Route table of the signed REST API (PROTOCOL.md 9): pure matching of a method and a raw
// path to a route name and its decoded parameters. Unknown paths are 404, known paths with
// another method 405 (with the allowed methods).

export type RouteName =
  | 'events'
  | 'batch_events'
  | 'channels'
  | 'channel'
  | 'channel_users'
  | 'terminate_connections'
  | 'revocations'
  | 'message'
  | 'message_versions'
  | 'message_update'
  | 'message_delete'
  | 'message_append'
  | 'message_summary'
  | 'appends'
  | 'history'
  | 'history_state'
  | 'history_reset'
  | 'history_purge';

export interface RouteParams {
  appId: string;
  channel?: string;
  userId?: string;
  messageSerial?: string;
}

export type RouteMatch =
  | { kind: 'match'; route: RouteName; params: RouteParams }
  | { kind: 'not_found' }
  | { kind: 'method_not_allowed'; allow: readonly string[] }
  | { kind: 'bad_path'; reason: string };

interface RouteDef {
  readonly route: RouteName;
  readonly method: 'GET' | 'POST';
  /** Path segments after `/apps/{appId}`; `:name` captures one segment. */
  readonly segments: readonly string[];
}

const ROUTES: readonly RouteDef[] = [
  { route: 'events', method: 'POST', segments: ['events'] },
  { route: 'batch_events', method: 'POST', segments: ['batch_events'] },
  { route: 'channels', method: 'GET', segments: ['channels'] },
  { route: 'channel', method: 'GET', segments: ['channels', ':channel'] },
  { route: 'channel_users', method: 'GET', segments: ['channels', ':channel', 'users'] },
  { route: 'terminate_connections', method: 'POST', segments: ['users', ':userId', 'terminate_connections'] },
  { route: 'revocations', method: 'POST', segments: ['revocations'] },
  { route: 'appends', method: 'POST', segments: ['appends'] },
  { route: 'message', method: 'GET', segments: ['channels', ':channel', 'messages', ':messageSerial'] },
  {
    route: 'message_versions',
    method: 'GET',
    segments: ['channels', ':channel', 'messages', ':messageSerial', 'versions'],
  },
  {
    route: 'message_update',
    method: 'POST',
    segments: ['channels', ':channel', 'messages', ':messageSerial', 'update'],
  },
  {
    route: 'message_delete',
    method: 'POST',
    segments: ['channels', ':channel', 'messages', ':messageSerial', 'delete'],
  },
  {
    route: 'message_append',
    method: 'POST',
    segments: ['channels', ':channel', 'messages', ':messageSerial', 'append'],
  },
  {
    route: 'message_summary',
    method: 'POST',
    segments: ['channels', ':channel', 'messages', ':messageSerial', 'summary'],
  },
  { route: 'history', method: 'GET', segments: ['channels', ':channel', 'history'] },
  { route: 'history_state', method: 'GET', segments: ['channels', ':channel', 'history', 'state'] },
  { route: 'history_reset', method: 'POST', segments: ['channels', ':channel', 'history', 'reset'] },
  { route: 'history_purge', method: 'POST', segments: ['channels', ':channel', 'history', 'purge'] },
];

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Matches `/apps/{appId}/...`; a trailing slash is not accepted (as in Sockudo's router). */
export function matchRoute(method: string, rawPath: string): RouteMatch {
  const parts = rawPath.split('/');
  // ['', 'apps', appId, ...rest]
  if (parts[0] !== '' || parts[1] !== 'apps' || parts.length < 4) return { kind: 'not_found' };
  const rest = parts.slice(3);
  const allow = new Set<string>();
  for (const def of ROUTES) {
    if (def.segments.length !== rest.length) continue;
    const params: RouteParams = { appId: '' };
    let ok = true;
    for (let i = 0; i < def.segments.length && ok; i++) {
      const want = def.segments[i] as string;
      const got = rest[i] as string;
      if (want.startsWith(':')) {
        const value = decode(got);
        if (value === undefined) return { kind: 'bad_path', reason: `malformed percent-encoding in ${want.slice(1)}` };
        if (value === '') ok = false;
        else if (want === ':channel') params.channel = value;
        else if (want === ':messageSerial') params.messageSerial = value;
        else params.userId = value;
      } else if (want !== got) ok = false;
    }
    if (!ok) continue;
    if (def.method !== method) {
      allow.add(def.method);
      continue;
    }
    const appId = decode(parts[2] as string);
    if (appId === undefined || appId === '') return { kind: 'bad_path', reason: 'malformed app id' };
    params.appId = appId;
    return { kind: 'match', route: def.route, params };
  }
  return allow.size ? { kind: 'method_not_allowed', allow: [...allow] } : { kind: 'not_found' };
}
