// esxmirror-sample-site: serves the generated vendor site until SIGINT/SIGTERM (demo and benchmark).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <pthread.h>

#include "support/site_server.hpp"

namespace {

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serves a generated legacy VMware patch site on loopback (demo, benchmark)."};
  std::string host = "127.0.0.1", port_file, version = "3.5.0";
  int port = 0, latency_ms = 0;
  std::size_t patches = 0, bundle_size = 65536;
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "Port to listen on, 0 = any free port")->capture_default_str();
  app.add_option("--port-file", port_file, "Write the chosen port to FILE once listening");
  app.add_option("--patches", patches, "0 = the standard test site; N = N generated patches")->capture_default_str();
  app.add_option("--bundle-size", bundle_size, "Approximate bytes per generated bundle")->capture_default_str();
  app.add_option("--version", version, "ESX version of the generated patches")->capture_default_str();
  app.add_option("--latency-ms", latency_ms, "Delay before every answer")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Block the signals before the server starts its threads (they inherit the mask), then wait for one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    using esxmirror::testing::SampleSite;
    SampleSite site = patches == 0 ? SampleSite::standard() : SampleSite::generated(patches, bundle_size, version);
    esxmirror::testing::SiteServer server(std::move(site), latency_ms);
    server.start(host, port);
    if (!port_file.empty()) write_port_file(port_file, server.port());
    std::cout << "sample site: " << server.index_url() << std::endl;

    int received = 0;
    sigwait(&signals, &received);
    server.stop();
    if (!port_file.empty()) std::filesystem::remove(port_file);
  } catch (const std::exception& error) {
    std::cerr << "esxmirror-sample-site: error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
