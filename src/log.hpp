// Minimal leveled logging to stderr, shared by every thread. The command line
// turns it up with -v; a library user can leave it off.
#pragma once

#include <sstream>
#include <string>

namespace actorrent::log {

enum class level : int { quiet = 0, warning = 1, info = 2, debug = 3 };

void set_level(level l) noexcept;
level current_level() noexcept;
inline bool enabled(level l) noexcept { return static_cast<int>(l) <= static_cast<int>(current_level()); }

/// Writes one line ("[  1.234] text") atomically with respect to other lines.
void write(level l, const std::string& text);

} // namespace actorrent::log

#define ACTORRENT_LOG(lvl, expr)                                                 \
  do {                                                                           \
    if (::actorrent::log::enabled(::actorrent::log::level::lvl)) {               \
      std::ostringstream actorrent_log_os_;                                      \
      actorrent_log_os_ << expr;                                                 \
      ::actorrent::log::write(::actorrent::log::level::lvl, actorrent_log_os_.str()); \
    }                                                                            \
  } while (false)
