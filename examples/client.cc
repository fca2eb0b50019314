// An attested client: it connects only to a server whose Evidence, bound to
// this very TLS connection, satisfies the appraisal policy.
//   client HOST PORT CA.pem POLICY.json
#include <atls/atls.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s HOST PORT CA.pem POLICY.json\n", argv[0]);
    return 2;
  }
  auto config =
      atls::Config::builder()
          .ca_file(argv[3])                                   // WebPKI for the TLS certificate
          .peer_attestation(atls::AttestationMode::Required)  // and attestation for the platform
          .policy_file(argv[4])
          .build();
  if (!config) {
    std::fprintf(stderr, "config: %s\n", config.error().to_string().c_str());
    return 1;
  }
  auto conn =
      atls::Client::connect(*config, argv[1], static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (!conn) {
    std::fprintf(stderr, "refused: %s\n", conn.error().to_string().c_str());
    return 1;
  }
  const atls::AttestationResult* r = conn->peer_result();
  std::printf("attested: %s, machine %s, valid until %lld\n",
              std::string(atls::tier_name(r->status())).c_str(), r->machine_id().c_str(),
              static_cast<long long>(r->valid_until()));
  constexpr std::string_view msg = "hello, attested server\n";
  std::uint8_t buf[4096];
  auto n = conn->write({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
  auto m = n ? conn->read(buf) : atls::Result<std::size_t>(n.error());
  if (m) {
    std::fwrite(buf, 1, *m, stdout);
  }
  return m ? 0 : 1;
}
