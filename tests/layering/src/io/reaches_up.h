#pragma once
// An io file that reaches up into core.
#include "vgrow/core/particles.h"
