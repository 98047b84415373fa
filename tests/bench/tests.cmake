# The benchmarks' smoke test: every benchmark program of bench/benchmarks.list,
# for objmem and every peer this machine has, at the registry's quick sizes,
# so that none of them rots.  bench/run fails it when a program crashes,
# reports a wrong result (each program checks its own), leaves out the
# metric it is compared on, or runs under another allocator than the one
# asked for.  It needs the benchmark programs, so it exists only in
# unsanitized builds that build them (label nosan).
if(OM_BUILD_BENCH AND OM_SANITIZE STREQUAL "")
  set(bench_run sh ${PROJECT_SOURCE_DIR}/bench/run --quick --build ${PROJECT_BINARY_DIR})
  add_test(NAME bench.smoke_nosan COMMAND ${bench_run})
  # The runner's own check, proven: a peer whose library does not load runs
  # on glibc instead, and the run must fail rather than report glibc's
  # figures under mimalloc's name.
  add_test(NAME bench.preload_check_nosan COMMAND ${bench_run} small_fixed)
  set_tests_properties(bench.preload_check_nosan PROPERTIES WILL_FAIL TRUE
    ENVIRONMENT "BENCH_PEERS=mimalloc;BENCH_LIB_MIMALLOC=${PROJECT_BINARY_DIR}/no-such-malloc.so")
  set_tests_properties(bench.smoke_nosan bench.preload_check_nosan PROPERTIES
    LABELS "bench;nosan" TIMEOUT 120)
endif()
