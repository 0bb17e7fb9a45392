# Monitoring integration: the OpenAPI contract checked against live answers, and
# Prometheus (promtool, a real server, alert rules, the Grafana dashboard) against /metrics.
lingerd_it_test(it_openapi)
set_tests_properties(it_openapi PROPERTIES TIMEOUT 300)
