# The FISCO BCOS adapter: its wire formats pinned by FISCO BCOS's published vectors, and its config and runtime.
weft_add_unit_test(bcos_codec_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/bcos_codec_test.cpp
                   LIBS weft_bcos_codec weft_router_accounts_crypto PkgConfig::SECP256K1)
weft_add_unit_test(bcos_config_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/bcos_config_test.cpp LIBS weft_bcos_chain)
weft_add_unit_test(bcos_answers_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/bcos_answers_test.cpp LIBS weft_bcos_chain)
