#!/usr/bin/env bash
# Runs the unit tests of the input-handling code under AddressSanitizer +
# UndefinedBehaviorSanitizer (build-sanitize; which tests: build-sanitize.sh, or
# VGROW_SANITIZE_TESTS='.' for all). Any sanitizer report fails the test that triggered it. The
# long training tests are left to the normal build: they exercise the same code as the unit
# tests, only for minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-sanitize.sh vgrow_tests
source scripts/sanitizer-env.sh
cd build-sanitize
# End-to-end runs of the CLI (training in a subprocess) are left to the normal build too.
long='ToyLearning|GanBaselines|ImageTraining|DistributedTraining|DistributedFailure|DistributedLaunch|Checkpoint\.|Sample\.|Signals\.|RunFolder\.(AResumedRun|HostileNames)|TrainingMetrics\.ScoresAreLogged|TrainingFaults\.|CliBench|MixedPrecision\.Fp16WithoutAGpuLeavesNoRunFolder'
ctest --output-on-failure --timeout 600 -j "${VGROW_JOBS:-2}" -E "$long"
