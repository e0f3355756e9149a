// What a fuzz target does when a property it checks does not hold: names the
// property, then aborts, so libFuzzer (or the GCC driver's test run) reports
// the input as a finding.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace fuzz {

[[noreturn]] inline void property_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, what);
  std::abort();
}

} // namespace fuzz

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::fuzz::property_failed(#cond, __FILE__, __LINE__))
