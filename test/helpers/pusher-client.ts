// The public pusher-js client (v8, protocol 7) pointed at a test node, with channel
// authorization and user authentication signed locally with the app secret (what an app
// backend's auth endpoint would do).
import PusherModule, { type Channel } from 'pusher-js';
import { channelAuthSignature, signinSignature } from '../../dataplane/src/auth/index.ts';
import { TEST_APP } from './config.ts';

// pusher-js is CommonJS: under Node ESM the default import is `module.exports`, the class
// itself, while nodenext reads its typings' default export as the namespace (`.default`).
type PusherClass = typeof PusherModule.default;
export type Pusher = InstanceType<PusherClass>;
const Pusher = PusherModule as unknown as PusherClass;

export interface PusherClientOptions {
  app?: { key: string; secret: string };
  /** Presence member / signed-in user id (default `user-1`). */
  userId?: string;
  userInfo?: Record<string, unknown>;
  /** Sign with this secret instead of the app's (to test bad signatures). */
  signingSecret?: string;
}

/** A pusher-js client connected to 127.0.0.1:`port`. Call `disconnect()` when done. */
export function createPusherClient(port: number, opts: PusherClientOptions = {}): Pusher {
  const app = opts.app ?? TEST_APP;
  const secret = opts.signingSecret ?? app.secret;
  const userId = opts.userId ?? 'user-1';
  const userInfo = opts.userInfo ?? { name: userId };
  return new Pusher(app.key, {
    cluster: 'x',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        const channelData = channelName.startsWith('presence-')
          ? JSON.stringify({ user_id: userId, user_info: userInfo })
          : undefined;
        const auth = `${app.key}:${channelAuthSignature(secret, socketId, channelName, channelData)}`;
        callback(null, channelData === undefined ? { auth } : { auth, channel_data: channelData });
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, callback) => {
        const userData = JSON.stringify({ id: userId, user_info: userInfo });
        callback(null, { auth: `${app.key}:${signinSignature(secret, socketId, userData)}`, user_data: userData });
      },
    },
  });
}

/** Resolves when the client reaches `connected`; rejects on `failed`/`unavailable` or timeout. */
export function pusherConnected(p: Pusher, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (p.connection.state === 'connected') return resolve(p.connection.socket_id);
    const timer = setTimeout(() => reject(new Error(`pusher-js state ${p.connection.state}`)), timeoutMs);
    p.connection.bind('state_change', ({ current }: { current: string }) => {
      if (current === 'connected') {
        clearTimeout(timer);
        resolve(p.connection.socket_id);
      } else if (current === 'failed' || current === 'unavailable') {
        clearTimeout(timer);
        reject(new Error(`pusher-js state ${current}`));
      }
    });
  });
}

/** Subscribes and resolves with the channel and the subscription_succeeded payload. */
export function pusherSubscribed<T = unknown>(
  p: Pusher,
  channelName: string,
  timeoutMs = 3000,
): Promise<{ channel: Channel; data: T }> {
  return new Promise((resolve, reject) => {
    const channel = p.subscribe(channelName);
    const timer = setTimeout(() => reject(new Error(`no subscription_succeeded for ${channelName}`)), timeoutMs);
    channel.bind('pusher:subscription_succeeded', (data: T) => {
      clearTimeout(timer);
      resolve({ channel, data });
    });
  });
}

/** Resolves with the next `event` on `channel`. */
export function nextEvent<T = unknown>(
  channel: Channel,
  event: string,
  timeoutMs = 3000,
): Promise<{ data: T; metadata: { user_id?: string } }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} on ${channel.name}`)), timeoutMs);
    const handler = (data: T, metadata: { user_id?: string }) => {
      clearTimeout(timer);
      channel.unbind(event, handler);
      resolve({ data, metadata });
    };
    channel.bind(event, handler);
  });
}
