import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../errors.ts';
import { fullJitterDelay, isTransientRedisError } from './client.ts';

describe('fullJitterDelay', () => {
  it('is uniform below an exponentially growing, capped ceiling', () => {
    expect(fullJitterDelay(1, 100, 5000, () => 0.999)).toBe(99);
    expect(fullJitterDelay(2, 100, 5000, () => 0.999)).toBe(199);
    expect(fullJitterDelay(4, 100, 5000, () => 0.5)).toBe(400);
    expect(fullJitterDelay(20, 100, 5000, () => 0.999)).toBe(4995);
    expect(fullJitterDelay(1000, 100, 5000, () => 0.999)).toBe(4995);
    expect(fullJitterDelay(3, 100, 5000, () => 0)).toBe(0);
    expect(fullJitterDelay(0, 100, 5000, () => 0.999)).toBe(99);
  });
});

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}
function named(message: string, name: string): Error {
  const e = new Error(message);
  Object.defineProperty(e, 'name', { value: name });
  return e;
}

describe('isTransientRedisError', () => {
  const transient: [string, unknown][] = [
    ['command timeout', new Error('Command timed out')],
    ['no offline queue', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['closed', new Error('Connection is closed.')],
    ['cluster not ready', new Error("Cluster isn't ready and enableOfflineQueue options is false")],
    ['max retries', named('Reached the max retries per request limit (which is 0).', 'MaxRetriesPerRequestError')],
    ['cluster all failed', named('Failed to refresh slots cache.', 'ClusterAllFailedError')],
    ['refused', withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')],
    ['reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['loading', new Error('LOADING Redis is loading the dataset in memory')],
    ['busy script', new Error('BUSY Redis is busy running a script.')],
    ['cluster down', new Error('CLUSTERDOWN The cluster is down')],
    ['try again', new Error('TRYAGAIN Multiple keys request during rehashing of slot')],
    ['readonly replica', new Error("READONLY You can't write against a read only replica.")],
    ['oom', new Error('OOM command not allowed when used memory > maxmemory.')],
    [
      'oom inside a script',
      new Error('ERR Error running script (call to f_x): @user_script:1: -OOM command not allowed'),
    ],
    ['auth', new Error('NOAUTH Authentication required.')],
    ['ours', new StoreUnavailableError('x')],
  ];
  it.each(transient)('%s is transient', (_, err) => {
    expect(isTransientRedisError(err)).toBe(true);
  });

  const permanent: [string, unknown][] = [
    ['wrong type', new Error('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['script error', new Error('ERR Error running script (call to f_x): @user_script:3: attempt to index nil')],
    ['unknown command', new Error("ERR unknown command 'FOO'")],
    ['cross slot', new Error("CROSSSLOT Keys in request don't hash to the same slot")],
    ['not an error', 'Command timed out'],
    ['type error', new TypeError('bad argument')],
  ];
  it.each(permanent)('%s is not transient', (_, err) => {
    expect(isTransientRedisError(err)).toBe(false);
  });
});
