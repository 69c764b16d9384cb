/* Broken on purpose: the entry point returns no table (an adapter whose initialisation failed). */
#include <weft/adapter.h>
__attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) { return 0; }
