# Capture modules: sock_diag replay + live dump, and the /proc/net/tcp parser.
# Fixtures in tests/data are recorded by tests/tools/capture_netlink.c (not built here).
lingerd_unit_test(test_diag)
lingerd_unit_test(test_procnet)
