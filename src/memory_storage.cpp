#include "memory_storage.hpp"

#include <algorithm>
#include <cstring>

namespace actorrent {

memory_storage::memory_storage(file_layout layout, std::int64_t max_bytes)
  : layout_(std::move(layout)), max_bytes_(max_bytes) {
  const auto& files = layout_.files();
  status_.resize(files.size());
  for (std::size_t i = 0; i < files.size(); ++i)
    if (files[i].pad) status_[i] = file_status{files[i].length, 0};
}

std::string memory_storage::name_of(std::uint32_t file) const {
  std::string out;
  for (const auto& c : layout_.files()[file].path) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

error memory_storage::open() {
  if (auto e = validate_paths(layout_.files())) return e;
  if (layout_.total_length() > max_bytes_)
    return error{errc::invalid_argument, "torrent of " + std::to_string(layout_.total_length()) +
                 " bytes exceeds the in-memory limit of " + std::to_string(max_bytes_)};
  if (!opened_) data_.assign(static_cast<std::size_t>(layout_.total_length()), 0);
  const auto& files = layout_.files();
  for (std::size_t i = 0; i < files.size(); ++i)
    if (!files[i].pad && files[i].length == 0 && status_[i].size < 0)
      status_[i] = file_status{0, ++clock_};
  opened_ = true;
  return {};
}

error memory_storage::write(std::uint32_t piece, std::int64_t offset,
                            std::span<const std::uint8_t> data) {
  if (!opened_) return error{errc::invalid_argument, "storage is not open"};
  if (data.empty()) return {};
  const auto slices = layout_.map(piece, offset, static_cast<std::int64_t>(data.size()));
  if (slices.empty())
    return error{errc::invalid_argument, "write of " + std::to_string(data.size()) + " bytes at piece " +
                 std::to_string(piece) + " offset " + std::to_string(offset) + " is out of range"};
  const auto& files = layout_.files();
  std::int64_t stored = 0;
  for (const auto& s : slices)
    if (!files[s.file].pad) stored += s.length;
  if (write_budget_ >= 0 && stored > write_budget_) {
    const auto first = std::find_if(slices.begin(), slices.end(),
                                    [&](const file_slice& s) { return !files[s.file].pad; });
    return error{write_fault_, "cannot write " + name_of(first->file) + ": injected fault"};
  }
  for (const auto& s : slices) {
    if (files[s.file].pad) continue;
    const auto at = layout_.file_offset(s.file) + s.file_offset;
    std::memcpy(data_.data() + at, data.data() + s.buffer_offset, static_cast<std::size_t>(s.length));
    status_[s.file] = file_status{files[s.file].length, ++clock_};
  }
  if (write_budget_ >= 0) write_budget_ -= stored;
  bytes_written_ += stored;
  return {};
}

error memory_storage::read(std::uint32_t piece, std::int64_t offset, std::span<std::uint8_t> out) {
  if (!opened_) return error{errc::invalid_argument, "storage is not open"};
  if (out.empty()) return {};
  const auto slices = layout_.map(piece, offset, static_cast<std::int64_t>(out.size()));
  if (slices.empty())
    return error{errc::invalid_argument, "read of " + std::to_string(out.size()) + " bytes at piece " +
                 std::to_string(piece) + " offset " + std::to_string(offset) + " is out of range"};
  const auto n = static_cast<std::int64_t>(out.size());
  if (read_budget_ >= 0 && n > read_budget_)
    return error{read_fault_, "cannot read " + name_of(slices.front().file) + ": injected fault"};
  // Padding and never-written ranges are zero in data_ already.
  const auto start = static_cast<std::int64_t>(piece) * layout_.piece_length() + offset;
  std::memcpy(out.data(), data_.data() + start, out.size());
  if (read_budget_ >= 0) read_budget_ -= n;
  bytes_read_ += n;
  return {};
}

error memory_storage::flush() {
  if (flush_fault_ != errc::none) return error{flush_fault_, "cannot sync: injected fault"};
  ++flush_count_;
  return {};
}

std::vector<storage::file_status> memory_storage::stat_files() const {
  return status_;
}

void memory_storage::fail_writes_after(std::int64_t bytes, errc code) {
  write_budget_ = code == errc::none ? -1 : std::max<std::int64_t>(bytes, 0);
  write_fault_ = code;
}

void memory_storage::fail_reads_after(std::int64_t bytes, errc code) {
  read_budget_ = code == errc::none ? -1 : std::max<std::int64_t>(bytes, 0);
  read_fault_ = code;
}

void memory_storage::clear_faults() noexcept {
  write_budget_ = -1;
  write_fault_ = errc::none;
  read_budget_ = -1;
  read_fault_ = errc::none;
  flush_fault_ = errc::none;
}

} // namespace actorrent
