// Ctrl-C through a pipe (`vgrow train | tee log`): the reader goes first, and the next write
// must not kill vgrow before it has written its checkpoint.
#include <cstdio>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_helpers.h"
#include "vgrow/run/checkpoint.h"

namespace {

using ::testing::HasSubstr;
using vgrow::testing::TempDir;

TEST(Signals, InterruptWithAClosedPipeStillCheckpoints) {
  TempDir dir("vgrow-pipe");
  // `head -c 1` plays tee killed by the same Ctrl-C: it leaves after the first byte, so every
  // later write of vgrow's goes to a pipe with no reader.
  std::ostringstream cmd;
  cmd << "cd " << dir.str() << " && mkfifo out && (head -c 1 < out > /dev/null &) && ("
      << VGROW_CLI << " train toy-8gaussians run.threads=1 run.loops=100000 run.log_every=1 "
      << "run.checkpoint_every=100000 run.out_dir=runs > out 2> err & pid=$!; sleep 6; "
      << "kill -INT $pid; wait $pid; echo exit=$?; cat err) 2>&1";
  const auto out = vgrow::testing::run_shell(cmd.str()).output;
  EXPECT_THAT(out, HasSubstr("exit=0")) << "vgrow died of SIGPIPE";
  const auto run = vgrow::testing::only_run(dir.path() / "runs");
  EXPECT_EQ(vgrow::io::list_checkpoints(run).size(), 1u) << out;
}

}  // namespace
