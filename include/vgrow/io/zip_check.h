#pragma once
// Checkpoints are zip archives (LibTorch's format) whose every entry carries a CRC-32 that
// LibTorch's reader does not check. A truncated copy or a few flipped bits would then load
// as damaged weights or crash LibTorch's TorchScript parser (found by fuzz/fuzz_checkpoint).
// The TorchScript code inside is compiled by LibTorch as it loads: code-like input, so only
// the encodings and (for saved archives) the code shapes LibTorch writes are let through.

#include <filesystem>
#include <string>

namespace vgrow::io {

struct ZipCheckOptions {
  // The archive was written by torch::serialize::OutputArchive (checkpoints, classifier
  // files, cached statistics): its TorchScript code declares attributes and nothing else, and
  // any other line is refused before LibTorch compiles it. False for TorchScript modules
  // with methods (an Inception file).
  bool attributes_only = true;
};

// Reads the whole archive and checks its directory and every entry's CRC-32; throws naming
// `what` ("checkpoint '<file>'") and the damage. Only what LibTorch writes is accepted:
// stored (uncompressed) entries, and deflated ones only for the TorchScript code under
// "<archive>/code/"; code records of over 16 MiB are refused, and so is any other entry,
// naming it.
void verify_zip(const std::filesystem::path& file, const std::string& what,
                const ZipCheckOptions& options = {});

}  // namespace vgrow::io
