// --only and --skip: file numbers as `actorrent show` prints them (from 1,
// padding files not counted) turned into file priorities.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/metainfo.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace actorrent::cli {

/// Longest list parse_file_indexes() reads.
inline constexpr std::size_t max_file_index_text = 64 * 1024;

/// Reads "1,3-5" (1-based numbers and inclusive ranges, commas between, no
/// spaces) against a torrent of `file_count` files: one flag per file, set
/// for the files named. Errors (errc::invalid_argument) name the offending
/// item: an empty item, a non-number, 0, a number past the last file, a
/// range that runs backwards, a text over max_file_index_text.
result<std::vector<bool>> parse_file_indexes(std::string_view text, std::size_t file_count);

/// One priority per file of `meta` that is not padding: with `only` (a
/// list as above) the files named get 1 and the others 0, otherwise all get
/// 1; then the files `skip` names get 0. Errors name the option.
result<std::vector<std::uint8_t>> select_files(const metainfo& meta, std::string_view only,
                                               std::string_view skip);

} // namespace actorrent::cli
