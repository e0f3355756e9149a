#include "file_layout.hpp"

#include <algorithm>
#include <limits>

namespace actorrent {

namespace {

constexpr std::int64_t max_i64 = std::numeric_limits<std::int64_t>::max();

std::string display_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& c : path) {
    if (!out.empty()) out += '/';
    for (char ch : c) {
      // Keep the message printable even when the offending name is not.
      if (ch == '\0') out += "\\0";
      else out += ch;
    }
  }
  return out;
}

bool is_device_name(std::string_view component) {
  // Only the bare names ("aux", "CON", "com1", trailing dots and spaces
  // ignored). Windows also opens the device for "aux.c" or "Con.mp3", but
  // those are ordinary files elsewhere and real torrents hold them (source
  // trees, songs): refusing them would refuse good torrents on every system.
  std::string_view stem = component;
  while (!stem.empty() && (stem.back() == ' ' || stem.back() == '.')) stem.remove_suffix(1);
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto equals = [&](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (lower(a[i]) != b[i]) return false;
    return true;
  };
  for (std::string_view d : {"con", "prn", "aux", "nul"})
    if (equals(stem, d)) return true;
  if (stem.size() == 4 && (equals(stem.substr(0, 3), "com") || equals(stem.substr(0, 3), "lpt")))
    return stem[3] >= '0' && stem[3] <= '9';
  return false;
}

} // namespace

const char* unsafe_component(std::string_view component) {
  if (component.empty()) return "an empty component";
  if (component == ".") return "a \".\" component";
  if (component == "..") return "a \"..\" component";
  if (component.front() == '/') return "an absolute component";
  if (component.find('/') != std::string_view::npos) return "a component containing '/'";
  if (component.find('\\') != std::string_view::npos) return "a component containing '\\'";
  if (component.find('\0') != std::string_view::npos) return "a component containing NUL";
  if (is_device_name(component)) return "a component that names a device on some systems";
  return nullptr;
}

file_layout::file_layout(std::vector<layout_file> files, std::int64_t piece_length)
  : files_(std::move(files)), piece_length_(piece_length > 0 ? piece_length : 0) {
  ends_.reserve(files_.size());
  std::int64_t end = 0;
  for (auto& f : files_) {
    if (f.length < 0) f.length = 0;
    // Saturate rather than overflow; make() rejects such layouts outright.
    if (f.length > max_i64 - end) f.length = max_i64 - end;
    end += f.length;
    ends_.push_back(end);
  }
  total_ = end;
  if (piece_length_ > 0) {
    const std::int64_t n = total_ / piece_length_ + (total_ % piece_length_ != 0 ? 1 : 0);
    num_pieces_ = static_cast<std::uint32_t>(
      std::min<std::int64_t>(n, std::numeric_limits<std::uint32_t>::max()));
  }
}

result<file_layout> file_layout::make(std::vector<layout_file> files, std::int64_t piece_length) {
  if (piece_length <= 0)
    return error{errc::invalid_argument, "piece length " + std::to_string(piece_length) + " is not positive"};
  std::int64_t total = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto len = files[i].length;
    if (len < 0)
      return error{errc::invalid_argument, "file " + std::to_string(i) + " (" +
                   display_path(files[i].path) + ") has negative length"};
    if (len > max_i64 - total)
      return error{errc::invalid_argument, "total length overflows at file " + std::to_string(i)};
    total += len;
  }
  const std::int64_t pieces = total / piece_length + (total % piece_length != 0 ? 1 : 0);
  if (pieces > std::numeric_limits<std::uint32_t>::max())
    return error{errc::invalid_argument, "too many pieces: " + std::to_string(pieces)};
  return file_layout(std::move(files), piece_length);
}

std::int64_t file_layout::piece_size(std::uint32_t piece) const noexcept {
  if (piece >= num_pieces_) return 0;
  const std::int64_t start = static_cast<std::int64_t>(piece) * piece_length_;
  return std::min(piece_length_, total_ - start);
}

std::int64_t file_layout::file_offset(std::uint32_t file) const noexcept {
  if (file >= files_.size()) return total_;
  return ends_[file] - files_[file].length;
}

std::vector<file_slice> file_layout::map(std::uint32_t piece, std::int64_t offset,
                                         std::int64_t length) const {
  std::vector<file_slice> out;
  const std::int64_t size = piece_size(piece);
  if (length <= 0 || offset < 0 || offset > size || length > size - offset) return out;

  std::int64_t pos = static_cast<std::int64_t>(piece) * piece_length_ + offset;
  // The first file ending after pos holds pos; zero-length files end where
  // they start, so upper_bound never lands on one.
  auto it = std::upper_bound(ends_.begin(), ends_.end(), pos);
  std::int64_t done = 0;
  while (done < length && it != ends_.end()) {
    const auto idx = static_cast<std::size_t>(it - ends_.begin());
    const std::int64_t start = *it - files_[idx].length;
    const std::int64_t n = std::min(length - done, *it - pos);
    if (n > 0) {
      out.push_back(file_slice{static_cast<std::uint32_t>(idx), pos - start, n, done});
      done += n;
      pos += n;
    }
    ++it;
  }
  return out;
}

std::pair<std::uint32_t, std::uint32_t> file_layout::pieces_of_file(std::uint32_t file) const noexcept {
  if (file >= files_.size() || files_[file].length == 0 || piece_length_ == 0) return {1, 0};
  const std::int64_t start = ends_[file] - files_[file].length;
  const std::int64_t last_byte = ends_[file] - 1;
  return {static_cast<std::uint32_t>(start / piece_length_),
          static_cast<std::uint32_t>(last_byte / piece_length_)};
}

error validate_paths(const std::vector<layout_file>& files) {
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    auto refuse = [&](const std::string& why) {
      return error{errc::unsafe_path, "file " + std::to_string(i) + " (\"" +
                   display_path(f.path) + "\"): " + why};
    };
    if (f.path.empty()) return refuse("empty path");
    for (const auto& c : f.path)
      if (const char* why = unsafe_component(c)) return refuse(why);
  }

  // Two files on one path, or a file whose path is another's directory,
  // cannot both be stored. After sorting, a path that is a prefix of another
  // is directly followed by one that it prefixes.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < files.size(); ++i)
    if (!files[i].pad) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return files[a].path != files[b].path ? files[a].path < files[b].path : a < b;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto& prev = files[order[k - 1]].path;
    const auto& cur = files[order[k]].path;
    if (prev.size() <= cur.size() && std::equal(prev.begin(), prev.end(), cur.begin())) {
      const auto later = std::max(order[k - 1], order[k]);
      const auto earlier = std::min(order[k - 1], order[k]);
      return error{errc::unsafe_path, "file " + std::to_string(later) + " (\"" +
                   display_path(files[later].path) + "\") collides with file " +
                   std::to_string(earlier) + " (\"" + display_path(files[earlier].path) + "\")"};
    }
  }
  return {};
}

} // namespace actorrent
