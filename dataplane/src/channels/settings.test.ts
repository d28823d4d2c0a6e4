import { describe, expect, it } from 'vitest';
import { ChannelPolicySchema } from '../config/channel-policies.ts';
import { NodeConfigSchema } from '../config/schema.ts';
import { ChannelSettingsResolver, resolveChannelSettings } from './settings.ts';

const config = NodeConfigSchema.parse({
  apps: [{ id: 'a', key: 'k', secret: 's' }],
  aiTransport: { enabled: true, channelPrefixes: ['private-ai-'] },
});
const policy = (name: string, extra: Record<string, unknown>) =>
  ChannelPolicySchema.parse({ name, appId: 'a', channels: { prefixes: ['private-p-'] }, ...extra });

describe('resolveChannelSettings', () => {
  it('gives AI channels history, versioned messages, AI limits and the default rollup window', () => {
    const s = resolveChannelSettings(config, [], 'a', 'private-ai-1');
    expect(s).toMatchObject({ ai: true, history: true, versioned: true, rollupWindowMs: 40, policy: null });
    expect(s.limits.maxAppendsPerMessage).toBe(4096);
    expect(s.recovery).toMatchObject({ enabled: true, maxReplay: 100, bufferTtlMs: 120_000 });
  });

  it('leaves other channels without history unless history.enabled', () => {
    expect(resolveChannelSettings(config, [], 'a', 'chat')).toMatchObject({
      history: false,
      versioned: false,
      ai: false,
    });
    const on = NodeConfigSchema.parse({ ...config, history: { enabled: true } });
    expect(resolveChannelSettings(on, [], 'a', 'chat')).toMatchObject({ history: true, versioned: true });
  });

  it('never versions or rolls up encrypted channels', () => {
    const on = NodeConfigSchema.parse({ ...config, history: { enabled: true } });
    expect(resolveChannelSettings(on, [], 'a', 'private-encrypted-x')).toMatchObject({
      history: true,
      versioned: false,
      rollupWindowMs: 0,
    });
  });

  it('applies the first matching policy by name, for its app only', () => {
    const resolver = new ChannelSettingsResolver(config, [
      policy('b-second', { history: { enabled: false } }),
      policy('a-first', { history: { retention: { maxMessages: 7, maxAgeSeconds: 0 } }, rollup: { windowMs: 100 } }),
    ]);
    const s = resolver.get('a', 'private-p-1');
    expect(s.policy).toBe('a-first');
    expect(s.retention).toEqual({ maxMessages: 7, maxBytes: 1024 * 1024 });
    expect(s.rollupWindowMs).toBe(100);
    expect(resolver.get('other-app', 'private-p-1').policy).toBeNull();
  });

  it('turns the rollup off for a channel whose policy disables it', () => {
    const resolver = new ChannelSettingsResolver(config, [policy('p', { rollup: { enabled: false } })]);
    expect(resolver.get('a', 'private-p-1').rollupWindowMs).toBe(0);
  });

  it('re-resolves after setPolicies and bumps the generation', () => {
    const resolver = new ChannelSettingsResolver(config, []);
    expect(resolver.get('a', 'private-p-1').history).toBe(false);
    const gen = resolver.generation;
    resolver.setPolicies([policy('p', {})]);
    expect(resolver.generation).toBe(gen + 1);
    expect(resolver.get('a', 'private-p-1').history).toBe(true);
  });
});
