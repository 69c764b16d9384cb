# Unit tests of universal accounts (router/auth/): passwords and the KDF pool, the login key, image codes, tokens and
# the users, tokens, chain accounts and audit tables.
weft_add_unit_test(auth_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_test.cpp LIBS weft_router_auth OpenSSL::Crypto)
