// The names of the alerts the operator generates (operator/src/render/prometheusrule.ts holds
// their expressions). They are part of the API: `monitoring.prometheusRule.disabledAlerts` and
// `.overrides` accept exactly these, so a typo is rejected by the API server.
export const ALERT_NAMES = [
  'AITransportClusterDown',
  'AITransportPodsUnavailable',
  'AITransportRolloutStalled',
  'AITransportOperatorReconcileErrors',
  'AITransportResetStalled',
  'AITransportMetricsAbsent',
  'AITransportHistoryResetRequired',
  'AITransportHistoryDegraded',
  'AITransportHistoryWriteFailures',
  'AITransportHistoryWriteFailuresSustained',
  'AITransportHistoryQueueBacklog',
  'AITransportHistoryRecoveryFailures',
  'AITransportAdapterMessagesDropped',
  'AITransportAdapterReconnecting',
  'AITransportAdapterQueueGrowing',
  'AITransportConnectionsNearLimit',
  'AITransportReconnectStormUnshaped',
  'AITransportRateLimitingSustained',
  'AITransportBroadcastLatencyHigh',
  'AITransportFlushLatencyHigh',
  'AITransportRollupRatioLow',
  'AITransportActiveStreamsNotDraining',
  'AITransportFileDescriptorsNearLimit',
  'AITransportEventLoopLagGrowing',
  'AITransportActiveHandlesGrowing',
] as const;

export type AlertName = (typeof ALERT_NAMES)[number];
