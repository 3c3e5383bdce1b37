/* The runtime reaching up to the compiler: must not build. */
#include "compiler/compiler.h"
