# The tracing section of `objmem demo`, run as a user would: its top
# allocation sites must name lines of cli/demo_trace.c, and --report must
# write the HTML page and the JSON data (checked by check_report.cmake).
add_test(NAME trace.demo_report
  COMMAND ${CMAKE_COMMAND} -DOBJMEM=$<TARGET_FILE:objmem_cli>
          -DOUT=${CMAKE_CURRENT_BINARY_DIR}/trace-demo-report
          -P ${CMAKE_CURRENT_LIST_DIR}/check_report.cmake)
set_tests_properties(trace.demo_report PROPERTIES LABELS "trace;cli" TIMEOUT 300)
