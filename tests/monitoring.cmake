# Monitoring integration: the OpenAPI contract checked against live answers, and
# Prometheus (promtool, a real server, alert rules, the Grafana dashboard) against /metrics.
# Both need scripts/deps-monitoring.sh (prometheus, nodejs, npm); it_openapi installs its npm
# packages into tests/openapi/node_modules itself.
lingerd_it_test(it_openapi)
lingerd_it_test(it_prometheus)
set_tests_properties(it_openapi it_prometheus PROPERTIES TIMEOUT 300)
