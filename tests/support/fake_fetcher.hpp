#pragma once
// A source::Fetcher over canned documents, for the walks of the sources (legacy crawl, depot walk): each
// document has an ETag and a conditional request carrying it is answered 304; an unknown URL is a 404; a
// request with a file gets the body written there, as the engine does. It records what was asked.
#include <map>
#include <string>
#include <vector>

#include "esxmirror/source/fetcher.hpp"

namespace esxmirror::testing {

class FakeFetcher final : public source::Fetcher {
 public:
  struct Document {
    std::string body;
    std::string etag;
    net::Outcome outcome = net::Outcome::ok;  // anything else: answered with `status` and no body
    long status = 200;
  };
  std::map<std::string, Document> documents;  // by URL as asked (stored form)
  std::vector<net::Request> asked;
  std::vector<std::size_t> rounds;  // how many requests each fetch() sent at once

  void fetch(std::vector<net::Request> requests, const std::function<void(net::Response&&)>& done) override;
  std::vector<std::string> urls_asked() const;
};

}  // namespace esxmirror::testing
