#pragma once
// A core header that leaks a private dependency.
#include <nlohmann/json.hpp>
