# The native-symbol test names its own functions with their source lines:
# it needs debug information in every build, release included.
if(TARGET test_native_symbols)
  target_compile_options(test_native_symbols PRIVATE -g)
endif()
