# Unit tests of the router's chain account crypto. The signature tests run the openssl command line tool.
weft_add_unit_test(accounts_crypto_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/accounts_crypto_test.cpp
                   LIBS weft_router_accounts_crypto PkgConfig::SECP256K1 OpenSSL::Crypto)
