# Unit tests of the reference chain: the core directly, and the plugin through its real C entry point.
weft_add_unit_test(refchain_core_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/refchain_encoding_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_crypto_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_merkle_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_ledger_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_store_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_xa_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_htlc_test.cpp
  LIBS weft_refchain_core)

weft_add_unit_test(refchain_plugin_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/refchain_plugin_test.cpp ${CMAKE_CURRENT_LIST_DIR}/refchain_htlc_plugin_test.cpp
  LIBS weft_refchain_core ${CMAKE_DL_LIBS})
add_dependencies(refchain_plugin_tests weft_refchain)
target_compile_definitions(refchain_plugin_tests PRIVATE
  WEFT_REFCHAIN_PLUGIN_PATH="$<TARGET_FILE:weft_refchain>")

weft_add_unit_test(refchain_net_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/refchain_net_mesh_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_net_client_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_node_client_test.cpp
  LIBS weft_refchain_net weft_plugin_host)

# The BFT engine: wire encoding, certificates, named fault scenarios and seeded schedules in a deterministic simulator.
weft_add_unit_test(refchain_bft_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/refchain_bft_sim.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_bft_schedules_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_bft_scenarios_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_bft_choice_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_bft_ledger_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/refchain_bft_messages_test.cpp
  LIBS weft_refchain_core)

# Four validators in one process over real ledgers: gossip, commits, a stopped validator, no quorum, catch-up.
weft_add_unit_test(refchain_embedded_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/refchain_embedded_test.cpp
  LIBS weft_refchain_core)

# The plugin's XA verbs in remote mode, against a node's client API served in-process.
weft_add_unit_test(refchain_xa_remote_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/refchain_xa_remote_test.cpp
  LIBS weft_refchain_net ${CMAKE_DL_LIBS})
add_dependencies(refchain_xa_remote_tests weft_refchain)
target_compile_definitions(refchain_xa_remote_tests PRIVATE
  WEFT_REFCHAIN_PLUGIN_PATH="$<TARGET_FILE:weft_refchain>")
