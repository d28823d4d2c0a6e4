// The `<name>-config` ConfigMap: `config.json` (the data plane's node config, rendered from the
// CR and validated against the data plane's own NodeConfigSchema) and `channel-policies.json`
// (the ChannelPolicies of the cluster, which the pods hot-reload). Only config.json feeds the
// pod-template config hash, so a policy change never restarts a pod.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { NodeConfigSchema } from '../../../dataplane/src/config/schema.ts';
import { type FieldError, fieldError } from '../api/field-error.ts';
import type { ChannelPolicy } from '../api/v1alpha1/channelpolicy.ts';
import type { AITransportCluster } from '../api/v1alpha1/cluster.ts';
import { sha256Hex, stableJson } from './hash.ts';
import { applyMeta, childMeta, withInputHash } from './meta.ts';
import { adminTokenFile, appSecretFile } from './mounts.ts';
import { CONFIG_KEY, configMapName, PATH, PORT } from './names.ts';

type Cluster = Readonly<AITransportCluster>;
type Json = Record<string, unknown>;

/** The node config the CR describes, before spec.configOverrides. */
export function baseNodeConfig(c: Cluster): Json {
  const cfg = c.spec.config;
  return {
    server: { host: '0.0.0.0', port: PORT.http, ...cfg.server },
    ops: { host: '0.0.0.0', port: PORT.ops, adminTokenFile: adminTokenFile(c) },
    websocket: cfg.websocket,
    metrics: cfg.metrics,
    logging: cfg.logging,
    shutdown: cfg.shutdown,
    aiTransport: cfg.aiTransport,
    // The ChannelPolicies of this ConfigMap, mounted as a directory (so updates reach the pod)
    // and hot-reloaded by the node.
    channelPolicies: { file: `${PATH.configDir}/${CONFIG_KEY.policies}` },
    apps: c.spec.apps.map((a) => ({
      id: a.id,
      key: a.key,
      secretFile: appSecretFile(a),
      enabled: a.enabled,
      enableClientMessages: a.enableClientMessages,
      enableUserAuthentication: a.enableUserAuthentication,
      userAuthenticationTimeoutSeconds: a.userAuthenticationTimeoutSeconds,
      allowedOrigins: a.allowedOrigins,
      limits: a.limits,
    })),
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, anything else replaces, `null` removes the key. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isObject(v) && isObject(out[k])) out[k] = deepMerge(out[k] as Json, v);
    else out[k] = structuredClone(v);
  }
  return out;
}

/** The full node config: the CR's settings with spec.configOverrides merged last. */
export function renderNodeConfig(c: Cluster): Json {
  return deepMerge(baseNodeConfig(c), (c.spec.configOverrides ?? {}) as Json);
}

export function nodeConfigJson(c: Cluster): string {
  return `${stableJson(renderNodeConfig(c), 2)}\n`;
}

/** sha256 of config.json: the pod-template annotation that rolls the pods when it changes. */
export function configHash(c: Cluster): string {
  return sha256Hex(nodeConfigJson(c));
}

/** The rendered config must pass the data plane's own validation, or the pods would crash-loop. */
export function validateNodeConfig(c: Cluster): FieldError[] {
  const parsed = NodeConfigSchema.safeParse(renderNodeConfig(c));
  if (parsed.success) return [];
  return parsed.error.issues.map((i) =>
    fieldError(
      c.spec.configOverrides ? 'spec.configOverrides' : 'spec.config',
      'Invalid',
      `rendered config.json ${i.path.join('.') || '(root)'}: ${i.message}`,
    ),
  );
}

// ---------------------------------------------------------------- channel policies

/**
 * One policy as the data plane reads it from channel-policies.json. This is a contract with the
 * data plane's policy hot-reload; it moves to dataplane/src/config/ once the node implements it.
 */
export interface RenderedChannelPolicy {
  name: string;
  appId: string;
  channels: { names: string[]; prefixes: string[]; patterns: string[] };
  history: ChannelPolicy['spec']['history'];
  presenceHistory: ChannelPolicy['spec']['presenceHistory'];
  rollup: ChannelPolicy['spec']['rollup'];
}

export interface ChannelPolicyDocument {
  version: 1;
  /** Sorted by name; a channel matched by several policies uses the first. */
  policies: RenderedChannelPolicy[];
}

/** The live policies that name this cluster, sorted by name. */
export function policiesOf(c: Cluster, policies: readonly Readonly<ChannelPolicy>[]): Readonly<ChannelPolicy>[] {
  return policies
    .filter(
      (p) =>
        p.spec.clusterRef.name === c.metadata.name &&
        (p.metadata.namespace ?? c.metadata.namespace) === c.metadata.namespace &&
        p.metadata.deletionTimestamp === undefined,
    )
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

export function renderChannelPolicy(p: Readonly<ChannelPolicy>): RenderedChannelPolicy {
  const s = p.spec;
  return {
    name: p.metadata.name,
    appId: s.appId,
    channels: {
      names: [...(s.channels.names ?? [])],
      prefixes: [...(s.channels.prefixes ?? [])],
      patterns: [...(s.channels.patterns ?? [])],
    },
    history: s.history,
    presenceHistory: s.presenceHistory,
    rollup: s.rollup,
  };
}

/** status.configHash of a ChannelPolicy: the hash of what the pods receive. */
export function policyHash(p: Readonly<ChannelPolicy>): string {
  return sha256Hex(stableJson(renderChannelPolicy(p)));
}

export function renderChannelPolicies(c: Cluster, policies: readonly Readonly<ChannelPolicy>[]): ChannelPolicyDocument {
  return { version: 1, policies: policiesOf(c, policies).map(renderChannelPolicy) };
}

export function renderConfigMap(c: Cluster, policies: readonly Readonly<ChannelPolicy>[]): V1ConfigMap {
  return applyMeta(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      data: {
        [CONFIG_KEY.node]: nodeConfigJson(c),
        [CONFIG_KEY.policies]: `${stableJson(renderChannelPolicies(c, policies), 2)}\n`,
      },
    },
    ...childMeta(c, configMapName(c), 'config'),
    withInputHash(),
  );
}
