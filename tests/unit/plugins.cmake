weft_add_unit_test(loader_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/loader_test.cpp LIBS weft_plugin_host)
target_compile_definitions(loader_test PRIVATE WEFT_TEST_PLUGIN_DIR="${CMAKE_BINARY_DIR}/test-plugins")
add_dependencies(loader_test weft_test_plugins)
weft_add_unit_test(io_watches_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/io_watches_test.cpp LIBS weft_plugin_host)
