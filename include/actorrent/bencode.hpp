// Bencoding (BEP 3): the format of .torrent files and tracker replies.
//
// The decoder is strict on purpose: a value has exactly one encoding, so
// re-encoding what was decoded gives back the same bytes, and the info-hash
// computed over those bytes means the same thing to every client.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "actorrent/error.hpp"

namespace actorrent::bencode {

struct value;
using list = std::vector<value>;
/// Keys in input order (sorted and unique when decoded strictly).
using dict = std::vector<std::pair<std::string, value>>;

/// One bencoded value: an integer, a byte string, a list or a dictionary.
struct value {
  /// std::string holds raw binary bytes, not necessarily text.
  std::variant<std::int64_t, std::string, list, dict> data;
  /// Byte span [begin, end) of this value in the decoded input; 0, 0 if built by hand.
  std::size_t begin = 0, end = 0;

  value() = default;
  value(std::int64_t i) : data(i) {}
  /// Any other integer type; unsigned values above INT64_MAX wrap, so keep them in range.
  template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, std::int64_t>)
  value(I i) : data(static_cast<std::int64_t>(i)) {}
  value(std::string s) : data(std::move(s)) {}
  value(std::string_view s) : data(std::string(s)) {}
  value(const char* s) : data(std::string(s)) {}
  value(list l) : data(std::move(l)) {}
  value(dict d) : data(std::move(d)) {}

  bool is_int() const noexcept { return data.index() == 0; }
  bool is_string() const noexcept { return data.index() == 1; }
  bool is_list() const noexcept { return data.index() == 2; }
  bool is_dict() const noexcept { return data.index() == 3; }

  /// The payload, or nullptr when this value has another type.
  const std::int64_t* as_int() const noexcept { return std::get_if<std::int64_t>(&data); }
  const std::string* as_string() const noexcept { return std::get_if<std::string>(&data); }
  const list* as_list() const noexcept { return std::get_if<list>(&data); }
  const dict* as_dict() const noexcept { return std::get_if<dict>(&data); }

  /// Dictionary lookup; nullptr if this is not a dict or the key is absent.
  const value* find(std::string_view key) const noexcept;

  /// Same type and contents; byte spans are not compared.
  friend bool operator==(const value& a, const value& b);
};

/// Bounds on what decode() accepts from outside.
struct limits {
  std::size_t max_depth = 64;          ///< nesting of lists and dicts
  std::size_t max_input = 64u << 20;   ///< bytes of input
  std::size_t max_items = 1u << 20;    ///< values in total (ints, strings, lists, dicts)
  /// When false, dictionary keys may come unsorted (still unique): .torrent
  /// files on disk are read so, as other clients read them. Everything that
  /// arrives on the wire is decoded strictly.
  bool strict = true;
};

/// Decodes `input`, which must hold exactly one value and nothing after it.
/// Errors are errc::bencode_syntax or errc::bencode_limit, naming the byte offset.
result<value> decode(std::string_view input, const limits& lim = {});

/// Decodes the value at the start of `input` and sets `consumed` to its
/// length; bytes after it are left for the caller to judge.
result<value> decode_prefix(std::string_view input, std::size_t& consumed,
                            const limits& lim = {});

/// Canonical encoding: dictionary keys sorted (as raw bytes).
std::string encode(const value& v);

} // namespace actorrent::bencode
