/* Broken on purpose: a valid table that declares no stub types. */
#include <weft/adapter.h>
static int32_t op(const weft_open_args_v1 *a, weft_chain **o, char *e, size_t n) { return WEFT_E_INTERNAL; }
static void cl(weft_chain *c) {}
static const char *const types[] = {0};
static const weft_adapter_v1 table = {.struct_size = sizeof(weft_adapter_v1), .abi_version = WEFT_ADAPTER_ABI_VERSION,
                                      .name = "no-types", .version = "0", .stub_types = types, .open = op, .close = cl};
__attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) { return &table; }
