# Smoke run of the benchmark suite, so that it cannot rot: bench/run.sh --quick builds a
# 200-socket load in a private network namespace, checks that lingerd (netlink and /proc)
# counts what bench/dumpcount and bench/loadgen count, and runs every measurement once on it.
# It fails on real breakage only, never on a figure; it skips (77) when not root or without
# network namespaces, and skips the comparisons whose tools (wrk, nginx, node_exporter) are
# not installed rather than installing them.  Included from tests/CMakeLists.txt.
add_test(NAME bench_smoke
         COMMAND bash ${CMAKE_SOURCE_DIR}/bench/run.sh --quick --no-install
                 --lingerd $<TARGET_FILE:lingerd> --out ${CMAKE_BINARY_DIR}/bench-smoke)
set_tests_properties(bench_smoke PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)

# The sampling path phase by phase (dump, parse, build, attribution, history) on a live load,
# for profiling: bench/snapprof.c, linked against lingerd's own code.
add_executable(snapprof ${CMAKE_SOURCE_DIR}/bench/snapprof.c)
target_link_libraries(snapprof PRIVATE lingerd_core)
