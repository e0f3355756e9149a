// A fresh directory under /tmp for one test, removed with everything in it
// at scope exit (even where a test made parts of it read-only).
#pragma once

#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace actorrent::testing {

struct temp_dir {
  std::filesystem::path path;

  explicit temp_dir(const std::string& prefix = "actorrent-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    const char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path = p;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

} // namespace actorrent::testing
