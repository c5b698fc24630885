# Every third-party dependency is found here, from Debian's packages (scripts/setup installs them).
find_package(PkgConfig REQUIRED)
find_package(CURL REQUIRED)
find_package(LibArchive REQUIRED)
find_package(ZLIB REQUIRED)  # gzip trailers (CRC-32), which libarchive does not check
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(pugixml REQUIRED)  # depot documents (src/source/depot)
find_package(Threads REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
if(ESXMIRROR_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  find_package(OpenSSL REQUIRED COMPONENTS SSL Crypto)  # the tests' https server (SSL_CTX) and their CA
endif()
