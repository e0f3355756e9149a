#include "log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace actorrent::log {

namespace {

std::atomic<int> current{static_cast<int>(level::warning)};
std::mutex out_mutex;
const auto start = std::chrono::steady_clock::now();

} // namespace

void set_level(level l) noexcept { current.store(static_cast<int>(l)); }

level current_level() noexcept { return static_cast<level>(current.load()); }

void write(level l, const std::string& text) {
  static const char* names[] = {"", "warning", "info", "debug"};
  double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard<std::mutex> guard(out_mutex);
  std::fprintf(stderr, "[%8.3f] %s: %s\n", t, names[static_cast<int>(l)], text.c_str());
}

} // namespace actorrent::log
