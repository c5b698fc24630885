#pragma once
// RAII owners for libcurl handles, and libcurl's one-time global initialisation.
#include <curl/curl.h>

#include <memory>
#include <string>

namespace esxmirror::net::detail {

// curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process (never cleaned up: other
// libraries may share the TLS backend until exit). Throws std::runtime_error when it fails.
void curl_global_once();

struct EasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct MultiDeleter {
  void operator()(CURLM* handle) const noexcept { curl_multi_cleanup(handle); }
};
struct ShareDeleter {
  void operator()(CURLSH* handle) const noexcept { curl_share_cleanup(handle); }
};

using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;
using ShareHandle = std::unique_ptr<CURLSH, ShareDeleter>;

EasyHandle make_easy();    // throws std::runtime_error
MultiHandle make_multi();  // throws std::runtime_error
// DNS cache and TLS sessions shared by the easy handles attached to it, used from one thread at a time
// (no lock callbacks). Throws std::runtime_error.
ShareHandle make_share();

// A curl_slist of request headers.
class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() { curl_slist_free_all(list_); }
  HeaderList(HeaderList&& other) noexcept : list_(other.list_) { other.list_ = nullptr; }
  HeaderList& operator=(HeaderList&& other) noexcept {
    if (this != &other) {
      curl_slist_free_all(list_);
      list_ = other.list_;
      other.list_ = nullptr;
    }
    return *this;
  }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  void append(const std::string& line);  // throws std::bad_alloc
  void clear() noexcept {
    curl_slist_free_all(list_);
    list_ = nullptr;
  }
  curl_slist* get() const noexcept { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace esxmirror::net::detail
