/* A model-layer file reaching up to the artifact format: must not build. */
#include "artifact/artifact.h"
