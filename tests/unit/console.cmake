# Unit tests of the weft console; none needs a router.
weft_add_unit_test(console_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/console_line_split_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/unit/console_commands_test.cpp
  LIBS weft_console_lib)
weft_add_unit_test(console_http_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/console_http_client_test.cpp
  LIBS weft_console_lib Threads::Threads)
