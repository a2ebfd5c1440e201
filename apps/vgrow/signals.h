#pragma once
// Signals while `vgrow train` runs: Ctrl-C (SIGINT) or SIGTERM asks the run to stop after
// its outer loop, with a checkpoint; a second one quits at once (exit 130). SIGPIPE is
// ignored, so a closed stdout (`vgrow train | head`) cannot kill a run mid-checkpoint.

namespace vgrow::cli {

void install_training_signals();
// True once SIGINT or SIGTERM arrived.
bool stop_requested();

}  // namespace vgrow::cli
