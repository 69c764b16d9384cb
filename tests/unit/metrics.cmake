# The router's metrics: unit tests, and a check of the exposition text with the Prometheus client's own parser.
weft_add_unit_test(router_metrics_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/router_metrics_test.cpp
                   LIBS weft_router_metrics)

# weft-metrics-sample prints a RouterMetrics filled with fixed values; built for the tests only.
add_executable(weft_metrics_sample ${CMAKE_CURRENT_LIST_DIR}/metrics_sample_main.cpp)
target_link_libraries(weft_metrics_sample PRIVATE weft_router_metrics)
set_target_properties(weft_metrics_sample PROPERTIES OUTPUT_NAME weft-metrics-sample
                                                     RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# The first python3 on PATH that has prometheus_client (Debian's python3-prometheus-client); without one, the plain
# python3, and the check fails saying which package to install.
function(weft_has_prometheus_client result candidate)
  execute_process(COMMAND ${candidate} -c "import prometheus_client.parser" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()
find_program(WEFT_PROMETHEUS_PYTHON NAMES python3 NAMES_PER_DIR VALIDATOR weft_has_prometheus_client)
if(NOT WEFT_PROMETHEUS_PYTHON)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  set(WEFT_PROMETHEUS_PYTHON ${Python3_EXECUTABLE})
endif()
add_test(NAME metrics_parse_check COMMAND ${WEFT_PROMETHEUS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/metrics_parse_check.py
                                          $<TARGET_FILE:weft_metrics_sample>)
set_tests_properties(metrics_parse_check PROPERTIES LABELS unit TIMEOUT 60 ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
