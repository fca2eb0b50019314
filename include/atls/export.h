#pragma once

// ATLS_API marks the symbols that the shared library exports; everything else
// is built with hidden visibility.
#if defined(ATLS_BUILDING_LIBRARY)
#define ATLS_API __attribute__((visibility("default")))
#else
#define ATLS_API
#endif
