#pragma once
// Checkpoints are zip archives (LibTorch's format) whose every entry carries a CRC-32 that
// LibTorch's reader does not check. A truncated copy or a few flipped bits would then load
// as damaged weights or crash LibTorch's TorchScript parser (found by fuzz/fuzz_checkpoint).

#include <filesystem>
#include <string>

namespace vgrow::io {

// Reads the whole archive and checks its directory and every entry's CRC-32; throws naming
// `what` ("checkpoint '<file>'") and the damage.
void verify_zip(const std::filesystem::path& file, const std::string& what);

}  // namespace vgrow::io
