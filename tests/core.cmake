# Core: query parsing, JSON writer, snapshots, and the binary end to end.
lingerd_unit_test(test_query)
lingerd_unit_test(test_jw)
lingerd_unit_test(test_snap)
lingerd_unit_test(test_kstat)
lingerd_it_test(it_core)
lingerd_it_test(it_api)
lingerd_it_test(it_lingering)
lingerd_it_test(it_hardening)
