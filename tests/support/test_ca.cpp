// Certificates made with libcrypto (no openssl tool, no config file): EC P-256 keys, X.509 v3 with the
// extensions a strict verifier wants (basicConstraints, keyUsage, key identifiers, subjectAltName).
#include "support/test_ca.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>
#include <stdexcept>

namespace esxmirror::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "";
  ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
  throw std::runtime_error("TestCa: " + what + ": " + reason);
}

KeyPtr new_key() {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  if (!key) fail("cannot make an EC key");
  return key;
}

// Adds one extension written as openssl.cnf would ("critical,CA:TRUE"), with `issuer` for the key identifiers.
void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()), &X509_EXTENSION_free);
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) fail("cannot add extension " + value);
}

// A certificate for `key` named `common_name`, valid [now + not_before, now + not_after], not yet signed.
CertPtr new_certificate(EVP_PKEY* key, const std::string& common_name, std::chrono::hours not_before,
                        std::chrono::hours not_after) {
  CertPtr cert(X509_new(), &X509_free);
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("cannot make a certificate");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("no random serial");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, decltype(&BN_free)> number(BN_bin2bn(serial, sizeof serial, nullptr), &BN_free);
  if (!number || !BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(cert.get()))) fail("cannot set the serial");
  const auto seconds = [](std::chrono::hours h) { return static_cast<long>(std::chrono::seconds(h).count()); };
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), seconds(not_before)) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), seconds(not_after))) {
    fail("cannot set the validity");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) fail("cannot set the public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 -1, -1, 0) != 1) {
    fail("cannot set the subject");
  }
  return cert;
}

void sign(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1) fail("cannot set the issuer");
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) fail("cannot sign");
}

void write_pem(const fs::path& file, const std::function<int(BIO*)>& write) {
  BioPtr out(BIO_new_file(file.c_str(), "w"), &BIO_free);
  if (!out || write(out.get()) != 1) fail("cannot write " + file.string());
}

void write_certificate(const fs::path& file, X509* cert) {
  write_pem(file, [cert](BIO* out) { return PEM_write_bio_X509(out, cert); });
}

void write_key(const fs::path& file, EVP_PKEY* key) {
  write_pem(file,
            [key](BIO* out) { return PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr); });
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace

struct TestCa::Key {
  KeyPtr key{nullptr, &EVP_PKEY_free};
  CertPtr cert{nullptr, &X509_free};
};

TestCa::TestCa(const std::string& name) : key_(std::make_unique<Key>()) {
  key_->key = new_key();
  key_->cert = new_certificate(key_->key.get(), "esxmirror test CA " + name, -1h, 48h);
  X509* cert = key_->cert.get();
  add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert, cert, NID_subject_key_identifier, "hash");
  sign(cert, cert, key_->key.get());
  cert_file_ = dir_ / (name + "-ca.pem");
  write_certificate(cert_file_, cert);
}

TestCa::~TestCa() = default;

TlsIdentity TestCa::issue(const std::string& stem, const std::vector<std::string>& alt_names,
                          std::chrono::hours not_before, std::chrono::hours not_after) const {
  KeyPtr key = new_key();
  std::string names;
  for (const std::string& name : alt_names) names += (names.empty() ? "" : ",") + name;
  const std::string common_name =
      alt_names.empty() ? "esxmirror test server" : alt_names.front().substr(alt_names.front().find(':') + 1);
  CertPtr cert = new_certificate(key.get(), common_name, not_before, not_after);
  X509* issuer = key_->cert.get();
  add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  if (!names.empty()) add_extension(cert.get(), issuer, NID_subject_alt_name, names);
  sign(cert.get(), issuer, key_->key.get());
  TlsIdentity identity{dir_ / (stem + ".pem"), dir_ / (stem + "-key.pem")};
  write_certificate(identity.cert, cert.get());
  write_key(identity.key, key.get());
  return identity;
}

TlsIdentity TestCa::for_loopback() const { return issue("loopback", {"IP:127.0.0.1", "DNS:localhost"}, -1h, 24h); }

TlsIdentity TestCa::expired_for_loopback() const {
  return issue("expired", {"IP:127.0.0.1", "DNS:localhost"}, -72h, -24h);
}

TlsIdentity TestCa::for_other_host() const { return issue("other-host", {"DNS:mirror.invalid"}, -1h, 24h); }

}  // namespace esxmirror::testing
