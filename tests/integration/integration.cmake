# Integration tests: Python (standard library only) driving real weft-router processes on loopback.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(WEFT_IT_ENV
    "WEFT_BIN=${CMAKE_BINARY_DIR}/bin"
    "WEFT_PLUGINS=${WEFT_PLUGIN_DIR}"
    "WEFT_TEST_PLUGINS=${CMAKE_BINARY_DIR}/test-plugins"
    "WEFT_NODE_MODULES=${WEFT_NODE_MODULES}"
    "PYTHONDONTWRITEBYTECODE=1"
    # Below the TIMEOUT set here, so a test that hangs prints its stacks and logs (weftlib's watchdog) before ctest
    # kills it silently.
    "WEFT_TEST_WATCHDOG=570")
file(GLOB WEFT_IT_TESTS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(file ${WEFT_IT_TESTS})
  get_filename_component(name ${file} NAME_WE)
  # The router-core test parses /metrics with the Prometheus client's parser (metrics.cmake finds that python3).
  set(python ${Python3_EXECUTABLE})
  if(name STREQUAL "test_router_core" AND WEFT_PROMETHEUS_PYTHON)
    set(python ${WEFT_PROMETHEUS_PYTHON})
  endif()
  add_test(NAME it_${name} COMMAND ${python} ${file} -v WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(it_${name} PROPERTIES ENVIRONMENT "${WEFT_IT_ENV}" LABELS integration TIMEOUT 600)
  # The EVM tests, and any other test that starts anvil (e.g. FISCO BCOS nodes backed onto it), run anvil, solc and
  # ethers from the npm packages the evm_npm_deps setup test installs.
  file(READ ${file} text)
  if(name MATCHES "^test_evm" OR text MATCHES "Anvil\\(")
    set_tests_properties(it_${name} PROPERTIES FIXTURES_REQUIRED evm_npm)
  endif()
endforeach()
