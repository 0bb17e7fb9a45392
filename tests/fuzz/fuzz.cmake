# libFuzzer harnesses for everything lingerd parses from clients, the kernel and /proc.
#
# Always: a replay driver per harness (replay.c + fuzz_NAME.c, the normal compiler) and a
# ctest test fuzz_replay_NAME that feeds it every file of corpus/NAME, so the corpora run
# under ASan+UBSan with the rest of the suite.
#
# With Clang and -DLINGERD_FUZZ=ON (and LINGERD_SANITIZE=ON): real libFuzzer binaries
# fuzz_NAME, and lingerd_core instrumented for coverage.  tests/fuzz/run.sh drives them.
set(LINGERD_FUZZ_HARNESSES query router http jw diag procnet kstat ports label)
set(_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})

option(LINGERD_FUZZ "Build libFuzzer binaries (Clang only)" OFF)

foreach(_h ${LINGERD_FUZZ_HARNESSES})
  add_executable(fuzz_replay_${_h} ${_fuzz_dir}/replay.c ${_fuzz_dir}/fuzz_${_h}.c)
  target_include_directories(fuzz_replay_${_h} PRIVATE ${_fuzz_dir})
  target_link_libraries(fuzz_replay_${_h} PRIVATE lingerd_core)
  add_test(NAME fuzz_replay_${_h} COMMAND fuzz_replay_${_h} ${_fuzz_dir}/corpus/${_h})
  set_tests_properties(fuzz_replay_${_h} PROPERTIES TIMEOUT 300 LABELS fuzz)
endforeach()

if(LINGERD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "LINGERD_FUZZ needs Clang (CC=clang); this is ${CMAKE_C_COMPILER_ID}")
  endif()
  if(NOT LINGERD_SANITIZE)
    message(FATAL_ERROR "LINGERD_FUZZ needs LINGERD_SANITIZE=ON: a fuzzer without ASan misses most bugs")
  endif()
  # Coverage feedback must reach the code under test, not only the harness.
  foreach(_lib ${LINGERD_LIBS})
    target_compile_options(${_lib} PRIVATE -fsanitize=fuzzer-no-link)
  endforeach()
  foreach(_h ${LINGERD_FUZZ_HARNESSES})
    add_executable(fuzz_${_h} ${_fuzz_dir}/fuzz_${_h}.c)
    target_include_directories(fuzz_${_h} PRIVATE ${_fuzz_dir})
    target_compile_options(fuzz_${_h} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${_h} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${_h} PRIVATE lingerd_core)
  endforeach()
endif()
