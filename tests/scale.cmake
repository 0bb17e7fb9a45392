# Cost that follows changes: namespaces on a schedule (quiet ones dumped less often, counts exact
# against ss at quiescence, a change seen within two snapshots), the shared connection hash per
# namespace and its finding, a slow round of namespaces said by /healthz and /metrics.
lingerd_it_test(it_netns_scale)
