# The objmem command, run as a user would.
add_test(NAME cli.demo_quick COMMAND objmem_cli demo --quick --no-progress)
add_test(NAME cli.options COMMAND objmem_cli options)
set_tests_properties(cli.options PROPERTIES PASS_REGULAR_EXPRESSION "OBJMEM_VERBOSE")
add_test(NAME cli.unknown_command COMMAND objmem_cli no-such-command)
set_tests_properties(cli.unknown_command PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli.demo_bad_option COMMAND objmem_cli demo --no-such-option)
set_tests_properties(cli.demo_bad_option PROPERTIES WILL_FAIL TRUE)
set_tests_properties(cli.demo_quick cli.options cli.unknown_command cli.demo_bad_option
  PROPERTIES LABELS cli TIMEOUT 300)
