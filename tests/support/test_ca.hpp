#pragma once
// A certificate authority made by the test with libcrypto: its certificate is what `--cacert` is given,
// and it signs server certificates for chosen names and validity periods (valid, expired, for another
// host), written as PEM files a TLS server presents. Nothing is trusted by the system: a certificate of
// this CA is "unknown" to a client that is not given its file.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace esxmirror::testing {

// The PEM files a TLS server presents.
struct TlsIdentity {
  std::filesystem::path cert;  // the server's certificate
  std::filesystem::path key;   // its private key (unencrypted)
};

class TestCa {
 public:
  // A new CA ("CN=esxmirror test CA <name>", an EC P-256 key) in a fresh temporary directory, its
  // certificate written to <name>-ca.pem. Throws std::runtime_error when libcrypto fails.
  explicit TestCa(const std::string& name = "test");
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // The CA's certificate, PEM: what `esxmirror --cacert` is given to trust this CA.
  const std::filesystem::path& cert_file() const { return cert_file_; }

  // A server certificate signed by this CA for `alt_names` (subjectAltName entries: "DNS:localhost",
  // "IP:127.0.0.1"), valid from now + not_before to now + not_after, written as <stem>.pem and
  // <stem>-key.pem. Throws std::runtime_error when libcrypto fails.
  TlsIdentity issue(const std::string& stem, const std::vector<std::string>& alt_names, std::chrono::hours not_before,
                    std::chrono::hours not_after) const;
  // For 127.0.0.1 and localhost, valid since an hour ago for a day.
  TlsIdentity for_loopback() const;
  // For 127.0.0.1 and localhost, expired yesterday.
  TlsIdentity expired_for_loopback() const;
  // For mirror.invalid only (not the host the client connects to), valid now.
  TlsIdentity for_other_host() const;

 private:
  struct Key;
  TempDir dir_;
  std::filesystem::path cert_file_;
  std::unique_ptr<Key> key_;  // the CA's key and certificate, to sign with
};

}  // namespace esxmirror::testing
