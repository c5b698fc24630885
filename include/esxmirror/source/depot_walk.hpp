#pragma once
// The depot's document walk (issue 8 §2): the depot index, each vendor index it names, each metadata zip
// the selection picks, every one asked conditionally. Pure like the legacy crawl: it reads through a
// Fetcher and what earlier runs kept (its memory, handed in), and returns what it read; core records it
// in the catalog and mirrors the VIBs.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/source/depot.hpp"
#include "esxmirror/source/fetcher.hpp"
#include "esxmirror/util/secrets.hpp"

namespace esxmirror::source::depot {

// What earlier runs kept of the depot's documents, by their place in the depot ("esx/vmw/...").
struct WalkMemory {
  struct Document {
    net::Validators validators;
    std::optional<std::string> body;  // index documents: their bytes (a 304 reuses them)
    bool cached = false;              // a metadata zip whose last copy is in the cache: asked conditionally
  };
  std::map<std::string, Document> documents;
};

struct WalkPolicy {
  std::string index_url;  // request form (the token filled in): every reference resolves against it
  Selection selection;
  std::filesystem::path download_dir;  // a zip answered with a body lands at download_dir / its place
  bool read_zips = true;               // false (`check`): the zips' answers are returned, none is opened
  // Turns a zip's conditional GET into what is asked instead (`check` asks by HEAD); none: as is.
  std::function<net::Request(net::Request, const std::string& relpath)> zip_request;
};

// One document as this run read it.
struct WalkedDocument {
  std::string relpath;
  std::string url;  // request form
  net::Response response;
  std::optional<std::string> body;  // the new bytes, or on a 304 the remembered ones; nullopt: unusable
  bool remembered = false;          // answered 304 and its remembered bytes were there
};

struct WalkedVendor {
  Vendor vendor;
  WalkedDocument index;
  std::vector<MetadataEntry> selected;  // its entries the selection picks
};

struct WalkedZip {
  std::string relpath, url, shown, version, product;
  net::Request request;  // as asked (its file is where a body landed)
  net::Response response;
  std::optional<Metadata> metadata;  // read from a body (read_zips)
  std::optional<std::string> error;  // a body that is not a metadata zip: why
};

struct DepotWalk {
  WalkedDocument index;
  std::vector<WalkedVendor> vendors;             // those inside the depot, in the index's order
  std::vector<WalkedZip> zips;                   // each selected zip once, in the vendor indexes' order
  std::map<std::string, std::string> entry_zip;  // "<vendor index relpath>\n<entry url>" -> zip relpath
  std::vector<std::string> warnings;             // references outside the depot: not mirrored
  std::vector<std::string> failures;             // vendor indexes that could not be read or parsed
  std::uint64_t documents_fetched = 0;           // answered with a body
  std::uint64_t documents_not_modified = 0;      // answered 304
};

// Reads the depot index (unless `index` is its response already, read by the caller to tell the source's
// kind), then every vendor index at once, then every selected metadata zip at once. URLs go to the
// fetcher in their stored form (`secrets`) and are shown masked. Throws Error(source) when the depot index
// cannot be read (401: token expired; 403: invalid or not entitled; 404; unreachable) or is not a depot
// index, and Error(interrupted) when the run is being stopped.
DepotWalk walk_depot(const WalkPolicy& policy, const WalkMemory& memory, const util::Secrets& secrets, Fetcher& fetcher,
                     std::optional<net::Response> index = std::nullopt);

}  // namespace esxmirror::source::depot
