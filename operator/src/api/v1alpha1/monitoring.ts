// Monitoring (ServiceMonitor, PrometheusRule) and NetworkPolicy settings of an AITransportCluster.
import { z } from 'zod';
import { LABEL } from '../labels.ts';
import { ALERT_NAMES, type AlertName } from './alerts.ts';
import { withCel } from './cel.ts';
import { LabelSelectorSchema } from './core.ts';
import { listAtomic, listSet, StringMap } from './meta.ts';

/** A Prometheus/Go duration such as `30s`, `5m` or `1h30m`. */
export const Duration = z
  .string()
  .max(32)
  .regex(/^(0|([0-9]+(ms|s|m|h))+)$/);

export const AlertOverrideSchema = z.strictObject({
  for: Duration.optional().describe('Pending duration before the alert fires.'),
  severity: z.enum(['critical', 'warning', 'info']).optional(),
  threshold: z.number().optional().describe('Threshold of alerts that have one (see docs/alerts.md).'),
});
export type AlertOverride = z.output<typeof AlertOverrideSchema>;

const overrideShape = Object.fromEntries(ALERT_NAMES.map((n) => [n, AlertOverrideSchema.optional()])) as Record<
  AlertName,
  z.ZodOptional<typeof AlertOverrideSchema>
>;

export const MonitoringSchema = z
  .strictObject({
    serviceMonitor: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Render a ServiceMonitor when its CRD exists.'),
        interval: Duration.default('30s'),
        scrapeTimeout: Duration.default('10s'),
        labels: StringMap.optional().describe("Labels matching the Prometheus' serviceMonitorSelector."),
        namespace: z
          .string()
          .max(63)
          .optional()
          .describe('Namespace of the ServiceMonitor; default the cluster namespace.'),
      })
      .prefault({}),
    prometheusRule: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Render a PrometheusRule when its CRD exists.'),
        labels: StringMap.optional().describe("Labels matching the Prometheus' ruleSelector (e.g. release: kps)."),
        additionalRuleLabels: StringMap.optional().describe('Labels added to every alert (team, routing).'),
        runbookBaseURL: z
          .string()
          .regex(/^https?:\/\/\S+$/)
          .max(512)
          .default('https://github.com/aitransport/aitransport/blob/main/docs/alerts.md')
          .describe('runbook_url of an alert is `<runbookBaseURL>#<alert name in lower case>`.'),
        disabledAlerts: listSet(z.enum(ALERT_NAMES), ALERT_NAMES.length).optional(),
        overrides: z.strictObject(overrideShape).optional().describe('Per-alert `for`, `severity` and `threshold`.'),
      })
      .prefault({}),
  })
  .describe('Prometheus Operator objects (skipped, with MonitoringReady=False, when their CRDs are missing).');

export const NetworkPolicyPeerSchema = withCel(
  z.strictObject({
    namespaceSelector: LabelSelectorSchema.optional(),
    podSelector: LabelSelectorSchema.optional(),
  }),
  [
    {
      rule: 'has(self.namespaceSelector) || has(self.podSelector)',
      message: 'give namespaceSelector, podSelector or both',
      check: (p) => p.namespaceSelector !== undefined || p.podSelector !== undefined,
    },
  ],
);

export const NetworkPolicySpecSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    metricsFrom: listAtomic(NetworkPolicyPeerSchema, 8)
      .default([{ namespaceSelector: {}, podSelector: { matchLabels: { [LABEL.name]: 'prometheus' } } }])
      .describe('Who may scrape port 9601 besides the operator (default: Prometheus pods in any namespace).'),
  })
  .describe('NetworkPolicy `<name>`: 6001 open, 9601 (metrics + admin API) only from the operator and Prometheus.');
