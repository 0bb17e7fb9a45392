# Teardown tracer (eBPF): attribution, exact counts, histograms, resets, namespaces, and off.
lingerd_it_test(it_events)

# The tracer's cost benchmark (bench/tracecost.sh): a connection churner and a tracer holder.
add_executable(churn ${CMAKE_SOURCE_DIR}/bench/churn.c)
add_executable(tracehold ${CMAKE_SOURCE_DIR}/bench/tracehold.c)
target_link_libraries(tracehold PRIVATE lingerd_capture)
