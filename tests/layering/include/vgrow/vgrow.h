#pragma once
#include "vgrow/core/particles.h"
