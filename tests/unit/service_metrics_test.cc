// The Verifier service's Prometheus metrics (src/service/metrics.h).

#include "src/service/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace atls::service {
namespace {

TEST(ServiceMetrics, RoutesAreAFixedSet) {
  EXPECT_EQ(Metrics::route_of("/challenge-response/v1/newSession"), "newSession");
  EXPECT_EQ(Metrics::route_of("/challenge-response/v1/session/abc"), "session");
  EXPECT_EQ(Metrics::route_of("/.well-known/veraison/verification"), "well-known");
  EXPECT_EQ(Metrics::route_of("/metrics"), "metrics");
  EXPECT_EQ(Metrics::route_of("/anything/else"), "other");
}

TEST(ServiceMetrics, RendersCountersAndACumulativeHistogram) {
  Metrics m;
  m.count_request("session", 200);
  m.count_request("session", 200);
  m.count_request("session", 422);
  m.count_verification("application/eat+cwt", "warning", 0.003);
  m.count_verification("other", "UnsupportedMediaType", 0.0001);
  m.count_verification("application/eat+cwt", "NonceMismatch", 10.0);
  const std::string t = m.render();
  EXPECT_NE(t.find("atls_verifier_requests_total{route=\"session\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("atls_verifier_requests_total{route=\"session\",status=\"422\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("atls_verifier_verifications_total{media_type=\"application/eat+cwt\","
                   "outcome=\"warning\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("atls_verifier_verification_seconds_bucket{le=\"0.001\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("atls_verifier_verification_seconds_bucket{le=\"0.005\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("atls_verifier_verification_seconds_bucket{le=\"5\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("atls_verifier_verification_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(t.find("atls_verifier_verification_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE atls_verifier_verification_seconds histogram\n"), std::string::npos);
}

TEST(ServiceMetrics, EscapesLabelValues) {
  Metrics m;
  m.count_verification("a\"b\\c\nd", "x", 0);
  EXPECT_NE(m.render().find("media_type=\"a\\\"b\\\\c\\nd\""), std::string::npos);
}

TEST(ServiceMetrics, CountsFromManyThreads) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 1000; ++i) {
        m.count_request("session", 200);
        m.count_verification("application/eat+cwt", "warning", 0.01);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const std::string t = m.render();
  EXPECT_NE(t.find("status=\"200\"} 4000\n"), std::string::npos);
  EXPECT_NE(t.find("atls_verifier_verification_seconds_count 4000\n"), std::string::npos);
}

}  // namespace
}  // namespace atls::service
