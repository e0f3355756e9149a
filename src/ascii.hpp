// Character classes of the ASCII-only grammars we parse (bencode, URLs,
// HTTP, peer ids). Deliberately not <cctype>: those depend on the C locale
// and take int, so a negative char is undefined behaviour.
#pragma once

#include <algorithm>
#include <string_view>

namespace actorrent::ascii {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

constexpr bool is_alnum(char c) noexcept { return is_digit(c) || is_alpha(c); }

constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// The value of a hexadecimal digit of either case, or -1.
constexpr int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Equal but for the case of ASCII letters (HTTP header names, schemes).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

/// RFC 9110 token characters: HTTP methods and header names.
constexpr bool is_tchar(char c) noexcept {
  return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// Without HTTP's optional white space (spaces and tabs) at either end.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

} // namespace actorrent::ascii
