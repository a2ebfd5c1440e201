# VGROW_SANITIZE: everything (library, CLI, tests) built with AddressSanitizer and
# UndefinedBehaviorSanitizer; undefined behaviour aborts instead of printing and carrying on.
# VGROW_FUZZ: the libFuzzer targets in fuzz/ as well; the library then also carries the
# coverage instrumentation libFuzzer steers by. Clang only, and it implies VGROW_SANITIZE, so
# one build serves both the sanitized tests and the fuzzers.
option(VGROW_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(VGROW_FUZZ "Build the libFuzzer targets in fuzz/ (clang only; implies VGROW_SANITIZE)" OFF)

if(VGROW_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(WARNING "vgrow: VGROW_FUZZ needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}; "
                  "fuzz targets skipped (configure with -DCMAKE_CXX_COMPILER=clang++-14)")
  set(VGROW_FUZZ OFF CACHE BOOL "" FORCE)
endif()
if(VGROW_FUZZ)
  set(VGROW_SANITIZE ON CACHE BOOL "" FORCE)
endif()

if(VGROW_SANITIZE)
  message(STATUS "vgrow: AddressSanitizer + UndefinedBehaviorSanitizer build")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(VGROW_FUZZ)
  # Coverage hooks only; the libFuzzer driver (main) is linked into the fuzz targets alone.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
