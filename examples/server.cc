// An attested echo server: it proves what it runs (software Evidence, bound
// to each TLS connection) to every client that asks.
//   server CERT.pem KEY.pem [PORT]
#include <atls/atls.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CERT.pem KEY.pem [PORT]\n", argv[0]);
    return 2;
  }
  auto attester = atls::software_attester({});  // Evidence: an EAT signed in software
  if (!attester) {
    std::fprintf(stderr, "attester: %s\n", attester.error().to_string().c_str());
    return 1;
  }
  // Relying parties pin this key in their policy ("trust": {"keys": [...]}).
  std::fprintf(stderr, "%s", atls::attester_public_key_pem(**attester).value_or("").c_str());
  auto config = atls::Config::builder()
                    .certificate_chain_file(argv[1])
                    .private_key_file(argv[2])
                    .attester(std::move(*attester))                // we attest to clients
                    .peer_attestation(atls::AttestationMode::Off)  // clients need not
                    .build();
  const auto port = static_cast<std::uint16_t>(argc > 3 ? std::atoi(argv[3]) : 8443);
  auto server = config ? atls::Server::listen(*config, "127.0.0.1", port) : config.error();
  if (!server) {
    std::fprintf(stderr, "server: %s\n", server.error().to_string().c_str());
    return 1;
  }
  for (;;) {
    auto conn = server->accept();  // TLS 1.3 handshake; attestation on request
    std::uint8_t buf[4096];
    while (conn) {
      auto n = conn->read(buf);
      if (!n || !conn->write({buf, *n})) {
        break;
      }
    }
  }
}
