# Install, then build and run a consumer project against the installed files.
add_test(NAME consumer.install_and_consume
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/consumer/run.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(consumer.install_and_consume PROPERTIES LABELS "consumer;nosan" TIMEOUT 300)
