# Unit tests of the router's core pieces.
weft_add_unit_test(router_config_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/router_config_test.cpp LIBS weft_router_core)
weft_add_unit_test(keystore_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/keystore_test.cpp LIBS weft_router_core)
# The config test loads the shipped conf/router.yaml.
target_compile_definitions(router_config_test PRIVATE WEFT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

weft_add_unit_test(rpc_envelope_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/rpc_envelope_test.cpp LIBS weft_router_rpc)
weft_add_unit_test(rpc_routes_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/rpc_routes_test.cpp LIBS weft_router_rpc)
weft_add_unit_test(chain_answers_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/chain_answers_test.cpp LIBS weft_router_rpc)
weft_add_unit_test(host_services_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/host_services_test.cpp LIBS weft_router_rpc)
weft_add_unit_test(auth_routes_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_routes_test.cpp LIBS weft_router_rpc)
