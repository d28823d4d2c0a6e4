import { describe, expect, it } from 'vitest';
import { ChannelPolicyDocumentSchema } from '../../../dataplane/src/config/channel-policies.ts';
import { NodeConfigSchema } from '../../../dataplane/src/config/schema.ts';
import { configHash, nodeConfigJson, renderConfigMap, renderNodeConfig, validateNodeConfig } from './configmap.ts';
import { loadCluster, loadPolicy, specOf } from './fixtures.ts';
import { CONFIG_KEY, VOLUME } from './names.ts';
import { renderPodTemplate } from './statefulset.ts';

describe('configmap', () => {
  it.each(['cluster-minimal.yaml', 'cluster-production.yaml'])(
    '%s renders a config.json the data plane accepts',
    (file) => {
      const c = loadCluster(file);
      const parsed = NodeConfigSchema.safeParse(JSON.parse(nodeConfigJson(c)));
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
      expect(validateNodeConfig(c)).toEqual([]);
    },
  );

  it('points at mounted Secrets and never holds a secret value', () => {
    const cfg = renderNodeConfig(loadCluster('cluster-production.yaml')) as {
      apps: Array<Record<string, unknown>>;
      ops: Record<string, unknown>;
    };
    expect(cfg.apps[0]).toMatchObject({ secretFile: '/var/run/aitransport/apps/chat-apps/assistant-secret' });
    expect(cfg.apps.every((a) => a.secret === undefined && a.secretEnv === undefined)).toBe(true);
    expect(cfg.ops).toEqual({ host: '0.0.0.0', port: 9601, adminTokenFile: '/var/run/aitransport/admin/token' });
  });

  it('puts policies in their own key, outside the config hash', () => {
    const c = loadCluster('cluster-production.yaml');
    const policy = loadPolicy('channelpolicy-ai.yaml');
    const cm = renderConfigMap(c, [policy]);
    expect(JSON.parse(cm.data?.[CONFIG_KEY.policies] ?? '').policies[0].name).toBe('assistant-ai');
    expect(cm.data?.[CONFIG_KEY.node]).toBe(renderConfigMap(c, []).data?.[CONFIG_KEY.node]);
    const other = loadPolicy('channelpolicy-ai.yaml', (raw) => {
      specOf(raw).clusterRef = { name: 'someone-else' };
    });
    expect(JSON.parse(renderConfigMap(c, [other]).data?.[CONFIG_KEY.policies] ?? '').policies).toEqual([]);
  });

  it('points the node at the policies key where the pod mounts the ConfigMap, in the shape the node reads', () => {
    const c = loadCluster('cluster-production.yaml');
    const file = (renderNodeConfig(c).channelPolicies as { file: string }).file;
    const container = renderPodTemplate(c).spec?.containers[0];
    const mount = container?.volumeMounts?.find((m) => m.name === VOLUME.config);
    expect(mount?.subPath).toBeUndefined(); // a directory mount: ConfigMap updates reach the pod
    expect(file).toBe(`${mount?.mountPath}/${CONFIG_KEY.policies}`);
    const doc = JSON.parse(renderConfigMap(c, [loadPolicy('channelpolicy-ai.yaml')]).data?.[CONFIG_KEY.policies] ?? '');
    const parsed = ChannelPolicyDocumentSchema.safeParse(doc);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });

  it('merges configOverrides last and reports overrides the data plane would reject', () => {
    const c = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).configOverrides = { logging: { level: 'debug' } };
    });
    expect((renderNodeConfig(c).logging as Record<string, unknown>).level).toBe('debug');
    expect(configHash(c)).not.toBe(configHash(loadCluster('cluster-minimal.yaml')));
    const bad = loadCluster('cluster-minimal.yaml', (raw) => {
      specOf(raw).configOverrides = { websocket: { maxPayloadKb: 'big' } };
    });
    expect(validateNodeConfig(bad)[0]?.message).toContain('websocket.maxPayloadKb');
  });
});
