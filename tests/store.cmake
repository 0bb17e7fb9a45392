# The store's tests: one program per seam of db/store_*.c (schema, write, read, trend,
# retention, transitions) built with the shared tests/store_fixture.c, and one ctest entry
# per named case: test_store.CASE runs `test_store_SEAM CASE`.  Each list names every case
# of its file; test_store.registered.SEAM fails when a case is missing here or named here but not there.
set(test_store_schema_cases
    schema_matches_labels migrate_v0 migrate_fixtures fixture_v3_netns newer_schema_refused
    foreign_refused garbage_refused pragmas garbage_past_header other_errors_not_corrupt)
set(test_store_write_cases
    round_trip open_walk_uses_index rollback_leaves_nothing misuse statements_reset
    error_mapping wal_truncated_on_close insert_rate kstat_round_trip rollup_put rollup_walk)
set(test_store_read_cases
    reader_time_order reader_concurrent reader_missing kstat_pair queries_indexed)
set(test_store_trend_cases
    netns_trend trend_exact group_trend group_trend_many group_trend_zero_minutes trend_speed)
set(test_store_retention_cases
    retention_exact retention_bounded_growth store_size retention_disk_full)
set(test_store_transitions_cases
    transitions_exact transitions_retention fixture_v4_transitions timeline_round_trip)

add_library(test_store_fixture OBJECT store_fixture.c)
target_link_libraries(test_store_fixture PRIVATE lingerd_core)
foreach(seam schema write read trend retention transitions)
  set(exe test_store_${seam})
  add_executable(${exe} ${exe}.c $<TARGET_OBJECTS:test_store_fixture>)
  target_link_libraries(${exe} PRIVATE lingerd_core)
  add_test(NAME test_store.registered.${seam}
           COMMAND ${exe} --registered ${test_store_${seam}_cases})
  foreach(case ${test_store_${seam}_cases})
    add_test(NAME test_store.${case} COMMAND ${exe} ${case})
    set_tests_properties(test_store.${case} PROPERTIES
      ENVIRONMENT "LINGERD_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data" TIMEOUT 120)
  endforeach()
endforeach()
