# Helper programs for the preload tests (tests/preload/test_*_nosan.c run
# them under the preload library).  Unsanitized builds only: the preload
# library exists only there.
if(TARGET objmem_preload)
  foreach(helper api threads forkexec known)
    add_executable(preload_helper_${helper} ${CMAKE_CURRENT_LIST_DIR}/helper_${helper}.c)
    target_link_libraries(preload_helper_${helper} PRIVATE Threads::Threads)
    target_compile_options(preload_helper_${helper} PRIVATE -g -fno-omit-frame-pointer)
    set_target_properties(preload_helper_${helper} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/preload)
    list(APPEND OM_PRELOAD_HELPERS preload_helper_${helper})
  endforeach()
  # A C++ program: the runtime's operators through the preload library, and
  # mangled names in the reports (built when the machine has a C++ compiler).
  include(CheckLanguage)
  check_language(CXX)
  if(CMAKE_CXX_COMPILER)
    enable_language(CXX)
    add_executable(preload_helper_cxx ${CMAKE_CURRENT_LIST_DIR}/helper_cxx.cc)
    target_compile_options(preload_helper_cxx PRIVATE -g -O1 -fno-omit-frame-pointer)
    set_target_properties(preload_helper_cxx PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/preload)
    list(APPEND OM_PRELOAD_HELPERS preload_helper_cxx)
  endif()
  # The threaded server again, linked against another allocator (mimalloc):
  # the preload library must win and the program still work.
  find_library(OM_MIMALLOC_LIBRARY NAMES mimalloc)
  if(OM_MIMALLOC_LIBRARY)
    add_executable(preload_helper_linked ${CMAKE_CURRENT_LIST_DIR}/helper_threads.c)
    target_link_libraries(preload_helper_linked PRIVATE ${OM_MIMALLOC_LIBRARY} Threads::Threads)
    set_target_properties(preload_helper_linked PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/preload)
    list(APPEND OM_PRELOAD_HELPERS preload_helper_linked)
  endif()
  foreach(t test_alloc_nosan test_programs_nosan test_capture_nosan test_badinput_nosan)
    if(TARGET ${t})
      add_dependencies(${t} objmem_preload objmem_cli ${OM_PRELOAD_HELPERS})
    endif()
  endforeach()
endif()

# The reader's tests run the objmem command in every build (sanitizers too).
if(TARGET test_reader)
  add_dependencies(test_reader objmem_cli)
endif()
