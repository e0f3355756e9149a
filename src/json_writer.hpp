// A small JSON writer for the status API. Strings from outside (torrent
// names, file paths, tracker messages, peer ids) may hold any bytes: quotes
// and control characters are escaped, and bytes that are not well-formed
// UTF-8 become U+FFFD, so the output is always valid JSON in valid UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent {

/// Appends `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

/// Builds one JSON text; commas and nesting are tracked so callers only say
/// what comes next. Numbers that JSON cannot hold (NaN, infinities) are null.
class json_writer {
public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  /// The next member's name, inside an object.
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(bool b);
  json_writer& value(std::int64_t n);
  json_writer& value(std::uint64_t n);
  json_writer& value(std::int32_t n) { return value(static_cast<std::int64_t>(n)); }
  json_writer& value(std::uint32_t n) { return value(static_cast<std::uint64_t>(n)); }
  json_writer& value(double d);
  json_writer& null();

  const std::string& str() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

private:
  void before_value();

  std::string out_;
  // One entry per open object or array: whether it has a member yet.
  std::vector<bool> has_member_;
  bool after_key_ = false;
};

} // namespace actorrent
