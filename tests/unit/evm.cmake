weft_add_unit_test(evm_core_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/evm_core_test.cpp LIBS weft_evm_core)
weft_add_unit_test(evm_codec_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/evm_codec_test.cpp LIBS weft_evm_core)
