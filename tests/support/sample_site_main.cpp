// esxmirror-sample-site: serves the generated vendor site, and optionally the sample online depots behind
// a download token, until SIGINT/SIGTERM (demo and benchmark).
//
// For the benchmark (scripts/bench) it can also log every request it answered (--log-requests) and take
// commands on stdin (--control), so one long-lived site serves several tools and counts each one's requests.
#include <CLI/CLI.hpp>

#include <pthread.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "support/site_server.hpp"

namespace {

using esxmirror::testing::SiteServer;

// Written under a temporary name and renamed, so a script polling for the file never reads half a port.
void write_port_file(const std::string& file, int port) {
  const std::string temporary = file + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << '\n';
    if (!out.flush()) throw std::runtime_error("cannot write port file " + temporary);
  }
  std::filesystem::rename(temporary, file);
}

// Appends the requests answered since the last flush to FILE, one line each, tab-separated:
//   METHOD  PATH  STATUS  BODY_BYTES  CONDITIONAL(1 = If-None-Match/If-Modified-Since sent)  RANGE(1 = Range sent)
// and with --log-times a seventh column, RECEIVED_MS (when the request was read, ms since the server
// started). PATH of a depot request is its path without the token: the log never holds a token.
// Lines are written on flush (control command "flush", SIGUSR1, exit), never while a request is in
// flight, so BODY_BYTES is final when the client that made the requests has finished.
class RequestLog {
 public:
  RequestLog(std::vector<const SiteServer*> servers, std::string file, bool times)
      : servers_(std::move(servers)), written_(servers_.size(), 0), file_(std::move(file)), times_(times) {}

  // Returns how many lines were appended.
  std::size_t flush() {
    std::lock_guard lock(mutex_);
    if (file_.empty()) return 0;
    std::ofstream out(file_, std::ios::app);
    std::size_t lines = 0;
    for (std::size_t s = 0; s < servers_.size(); ++s) {
      const auto hits = servers_[s]->hits();
      for (; written_[s] < hits.size(); ++written_[s], ++lines) {
        const auto& hit = hits[written_[s]];
        const bool conditional = !hit.if_none_match.empty() || !hit.if_modified_since.empty();
        out << hit.method << '\t' << hit.path << '\t' << hit.status << '\t' << hit.body_bytes << '\t'
            << (conditional ? 1 : 0) << '\t' << (hit.range.empty() ? 0 : 1);
        if (times_) out << '\t' << static_cast<long long>(hit.received_ms);
        out << '\n';
      }
    }
    if (!out.flush()) throw std::runtime_error("cannot append to request log " + file_);
    return lines;
  }

 private:
  std::vector<const SiteServer*> servers_;
  std::vector<std::size_t> written_;
  std::string file_;
  bool times_;
  std::mutex mutex_;
};

// Reads commands from stdin, one per line, and answers each with one line on stdout:
//   latency MS   set the delay before every answer        -> "ok latency MS"
//   flush        append the new requests to --log-requests -> "ok flushed N"
//   quit         stop the server (end of input does too)  -> "ok quit"
void control_loop(const std::vector<SiteServer*>& servers, RequestLog& log) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    std::string answer;
    try {
      if (command == "latency") {
        int ms = -1;
        if (!(words >> ms) || ms < 0) throw std::invalid_argument("latency needs milliseconds >= 0");
        for (SiteServer* server : servers) server->set_latency_ms(ms);
        answer = "ok latency " + std::to_string(ms);
      } else if (command == "flush") {
        answer = "ok flushed " + std::to_string(log.flush());
      } else if (command == "quit") {
        std::cout << "ok quit" << std::endl;
        break;
      } else if (command.empty()) {
        continue;
      } else {
        answer = "error unknown command '" + command + "' (latency MS, flush, quit)";
      }
    } catch (const std::exception& error) {
      answer = std::string("error ") + error.what();
    }
    std::cout << answer << std::endl;
  }
  kill(getpid(), SIGTERM);  // wakes the main thread's sigwait: end of input stops the server
}

// The token from --token-file: surrounding whitespace stripped, as esxmirror reads its own token file.
std::string read_token(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read token file " + file);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!token.empty() && blank(token.back())) token.pop_back();
  std::size_t first = 0;
  while (first < token.size() && blank(token[first])) ++first;
  return token.substr(first);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Serves a generated legacy VMware patch site, and optionally sample online depots, on loopback "
      "(demo, benchmark)."};
  std::string host = "127.0.0.1", port_file, version = "3.5.0", log_file, depot_port_file, token, token_file;
  std::string fresh_token;
  std::vector<std::string> expired_tokens;
  int port = 0, latency_ms = 0, depot_port = -1, threads = 64, fresh_denials = 3;
  bool control = false, depot = false, addon_depot = false, absolute_urls = false, log_times = false;
  std::size_t patches = 0, bundle_size = 65536, depot_vibs = 0, depot_vib_size = 65536;
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "Port to listen on, 0 = any free port")->capture_default_str();
  app.add_option("--port-file", port_file, "Write the chosen port to FILE once listening");
  app.add_option("--patches", patches, "0 = the standard test site; N = N generated patches")->capture_default_str();
  app.add_option("--bundle-size", bundle_size, "Approximate bytes per generated bundle")->capture_default_str();
  app.add_option("--version", version, "ESX version of the generated patches")->capture_default_str();
  app.add_option("--latency-ms", latency_ms, "Delay before every answer")->capture_default_str();
  app.add_option("--threads", threads, "Worker threads of each server (one per open connection)")
      ->capture_default_str();
  app.add_flag("--depot", depot,
               "Also serve the standard sample online depot 'main' (ESXi 7.0 and 8.0) under "
               "[TOKEN/]PROD/COMP/ESX_HOST/main/; its index URL is printed as 'sample depot: URL'");
  app.add_flag("--addon-depot", addon_depot, "Also serve the sample OEM depot 'addon-main' (implies --depot)");
  app.add_option("--depot-vibs", depot_vibs,
                 "Serve a generated depot 'main' with N VIBs in one 8.0.3 release instead of the standard one")
      ->capture_default_str();
  app.add_option("--depot-vib-size", depot_vib_size, "Approximate bytes per generated VIB")->capture_default_str();
  app.add_flag("--depot-absolute-urls", absolute_urls,
               "The standard depot writes one 8.0.3 VIB as an absolute URL inside the depot and one outside it");
  app.add_option("--depot-port", depot_port,
                 "Serve the depots on their own server on this port (0 = any free port) instead of --port");
  app.add_option("--depot-port-file", depot_port_file, "Write the depot server's port to FILE once listening");
  app.add_option("--token", token, "The download token depots are served behind: [TOKEN/]PROD/...; none = no token");
  app.add_option("--token-file", token_file, "Read --token from FILE (keeps it out of the process list)");
  app.add_option("--expired-token", expired_tokens, "A token answered 401, as an expired one (repeatable)");
  app.add_option("--fresh-token", fresh_token, "A new token: answered 403 (not entitled) at first, then valid");
  app.add_option("--fresh-denials", fresh_denials, "Requests the --fresh-token is refused before it works")
      ->capture_default_str();
  app.add_option("--log-requests", log_file,
                 "Append one line per request to FILE: method, path, status, body bytes, conditional (0/1), "
                 "range (0/1), tab-separated; written on SIGUSR1, the control command 'flush' and at exit. "
                 "Depot paths are logged without the token");
  app.add_flag("--log-times", log_times, "Add a seventh column to --log-requests: ms since start when received");
  app.add_flag("--control", control,
               "Read commands from stdin, one per line, each answered with one line on stdout: "
               "'latency MS', 'flush', 'quit'; end of input stops the server");
  CLI11_PARSE(app, argc, argv);

  // Block the signals before the server starts its threads (they inherit the mask), then wait for one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    using esxmirror::testing::DepotTokens;
    using esxmirror::testing::SampleDepot;
    using esxmirror::testing::SampleSite;
    if (!token_file.empty()) token = read_token(token_file);
    SampleSite site = patches == 0 ? SampleSite::standard() : SampleSite::generated(patches, bundle_size, version);
    SiteServer server(std::move(site), latency_ms);
    server.set_worker_threads(threads);
    // The depots share the site's server unless they get a port of their own.
    std::unique_ptr<SiteServer> depot_server;
    if (depot_port >= 0) {
      depot_server = std::make_unique<SiteServer>(SampleSite(), latency_ms);
      depot_server->set_worker_threads(threads);
    }
    SiteServer& depots = depot_server ? *depot_server : server;
    std::vector<std::string> depot_names;
    if (depot_vibs > 0) {
      depots.add_depot(SampleDepot::generated(depot_vibs, depot_vib_size));
      depot_names.push_back("main");
    } else if (depot || addon_depot || absolute_urls) {
      esxmirror::testing::SampleDepotOptions options;
      options.absolute_url_inside = options.absolute_url_outside = absolute_urls;
      depots.add_depot(SampleDepot::standard(options));
      depot_names.push_back("main");
    }
    if (addon_depot) {
      depots.add_depot(SampleDepot::addon());
      depot_names.push_back("addon-main");
    }
    DepotTokens tokens;
    tokens.valid = token;
    tokens.expired = expired_tokens;
    tokens.fresh = fresh_token;
    tokens.fresh_denials = fresh_denials;
    depots.set_depot_tokens(tokens);

    server.start(host, port);
    if (depot_server) depot_server->start(host, depot_port);
    std::vector<const SiteServer*> logged = {&server};
    std::vector<SiteServer*> controlled = {&server};
    if (depot_server) {
      logged.push_back(depot_server.get());
      controlled.push_back(depot_server.get());
    }
    RequestLog log(logged, log_file, log_times);
    if (!port_file.empty()) write_port_file(port_file, server.port());
    if (depot_server && !depot_port_file.empty()) write_port_file(depot_port_file, depot_server->port());
    std::cout << "sample site: " << server.index_url() << std::endl;
    // "{token}" stands where the token goes, as in esxmirror's --source; the token itself is never printed.
    for (const std::string& name : depot_names)
      std::cout << "sample depot: " << depots.depot_url_template(name) << std::endl;

    std::thread controller;
    if (control) {
      controller = std::thread([&controlled, &log] { control_loop(controlled, log); });
      controller.detach();  // may sit in a blocking read of stdin when the process ends
    }
    for (;;) {
      int received = 0;
      sigwait(&signals, &received);
      if (received != SIGUSR1) break;
      log.flush();
    }
    server.stop();
    if (depot_server) depot_server->stop();
    log.flush();
    if (!port_file.empty()) std::filesystem::remove(port_file);
    if (depot_server && !depot_port_file.empty()) std::filesystem::remove(depot_port_file);
  } catch (const std::exception& error) {
    std::cerr << "esxmirror-sample-site: error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
