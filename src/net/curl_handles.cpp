#include "net/curl_handles.hpp"

#include <mutex>
#include <new>
#include <stdexcept>

namespace esxmirror::net::detail {

void curl_global_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw std::runtime_error(std::string("libcurl initialisation failed: ") + curl_easy_strerror(result));
  }
}

EasyHandle make_easy() {
  curl_global_once();
  EasyHandle handle(curl_easy_init());
  if (!handle) throw std::runtime_error("libcurl: cannot create a transfer handle");
  return handle;
}

MultiHandle make_multi() {
  curl_global_once();
  MultiHandle handle(curl_multi_init());
  if (!handle) throw std::runtime_error("libcurl: cannot create a multi handle");
  return handle;
}

ShareHandle make_share() {
  curl_global_once();
  ShareHandle handle(curl_share_init());
  if (!handle || curl_share_setopt(handle.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
      curl_share_setopt(handle.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    throw std::runtime_error("libcurl: cannot create a share handle");
  }
  return handle;
}

void HeaderList::append(const std::string& line) {
  curl_slist* grown = curl_slist_append(list_, line.c_str());
  if (!grown) throw std::bad_alloc();
  list_ = grown;
}

}  // namespace esxmirror::net::detail
