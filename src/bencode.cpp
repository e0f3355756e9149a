#include "actorrent/bencode.hpp"
#include "ascii.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace actorrent::bencode {

const value* value::find(std::string_view key) const noexcept {
  const dict* d = as_dict();
  if (d == nullptr) return nullptr;
  for (const auto& [k, v] : *d)
    if (k == key) return &v;
  return nullptr;
}

bool operator==(const value& a, const value& b) { return a.data == b.data; }

namespace {

using ascii::is_digit;

std::string at(std::size_t pos) { return " at byte " + std::to_string(pos); }

error syntax(std::string what, std::size_t pos) {
  return error{errc::bencode_syntax, std::move(what) + at(pos)};
}

// Reads bytes from one input; every read is checked against the end, so a
// length taken from the input never leads past it.
class decoder {
public:
  decoder(std::string_view in, const limits& lim) : in_(in), lim_(lim) {}

  /// Decodes one value; with `whole`, nothing may follow it.
  result<value> run(bool whole) {
    if (in_.size() > lim_.max_input)
      return error{errc::bencode_limit, "input of " + std::to_string(in_.size()) +
                                            " bytes exceeds the limit of " +
                                            std::to_string(lim_.max_input) + at(lim_.max_input)};
    value root;
    bool root_done = false;
    // Containers being filled, innermost last. A pointer stays valid because
    // a parent's vector only grows after its open child has been closed.
    std::vector<value*> open;
    for (;;) {
      value* slot = nullptr;
      if (open.empty()) {
        if (root_done) break;
        root_done = true;
        slot = &root;
      } else {
        value* top = open.back();
        if (pos_ >= in_.size())
          return syntax(std::string("unterminated ") + (top->is_list() ? "list" : "dictionary") +
                            " starting at byte " + std::to_string(top->begin) + ": end of input",
                        pos_);
        if (in_[pos_] == 'e') {
          if (!lim_.strict && top->is_dict()) {
            if (auto e = check_unique(*std::get_if<dict>(&top->data), top->begin)) return *e;
          }
          top->end = ++pos_;
          open.pop_back();
          continue;
        }
        if (list* l = std::get_if<list>(&top->data)) {
          slot = &l->emplace_back();
        } else {
          dict& d = *std::get_if<dict>(&top->data);
          std::size_t key_pos = pos_;
          if (!is_digit(in_[pos_])) return syntax("dictionary key is not a string", key_pos);
          std::string key;
          if (auto e = read_string(key)) return *e;
          if (!d.empty()) {
            const std::string& prev = d.back().first;
            if (prev == key) return syntax("duplicate dictionary key", key_pos);
            if (lim_.strict && key < prev) return syntax("unsorted dictionary key", key_pos);
          }
          if (pos_ >= in_.size())
            return syntax("dictionary key without a value: end of input", pos_);
          if (in_[pos_] == 'e') return syntax("dictionary key without a value", pos_);
          auto& entry = d.emplace_back();
          entry.first = std::move(key);
          slot = &entry.second;
        }
      }
      if (auto e = read_value(*slot, open)) return *e;
    }
    if (whole && pos_ != in_.size()) return syntax("trailing data after the value", pos_);
    return root;
  }

  std::size_t position() const noexcept { return pos_; }

private:
  // Fills `slot` with a scalar, or opens a container and pushes it on `open`.
  std::optional<error> read_value(value& slot, std::vector<value*>& open) {
    if (pos_ >= in_.size()) return syntax("unexpected end of input", pos_);
    if (++items_ > lim_.max_items)
      return error{errc::bencode_limit,
                   "more than " + std::to_string(lim_.max_items) + " values" + at(pos_)};
    slot.begin = pos_;
    char c = in_[pos_];
    if (c == 'i') {
      std::int64_t i = 0;
      if (auto e = read_int(i)) return e;
      slot.data = i;
    } else if (is_digit(c)) {
      std::string s;
      if (auto e = read_string(s)) return e;
      slot.data = std::move(s);
    } else if (c == 'l' || c == 'd') {
      if (open.size() >= lim_.max_depth)
        return error{errc::bencode_limit,
                     "nesting deeper than " + std::to_string(lim_.max_depth) + at(pos_)};
      if (c == 'l')
        slot.data = list{};
      else
        slot.data = dict{};
      ++pos_;
      open.push_back(&slot);
      return std::nullopt;
    } else {
      return syntax("unexpected byte 0x" + hex_byte(c) + " where a value should start", pos_);
    }
    slot.end = pos_;
    return std::nullopt;
  }

  std::optional<error> read_int(std::int64_t& out) {
    std::size_t start = pos_;
    ++pos_; // 'i'
    bool negative = false;
    if (pos_ < in_.size() && in_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    std::size_t digits_at = pos_;
    // Magnitude of INT64_MIN is one more than INT64_MAX.
    const std::uint64_t max_mag = negative
        ? static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1
        : static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    std::uint64_t mag = 0;
    while (pos_ < in_.size() && is_digit(in_[pos_])) {
      auto d = static_cast<std::uint64_t>(in_[pos_] - '0');
      if (mag > (max_mag - d) / 10) return syntax("integer overflows 64 bits", start);
      mag = mag * 10 + d;
      ++pos_;
    }
    if (pos_ >= in_.size()) return syntax("unterminated integer: end of input", pos_);
    if (in_[pos_] != 'e') {
      if (pos_ == digits_at) return syntax("integer without digits", start);
      return syntax("unexpected byte 0x" + hex_byte(in_[pos_]) + " in integer", pos_);
    }
    std::size_t ndigits = pos_ - digits_at;
    if (ndigits == 0) return syntax(negative ? "integer '-' without digits" : "empty integer", start);
    if (in_[digits_at] == '0') {
      if (negative) return syntax("negative zero", start);
      if (ndigits > 1) return syntax("integer with a leading zero", start);
    }
    ++pos_; // 'e'
    out = negative ? static_cast<std::int64_t>(0 - mag) : static_cast<std::int64_t>(mag);
    return std::nullopt;
  }

  std::optional<error> read_string(std::string& out) {
    std::size_t start = pos_;
    std::size_t len = 0;
    const std::size_t remaining_max = in_.size();
    while (pos_ < in_.size() && is_digit(in_[pos_])) {
      len = len * 10 + static_cast<std::size_t>(in_[pos_] - '0');
      // No string can be longer than the whole input; stopping here also
      // keeps `len` from overflowing.
      if (len > remaining_max) return syntax("string length past end of input", start);
      ++pos_;
    }
    if (pos_ - start > 1 && in_[start] == '0') return syntax("string length with a leading zero", start);
    if (pos_ >= in_.size()) return syntax("unterminated string length: end of input", pos_);
    if (in_[pos_] != ':') return syntax("expected ':' after string length", pos_);
    ++pos_;
    if (len > in_.size() - pos_)
      return syntax("string length " + std::to_string(len) + " past end of input", start);
    out.assign(in_.data() + pos_, len);
    pos_ += len;
    return std::nullopt;
  }

  // Lenient decoding skips the order check that also caught duplicates.
  static std::optional<error> check_unique(const dict& d, std::size_t dict_pos) {
    if (d.size() < 2) return std::nullopt;
    std::vector<const std::pair<std::string, value>*> sorted;
    sorted.reserve(d.size());
    for (const auto& kv : d) sorted.push_back(&kv);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (std::size_t i = 1; i < sorted.size(); ++i)
      if (sorted[i - 1]->first == sorted[i]->first)
        return syntax("duplicate dictionary key in dictionary starting", dict_pos);
    return std::nullopt;
  }

  static std::string hex_byte(char c) {
    static const char digits[] = "0123456789abcdef";
    auto u = static_cast<unsigned char>(c);
    return {digits[u >> 4], digits[u & 0xf]};
  }

  std::string_view in_;
  const limits& lim_;
  std::size_t pos_ = 0;
  std::size_t items_ = 0;
};

void encode_to(std::string& out, const value& v) {
  if (const auto* i = v.as_int()) {
    out += 'i';
    out += std::to_string(*i);
    out += 'e';
  } else if (const auto* s = v.as_string()) {
    out += std::to_string(s->size());
    out += ':';
    out += *s;
  } else if (const auto* l = v.as_list()) {
    out += 'l';
    for (const auto& item : *l) encode_to(out, item);
    out += 'e';
  } else if (const auto* d = v.as_dict()) {
    out += 'd';
    // std::string compares as unsigned bytes, the order BEP 3 asks for.
    auto by_key = [](const auto* a, const auto* b) { return a->first < b->first; };
    std::vector<const std::pair<std::string, value>*> entries;
    entries.reserve(d->size());
    for (const auto& kv : *d) entries.push_back(&kv);
    if (!std::is_sorted(entries.begin(), entries.end(), by_key))
      std::stable_sort(entries.begin(), entries.end(), by_key);
    for (const auto* kv : entries) {
      out += std::to_string(kv->first.size());
      out += ':';
      out += kv->first;
      encode_to(out, kv->second);
    }
    out += 'e';
  }
}

} // namespace

result<value> decode(std::string_view input, const limits& lim) {
  return decoder(input, lim).run(true);
}

result<value> decode_prefix(std::string_view input, std::size_t& consumed, const limits& lim) {
  decoder d(input, lim);
  auto v = d.run(false);
  consumed = v ? d.position() : 0;
  return v;
}

std::string encode(const value& v) {
  std::string out;
  encode_to(out, v);
  return out;
}

} // namespace actorrent::bencode
