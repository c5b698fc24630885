// esxmirror-sample-site: serves the generated vendor site until SIGINT/SIGTERM (demo and benchmark).
//
// For the benchmark (scripts/bench) it can also log every request it answered (--log-requests) and take
// commands on stdin (--control), so one long-lived site serves several tools and counts each one's requests.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

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

// Two cpp-httplib defaults make the loopback site slower than any real web server, and only for some
// clients, which would skew the benchmark:
// - it listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG): a client opening 16 connections at once
//   overflows it, the kernel drops the extra SYNs and the client retries them only 1 s later (a 0.1 s
//   run becomes 1.1 s; seen as TcpExtListenOverflows). Real servers use 511 or more.
// - it leaves Nagle on (CPPHTTPLIB_TCP_NODELAY false) and writes headers and body separately, so every
//   answer on a reused keep-alive connection waits ~40 ms for the client's delayed ACK: it penalises
//   exactly the clients that reuse connections. nginx and Apache set TCP_NODELAY on keep-alive sockets.
// So the listening socket on `port` gets a wider backlog (listen() again only updates it) and
// TCP_NODELAY, which Linux copies to every accepted socket.
void tune_listening_socket(int port) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int listening = 0;
    socklen_t length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) continue;
    sockaddr_storage address{};
    socklen_t address_length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) continue;
    int bound = -1;
    if (address.ss_family == AF_INET) bound = ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    if (address.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    if (bound != port) continue;
    const int on = 1;
    if (listen(fd, SOMAXCONN) != 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0)
      std::cerr << "esxmirror-sample-site: warning: cannot tune the listening socket: " << std::strerror(errno) << '\n';
  }
}

// Appends the requests answered since the last flush to FILE, one line each, tab-separated:
//   METHOD  PATH  STATUS  BODY_BYTES  CONDITIONAL(1 = If-None-Match/If-Modified-Since sent)  RANGE(1 = Range sent)
// Lines are written on flush (control command "flush", SIGUSR1, exit), never while a request is in
// flight, so BODY_BYTES is final when the client that made the requests has finished.
class RequestLog {
 public:
  RequestLog(const SiteServer& server, std::string file) : server_(server), file_(std::move(file)) {}

  // Returns how many lines were appended.
  std::size_t flush() {
    std::lock_guard lock(mutex_);
    if (file_.empty()) return 0;
    const auto hits = server_.hits();
    std::ofstream out(file_, std::ios::app);
    std::size_t lines = 0;
    for (; written_ < hits.size(); ++written_, ++lines) {
      const auto& hit = hits[written_];
      const bool conditional = !hit.if_none_match.empty() || !hit.if_modified_since.empty();
      out << hit.method << '\t' << hit.path << '\t' << hit.status << '\t' << hit.body_bytes << '\t'
          << (conditional ? 1 : 0) << '\t' << (hit.range.empty() ? 0 : 1) << '\n';
    }
    if (!out.flush()) throw std::runtime_error("cannot append to request log " + file_);
    return lines;
  }

 private:
  const SiteServer& server_;
  std::string file_;
  std::mutex mutex_;
  std::size_t written_ = 0;
};

// Reads commands from stdin, one per line, and answers each with one line on stdout:
//   latency MS   set the delay before every answer        -> "ok latency MS"
//   flush        append the new requests to --log-requests -> "ok flushed N"
//   quit         stop the server (end of input does too)  -> "ok quit"
void control_loop(SiteServer& server, RequestLog& log) {
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
        server.set_latency_ms(ms);
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serves a generated legacy VMware patch site on loopback (demo, benchmark)."};
  std::string host = "127.0.0.1", port_file, version = "3.5.0", log_file;
  int port = 0, latency_ms = 0;
  bool control = false;
  std::size_t patches = 0, bundle_size = 65536;
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "Port to listen on, 0 = any free port")->capture_default_str();
  app.add_option("--port-file", port_file, "Write the chosen port to FILE once listening");
  app.add_option("--patches", patches, "0 = the standard test site; N = N generated patches")->capture_default_str();
  app.add_option("--bundle-size", bundle_size, "Approximate bytes per generated bundle")->capture_default_str();
  app.add_option("--version", version, "ESX version of the generated patches")->capture_default_str();
  app.add_option("--latency-ms", latency_ms, "Delay before every answer")->capture_default_str();
  app.add_option("--log-requests", log_file,
                 "Append one line per request to FILE: method, path, status, body bytes, conditional (0/1), "
                 "range (0/1), tab-separated; written on SIGUSR1, the control command 'flush' and at exit");
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
    using esxmirror::testing::SampleSite;
    SampleSite site = patches == 0 ? SampleSite::standard() : SampleSite::generated(patches, bundle_size, version);
    SiteServer server(std::move(site), latency_ms);
    server.start(host, port);
    tune_listening_socket(server.port());
    RequestLog log(server, log_file);
    if (!port_file.empty()) write_port_file(port_file, server.port());
    std::cout << "sample site: " << server.index_url() << std::endl;

    std::thread controller;
    if (control) {
      controller = std::thread([&server, &log] { control_loop(server, log); });
      controller.detach();  // may sit in a blocking read of stdin when the process ends
    }
    for (;;) {
      int received = 0;
      sigwait(&signals, &received);
      if (received != SIGUSR1) break;
      log.flush();
    }
    server.stop();
    log.flush();
    if (!port_file.empty()) std::filesystem::remove(port_file);
  } catch (const std::exception& error) {
    std::cerr << "esxmirror-sample-site: error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
