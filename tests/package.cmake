# Installable and usable like a system tool: the terminal view driven through a terminal
# (tmux), the manual page against --help, the Debian package installed and purged.
lingerd_it_test(it_cli)
lingerd_it_test(it_manpage)
lingerd_it_test(it_package)
# Three lingerd in three network namespaces, a real Prometheus with the shipped rules and a real
# Alertmanager: about 130 s, most of it the 60 s a finding needs and the rule's one-minute `for:`.
lingerd_it_test(it_fleet)
# The findings on /metrics over snapshots built in memory: counts, the top-K, merged subjects.
lingerd_unit_test(test_metrics_findings)
