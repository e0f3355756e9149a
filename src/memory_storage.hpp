// A storage that keeps the whole torrent in memory, for tests and
// simulation. It behaves like file_storage as seen through the storage
// interface (files appear when first written, padding is never stored) and
// can inject faults such as a full disk.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "storage.hpp"

namespace actorrent {

class memory_storage final : public storage {
public:
  /// open() refuses a layout whose total_length() exceeds max_bytes
  /// (errc::invalid_argument), so a hostile layout cannot exhaust memory.
  explicit memory_storage(file_layout layout, std::int64_t max_bytes = std::int64_t{1} << 30);

  error open() override;
  error write(std::uint32_t piece, std::int64_t offset,
              std::span<const std::uint8_t> data) override;
  error read(std::uint32_t piece, std::int64_t offset,
             std::span<std::uint8_t> out) override;
  error flush() override;
  const file_layout& layout() const override { return layout_; }
  /// mtime_ns is a counter that advances on every write, not wall time.
  std::vector<file_status> stat_files() const override;

  /// After `bytes` more bytes have been written, every write that would go
  /// further fails as a whole with `code` (e.g. errc::disk_full), storing
  /// nothing and naming the first file it touches. errc::none removes the fault.
  void fail_writes_after(std::int64_t bytes, errc code);
  /// Same for reads: after `bytes` more bytes read, reads fail with `code`.
  void fail_reads_after(std::int64_t bytes, errc code);
  /// Makes every following flush() fail with `code` (errc::none: succeed).
  void fail_flush(errc code) noexcept { flush_fault_ = code; }
  /// Removes all injected faults.
  void clear_faults() noexcept;

  /// The concatenated torrent data (zeros where nothing was written).
  std::span<const std::uint8_t> data() const noexcept { return data_; }
  /// Bytes accepted by write() since construction.
  std::int64_t bytes_written() const noexcept { return bytes_written_; }
  /// Successful flush() calls since construction.
  std::int64_t flush_count() const noexcept { return flush_count_; }

private:
  std::string name_of(std::uint32_t file) const;

  file_layout layout_;
  std::int64_t max_bytes_;
  bool opened_ = false;
  std::vector<std::uint8_t> data_;
  std::vector<file_status> status_;
  std::int64_t clock_ = 0;
  std::int64_t bytes_written_ = 0;
  std::int64_t bytes_read_ = 0;
  std::int64_t flush_count_ = 0;
  std::int64_t write_budget_ = -1;  // -1: unlimited
  errc write_fault_ = errc::none;
  std::int64_t read_budget_ = -1;
  errc read_fault_ = errc::none;
  errc flush_fault_ = errc::none;
};

} // namespace actorrent
