#include "content_range.hpp"

namespace actorrent {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 18 digits stay below 2^63.
std::optional<std::int64_t> number(std::string_view s) noexcept {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool unit_is_bytes(std::string_view s) noexcept {
  constexpr std::string_view bytes = "bytes";
  if (s.size() != bytes.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != bytes[i]) return false;
  }
  return true;
}

} // namespace

std::optional<content_range> parse_content_range(std::string_view value) {
  value = trim(value);
  auto space = value.find(' ');
  if (space == std::string_view::npos || !unit_is_bytes(value.substr(0, space))) return std::nullopt;
  auto rest = trim(value.substr(space + 1));
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto span = rest.substr(0, slash);
  auto total = rest.substr(slash + 1);
  auto dash = span.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = number(span.substr(0, dash));
  auto last = number(span.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  content_range r{*first, *last, std::nullopt};
  if (total != "*") {
    auto complete = number(total);
    if (!complete || *last >= *complete) return std::nullopt;
    r.complete = *complete;
  }
  return r;
}

std::string to_string(const content_range& r) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
         (r.complete ? std::to_string(*r.complete) : std::string("*"));
}

} // namespace actorrent
