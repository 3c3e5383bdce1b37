/* The compiler reaching across to the artifact format: must not build. */
#include "artifact/artifact.h"
