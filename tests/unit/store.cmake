# Unit tests of the router store (router/store/): migrations, refusals, grouped commits, and kill -9 during writes.
weft_add_unit_test(router_store_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/router_store_test.cpp LIBS weft_router_store
                   SQLite::SQLite3)
# The XA coordinator's log and the failpoint spec.
weft_add_unit_test(xa_log_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/xa_log_test.cpp LIBS weft_router_store weft_router_core)
